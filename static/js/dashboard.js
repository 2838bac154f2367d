// Dashboard: on any live event, fetch the server-rendered panels again (at most once a second)
// and swap them in, keeping the reviewer's ticked boxes, typed comment and focus.
(function () {
  "use strict";
  const root = document.getElementById("panels");
  if (!root || !window.selfhealLive) return;
  const url = root.dataset.refreshUrl;
  (root.dataset.workspaces || "").split(",").filter(Boolean).forEach(window.selfhealLive.watchWorkspace);
  let timer = null;
  let inFlight = false;
  let again = false;

  function snapshot() {
    const checked = Array.from(root.querySelectorAll("input[name=ids]:checked")).map(function (el) { return el.value; });
    const comment = root.querySelector("#bulk-comment");
    const active = document.activeElement && root.contains(document.activeElement) ? document.activeElement.id : null;
    // Typed text a refresh must not wipe (a breaker action's reason), by id.
    const kept = {};
    root.querySelectorAll("input[data-keep]").forEach(function (el) { if (el.id && el.value) kept[el.id] = el.value; });
    return {checked: checked, comment: comment ? comment.value : "", active: active, kept: kept};
  }

  function restore(state) {
    state.checked.forEach(function (id) {
      const box = document.getElementById("sel-" + id);
      if (box) box.checked = true;
    });
    const comment = root.querySelector("#bulk-comment");
    if (comment) comment.value = state.comment;
    Object.keys(state.kept).forEach(function (id) {
      const el = document.getElementById(id);
      if (el) el.value = state.kept[id];
    });
    if (state.active) {
      const el = document.getElementById(state.active);
      if (el) el.focus();
    }
  }

  function refresh() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    fetch(url, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        const state = snapshot();
        root.innerHTML = html;
        restore(state);
        window.selfhealLive.localTimes(root);
      })
      .catch(function (e) { console.warn("dashboard refresh failed", e); })
      .finally(function () {
        inFlight = false;
        if (again) { again = false; schedule(); }
      });
  }

  function schedule() {
    if (timer) return;
    timer = setTimeout(function () { timer = null; refresh(); }, 300);
  }

  ["event", "engine", "open"].forEach(function (kind) { window.selfhealLive.on(kind, schedule); });
  window.selfhealLive.on("sandbox.progress", function (p) {
    const li = root.querySelector('[data-sandbox="' + p.modification_id + '"] .progress-text');
    if (li) li.textContent = p.tests_run + " tests, " + p.failures + " failures, " + Math.round(p.elapsed_ms / 1000) + " s of " + Math.round(p.limit_ms / 1000) + " s";
  });
})();
