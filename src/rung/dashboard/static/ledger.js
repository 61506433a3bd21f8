// The ledger page: polls /api/study/{name}/ledger and draws what the study spent and saved.
// Its header is the dashboard's (studies, the study's pages, the ledger marked as the current
// page); the study list is asked for again on every refresh (a study started since shows up);
// a study that does not exist or cannot be read says why where the page would be.
"use strict";
(function () {
  const interval = parseInt(document.body.dataset.interval || "2000", 10);
  const select = document.getElementById("ledger-study");
  const status = document.getElementById("status");
  // |x| below this is float noise (a saving of 1e-20 device-hours is none): written 0
  const NOISE = 1e-9;
  const fmt = (x, d = 4) => (x === null || x === undefined) ? "–" :
    (Math.abs(x) < NOISE ? "0" :
      Math.abs(x) >= 1000 ? x.toLocaleString(undefined, {maximumFractionDigits: 0}) :
        Number(x).toPrecision(d));
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) =>
    ({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;"}[c]));
  // a user's string in a Plotly text (Plotly decodes numeric entities, not &quot;)
  const pesc = (s) => String(s).replace(/[&<>"']/g, (c) =>
    ({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&#34;", "'": "&#39;"}[c]));
  // the dashboard's pages of a study (app.js's PAGES), for the header
  const PAGES = [["", "overview"], ["trials", "trials"], ["curves", "learning curves"],
    ["parallel", "parallel coordinates"], ["pareto", "Pareto front"], ["workers", "workers"]];
  // the study shown: the address's ?study=, else the first of the list
  let current = new URLSearchParams(location.search).get("study");
  let drawnFor = null;  // the study whose ledger the page holds

  // a study that answered 404 (no such study) or 500 (it cannot be read) is asked for again
  // at most this often (ms), not at every refresh; choosing a study asks at once
  const BACKOFF = 30000;
  let backoff = null;  // {study, until}

  async function getJSON(url) {
    // the answer's JSON; an error answer's own message (not a parse error of its body), with
    // its HTTP status
    const r = await fetch(url, {cache: "no-store"});
    const text = await r.text();
    let body = null;
    try { body = JSON.parse(text); } catch (e) { body = null; }
    if (!r.ok || body === null) {
      const e = new Error((body && body.error) || `${r.status} ${r.statusText || "error"}`);
      e.status = r.status;
      throw e;
    }
    return body;
  }

  function nav() {
    const el = document.getElementById("nav");
    const study = (s) => `/#/study/${encodeURIComponent(current)}` + (s ? "/" + s : "");
    const html = '<a href="/#/">studies</a>' + (current === null ? "" : PAGES.map(([p, label]) =>
      `<a href="${esc(study(p))}">${esc(label)}</a>`).join(""));
    if (el.dataset.html !== html) { el.dataset.html = html; el.innerHTML = html; }
  }

  async function studies() {
    const data = await getJSON("/api/studies");
    const keys = data.studies.filter((s) => s.key !== null && s.key !== undefined)
      .map((s) => s.key);
    if (current === null && keys.length) current = keys[0];
    // an address naming no listed study keeps it (the page says why) and selects nothing
    const html = (current === null || keys.includes(current) ? "" :
      '<option value="" selected disabled>choose a study</option>') + keys.map((k) =>
      `<option value="${esc(k)}"${k === current ? " selected" : ""}>${esc(k)}</option>`).join("");
    if (select.dataset.html !== html) { select.dataset.html = html; select.innerHTML = html; }
    // the list shows the study shown, whatever was picked in it since it was written: a pick
    // that Back undid leaves the list's HTML as it was while the chooser still shows the pick
    if (current !== null && keys.includes(current) && select.value !== current) select.value = current;
    nav();
    return data;
  }

  function failed(message) {
    // where the page would be: the ledger's parts hidden until it can be drawn
    const el = document.getElementById("page-error");
    el.textContent = message;
    el.hidden = false;
    document.getElementById("ledger-body").hidden = true;
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
      (l.notes.length ? `. ${l.notes.join("; ")}` : "");
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
    // why the search ended with its budget not spent (the overview's line, rung show's words)
    document.getElementById("ledger-ended").textContent =
      l.budget_state ? `Budget ${l.budget_state}` : "";
    const ev = l.stopped && l.stopped.evidence ? Object.entries(l.stopped.evidence)
      .map(([k, v]) => `${k}=${typeof v === "number" ? Number(v.toPrecision(4)) : v}`) : [];
    document.getElementById("ledger-stopped").textContent =
      l.stopped ? `Stopped by the stop rule: ${l.stopped.reason}` +
        (ev.length ? ` (evidence: ${ev.join(", ")})` : "") : "";
    if (!window.Plotly) return;
    // an empty chart (axes -1..6 over nothing) is not drawn: a line says why instead
    const shown = (id, note) => {
      const el = document.getElementById(id + "-note");
      el.textContent = note || "";
      el.hidden = !note;
      document.getElementById(id).hidden = Boolean(note);
      if (note) Plotly.purge(id);
      return !note;
    };
    if (shown("ledger-workers", l.workers.length ? "" : "no run yet: no worker was busy")) {
      Plotly.react("ledger-workers", [{
        type: "bar", x: l.workers.map((w) => `slot ${w.slot}`),
        y: l.workers.map((w) => 100 * w.utilization)}],
        {margin: {t: 10, b: 40, l: 50, r: 10}, yaxis: {title: {text: "% busy"}, range: [0, 100]}},
        {displayModeBar: false});
    }
    const inc = l.incumbent;
    const spent = priced ? l.total.cost : l.total.device_hours;
    if (shown("ledger-incumbent", inc.length ? "" :
      "no trial has a final result yet (at max_step, or completed below it): no incumbent")) {
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
          yaxis: {title: {text: `incumbent ${pesc(l.metric)} (${l.mode === "max" ? "higher" : "lower"} is better)`}}},
        {displayModeBar: false});
    }
  }

  async function refresh(polled) {
    try {
      const list = await studies();
      document.title = current === null ? "rung ledger" : `${current} · rung ledger`;
      if (current === null) {
        failed(`no studies in ${list.storage}`);
      } else if (polled && backoff && backoff.study === current && Date.now() < backoff.until) {
        return;  // it failed lately: the page still says why
      } else {
        const study = current;  // the study asked for (another may be chosen meanwhile)
        let l;
        try {
          l = await getJSON(`/api/study/${encodeURIComponent(study)}/ledger`);
          backoff = null;
        } catch (e) {
          if (e.status === 404 || e.status === 500) {
            backoff = {study, until: Date.now() + BACKOFF};
            e.later = true;
          }
          throw e;
        }
        document.getElementById("page-error").hidden = true;
        document.getElementById("ledger-body").hidden = false;  // before drawing: its size
        draw(l);
        drawnFor = study;
      }
      status.textContent = "updated " + new Date().toLocaleTimeString();
      status.title = "";
    } catch (e) {
      status.textContent = "could not refresh: " + e.message;
      status.title = e.later ? `asked again every ${BACKOFF / 1000} s, or when you choose a study` : "";
      // a study never drawn says why where it would be (a drawn one stays, the status says)
      if (drawnFor !== current) failed(e.message);
    }
  }

  let busy = false;
  let again = false;  // a study was chosen (or Back pressed) while a refresh ran: refresh again
  async function tick(polled) {
    if (busy) {
      if (polled !== true) again = true;
      return;
    }
    busy = true;
    try { await refresh(polled === true); } finally { busy = false; }
    if (again) {
      again = false;
      tick(false);
    }
  }

  select.addEventListener("change", () => {
    current = select.value;
    // a new entry of the browser's history: Back returns to the study shown before
    history.pushState(null, "", `/ledger?study=${encodeURIComponent(current)}`);
    tick(false);
  });
  window.addEventListener("popstate", () => {
    current = new URLSearchParams(location.search).get("study");
    // the chooser shows the study Back returned to at once (not at the next refresh)
    if (current !== null && Array.from(select.options).some((o) => o.value === current)) {
      select.value = current;
    }
    tick(false);
  });
  tick(false);
  setInterval(() => tick(true), interval);
})();
