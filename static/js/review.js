// Review page: live sandbox progress for this patch, and a notice when its status changes.
(function () {
  "use strict";
  // A form that ends something for good asks first (no inline handlers: the CSP forbids them).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  const page = document.getElementById("review");
  if (!page || !window.selfhealLive) return;
  const id = Number(page.dataset.modificationId);
  window.selfhealLive.watchWorkspace(page.dataset.workspaceId);

  const box = document.getElementById("sandbox-progress");
  window.selfhealLive.on("sandbox.progress", function (p) {
    if (!box || Number(p.modification_id) !== id) return;
    box.hidden = false;
    box.querySelector('[data-field="tests_run"]').textContent = p.tests_run;
    box.querySelector('[data-field="failures"]').textContent = p.failures;
    box.querySelector('[data-field="elapsed"]').textContent = (p.elapsed_ms / 1000).toFixed(1) + " s";
    box.querySelector('[data-field="limit"]').textContent = (p.limit_ms / 1000).toFixed(0) + " s";
    const bar = box.querySelector("progress");
    bar.value = p.limit_ms ? Math.min(100, 100 * p.elapsed_ms / p.limit_ms) : 0;
  });

  // An event reaches a page twice when it also watches the workspace (engine group + workspace
  // group); show each one once. Events already on the page at load count as seen.
  const seen = new Set();
  document.querySelectorAll("#trail [data-event-id]").forEach(function (li) { seen.add(li.dataset.eventId); });
  function showStatus(state) {
    const status = document.getElementById("mod-status");
    if (!status || status.dataset.status === state) return;
    status.dataset.status = state;
    status.textContent = state.replace(/_/g, " ") + " (live)";
  }

  // A change between rendering this page and the socket's watch reaching the server is never
  // pushed; once the watch is in place, ask for the status once so the badge cannot stay stale.
  window.selfhealLive.on("watching", function (p) {
    if (Number(p.workspace_id) !== Number(page.dataset.workspaceId)) return;
    fetch("/api/v1/patches/" + id + "/", {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body && body.status) showStatus(body.status); })
      .catch(function () {});
  });

  window.selfhealLive.on("event", function (e) {
    if (Number(e.modification_id) !== id) return;
    if (e.id != null) {
      if (seen.has(String(e.id))) return;
      seen.add(String(e.id));
    }
    if (e.to_state) showStatus(e.to_state);
    const trail = document.getElementById("trail");
    if (trail) {
      const li = document.createElement("li");
      if (e.id != null) li.dataset.eventId = String(e.id);
      // Same shape as the rows the server rendered: time, <code>kind</code>, states, muted actor.
      const kind = document.createElement("code");
      kind.textContent = e.kind;
      const actor = document.createElement("span");
      actor.className = "muted";
      actor.textContent = "by " + e.actor;
      li.append(
        new Date(e.created_at).toLocaleString() + " ", kind,
        (e.to_state ? " " + (e.from_state || "·") + "→" + e.to_state : "") + " ", actor,
        e.reason ? " — " + e.reason : "");
      trail.appendChild(li);
    }
  });
})();
