// The service banner: polls /healthz (every 15 s while the tab is visible, and at once when the
// live websocket drops) and names each component that is down, with what it means for the user.
// Vendored on purpose, no dependencies: the console works offline.
(function () {
  "use strict";
  const banner = document.getElementById("service-banner");
  if (!banner) return;
  const PERIOD_MS = 15000;
  // A problem is shown once a second look, this much later, still sees it: one slow answer
  // must not put a red banner on every open page for the next 15 s.
  const CONFIRM_MS = 2000;
  const LABELS = {
    database: "database (PostgreSQL)",
    broker: "broker (Redis)",
    channel_layer: "live updates channel (Redis)",
    worker: "Celery worker",
    sandbox: "sandbox isolation",
  };
  let timer = null;
  let inFlight = false;
  let confirming = false;

  // Show at once what clears or keeps the banner; a new problem only after a second look.
  function report(down, unreachable) {
    const problem = down.length > 0 || unreachable;
    if (problem && banner.hidden && !confirming) {
      confirming = true;
      setTimeout(check, CONFIRM_MS);
      return;
    }
    confirming = false;
    show(down, unreachable);
  }

  function consequences(down) {
    const has = function (name) { return down.indexOf(name) !== -1; };
    const parts = [];
    if (has("database")) {
      parts.push("the console cannot read or save anything until it is back; nothing already accepted is lost");
    } else if (has("broker") || has("worker")) {
      parts.push("new patches are accepted and will be processed when it is back");
    }
    if (has("broker") || has("channel_layer")) parts.push("live updates paused");
    if (has("sandbox")) parts.push("patches needing a stronger isolation wait");
    return parts.join("; ");
  }

  function show(down, unreachable) {
    if (!down.length && !unreachable) {
      banner.hidden = true;
      banner.textContent = "";
      return;
    }
    const names = unreachable ? ["the console server"] : down.map(function (n) { return LABELS[n] || n; });
    const strong = document.createElement("strong");
    strong.textContent = "Service down: " + names.join(", ");
    const rest = unreachable ? "it does not answer; retrying." : consequences(down) + ".";
    banner.textContent = "";
    banner.appendChild(strong);
    banner.appendChild(document.createTextNode(" — " + rest));
    banner.dataset.down = down.join(" ");
    banner.hidden = false;
  }

  function check() {
    if (inFlight || document.visibilityState === "hidden") return;
    inFlight = true;
    fetch("/healthz", {headers: {Accept: "application/json"}, cache: "no-store", credentials: "same-origin"})
      .then(function (response) {
        return response.json().then(function (body) {
          // The middleware's own 503 (the database went before /healthz could say so).
          if (body.error === "service_unavailable") return ["database"];
          return Array.isArray(body.down) ? body.down : [];
        });
      })
      .then(function (down) { report(down, false); })
      .catch(function () { report([], true); })
      .then(function () { inFlight = false; });
  }

  function schedule() {
    clearTimeout(timer);
    if (document.visibilityState === "hidden") return;  // no polling in a hidden tab
    timer = setTimeout(function () { check(); schedule(); }, PERIOD_MS);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") check();
    schedule();
  });
  if (window.selfhealLive) window.selfhealLive.on("close", check);
  window.selfhealService = {check: check};
  check();
  schedule();
})();
