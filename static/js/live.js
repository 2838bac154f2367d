// The console's live connection: one authenticated websocket, reconnecting with backoff,
// with a visible indicator. Pages subscribe with window.selfhealLive.on(kind, handler).
(function () {
  "use strict";
  const indicator = document.getElementById("live-indicator");
  const handlers = {};
  let socket = null;
  let delay = 500;
  let watching = [];

  function setState(state) {
    if (!indicator) return;
    indicator.dataset.state = state;
    indicator.textContent = state;
  }

  function dispatch(message) {
    (handlers[message.kind] || []).forEach(function (fn) { fn(message.payload, message); });
    (handlers["*"] || []).forEach(function (fn) { fn(message.payload, message); });
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(scheme + "://" + location.host + "/ws/live/");
    socket.onopen = function () {
      delay = 500;
      setState("live");
      watching.forEach(function (id) { socket.send(JSON.stringify({action: "watch_workspace", workspace_id: id})); });
    };
    socket.onmessage = function (event) {
      try { dispatch(JSON.parse(event.data)); } catch (e) { console.error(e); }
    };
    socket.onclose = function () {
      setState("reconnecting");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }

  window.selfhealLive = {
    on: function (kind, fn) { (handlers[kind] = handlers[kind] || []).push(fn); },
    watchWorkspace: function (id) {
      watching.push(id);
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({action: "watch_workspace", workspace_id: id}));
    },
  };

  // Timestamps in the viewer's local time.
  document.querySelectorAll("time.localtime").forEach(function (el) {
    const d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d)) el.textContent = d.toLocaleString();
  });

  window.selfhealLive.on("engine", function (state) {
    const banner = document.getElementById("emergency-banner");
    if (!banner) return;
    if (state.state === "emergency_stopped") {
      banner.hidden = false;
      banner.textContent = "Emergency stop by " + (state.changed_by || "system") + " at " +
        new Date(state.changed_at).toLocaleString() + ": " + state.reason +
        ". No new work starts; everything needs manual approval.";
    } else {
      banner.hidden = true;
    }
    const el = document.getElementById("engine-state");
    if (el) el.textContent = state.state;
  });
  window.selfhealLive.on("event", function (event) {
    const list = document.getElementById("event-stream");
    if (!list) return;
    const li = document.createElement("li");
    li.textContent = new Date(event.created_at).toLocaleString() + " " + event.kind +
      (event.to_state ? " " + event.from_state + "→" + event.to_state : "") + " by " + event.actor;
    list.insertBefore(li, list.firstChild);
  });
  connect();
})();
