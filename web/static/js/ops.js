/* The command centre's console (/ops): four panels kept current from the event stream.
 *
 * Each panel fetches its figures once on load (and again on a `reset` event, when the stream missed too
 * much to replay); after that only events change it: `alert`, `fleet` and `device_status`, `pipeline`,
 * `kpi`. A panel whose API fails says so in words and keeps the rest of the page working.
 */
(function () {
  "use strict";

  var msg = JSON.parse(document.getElementById("page-messages").textContent);
  var lang = Civic.config.lang;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var t = Civic.t;
  var SEVERITY_RANK = { critical: 0, warning: 1, info: 2 };

  /* ---------- small helpers ---------- */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function api(method, url, body) {
    var headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRFToken"] = csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: method, credentials: "same-origin", headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      if (response.status === 204) return null;
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(data.message || "HTTP " + response.status);
        return data;
      });
    });
  }

  function label(table, key) { return (msg[table] || {})[key] || key; }
  function pct(ratio) { return ratio === null || ratio === undefined ? "–" : Civic.number(ratio * 100, 1) + " %"; }
  function num(n, digits) { return n === null || n === undefined ? "–" : Civic.number(n, digits); }
  function count(v) {
    if (Array.isArray(v)) return v.length;
    if (v && typeof v === "object") return v.count !== undefined ? v.count : Object.keys(v).length;
    return v;
  }
  function shortTime(iso) { return Civic.time(iso, { month: "2-digit", day: "2-digit", second: undefined }); }
  function panelState(id, text) {
    var node = document.getElementById(id);
    node.textContent = text || "";
    node.hidden = !text;
  }
  function asOf(id, iso) {
    document.getElementById(id).textContent = iso ? t("as_of", { time: Civic.time(iso) }) : "";
  }
  function chartWidth(node) { return Math.max(120, node.clientWidth); }

  /* ---------- Alerts ---------- */
  var alertList = document.getElementById("alert-list");
  var filters = document.getElementById("alert-filters");
  var alerts = new Map();
  var alertErrors = {};  // alert id -> the last action's error, shown until the next render after success
  var newCritical = 0;
  var soundOn = localStorage.getItem("ops-sound") === "on";

  function currentFilters() {
    return {
      severity: filters.elements.severity.value,
      kind: filters.elements.kind.value,
      state: filters.elements.state.value,
    };
  }

  function matches(a, f) {
    if (f.severity && a.severity !== f.severity) return false;
    if (f.kind && a.kind !== f.kind) return false;
    if (f.state) return a.state === f.state;
    return a.state !== "cleared";
  }

  function inboxOrder(a, b) {
    var rank = (SEVERITY_RANK[a.severity] ?? 3) - (SEVERITY_RANK[b.severity] ?? 3);
    if (rank) return rank;
    return (b.raised_at || "").localeCompare(a.raised_at || "") || b.id - a.id;
  }

  function when(iso) { return el("time", { datetime: iso, text: shortTime(iso) }); }

  function alertItem(a) {
    var meta = [el("span", { text: label("alert_kinds", a.kind) })];
    if (a.subdistrict_id) meta.push(el("span", { text: msg.subdistricts[a.subdistrict_id] || a.subdistrict_id }));
    if (a.raised_at) meta.push(el("span", {}, [msg.raised + " ", when(a.raised_at)]));
    if (a.acknowledged_by) {
      meta.push(el("span", {}, [t("acknowledged_by", { who: a.acknowledged_by }) + " ", a.acknowledged_at ? when(a.acknowledged_at) : null]));
    }
    if (a.assigned_to) meta.push(el("span", { text: t("assigned_to", { who: a.assigned_to }) }));
    var open = a.state !== "cleared";
    var inputId = "assignee-" + a.id;
    var actions = open ? el("div", { className: "alert-actions" }, [
      a.state === "raised" ? el("button", { type: "button", "data-action": "acknowledge", text: msg.acknowledge }) : null,
      el("label", { className: "visually-hidden", for: inputId, text: msg.assign_to }),
      el("input", { id: inputId, className: "assignee", type: "text", maxlength: "120", placeholder: msg.assign_placeholder, value: a.assigned_to || "" }),
      el("button", { type: "button", className: "secondary", "data-action": "assign", text: msg.assign }),
      el("button", { type: "button", className: "secondary", "data-action": "clear", text: msg.clear }),
    ]) : null;
    return el("li", {
      className: "alert-item sev-" + a.severity + " state-" + a.state + (a.fresh ? " fresh" : ""),
      "data-id": a.id, "data-severity": a.severity, "data-state": a.state, "data-kind": a.kind,
    }, [
      el("div", { className: "alert-line" }, [
        el("span", { className: "sev-badge sev-" + a.severity, text: label("severities", a.severity) }),
        el("span", { className: "alert-title", text: lang === "zh" ? a.title_zh : a.title_en }),
        el("span", { className: "state-tag", text: label("states", a.state) }),
      ]),
      el("div", { className: "alert-meta" }, meta),
      actions,
      alertErrors[a.id] ? el("p", { className: "action-error", role: "alert", text: alertErrors[a.id] }) : null,
    ]);
  }

  function renderAlerts() {
    // Keep what the operator is typing and where the focus is across a re-render.
    var typed = {};
    alertList.querySelectorAll("input.assignee").forEach(function (input) { typed[input.id] = input.value; });
    var focused = document.activeElement && alertList.contains(document.activeElement) ? document.activeElement : null;
    var focusKey = focused && (focused.id || (focused.closest("li").dataset.id + ":" + focused.dataset.action));

    var f = currentFilters();
    var shown = Array.from(alerts.values()).filter(function (a) { return matches(a, f); }).sort(inboxOrder);
    alertList.replaceChildren.apply(alertList, shown.map(alertItem));
    Object.keys(typed).forEach(function (id) {
      var input = document.getElementById(id);
      if (input) input.value = typed[id];
    });
    if (focusKey) {
      var parts = focusKey.split(":");
      var again = document.getElementById(focusKey) ||
        alertList.querySelector('li[data-id="' + parts[0] + '"] [data-action="' + parts[1] + '"]');
      if (again) again.focus();
    }
    var open = shown.filter(function (a) { return a.state !== "cleared"; });
    document.getElementById("alerts-open").textContent = num(open.length);
    document.getElementById("alerts-critical").textContent =
      num(open.filter(function (a) { return a.severity === "critical" && a.state === "raised"; }).length);
    var filtered = f.severity || f.kind || f.state;
    panelState("alerts-state", shown.length ? "" : (filtered ? msg.no_match : msg.no_alerts));
  }

  function loadAlerts() {
    var f = currentFilters();
    var query = new URLSearchParams({ page_size: "200" });
    if (f.state) query.set("state", f.state); else query.set("open", "true");
    if (f.severity) query.set("severity", f.severity);
    if (f.kind) query.set("kind", f.kind);
    return api("GET", "/api/v1/alerts?" + query).then(function (list) {
      alerts = new Map(list.map(function (a) { return [a.id, a]; }));
      renderAlerts();
    }).catch(function () { panelState("alerts-state", msg.alerts_failed); });
  }

  function beep() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    var ctx = new Ctx();
    [0, 0.25].forEach(function (start) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + start);
      osc.stop(ctx.currentTime + start + 0.15);
    });
    setTimeout(function () { ctx.close(); }, 1000);
  }

  function cueCritical() {
    newCritical += 1;
    var button = document.getElementById("new-critical");
    document.getElementById("new-critical-count").textContent = num(newCritical);
    button.hidden = false;
    var panel = document.getElementById("alerts-panel");
    panel.classList.remove("flash");
    void panel.offsetWidth;  // restart the animation for a second alert in a row
    panel.classList.add("flash");
    if (soundOn) beep();
  }

  function onAlertEvent(e) {
    var before = alerts.get(e.id);
    var merged = Object.assign({}, before || {}, {
      id: e.id, kind: e.alert_kind, source_type: e.source_type, source_id: e.source_id,
      severity: e.severity, state: e.state, subdistrict_id: e.subdistrict_id,
      title_zh: e.title_zh, title_en: e.title_en, updated_at: e.at,
      raised_at: (before && before.raised_at) || e.at, fresh: e.action === "raised",
    });
    alerts.set(e.id, merged);
    renderAlerts();
    var becameCritical = e.severity === "critical" && e.state === "raised" &&
      (e.action === "raised" || (e.action === "updated" && before && before.severity !== "critical"));
    if (becameCritical) cueCritical();
    // The event says what changed; the alert itself says who and when.
    api("GET", "/api/v1/alerts/" + e.id).then(function (full) {
      delete full.history;
      alerts.set(e.id, Object.assign(full, { fresh: merged.fresh }));
      renderAlerts();
    }).catch(function () { /* the event's own fields are shown */ });
  }

  alertList.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) return;
    var item = button.closest("li");
    var id = Number(item.dataset.id);
    var action = button.dataset.action;
    var body = {};
    if (action === "assign") {
      var assignee = item.querySelector("input.assignee").value.trim();
      if (!assignee) {
        alertErrors[id] = msg.assignee_needed;
        renderAlerts();
        document.getElementById("assignee-" + id).focus();
        return;
      }
      body.assignee = assignee;
    }
    button.disabled = true;
    api("POST", "/api/v1/alerts/" + id + "/" + action, body).then(function (full) {
      delete full.history;
      delete alertErrors[id];
      alerts.set(id, full);
      renderAlerts();
    }).catch(function (error) {
      alertErrors[id] = t("action_failed", { reason: error.message });
      renderAlerts();
    });
  });
  alertList.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches("input.assignee")) {
      event.preventDefault();
      event.target.closest("li").querySelector('[data-action="assign"]').click();
    }
  });
  filters.addEventListener("change", function () { loadAlerts(); });
  filters.addEventListener("submit", function (event) { event.preventDefault(); loadAlerts(); });

  document.getElementById("new-critical").addEventListener("click", function () {
    newCritical = 0;
    this.hidden = true;
    var first = alertList.querySelector("li.sev-critical.state-raised button, li button");
    if (first) first.focus();
  });
  var soundToggle = document.getElementById("sound-toggle");
  function showSound() {
    soundToggle.setAttribute("aria-pressed", soundOn ? "true" : "false");
    soundToggle.textContent = soundOn ? msg.sound_on : msg.sound_off;
  }
  soundToggle.addEventListener("click", function () {
    soundOn = !soundOn;
    localStorage.setItem("ops-sound", soundOn ? "on" : "off");
    showSound();
    if (soundOn) beep();  // also lets the browser allow sound later (a user gesture started it)
  });
  showSound();

  /* ---------- Sensor fleet ---------- */
  var fleetMap = null;
  var offlineLayer = null;
  var offlineDevices = new Map();
  var mapNote = null;

  function ensureMap() {
    if (fleetMap || !window.L || !window.CivicMap) return;
    fleetMap = CivicMap.create("fleet-map", { zoomControl: true });
    offlineLayer = L.layerGroup().addTo(fleetMap);
    mapNote = el("div", { className: "map-note", text: msg.no_offline });
    document.getElementById("fleet-map").appendChild(mapNote);
  }

  function renderOffline() {
    ensureMap();
    if (!offlineLayer) return;
    offlineLayer.clearLayers();
    offlineDevices.forEach(function (d) {
      if (d.lat === null || d.lat === undefined || d.lon === null || d.lon === undefined) return;
      var stale = d.state === "stale";
      var text = d.device_id + " · " + label("device_kinds", d.kind) + " · " + label("states_fleet", d.state || "offline");
      if (d.silent_s) text += " · " + t("silent_for", { minutes: Civic.number(d.silent_s / 60) });
      L.circleMarker([d.lat, d.lon], {
        radius: 7, weight: 2, color: stale ? "#e3b341" : "#ff6b6b", fillColor: stale ? "#e3b341" : "#f85149", fillOpacity: 0.85,
      }).bindTooltip(text).addTo(offlineLayer);
    });
    mapNote.hidden = offlineDevices.size > 0;
  }
  msg.states_fleet = { online: msg.online, stale: msg.stale, offline: msg.offline };

  function kindCard(k) {
    return el("div", { className: "kind-card" }, [
      el("div", { className: "kind-name", text: label("device_kinds", k.kind) }),
      el("div", { className: "big-number", text: pct(k.availability) }),
      el("div", { className: "kind-label muted", text: msg.availability }),
      el("ul", { className: "kind-counts" }, [
        el("li", {}, [el("strong", { text: num(k.online) }), " " + msg.online]),
        el("li", { className: k.stale > 0 ? "warn" : "" }, [el("strong", { text: num(k.stale) }), " " + msg.stale]),
        el("li", { className: k.offline > 0 ? "bad" : "" }, [el("strong", { text: num(k.offline) }), " " + msg.offline]),
        el("li", { className: k.battery_low > 0 ? "warn" : "" }, [el("strong", { text: num(k.battery_low) }), " " + msg.battery_low]),
      ]),
    ]);
  }

  function renderFleet(summary) {
    var kinds = summary.kinds || [];
    panelState("fleet-state", kinds.length ? "" : msg.fleet_empty);
    asOf("fleet-as-of", summary.as_of);
    document.getElementById("fleet-kinds").replaceChildren.apply(document.getElementById("fleet-kinds"), kinds.map(kindCard));
    var table = document.getElementById("fleet-subdistricts");
    var rows = (summary.subdistricts || []).map(function (s) {
      var sum = { total: 0, online: 0, stale: 0, offline: 0 };
      Object.keys(s.kinds || {}).forEach(function (kind) {
        Object.keys(sum).forEach(function (field) { sum[field] += s.kinds[kind][field] || 0; });
      });
      return el("tr", {}, [
        el("th", { scope: "row", text: lang === "zh" ? s.name_zh : s.name_en }),
        el("td", { text: sum.total ? pct(sum.online / sum.total) : "–" }),
        el("td", { className: sum.offline > 0 ? "bad" : "", text: num(sum.offline) }),
        el("td", { className: sum.stale > 0 ? "warn" : "", text: num(sum.stale) }),
      ]);
    });
    table.tBodies[0].replaceChildren.apply(table.tBodies[0], rows);
    table.hidden = rows.length === 0;
  }

  function loadFleet() {
    ensureMap();
    var summary = api("GET", "/api/v1/fleet").then(renderFleet);
    var devices = api("GET", "/api/v1/fleet/devices?state=offline").then(function (list) {
      offlineDevices = new Map((list.items || list).map(function (d) { return [d.device_id, d]; }));
      renderOffline();
    });
    return Promise.all([summary, devices]).catch(function () {
      panelState("fleet-state", msg.fleet_failed);
    });
  }

  var feed = document.getElementById("device-feed");
  var feedStarted = false;
  function onDeviceStatus(e) {
    if (!feedStarted) { feed.replaceChildren(); feedStarted = true; }
    var offline = e.status === "offline";
    var at = e.received_at ? new Date(e.received_at * 1000) : new Date();
    feed.insertBefore(el("li", { className: offline ? "bad" : "" }, [
      el("time", { text: Civic.time(at) }), " ",
      t(offline ? "device_offline" : "device_online", { device: e.device_id }),
    ]), feed.firstChild);
    while (feed.children.length > 6) feed.removeChild(feed.lastChild);
    var known = offlineDevices.get(e.device_id);
    if (!offline && known) { offlineDevices.delete(e.device_id); renderOffline(); }
    if (offline && known) { known.state = "offline"; renderOffline(); }
  }

  /* ---------- Pipeline health ---------- */
  var spark = null;
  var sparkData = [[], []];
  var SPARK_POINTS = 180;

  function axisStyle() {
    return { stroke: "#9aa7b4", grid: { stroke: "rgba(154,167,180,.15)" }, ticks: { stroke: "rgba(154,167,180,.3)" } };
  }

  function pushSample(h) {
    var value = h.mqtt && h.mqtt.received_per_s;
    if (value === undefined || value === null) return;
    sparkData[0].push((h.as_of ? Date.parse(h.as_of) : Date.now()) / 1000);
    sparkData[1].push(value);
    if (sparkData[0].length > SPARK_POINTS) { sparkData[0].shift(); sparkData[1].shift(); }
    var node = document.getElementById("pipeline-spark");
    if (!spark && window.uPlot && sparkData[0].length >= 2) {  // one point makes no line, only a stray dot
      spark = new uPlot({
        width: chartWidth(node), height: 80, legend: { show: false }, cursor: { show: false },
        axes: [Object.assign({ size: 24, values: function (u, ticks) { return ticks.map(function (s) { return Civic.time(s * 1000, { second: undefined }); }); } }, axisStyle()),
               Object.assign({ size: 40 }, axisStyle())],
        series: [{}, { stroke: "#58a6ff", width: 2, fill: "rgba(88,166,255,.15)" }],
      }, sparkData, node);
    } else if (spark) {
      spark.setData(sparkData);
    }
  }

  function deadLetterRow(reason, n) {
    return el("li", { "data-reason": reason }, [
      el("span", { className: "dl-reason", text: label("reasons", reason) }),
      el("strong", { className: n > 0 ? "warn" : "", text: num(n) }),
      el("button", { type: "button", className: "secondary small-button", "data-dl": "inspect", text: msg.inspect }),
      el("button", { type: "button", className: "secondary small-button", "data-dl": "purge", text: msg.purge }),
    ]);
  }

  function renderDeadLetters(pending, byReason) {
    document.getElementById("dead-total").textContent = num(pending);
    var list = document.getElementById("dead-letters");
    var rows = Object.keys(byReason || {}).filter(function (r) { return byReason[r] > 0; })
      .sort(function (a, b) { return byReason[b] - byReason[a]; })
      .map(function (r) { return deadLetterRow(r, byReason[r]); });
    list.replaceChildren.apply(list, rows.length ? rows : [el("li", { className: "muted", text: msg.no_dead_letters })]);
  }

  function renderPipeline(h) {
    panelState("pipeline-state", "");
    asOf("pipeline-as-of", h.as_of);
    var mqtt = h.mqtt || {};
    var figures = {
      received_per_s: num(mqtt.received_per_s, 1), accepted_per_s: num(mqtt.accepted_per_s, 1),
      rejected_per_s: num(mqtt.rejected_per_s, 1), rows_stored_per_s: num(h.rows_stored_per_s, 1),
      workers: num(count(h.workers)), bridges: num(count(h.bridges)),
    };
    var box = document.getElementById("pipeline-figures");
    box.hidden = false;
    box.querySelectorAll("[data-fig]").forEach(function (node) {
      var name = node.dataset.fig;
      node.textContent = figures[name];
      var bad = (name === "workers" || name === "bridges") && count(name === "workers" ? h.workers : h.bridges) === 0;
      node.classList.toggle("bad", bad);
      node.classList.toggle("warn", name === "rejected_per_s" && mqtt.rejected_per_s > 0);
    });
    var totals = t("totals", { received: num(mqtt.received), accepted: num(mqtt.accepted), rejected: num(mqtt.rejected) });
    var pressure = h.backpressure && (h.backpressure === true || h.backpressure.active || h.backpressure.holding);
    var totalsNode = document.getElementById("pipeline-totals");
    totalsNode.textContent = totals + (pressure ? " · " + msg.backpressure : "");
    totalsNode.classList.toggle("warn", !!pressure);
    var table = document.getElementById("pipeline-queues");
    var rows = (h.queues || []).map(function (q) {
      return el("tr", {}, [
        el("th", { scope: "row", text: q.name }),
        el("td", { text: num(q.waiting) }), el("td", { text: num(q.started) }),
        el("td", { className: q.failed > 0 ? "bad" : "", text: num(q.failed) }), el("td", { text: num(q.scheduled) }),
      ]);
    });
    table.tBodies[0].replaceChildren.apply(table.tBodies[0], rows);
    table.hidden = rows.length === 0;
    if (h.dead_letters) renderDeadLetters(h.dead_letters.pending, h.dead_letters.by_reason);
    pushSample(h);
  }

  function loadDeadLetters() {
    return api("GET", "/api/v1/dead-letters?status=pending&limit=1").then(function (page) {
      var byReason = page.pending_by_reason || {};
      var pending = Object.keys(byReason).reduce(function (s, r) { return s + byReason[r]; }, 0);
      renderDeadLetters(pending, byReason);
    }).catch(function () {
      document.getElementById("dead-letters").replaceChildren(el("li", { className: "muted", text: msg.dead_failed }));
    });
  }

  function loadPipeline() {
    return api("GET", "/api/v1/pipeline/health").then(renderPipeline).catch(function () {
      panelState("pipeline-state", msg.pipeline_failed);
      return loadDeadLetters();  // the dead-letter API stands on its own
    });
  }

  var deadDetail = document.getElementById("dead-detail");
  function inspect(reason) {
    api("GET", "/api/v1/dead-letters?status=pending&limit=5&reason=" + encodeURIComponent(reason)).then(function (page) {
      var items = (page.items || []).map(function (d) {
        return el("li", { "data-letter": d.id }, [
          el("div", { className: "dl-head" }, [
            el("time", { text: shortTime(d.received_at) }), " ", el("code", { text: d.topic }),
            d.device_id ? " · " + d.device_id : "",
            el("button", { type: "button", className: "secondary small-button", "data-dl": "requeue", text: msg.requeue }),
          ]),
          el("div", { className: "muted", text: d.detail }),
          el("pre", { text: (d.payload_text || "").slice(0, 400) }),
        ]);
      });
      deadDetail.replaceChildren(
        el("div", { className: "dl-detail-head" }, [
          el("strong", { text: label("reasons", reason) }),
          el("button", { type: "button", className: "secondary small-button", "data-dl": "close", text: msg.close }),
        ]),
        el("ul", { className: "dl-items" }, items.length ? items : [el("li", { className: "muted", text: msg.no_dead_letters })])
      );
      deadDetail.hidden = false;
      deadDetail.focus();
    }).catch(function (error) { showDeadMessage(t("action_failed", { reason: error.message })); });
  }

  function showDeadMessage(text) {
    deadDetail.hidden = false;
    deadDetail.replaceChildren(el("p", { role: "status", text: text }),
      el("button", { type: "button", className: "secondary small-button", "data-dl": "close", text: msg.close }));
  }

  function afterDeadLetterChange(text) {
    showDeadMessage(text);
    // The pipeline event will say it too; read the counts now so the operator sees the effect at once.
    api("GET", "/api/v1/pipeline/health").then(renderPipeline).catch(loadDeadLetters);
  }

  document.getElementById("pipeline-panel").addEventListener("click", function (event) {
    var button = event.target.closest("button[data-dl]");
    if (!button) return;
    var what = button.dataset.dl;
    var row = button.closest("[data-reason]");
    if (what === "inspect") inspect(row.dataset.reason);
    else if (what === "close") { deadDetail.hidden = true; deadDetail.replaceChildren(); }
    else if (what === "purge") {
      var reason = row.dataset.reason;
      if (!window.confirm(t("purge_confirm", { reason: label("reasons", reason) }))) return;
      api("DELETE", "/api/v1/dead-letters?status=pending&reason=" + encodeURIComponent(reason)).then(function (r) {
        afterDeadLetterChange(t("purged", { count: num(r.deleted) }));
      }).catch(function (error) { showDeadMessage(t("action_failed", { reason: error.message })); });
    } else if (what === "requeue") {
      var id = button.closest("[data-letter]").dataset.letter;
      api("POST", "/api/v1/dead-letters/" + id + "/requeue").then(function () {
        afterDeadLetterChange(msg.requeued);
      }).catch(function (error) { showDeadMessage(t("action_failed", { reason: error.message })); });
    }
  });

  /* ---------- KPI board ---------- */
  var kpiCharts = [];

  function kpiValue(k, value) {
    if (value === null || value === undefined) return "–";
    return k.unit === "ratio" ? pct(value) : num(value, 1) + " " + k.unit;
  }

  function kpiCard(k) {
    var status = k.met === true ? "met" : k.met === false ? "not_met" : "no_value";
    var goal = [];
    if (k.target !== null && k.target !== undefined) {
      goal.push(el("span", { text: msg.target + " " + msg[k.direction || "at_least"] + " " + kpiValue(k, k.target) }));
    }
    if (k.limit !== null && k.limit !== undefined) {
      goal.push(el("span", { text: msg.limit + " " + kpiValue(k, k.limit) }));
    }
    var chart = el("div", { className: "kpi-trend", role: "img", "aria-label": lang === "zh" ? k.label_zh : k.label_en });
    var card = el("article", { className: "kpi-card kpi-" + status, "data-kpi": k.id }, [
      el("h3", { className: "kpi-name", text: lang === "zh" ? k.label_zh : k.label_en }),
      el("div", { className: "kpi-row" }, [
        el("span", { className: "big-number", text: kpiValue(k, k.value) }),
        el("span", { className: "kpi-status", text: msg[status] }),
      ]),
      el("div", { className: "kpi-goal muted" }, goal),
      typeof k.detail === "string" && k.detail ? el("div", { className: "kpi-detail muted", text: k.detail }) : null,
      chart,
    ]);
    return { card: card, chart: chart, kpi: k };
  }

  function drawTrend(item) {
    var k = item.kpi;
    var points = (k.trend || []).filter(function (p) { return p.value !== null && p.value !== undefined; });
    if (points.length < 2 || !window.uPlot) return;
    var scale = k.unit === "ratio" ? 100 : 1;
    var xs = points.map(function (p) { return Date.parse(p.day + "T12:00:00+08:00") / 1000; });
    var data = [xs, points.map(function (p) { return p.value * scale; })];
    var series = [{}, { stroke: "#58a6ff", width: 2 }];
    if (k.target !== null && k.target !== undefined) {
      data.push(xs.map(function () { return k.target * scale; }));
      series.push({ stroke: "#8b949e", width: 1, dash: [4, 4] });
    }
    kpiCharts.push(new uPlot({
      width: chartWidth(item.chart), height: 70, legend: { show: false }, cursor: { show: false },
      axes: [Object.assign({ size: 20, values: function (u, ticks) { return ticks.map(function (s) { return Civic.time(s * 1000, { hour: undefined, minute: undefined, second: undefined, month: "numeric", day: "numeric" }); }); } }, axisStyle()),
             Object.assign({ size: 36 }, axisStyle())],
      series: series,
    }, data, item.chart));
  }

  function renderKpis(body) {
    var list = body.kpis || [];
    asOf("kpi-as-of", body.as_of);
    panelState("kpi-state", list.length ? "" : msg.kpi_empty);
    kpiCharts.forEach(function (c) { c.destroy(); });
    kpiCharts = [];
    var items = list.map(kpiCard);
    var box = document.getElementById("kpi-cards");
    box.replaceChildren.apply(box, items.map(function (i) { return i.card; }));
    items.forEach(drawTrend);
  }

  function loadKpis() {
    return api("GET", "/api/v1/kpis").then(renderKpis).catch(function () { panelState("kpi-state", msg.kpi_failed); });
  }

  /* ---------- wiring ---------- */
  function loadAll() {
    loadAlerts();
    loadFleet();
    loadPipeline();
    loadKpis();
  }

  window.addEventListener("resize", function () {
    var node = document.getElementById("pipeline-spark");
    if (spark) spark.setSize({ width: chartWidth(node), height: 80 });
    kpiCharts.forEach(function (c) { c.setSize({ width: chartWidth(c.root.parentNode), height: 70 }); });
    if (fleetMap) fleetMap.invalidateSize();
  });

  var clock = document.getElementById("ops-clock");
  function tick() { clock.textContent = Civic.time(new Date(), { year: "numeric", month: "2-digit", day: "2-digit" }); }
  tick();
  setInterval(tick, 1000);

  loadAll();
  CivicLive.connect(["alert", "fleet", "device_status", "pipeline", "kpi"], function (kind, data) {
    if (kind === "alert") onAlertEvent(data);
    else if (kind === "fleet") { panelState("fleet-state", ""); renderFleet(data); }
    else if (kind === "device_status") onDeviceStatus(data);
    else if (kind === "pipeline") renderPipeline(data);
    else if (kind === "kpi") renderKpis(data);
  }, loadAll);
})();
