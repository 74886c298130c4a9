/* The desk, enhanced: the service list filters as the clerk types (two characters, Chinese or English),
 * choosing a service brings in its fields without a reload, and the queue follows the event stream.
 * Every piece is a fragment the server renders for the no-JS page as well (/desk/services, /desk/queue).
 */
(function () {
  "use strict";

  var search = document.getElementById("service-q");
  var results = document.getElementById("service-results");
  var fields = document.getElementById("service-fields");
  var queue = document.getElementById("queue-list");

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function getHtml(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } }).then(function (response) {
      if (!response.ok || response.redirected) throw new Error("HTTP " + response.status);
      return response.text();
    });
  }

  /* Live service search: newest answer wins, however the requests overtake each other. */
  var asked = 0;
  function findServices() {
    var q = search.value.trim();
    var mine = ++asked;
    results.setAttribute("aria-busy", "true");
    getHtml(search.dataset.url + "?q=" + encodeURIComponent(q)).then(function (html) {
      if (mine !== asked) return;
      results.innerHTML = html;
      results.removeAttribute("aria-busy");
    }).catch(function () {
      results.removeAttribute("aria-busy");
      results.insertAdjacentHTML("afterbegin", '<p class="field-error">' + Civic.t("failed") + "</p>");
    });
  }

  function chooseService(link) {
    var code = link.dataset.service;
    getHtml(fields.dataset.url.replace("CODE", encodeURIComponent(code))).then(function (html) {
      fields.innerHTML = html;
      results.querySelectorAll("a[data-service]").forEach(function (a) {
        if (a === link) a.setAttribute("aria-current", "true"); else a.removeAttribute("aria-current");
      });
      var first = fields.querySelector(".attributes input, .attributes textarea") || document.getElementById("description");
      if (first) first.focus();
    }).catch(function () { window.location.href = link.href; });  // fall back to the plain link
  }

  if (search && results && fields) {
    search.addEventListener("input", debounce(findServices, 120));
    search.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault();  // Enter picks the first match instead of reloading the page
      var first = results.querySelector("a[data-service]");
      if (first) chooseService(first);
    });
    results.addEventListener("click", function (event) {
      var link = event.target.closest("a[data-service]");
      if (!link) return;
      event.preventDefault();
      chooseService(link);
    });
    fields.addEventListener("click", function (event) {
      if (!event.target.closest(".change-service")) return;
      event.preventDefault();
      search.focus();
      search.select();
    });
  }

  /* The queue keeps itself current: a change in this desk's community re-reads it under the same filters. */
  if (queue && window.CivicLive) {
    var community = queue.dataset.community;  // empty for operators: every community is theirs
    var reload = debounce(function () {
      getHtml(queue.dataset.url + window.location.search).then(function (html) {
        queue.innerHTML = html;
      }).catch(function () { /* the header already says the connection was lost */ });
    }, 300);
    CivicLive.connect(["service_request"], function (kind, event) {
      if (!community || event.community_id === community) reload();
    });
  }
})();
