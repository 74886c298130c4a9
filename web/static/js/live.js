/* Shared page helpers: language-aware formatting and the live event stream (Server-Sent Events).
 *
 * Civic.t(key, params)     a message from #civic-config or the page's own #page-messages JSON
 * Civic.time(value)        local time (Asia/Shanghai) of an ISO string / epoch ms, in the page's language
 * Civic.number(n, digits)  a number in local form
 * CivicLive.connect(kinds, onEvent, onReset)  subscribe to /api/v1/events/stream; keeps the header's status current.
 *   The browser sends Last-Event-ID on reconnect and the stream replays what was missed; when it missed too
 *   much it sends a `reset` event instead, and onReset (if given) should re-fetch the page's state.
 */
(function () {
  "use strict";

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : {};
  }

  var config = readJson("civic-config");
  var messages = Object.assign({}, config.messages || {}, readJson("page-messages"));

  var Civic = {
    config: config,
    t: function (key, params) {
      var text = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
      Object.keys(params || {}).forEach(function (name) {
        text = text.split("{" + name + "}").join(String(params[name]));
      });
      return text;
    },
    time: function (value, options) {
      var date = value instanceof Date ? value : new Date(value);
      return new Intl.DateTimeFormat(config.locale, Object.assign(
        { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZone: config.timeZone },
        options || {}
      )).format(date);
    },
    number: function (n, digits) {
      return new Intl.NumberFormat(config.locale, { maximumFractionDigits: digits || 0 }).format(n);
    },
  };

  function setStatus(state, text) {
    var el = document.getElementById("live-status");
    if (!el) return;
    el.dataset.state = state;
    el.textContent = text;
  }

  var CivicLive = {
    /* kinds: the event kinds to receive (the stream names each event by kind); onEvent(kind, data). */
    connect: function (kinds, onEvent, onReset) {
      var params = (kinds || []).map(function (k) { return "kind=" + encodeURIComponent(k); });
      // From the moment the page was rendered: what happened before the stream connected is replayed.
      if (config.eventsFrom) params.push("last_event_id=" + encodeURIComponent(config.eventsFrom));
      var query = params.join("&");
      var source = new EventSource("/api/v1/events/stream" + (query ? "?" + query : ""));
      setStatus("connecting", Civic.t("connecting"));
      source.onopen = function () { setStatus("live", Civic.t("live")); };
      source.onerror = function () { setStatus("lost", Civic.t("lost")); };  // EventSource reconnects by itself
      var handle = function (event) {
        setStatus("live", Civic.t("updated", { time: Civic.time(new Date()) }));
        onEvent(event.type, JSON.parse(event.data));
      };
      kinds.forEach(function (kind) {
        source.addEventListener(kind, handle);
      });
      if (onReset) {
        source.addEventListener("reset", function () {
          setStatus("live", Civic.t("updated", { time: Civic.time(new Date()) }));
          onReset();
        });
      }
      return source;
    },
    /* For pages that poll or load data themselves: mark the data as fresh now. */
    markUpdated: function () { setStatus("live", Civic.t("updated", { time: Civic.time(new Date()) })); },
  };

  window.Civic = Civic;
  window.CivicLive = CivicLive;
})();
