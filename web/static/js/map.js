/* A Leaflet map of Heping that works offline: the district outline always, tiles only when configured.
 *
 * CivicMap.create(elementId) -> L.Map, fitted to the district; tiles come from Civic.config.tileUrl
 * (MAP_TILE_URL) when set. Points are the page's business: add markers to the returned map.
 */
(function () {
  "use strict";

  var HEPING_BOUNDS = [[39.100, 117.170], [39.145, 117.225]];

  function create(elementId, options) {
    var map = L.map(elementId, Object.assign({ zoomSnap: 0.25, attributionControl: true }, options || {}));
    map.fitBounds(HEPING_BOUNDS);
    var tileUrl = window.Civic && Civic.config.tileUrl;
    if (tileUrl) {
      L.tileLayer(tileUrl, { maxZoom: 19, attribution: "© OpenStreetMap" }).addTo(map);
    }
    fetch("/static/heping-outline.geojson")
      .then(function (r) { return r.json(); })
      .then(function (outline) {
        L.geoJSON(outline, {
          interactive: false,
          style: { color: "#0b5cad", weight: 2, fillColor: "#0b5cad", fillOpacity: 0.06 },
        }).addTo(map).bringToBack();
      });
    return map;
  }

  window.CivicMap = { create: create, bounds: HEPING_BOUNDS };
})();
