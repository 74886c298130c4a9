/* /air and /air/<station>: the map of stations by AQI category, 24-hour and 30-day charts, live updates.
 *
 * The server has rendered every figure already; this script draws what needs a script (map, charts) and
 * keeps the figures current: an air_station event is rated by the AQI calculator API (the same module
 * the server used), an alert event updates the alerts list.
 */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("air-data").textContent);
  var stations = {};
  data.stations.forEach(function (s) { stations[s.id] = s; });
  var POLLUTANTS = ["pm25", "pm10", "so2", "no2", "o3", "co"];
  var markers = {};
  var charts = [];

  /* yyyy-MM-dd HH:mm in Asia/Shanghai, as the server writes it. */
  function localTime(value) {
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: Civic.config.timeZone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hour12: false,
    }).formatToParts(new Date(value)).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute;
  }

  function badgeHtml(s) {
    var level = s.level ? "aqi-" + s.level : "aqi-none";
    var value = s.aqi == null ? "—" : s.aqi;
    var name = s.category || Civic.t("no_rating");
    var span = document.createElement("span");
    span.className = "aqi-badge " + level;
    span.innerHTML = "<b class='aqi-value'></b> <span class='aqi-category'></span>";
    span.firstChild.textContent = value;
    span.lastChild.textContent = name;
    return span.outerHTML;
  }

  /* ---- map: each station a badge with its AQI and category name ---- */
  function drawMap() {
    var el = document.getElementById("air-map");
    if (!el || !window.CivicMap) return;
    var map = CivicMap.create("air-map");
    data.stations.forEach(function (s) {
      var marker = L.marker([s.lat, s.lon], { icon: markerIcon(s), title: s.name, zIndexOffset: zIndex(s) })
        .bindPopup(popupHtml(s))
        .addTo(map);
      markers[s.id] = marker;
    });
  }

  /* Where badges overlap, the worse air is drawn on top. */
  function zIndex(s) { return (s.level || 0) * 100; }

  function markerIcon(s) {
    return L.divIcon({ className: "air-marker", html: badgeHtml(s), iconSize: [0, 0] });
  }

  function popupHtml(s) {
    var link = document.createElement("a");
    link.href = "/air/" + encodeURIComponent(s.id);
    link.textContent = s.name;
    var time = s.observed_at ? "<br>" + localTime(s.observed_at) : "";
    return link.outerHTML + "<br>" + badgeHtml(s) + time;
  }

  /* ---- charts ---- */
  function seriesUrl(stationId, resolution, start, end) {
    return data.seriesUrl.replace("__station__", encodeURIComponent(stationId)) +
      "?resolution=" + resolution + "&start=" + encodeURIComponent(start.toISOString()) +
      "&end=" + encodeURIComponent(end.toISOString()) + "&page_size=1000";
  }

  /* Seconds since the epoch of a series row: an hour's start, or a local (Asia/Shanghai) day at noon. */
  function epoch(row) {
    return (row.day ? Date.parse(row.day + "T12:00:00+08:00") : Date.parse(row.hour_start)) / 1000;
  }

  function chartWidth(el) { return Math.max(260, Math.floor(el.getBoundingClientRect().width)); }

  function showEmpty(el, text) {
    var p = el.querySelector("[data-field='chart-empty']");
    if (p) { p.hidden = false; p.textContent = text; }
  }

  /* Time axis in Asia/Shanghai: hours for the 24-hour chart, month-day for the 30-day one. */
  function axes(daily, leftLabel, rightLabel) {
    var list = [{ space: 60, values: function (u, ticks) {
      return ticks.map(function (t) { var s = localTime(t * 1000); return daily ? s.slice(5, 10) : s.slice(11, 16); });
    } },
      { label: leftLabel, size: 50 }];
    if (rightLabel) list.push({ label: rightLabel, side: 1, scale: "pm", grid: { show: false }, size: 50 });
    return list;
  }

  function draw24h(el, rows) {
    var points = rows.filter(function (r) { return r.aqi != null || r.pm25 != null; });
    if (!points.length) { showEmpty(el, Civic.t("no_hourly")); return; }
    var x = points.map(epoch);
    var plot = new uPlot({
      width: chartWidth(el), height: 220, legend: { live: false },
      scales: { x: { time: true }, pm: {} },
      axes: axes(false, Civic.t("aqi"), Civic.t("pm25_unit")),
      series: [{}, { label: Civic.t("hour_aqi"), stroke: "#0b5cad", width: 2, points: { show: true } },
        { label: Civic.t("pm25_unit"), stroke: "#d55e00", width: 2, dash: [6, 4], scale: "pm" }],
    }, [x, points.map(function (r) { return r.aqi; }), points.map(function (r) { return r.pm25; })], el);
    charts.push(plot);
  }

  function draw30d(el, rows, dailyLimit) {
    var points = rows.filter(function (r) { return r.pm25 != null; });
    if (!points.length) { showEmpty(el, Civic.t("no_daily")); return; }
    var x = points.map(epoch);
    var plot = new uPlot({
      width: chartWidth(el), height: 220, legend: { live: false },
      scales: { x: { time: true } },
      axes: axes(true, Civic.t("pm25_unit")),
      series: [{}, { label: Civic.t("daily_pm25"), stroke: "#0b5cad", width: 2, fill: "rgba(11,92,173,.08)", points: { show: true } },
        { label: Civic.t("daily_limit") + " " + dailyLimit, stroke: "#b3261e", width: 1, dash: [4, 4], points: { show: false } }],
    }, [x, points.map(function (r) { return r.pm25; }), x.map(function () { return dailyLimit; })], el);
    charts.push(plot);
  }

  function drawCharts() {
    if (!window.uPlot) return;  // the station list and figures stand without charts
    document.querySelectorAll(".air-chart[data-station-id]").forEach(loadChart);
  }

  /* Reload a station's charts as its readings come in, at most once per CHART_REFRESH_MS (rollups are periodic). */
  var CHART_REFRESH_MS = 5 * 60 * 1000;

  function refreshCharts(stationId) {
    if (!window.uPlot) return;
    document.querySelectorAll(".air-chart[data-station-id='" + stationId + "']").forEach(function (el) {
      if (Date.now() - Number(el.dataset.loadedAt || 0) > CHART_REFRESH_MS) loadChart(el);
    });
  }

  function loadChart(el) {
    el.dataset.loadedAt = Date.now();
    var daily = el.dataset.chart === "30d";
    var end = new Date();
    var start = new Date(end.getTime() - (daily ? 30 : 24) * 3600 * 1000 * (daily ? 24 : 1));
    fetch(seriesUrl(el.dataset.stationId, daily ? "daily" : "hourly", start, end))
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (body) {
        charts = charts.filter(function (plot) {
          if (plot.root.parentNode !== el) return true;
          plot.destroy();
          return false;
        });
        var empty = el.querySelector("[data-field='chart-empty']");
        if (empty) empty.hidden = true;
        if (daily) draw30d(el, body, data.dailyLimit); else draw24h(el, body);
      })
      .catch(function () { showEmpty(el, Civic.t("chart_failed")); });
  }

  window.addEventListener("resize", function () {
    charts.forEach(function (plot) {
      var width = chartWidth(plot.root.parentNode);
      plot.setSize({ width: width, height: 220 });
    });
  });

  /* ---- live updates ---- */
  var pending = {};
  var inFlight = {};

  function onReading(event) {
    if (!stations[event.station_id]) return;
    refreshCharts(event.station_id);
    pending[event.station_id] = event;
    if (!inFlight[event.station_id]) rateNext(event.station_id);
  }

  /* Rate the newest waiting reading of a station (one request per station at a time). */
  function rateNext(stationId) {
    var event = pending[stationId];
    if (!event) return;
    delete pending[stationId];
    var quality = event.quality || {};
    var query = POLLUTANTS.filter(function (p) { return event[p] != null && !quality[p]; })
      .map(function (p) { return p + "=" + encodeURIComponent(event[p]); });
    var done = function () { inFlight[stationId] = false; rateNext(stationId); };
    inFlight[stationId] = true;
    if (!query.length) { apply(stationId, event, null); done(); return; }
    fetch(data.aqiUrl + "?" + query.join("&"))
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (rating) { apply(stationId, event, rating.aqi == null ? null : rating); })
      .catch(function () { apply(stationId, event, null); })
      .then(done);
  }

  function apply(stationId, event, rating) {
    var s = stations[stationId];
    var lang = data.lang;
    s.observed_at = new Date(event.observed_at * 1000).toISOString();
    s.aqi = rating ? rating.aqi : null;
    s.level = rating ? rating.category.level : null;
    s.category = rating ? rating.category[lang] : null;
    var primary = rating ? (rating.primary_pollutants.length
      ? rating.primary_pollutants.map(function (p) { return data.measureLabels[p] || p; }).join(lang === "zh" ? "、" : ", ")
      : Civic.t("primary_none")) : "—";

    document.querySelectorAll("[data-station-id='" + stationId + "']").forEach(function (root) {
      setText(root, "aqi", s.aqi == null ? "—" : s.aqi);
      setText(root, "category", s.category || Civic.t("no_rating"));
      setText(root, "primary", primary);
      setText(root, "observed_at", localTime(s.observed_at));
      POLLUTANTS.forEach(function (p) { if (event[p] != null) setValue(root, p, event[p]); });
      root.querySelectorAll("[data-field='badge'], [data-field='hero-index']").forEach(function (el) {
        el.className = el.className.replace(/\baqi-(\d|none)\b/g, "").trim() + " " + (s.level ? "aqi-" + s.level : "aqi-none");
        el.dataset.level = s.level || "";
      });
      if (root.hasAttribute("data-hero") && rating) updateAdvice(root, rating, lang);
    });
    if (markers[stationId]) {
      markers[stationId].setIcon(markerIcon(s));
      markers[stationId].setZIndexOffset(zIndex(s));
      markers[stationId].setPopupContent(popupHtml(s));
    }
    if (rating && document.querySelector(".air-now.air-empty")) refreshHeadline();
  }

  function setText(root, field, text) {
    root.querySelectorAll("[data-field='" + field + "']").forEach(function (el) { el.textContent = text; });
  }

  /* A concentration as the server writes it: CO with one decimal, the rest as integers. */
  function setValue(root, measure, value) {
    root.querySelectorAll("[data-field='" + measure + "']").forEach(function (el) {
      var unit = el.textContent.replace(/^[\s\d.,—-]+/, "");
      var number = measure === "co" ? Number(value).toFixed(1) : Math.round(value);
      el.textContent = number + (unit ? " " + unit.trim() : "");
    });
  }

  function updateAdvice(root, rating, lang) {
    setText(root, "measures", rating.advice.measures[lang]);
    setText(root, "effects", rating.advice.health_effects[lang]);
    var list = root.querySelector("[data-field='sensitive']");
    if (!list) return;
    list.textContent = "";
    rating.advice.sensitive_groups.forEach(function (group) {
      var li = document.createElement("li");
      li.textContent = Civic.t("sensitive") + ": " + group[lang];
      list.appendChild(li);
    });
  }

  /* The first rated reading on a page that had none: take the server's headline card as it is now. */
  function refreshHeadline() {
    fetch(window.location.pathname, { headers: { Accept: "text/html" } })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector(".air-now");
        var old = document.querySelector(".air-now.air-empty");
        if (fresh && old && !fresh.classList.contains("air-empty")) old.replaceWith(fresh);
      });
  }

  /* ---- alerts ---- */
  function onAlert(event) {
    if (event.source_type !== "air_station") return;
    var onlyStation = document.querySelector(".air-readings[data-station-id]");
    if (onlyStation && onlyStation.dataset.stationId !== event.source_id) return;
    var section = document.querySelector(".air-alerts");
    if (!section) return;
    var list = section.querySelector("ul.alert-list");
    var existing = section.querySelector("[data-alert-id='" + event.id + "']");
    if (event.state === "cleared") {
      if (existing) existing.remove();
      if (list && !list.children.length) showNoAlerts(section, list);
      return;
    }
    if (!list) {
      list = document.createElement("ul");
      list.className = "alert-list";
      var empty = section.querySelector(".empty");
      if (empty) empty.hidden = true;
      section.appendChild(list);
    }
    var li = existing || document.createElement("li");
    li.className = "alert-item alert-" + event.severity;
    li.dataset.alertId = event.id;
    li.innerHTML = "<span class='badge alert-severity'></span> <span class='alert-title'></span> <span class='muted small'></span>";
    li.children[0].textContent = Civic.t("severity_" + event.severity);
    li.children[1].textContent = data.lang === "zh" ? event.title_zh : event.title_en;
    li.children[2].textContent = localTime(event.at).slice(5);
    if (!existing) list.insertBefore(li, list.firstChild);
  }

  function showNoAlerts(section, list) {
    list.remove();
    var empty = section.querySelector(".empty");
    if (empty) { empty.hidden = false; empty.textContent = Civic.t("no_alerts"); }
  }

  /* PM2.5 gauge: positions come as data-width / data-left (per cent), since the CSP allows no style attributes. */
  function placeGauges() {
    document.querySelectorAll(".gauge [data-width]").forEach(function (el) { el.style.width = el.dataset.width + "%"; });
    document.querySelectorAll(".gauge [data-left]").forEach(function (el) { el.style.left = el.dataset.left + "%"; });
  }

  placeGauges();
  drawMap();
  drawCharts();
  CivicLive.connect(["air_station", "alert"], function (kind, event) {
    if (kind === "air_station") onReading(event); else onAlert(event);
  });
})();
