// The console's live connection: one authenticated websocket, reconnecting with backoff, with a
// visible indicator. Pages subscribe with window.selfhealLive.on(kind, handler); "open" fires on
// every (re)connect so a page can resync what it missed while offline.
(function () {
  "use strict";
  const indicator = document.getElementById("live-indicator");
  const handlers = {};
  let socket = null;
  let delay = 500;
  let pingTimer = null;
  const watching = new Set();

  function setState(state, text) {
    if (!indicator) return;
    indicator.dataset.state = state;
    indicator.textContent = text || state;
  }

  function dispatch(kind, payload, message) {
    (handlers[kind] || []).forEach(function (fn) {
      try { fn(payload, message); } catch (e) { console.error(e); }
    });
  }

  function send(obj) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(obj));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    setState("connecting", "connecting…");
    socket = new WebSocket(scheme + "://" + location.host + "/ws/live/");
    socket.onopen = function () {
      delay = 500;
      setState("live");
      watching.forEach(function (id) { send({action: "watch_workspace", workspace_id: id}); });
      clearInterval(pingTimer);
      pingTimer = setInterval(function () { send({action: "ping"}); }, 25000);
    };
    socket.onmessage = function (event) {
      let message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.kind === "hello") {
        dispatch("engine", message.payload.engine, message);
        dispatch("open", message.payload, message);
      }
      dispatch(message.kind, message.payload, message);
      dispatch("*", message.payload, message);
    };
    socket.onclose = function (event) {
      clearInterval(pingTimer);
      dispatch("close", {code: event.code}, null);
      if (event.code === 4401 || event.code === 4403) {
        setState("offline", "offline: not allowed");
        return;
      }
      setState("reconnecting", "reconnecting in " + Math.round(delay / 1000) + " s");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }

  function localTimes(root) {
    (root || document).querySelectorAll("time.localtime").forEach(function (el) {
      const d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) {
        el.textContent = d.toLocaleString();
        el.title = el.getAttribute("datetime");
      }
    });
  }

  window.selfhealLive = {
    on: function (kind, fn) { (handlers[kind] = handlers[kind] || []).push(fn); },
    watchWorkspace: function (id) {
      id = Number(id);
      watching.add(id);
      send({action: "watch_workspace", workspace_id: id});
    },
    localTimes: localTimes,
  };

  localTimes(document);

  // The emergency banner, live on every page.
  window.selfhealLive.on("engine", function (state) {
    const banner = document.getElementById("emergency-banner");
    if (!banner || !state) return;
    if (state.state === "emergency_stopped") {
      banner.textContent = "";
      const strong = document.createElement("strong");
      strong.textContent = "Emergency stop";
      banner.appendChild(strong);
      banner.appendChild(document.createTextNode(" by " + (state.changed_by || "system") + " at " +
        new Date(state.changed_at).toLocaleString() + ": " + state.reason +
        ". No new work starts; everything needs manual approval."));
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
    const stopped = state.state === "emergency_stopped";
    const stop = document.getElementById("stop-button");
    const resume = document.getElementById("resume-button");
    if (stop) stop.hidden = stopped;
    if (resume) resume.hidden = !stopped;
  });

  // The emergency stop button opens a confirm dialog (the link works without JavaScript).
  const stopButton = document.getElementById("stop-button");
  const dialog = document.getElementById("stop-dialog");
  if (stopButton && dialog && typeof dialog.showModal === "function") {
    stopButton.addEventListener("click", function (event) {
      event.preventDefault();
      dialog.showModal();
      document.getElementById("stop-reason").focus();
    });
    document.getElementById("stop-cancel").addEventListener("click", function () { dialog.close(); });
  }

  if (indicator) connect();
})();
