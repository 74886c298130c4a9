/* /desk/stats: draws the charts of the statistics page with the vendored uPlot.
 *
 * The server has rendered every figure and a table under each chart; this script only draws the charts
 * from the #stats-data JSON block (labels already in the page's language). Bars carry their number
 * written at their end: the colour is never the only way to read them.
 */
(function () {
  "use strict";

  var dataEl = document.getElementById("stats-data");
  if (!dataEl || !window.uPlot) return;  // the tables stand without charts
  var data = JSON.parse(dataEl.textContent);
  var FONT_FAMILY = getComputedStyle(document.body).fontFamily;
  var AXIS_FONT = "12px " + FONT_FAMILY;
  var VALUE_FONT = "bold 12px " + FONT_FAMILY;
  var COLOURS = { accent: "#0b5cad", resolved: "#009e73", text: "#1c2430", grid: "#e4e9f0" };
  // Older is worse: from blue to the danger red (Okabe–Ito shades plus the page's red).
  var AGE_COLOURS = ["#56b4e9", "#0072b2", "#e69f00", "#d55e00", "#b3261e"];
  var COUNT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
  var charts = [];

  function chartWidth(el) { return Math.max(280, Math.floor(el.getBoundingClientRect().width)); }

  function sum(values) { return values.reduce(function (a, b) { return a + b; }, 0); }

  function showEmpty(el) {
    var p = document.createElement("p");
    p.className = "empty";
    p.textContent = Civic.t("no_data");
    el.appendChild(p);
  }

  var measure = document.createElement("canvas").getContext("2d");
  function textWidth(texts, font) {
    measure.font = font;
    return texts.reduce(function (w, t) { return Math.max(w, measure.measureText(t).width); }, 0);
  }

  /* yyyy-MM-dd of a local (Asia/Shanghai) day -> seconds at its noon, the x of the daily series. */
  function dayEpoch(day) { return Date.parse(day + "T12:00:00+08:00") / 1000; }

  function monthDay(seconds) {
    var parts = {};
    new Intl.DateTimeFormat("en-GB", { timeZone: Civic.config.timeZone, month: "2-digit", day: "2-digit" })
      .formatToParts(new Date(seconds * 1000)).forEach(function (p) { parts[p.type] = p.value; });
    return parts.month + "-" + parts.day;
  }

  /* Write each bar's number just past its end. */
  function valueLabels(horizontal) {
    return function (u) {
      var ctx = u.ctx;
      var values = u.data[1];
      ctx.save();
      ctx.font = VALUE_FONT.replace("12px", Math.round(12 * devicePixelRatio) + "px");
      ctx.fillStyle = COLOURS.text;
      ctx.textAlign = horizontal ? "left" : "center";
      ctx.textBaseline = horizontal ? "middle" : "bottom";
      values.forEach(function (v, i) {
        var along = u.valToPos(i, "x", true);
        var across = u.valToPos(v, "y", true);
        var gap = 4 * devicePixelRatio;
        if (horizontal) ctx.fillText(String(v), across + gap, along);
        else ctx.fillText(String(v), along, across - gap);
      });
      ctx.restore();
    };
  }

  /* A bar chart of named counts; horizontal for long names (categories, communities), vertical otherwise. */
  function barChart(el, chart, options) {
    var labels = chart.labels;
    var values = chart.values;
    var horizontal = options.horizontal;
    if (!labels.length || (options.hideEmpty && sum(values) === 0)) { showEmpty(el); return; }
    var indices = labels.map(function (_, i) { return i; });
    var top = Math.max(1, Math.max.apply(null, values)) * 1.18;  // room for the written number
    var labelAxis = {
      scale: "x", side: horizontal ? 3 : 2, font: AXIS_FONT, stroke: COLOURS.text, grid: { show: false },
      ticks: { show: false }, gap: 6,
      splits: function () { return indices; },
      values: function (u, splits) { return splits.map(function (i) { return labels[i]; }); },
      size: horizontal ? Math.ceil(textWidth(labels, AXIS_FONT)) + 16 : 34,
    };
    var countAxis = {
      scale: "y", side: horizontal ? 2 : 3, font: AXIS_FONT, stroke: COLOURS.text, incrs: COUNT_INCRS,
      grid: { stroke: COLOURS.grid }, size: horizontal ? 30 : 40,
    };
    var colours = options.colours;
    var plot = new uPlot({
      width: chartWidth(el),
      height: horizontal ? Math.max(120, labels.length * 30 + 40) : 220,
      legend: { show: false },
      cursor: { show: false },
      scales: {
        // Horizontal: the first (largest) bar at the top, counts growing to the right; vertical: bars grow up.
        x: { time: false, ori: horizontal ? 1 : 0, dir: horizontal ? -1 : 1, range: [-0.5, labels.length - 0.5] },
        y: { ori: horizontal ? 0 : 1, dir: 1, range: [0, top] },
      },
      axes: [labelAxis, countAxis],
      series: [{}, {
        label: Civic.t("requests"),
        fill: COLOURS.accent,
        stroke: COLOURS.accent,
        width: colours ? 0 : 1,  // uPlot applies per-bar colours (disp) only to bars without an outline
        paths: uPlot.paths.bars({
          size: [0.7, 48],
          disp: colours ? { fill: { unit: 3, values: function () { return colours; } } } : undefined,
        }),
        points: { show: false },
      }],
      hooks: { draw: [valueLabels(horizontal)] },
    }, [indices, values], el);
    charts.push(plot);
  }

  function dailyChart(el, daily) {
    if (!daily.days.length || sum(daily.submitted) + sum(daily.resolved) === 0) { showEmpty(el); return; }
    var x = daily.days.map(dayEpoch);
    var top = Math.max(1, Math.max.apply(null, daily.submitted.concat(daily.resolved))) * 1.1;
    var plot = new uPlot({
      width: chartWidth(el), height: 240,
      legend: { live: false },
      scales: { x: { time: true }, y: { range: [0, top] } },
      axes: [
        { font: AXIS_FONT, stroke: COLOURS.text, space: 50, grid: { stroke: COLOURS.grid },
          values: function (u, ticks) { return ticks.map(monthDay); } },
        { font: AXIS_FONT, stroke: COLOURS.text, incrs: COUNT_INCRS, grid: { stroke: COLOURS.grid }, size: 40 },
      ],
      series: [
        {},
        { label: Civic.t("submitted"), stroke: COLOURS.accent, width: 2, fill: "rgba(11,92,173,.08)",
          points: { show: true, size: 5 } },
        { label: Civic.t("resolved"), stroke: COLOURS.resolved, width: 2, dash: [6, 3],
          points: { show: true, size: 5 } },
      ],
    }, [x, daily.submitted, daily.resolved], el);
    charts.push(plot);
  }

  function draw(name, fn) {
    var el = document.querySelector(".stats-chart[data-chart='" + name + "']");
    if (el) fn(el);
  }

  draw("daily", function (el) { dailyChart(el, data.daily); });
  draw("category", function (el) { barChart(el, data.category, { horizontal: true, hideEmpty: true }); });
  draw("community", function (el) { barChart(el, data.community, { horizontal: true, hideEmpty: true }); });
  draw("backlog", function (el) { barChart(el, data.backlog, { horizontal: false, colours: AGE_COLOURS }); });

  window.addEventListener("resize", function () {
    charts.forEach(function (plot) {
      plot.setSize({ width: chartWidth(plot.root.parentNode), height: plot.height });
    });
  });
})();
