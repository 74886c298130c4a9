/* Resident parking pages (/parking and /parking/<id>): enhance the server-rendered list and detail.
 *
 * - the landmark form submits itself when a choice changes (it is a plain GET form without JS);
 * - the browser's position, when given, re-sorts the list with the backend's nearby search;
 * - a map of the car parks coloured by availability, the free count written on each pin;
 * - live counts from the `parking_facility` events (the worker publishes one when a car park's counts change);
 * - on the detail page, today's occupancy curve (uPlot) from the hourly history endpoint (local midnight on).
 */
(function () {
  "use strict";

  var dataEl = document.getElementById("parking-data");
  if (!dataEl) return;
  var data = JSON.parse(dataEl.textContent);
  var byId = {};
  data.facilities.forEach(function (f) { byId[f.id] = f; });
  var markers = {};

  /* Same rule as web/parking/places.py availability(): keep the two in step. */
  function level(free, occupied) {
    var known = free + occupied;
    if (known === 0) return "unknown";
    if (free === 0) return "full";
    return free <= Math.max(5, 0.1 * known) && 2 * free <= known ? "few" : "plenty";
  }

  function distanceText(metres) {
    if (metres == null) return "";
    return metres < 1000 ? Civic.t("m", { n: Math.round(metres) }) : Civic.t("km", { n: Civic.number(metres / 1000, 1) });
  }

  function freeText(f) { return f.level === "unknown" ? "—" : Civic.number(f.free); }

  /* ---- live counts ------------------------------------------------------------------------------ */
  function setRole(root, role, text) {
    root.querySelectorAll('[data-role="' + role + '"]').forEach(function (el) { el.textContent = text; });
  }

  function render(f) {
    document.querySelectorAll('[data-facility="' + f.id + '"]').forEach(function (root) {
      root.dataset.level = f.level;
      root.querySelectorAll('[data-role="badge"]').forEach(function (badge) {
        badge.className = badge.className.replace(/\bavail-\w+/, "avail-" + f.level);
      });
      setRole(root, "free", freeText(f));
      setRole(root, "level", Civic.t(f.level));
      setRole(root, "of-total", Civic.t("berths", { n: Civic.number(f.total) }));
      ["occupied", "closed", "unknown", "total"].forEach(function (k) { setRole(root, k, Civic.number(f[k])); });
      root.classList.remove("changed");
      void root.offsetWidth;  // restart the highlight animation
      root.classList.add("changed");
    });
    if (markers[f.id]) markers[f.id].setIcon(pinIcon(f));
  }

  function applyCounts(id, counts, at) {
    var f = byId[id];
    if (!f) return;
    ["total", "free", "occupied", "closed", "unknown"].forEach(function (k) { f[k] = counts[k] || 0; });
    f.level = level(f.free, f.occupied);
    render(f);
    var stamp = document.getElementById("counts-at");
    if (stamp && at) stamp.textContent = (data.origin ? " · " : "") + Civic.t("countsAt", { time: Civic.time(at * 1000) });
  }

  /* The API's flat facility (counts at the top level, per category in by_category) -> the counts shown. */
  function shownCounts(f) {
    return data.category ? (f.by_category || {})[data.category] : f;
  }

  /* Detail page: the event has whole-facility counts; the per-category table asks for its own. */
  var categoryTable = document.querySelector(".category-table");
  function refreshCategories(id) {
    fetch("/api/v1/parking/facilities/" + encodeURIComponent(id))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (f) {
        if (!f) return;
        categoryTable.querySelectorAll("tr[data-category]").forEach(function (row) {
          var c = f.by_category[row.dataset.category];
          if (!c) return;
          var badge = row.querySelector('[data-role="category-free"]');
          var lv = level(c.free, c.occupied);
          badge.className = badge.className.replace(/\bavail-\w+/, "avail-" + lv);
          badge.textContent = lv === "unknown" ? "—" : Civic.number(c.free);
        });
      });
  }

  function onFacilityEvent(kind, event) {
    if (!byId[event.facility_id]) return;
    if (categoryTable) refreshCategories(event.facility_id);
    if (!data.category) {
      applyCounts(event.facility_id, event, event.at);
      return;
    }
    // A category filter is on: the event carries whole-facility counts, so ask for this category's own.
    fetch("/api/v1/parking/facilities/" + encodeURIComponent(event.facility_id))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (f) {
        var counts = f && shownCounts(f);
        if (counts) applyCounts(event.facility_id, counts, event.at);
      });
  }

  /* After a dropped connection, events may have been missed: take the current counts once. */
  function catchUp() {
    fetch("/api/v1/parking/facilities")
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (list) {
        list.forEach(function (f) {
          var counts = shownCounts(f);
          if (byId[f.id] && counts) applyCounts(f.id, counts, f.updated_at);
        });
      });
  }

  var source = CivicLive.connect(["parking_facility"], onFacilityEvent);
  var opened = false;
  source.addEventListener("open", function () {
    if (opened) catchUp();
    opened = true;
  });

  /* ---- list page: form, position, map ----------------------------------------------------------- */
  var form = document.getElementById("park-form");
  if (form) {
    form.querySelectorAll("select, input[type=checkbox]").forEach(function (el) {
      el.addEventListener("change", function () { form.submit(); });
    });
    form.querySelector(".apply").hidden = true;  // choices apply as they change
  }

  function reorder(distances) {
    var list = document.getElementById("park-list");
    if (!list) return;
    var items = Array.prototype.slice.call(list.children);
    items.forEach(function (li) {
      var d = distances[li.dataset.facility];
      li.dataset.distance = d == null ? Infinity : d;
      li.querySelector('[data-role="distance"]').textContent = distanceText(d);
    });
    items.sort(function (a, b) { return a.dataset.distance - b.dataset.distance; });
    items.forEach(function (li) { list.appendChild(li); });
  }

  var sortedFrom = document.getElementById("sorted-from");
  function sortFrom(lat, lon) {
    // The API's widest radius (5 km) covers Heping from anywhere inside it; what lies beyond goes last.
    var query = "lat=" + lat + "&lon=" + lon + "&radius=5000&limit=100";
    return fetch("/api/v1/parking/nearby?" + query)
      .then(function (r) { if (!r.ok) throw new Error("nearby " + r.status); return r.json(); })
      .then(function (found) {
        var distances = {};
        found.forEach(function (f) { distances[f.id] = f.distance_m; });
        reorder(distances);
        sortedFrom.textContent = Civic.t("sortedHere");
        if (map) placeHere(lat, lon);
      });
  }

  function locate() {
    if (!navigator.geolocation) return;
    var before = sortedFrom.textContent;
    sortedFrom.textContent = Civic.t("locating");
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        sortFrom(pos.coords.latitude, pos.coords.longitude).catch(function () { sortedFrom.textContent = before; });
      },
      function () { sortedFrom.textContent = Civic.t("noLocation", { place: sortedFrom.dataset.origin }); },
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 }
    );
  }

  var locateButton = document.getElementById("locate");
  if (locateButton && navigator.geolocation) {
    locateButton.hidden = false;
    locateButton.addEventListener("click", locate);
    // Ask once on arrival, unless the visitor chose a place: then their choice is the answer.
    if (!new URLSearchParams(location.search).has("near")) locate();
  }

  /* Car parks without live data get a small grey pin, so the ones with a number stay readable. */
  function pinIcon(f) {
    var size = f.level === "unknown" ? [22, 18] : [40, 28];
    return L.divIcon({
      className: "pin-wrap",
      html: '<span class="pin avail-' + f.level + '">' + freeText(f) + "</span>",
      iconSize: size,
      iconAnchor: [size[0] / 2, size[1] / 2],
    });
  }

  var map = null, here = null;
  function placeHere(lat, lon) {
    if (here) here.remove();
    here = L.circleMarker([lat, lon], { radius: 7, color: "#fff", weight: 2, fillColor: "#0b5cad", fillOpacity: 1 })
      .addTo(map);
  }

  if (document.getElementById("park-map") && window.CivicMap) {
    map = CivicMap.create("park-map");
    data.facilities.forEach(function (f) {
      var link = document.createElement("a");
      link.href = f.url;
      link.textContent = f.name + " · " + Civic.t(f.level);
      markers[f.id] = L.marker([f.lat, f.lon], {
        icon: pinIcon(f), title: f.name, keyboard: true, zIndexOffset: f.level === "unknown" ? 0 : 1000,
      }).bindPopup(link).addTo(map);
    });
    placeHere(data.origin.lat, data.origin.lon);
    var points = data.facilities.map(function (f) { return [f.lat, f.lon]; });
    if (points.length > 1) map.fitBounds(points, { padding: [24, 24] });
  }

  /* ---- detail page: today's occupancy curve ----------------------------------------------------- */
  var chartEl = document.getElementById("occupancy-chart");
  if (chartEl && chartEl.dataset.url && window.uPlot) {
    fetch(chartEl.dataset.url)
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (history) { drawToday(chartEl, history); });
  }

  function drawToday(el, history) {
    var midnight = Number(el.dataset.midnight);
    var rows = (history ? history.hours : []).filter(function (h) { return Date.parse(h.hour) / 1000 >= midnight; });
    if (!rows.length) return;  // the empty state stays and says what to expect
    var t = [], occupied = [], free = [];
    rows.forEach(function (h) {
      t.push(Date.parse(h.hour) / 1000);
      occupied.push(h.occupancy_rate == null ? null : Math.round(h.occupancy_rate * 1000) / 10);
      free.push(h.free);
    });
    document.getElementById("occupancy-empty").hidden = true;
    new uPlot({
      width: el.clientWidth || 340,
      height: 220,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), Civic.config.timeZone); },
      scales: { x: { time: true, range: [midnight, midnight + 24 * 3600] }, pct: { range: [0, 100] } },
      series: [
        { label: Civic.t("time") },
        { label: Civic.t("occupiedPct"), scale: "pct", stroke: "#d55e00", width: 2, fill: "rgba(213,94,0,0.12)",
          points: { show: true } },
        { label: Civic.t("freeBerths"), scale: "berths", stroke: "#009e73", width: 2, points: { show: true } },
      ],
      legend: { live: false },
      axes: [
        { values: function (u, v) { return v.map(function (ts) { return Civic.time(ts * 1000, { second: undefined }); }); } },
        { scale: "pct", values: function (u, v) { return v.map(function (x) { return x + "%"; }); } },
        { scale: "berths", side: 1, grid: { show: false } },
      ],
    }, [t, occupied, free], el);
  }
})();
