// The ledger page: polls /api/study/{name}/ledger and draws what the study spent and saved.
"use strict";
(function () {
  const interval = parseInt(document.body.dataset.interval || "2000", 10);
  const select = document.getElementById("ledger-study");
  const fmt = (x, d = 4) => (x === null || x === undefined) ? "–" :
    (Math.abs(x) >= 1000 ? x.toLocaleString(undefined, {maximumFractionDigits: 0}) :
      Number(x).toPrecision(d));
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) =>
    ({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;"}[c]));
  // a user's string in a Plotly text (Plotly decodes numeric entities, not &quot;)
  const pesc = (s) => String(s).replace(/[&<>"']/g, (c) =>
    ({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&#34;", "'": "&#39;"}[c]));

  async function studies() {
    const r = await fetch("/api/studies");
    const data = await r.json();
    const want = new URLSearchParams(location.search).get("study");
    select.innerHTML = data.studies.map((s) =>
      `<option value="${esc(s.key)}"${s.key === want ? " selected" : ""}>${esc(s.key)}</option>`
    ).join("");
  }

  function draw(l) {
    // money measures the study only when its prices charge something the trials held
    // (Ledger.priced, the rule rung ledger follows): otherwise every amount of money is 0 and
    // the page, like rung ledger, says what was spent and saved in device-hours
    const priced = l.priced;
    const prices = Object.entries(l.prices).map(([k, v]) => `${k} ${v}/h`).join(", ") || "none";
    document.getElementById("ledger-summary").textContent =
      `${l.trials} trials, ${l.total.runs} runs; ` + (priced
        ? `total cost ${fmt(l.total.cost)} (${fmt(l.total.device_hours)} device-hours)`
        : `total ${fmt(l.total.device_hours)} device-hours`) + `; prices: ${prices}` +
      (l.notes.length ? ` (${l.notes.join("; ")})` : "");
    const rows = Object.entries(l.by_outcome).concat([["total", l.total]]);
    document.querySelector("#ledger-outcomes thead tr").innerHTML =
      "<th>outcome</th><th>runs</th><th>steps</th><th>device-hours</th><th>GPU-hours</th>" +
      (priced ? "<th>cost</th>" : "");
    document.querySelector("#ledger-outcomes tbody").innerHTML = rows.map(([k, s]) =>
      `<tr class="outcome-${esc(k)}"><td>${esc(k)}</td><td>${s.runs}</td><td>${s.steps}</td>` +
      `<td>${fmt(s.device_hours)}</td><td>${fmt(s.gpu_hours)}</td>` +
      (priced ? `<td>${fmt(s.cost)}</td>` : "") + "</tr>"
    ).join("");
    document.getElementById("ledger-saving").textContent = (priced
      ? `Trained to max_step, the same trials would have cost ${fmt(l.full_cost)}: the ` +
        `scheduler saved ${fmt(l.saving)} (${(100 * l.saved_fraction).toFixed(1)}% of the ` +
        "device-hours)."
      : `Trained to max_step, the same trials would have taken ${fmt(l.full_device_hours)} ` +
        `device-hours: the scheduler saved ${fmt(l.saving_device_hours)} device-hours ` +
        `(${(100 * l.saved_fraction).toFixed(1)}%).`) +
      ` Utilization ${(100 * l.utilization).toFixed(1)}%, idle ` +
      `${fmt(l.idle_hours)} worker-hours; checkpoints took ` +
      `${fmt(3600 * l.checkpoint_hours)} s` +
      (priced ? ` (cost ${fmt(l.checkpoint_cost)}).` : ".");
    const b = l.budget;
    const parts = [];
    if (b.max_cost !== null) parts.push(`max_cost ${fmt(b.max_cost)}: spent ${fmt(b.cost)}` +
      (b.overshoot_cost ? `, ${fmt(b.overshoot_cost)} past it (in-flight steps)` : ""));
    if (b.max_gpu_hours !== null) parts.push(`max_gpu_hours ${fmt(b.max_gpu_hours)}: spent ` +
      `${fmt(b.gpu_hours)}`);
    document.getElementById("ledger-budget").textContent =
      parts.length ? "Budget: " + parts.join("; ") : "";
    const ev = l.stopped && l.stopped.evidence ? Object.entries(l.stopped.evidence)
      .map(([k, v]) => `${k}=${typeof v === "number" ? Number(v.toPrecision(4)) : v}`) : [];
    document.getElementById("ledger-stopped").textContent =
      l.stopped ? `Stopped by the stop rule: ${l.stopped.reason}` +
        (ev.length ? ` (evidence: ${ev.join(", ")})` : "") : "";
    if (window.Plotly) {
      Plotly.react("ledger-workers", [{
        type: "bar", x: l.workers.map((w) => `worker ${w.slot}`),
        y: l.workers.map((w) => 100 * w.utilization)}],
        {margin: {t: 10, b: 40, l: 50, r: 10}, yaxis: {title: {text: "% busy"}, range: [0, 100]}},
        {displayModeBar: false});
      const inc = l.incumbent;
      const spent = priced ? l.total.cost : l.total.device_hours;
      Plotly.react("ledger-incumbent", [{
        type: "scatter", mode: "lines+markers", line: {shape: "hv"},
        // held from the last improvement up to what has been spent so far
        x: inc.map((i) => (priced ? i.cost : i.device_hours)).concat(inc.length ? [spent] : []),
        y: inc.map((i) => i.value).concat(inc.length ? [inc[inc.length - 1].value] : []),
        // what each improvement cost per unit of it (null: the first), in device-hours
        // when money does not measure the study
        text: inc.map((i) => {
          const per = priced ? i.cost_per_unit : i.device_hours_per_unit;
          return `trial ${i.trial_id}, ` + (per === null ? "first" :
            `${fmt(per)} ${priced ? "" : "device-hours "}per unit`);
        }).concat(inc.length ? ["spent so far"] : [])}],
        {margin: {t: 10, b: 40, l: 60, r: 10},
          xaxis: {title: {text: priced ? "cost spent" : "device-hours spent"}},
          yaxis: {title: {text: `best ${pesc(l.metric)} (${l.mode === "max" ? "higher" : "lower"} is better)`}}},
        {displayModeBar: false});
    }
  }

  async function refresh() {
    const name = select.value;
    if (!name) return;
    try {
      const r = await fetch(`/api/study/${encodeURIComponent(name)}/ledger`);
      const l = await r.json();
      if (l.error) throw new Error(l.error);
      draw(l);
      document.getElementById("status").textContent = "";
    } catch (e) {
      document.getElementById("status").textContent = String(e);
    }
  }

  select.addEventListener("change", () => {
    history.replaceState(null, "", `/ledger?study=${encodeURIComponent(select.value)}`);
    refresh();
  });
  studies().then(refresh);
  setInterval(refresh, interval);
})();
