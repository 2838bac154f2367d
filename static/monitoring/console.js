// Monitoring console: Φ and κ over time (with the healthy band and the κ target) and the host.
(function () {
  "use strict";
  // The source picker reloads the page for the chosen source (no inline handler: see the CSP).
  document.querySelectorAll("select[data-submit-on-change]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  const data = JSON.parse(document.getElementById("monitoring-data").textContent);
  const layout = function (title, extra) {
    return Object.assign({title: {text: title, font: {size: 14}}, margin: {l: 50, r: 20, t: 36, b: 36},
      xaxis: {type: "date"}, showlegend: true, legend: {orientation: "h"}}, extra || {});
  };
  const config = {displaylogo: false, responsive: true};
  const tel = data.telemetry;
  if (tel && tel.t && tel.t.length && window.Plotly) {
    const band = function (y0, y1, color) {
      return {type: "rect", xref: "paper", x0: 0, x1: 1, y0: y0, y1: y1, fillcolor: color, opacity: 0.12, line: {width: 0}};
    };
    Plotly.newPlot("chart-phi", [
      {x: tel.t, y: tel.phi_max, name: "Φ max", mode: "lines", line: {width: 0}, showlegend: false},
      {x: tel.t, y: tel.phi_min, name: "Φ min–max", mode: "lines", fill: "tonexty", line: {width: 0}, fillcolor: "rgba(31,111,235,0.15)"},
      {x: tel.t, y: tel.phi, name: "Φ (mean)", mode: "lines", line: {color: "#1f6feb"}},
    ], layout("Φ (integration) — healthy band 0.651–0.85" + (tel.is_demo ? " — DEMO DATA" : ""),
      {shapes: [band(0.651, 0.85, "#067647")], yaxis: {title: {text: "Φ"}}}), config);
    Plotly.newPlot("chart-kappa", [
      {x: tel.t, y: tel.kappa, name: "κ (mean)", mode: "lines", line: {color: "#b54708"}},
      {x: [tel.t[0], tel.t[tel.t.length - 1]], y: [64.21, 64.21], name: "target 64.21", mode: "lines", line: {dash: "dash", color: "#5b6573"}},
    ], layout("κ (coupling)" + (tel.is_demo ? " — DEMO DATA" : ""), {yaxis: {title: {text: "κ"}}}), config);
  }
  const sys = data.system;
  if (sys && sys.t.length && window.Plotly) {
    Plotly.newPlot("chart-system", [
      {x: sys.t, y: sys.cpu, name: "CPU %", mode: "lines"},
      {x: sys.t, y: sys.memory_available, name: "memory available %", mode: "lines"},
    ], layout("Host (measured with psutil)", {yaxis: {title: {text: "%"}, range: [0, 100]}}), config);
  }
  if (window.selfhealLive) {
    window.selfhealLive.on("health", function (p) {
      const el = document.getElementById("system-status");
      if (el) el.textContent = p.status;
    });
    const showLoop = function (running) {
      const el = document.getElementById("loop-state");
      if (el) el.textContent = running ? "running" : "stopped";
      const start = document.getElementById("loop-start");
      const stop = document.getElementById("loop-stop");
      if (start) start.hidden = running;
      if (stop) stop.hidden = !running;
    };
    window.selfhealLive.on("healing_loop", function (p) { showLoop(p.running); });
    // After a (re)connect, what changed while the socket was down is read once from the API.
    window.selfhealLive.on("open", function () {
      fetch("/api/v1/status/", {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) { if (body && body.loop) showLoop(body.loop.running); })
        .catch(function () {});
    });
  }
})();
