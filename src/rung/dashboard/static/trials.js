// rung dashboard: the trials page, its sortable and filtered table and a trial's detail
// (loaded before app.js, whose state and helpers it uses when it draws: state, FRESH,
// PAGE_ROWS, LABELS, BACKOFF, api, ensure, esc, fmt, link, setHTML, ...).
"use strict";

async function pageTrials(name) {
  const box = ensure("trials-box", `<h2>Trials</h2>
    <div class="toolbar">
      <input type="search" id="filter" aria-label="filter the trials (all words must appear)" placeholder="filter: status, reason, params… (all words)">
      <button id="prev" type="button">◀ previous</button><span id="count" class="muted"></span>
      <button id="next" type="button">next ▶</button>
    </div>
    <div class="split" id="trials-split"><div class="scroll" id="trials-box"></div><div id="trial-detail"></div></div>`);
  const filter = document.getElementById("filter");
  if (!filter.dataset.bound) {
    filter.dataset.bound = "1";
    filter.value = state.filter;
    filter.addEventListener("input", () => { state.filter = filter.value; state.offset = 0; pageTrials(name); });
    document.getElementById("prev").addEventListener("click", () => {
      state.offset = Math.max(0, state.offset - PAGE_ROWS); pageTrials(name); });
    document.getElementById("next").addEventListener("click", () => {
      state.offset += PAGE_ROWS; pageTrials(name); });
  }
  const qs = new URLSearchParams({ sort: state.sort, desc: state.dir < 0 ? "1" : "0", q: state.filter,
                                   offset: String(state.offset), limit: String(PAGE_ROWS) });
  const d = await api("study/" + encodeURIComponent(name) + "/trials?" + qs.toString());
  if (d.offset > 0 && d.offset >= d.matched) {  // the filter shrank the list: back to its start
    state.offset = Math.max(0, Math.floor((d.matched - 1) / PAGE_ROWS) * PAGE_ROWS);
    return pageTrials(name);
  }
  const cols = d.columns;
  const rows = d.rows;
  const first = d.matched ? d.offset + 1 : 0;
  document.getElementById("count").textContent =
    `${first.toLocaleString()}–${(d.offset + rows.length).toLocaleString()} of ${d.matched.toLocaleString()} trials` +
    (d.matched !== d.total ? ` (filtered from ${d.total.toLocaleString()})` : "");
  document.getElementById("prev").disabled = d.offset === 0;
  document.getElementById("next").disabled = d.offset + rows.length >= d.matched;
  if (state.selected === null) {  // back to the table's own address: no trial open
    document.getElementById("trials-split").classList.remove("has-detail");
    setHTML(document.getElementById("trial-detail"), "");
  }
  const key = JSON.stringify([rows, state.sort, state.dir, state.selected]);
  if (box.dataset.key === key && box.firstChild) {  // nothing changed: keep the DOM as it is
    if (state.selected !== null) await trialDetail(name, state.selected);
    return;
  }
  box.dataset.key = key;
  // the focus survives a refresh of the rows (a keyboard user's place in the table)
  const focus = document.activeElement && box.contains(document.activeElement)
    ? (document.activeElement.dataset.col ? `th[data-col="${CSS.escape(document.activeElement.dataset.col)}"]`
       : document.activeElement.dataset.id ? `tr[data-id="${document.activeElement.dataset.id}"]` : null) : null;
  const sortName = state.dir > 0 ? "ascending" : "descending";
  // column names hold the user's parameter names: escaped in attributes as in text
  box.innerHTML = `<table id="trials-table"><caption class="muted">a row opens the trial's decisions; a header sorts (Enter or a click)</caption><thead><tr>${cols.map((c) =>
      `<th data-col="${esc(c)}" tabindex="0" scope="col" aria-sort="${c === state.sort ? sortName : "none"}" class="${c === state.sort ? "sorted" : ""}" data-dir="${state.dir > 0 ? " ▲" : " ▼"}">${esc(LABELS[c] || c.replace(/^(params|values)_/, ""))}</th>`).join("")}</tr></thead>
    <tbody>${rows.map((r) => `<tr data-id="${r.trial_id}" tabindex="0" aria-selected="${r.trial_id === state.selected}" class="${r.trial_id === state.selected ? "sel" : ""}">${cols.map((c) =>
      `<td class="${c === "reason" ? "reason" : c === "status" ? "status-" + esc(r.status) : typeof r[c] === "number" ? "num" : ""}">${esc(fmt(r[c]))}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
  const sortBy = (th) => {
    const c = th.dataset.col;
    state.dir = state.sort === c ? -state.dir : 1;
    state.sort = c;
    state.offset = 0;
    pageTrials(name);
  };
  const select = (tr) => {
    state.selected = parseInt(tr.dataset.id, 10);
    box.querySelectorAll("tr.sel").forEach((x) => { x.classList.remove("sel"); x.setAttribute("aria-selected", "false"); });
    tr.classList.add("sel");
    tr.setAttribute("aria-selected", "true");
    // the trial's address, so that it can be shared and the back button returns here
    const to = trialLink(name, state.selected);
    if (location.hash !== to) history.pushState(null, "", to);
    trialDetail(name, state.selected);
  };
  const keys = (fn) => (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); fn(e.currentTarget); } };
  box.querySelectorAll("th").forEach((th) => {
    th.addEventListener("click", () => sortBy(th));
    th.addEventListener("keydown", keys(sortBy));
  });
  box.querySelectorAll("tbody tr").forEach((tr) => {
    tr.addEventListener("click", () => select(tr));
    tr.addEventListener("keydown", keys(select));
  });
  if (focus) { const el = box.querySelector(focus); if (el) el.focus(); }
  if (state.selected !== null) await trialDetail(name, state.selected);
}

let missingTrial = null;  // {at: "study/id", until}: a trial id that answered 404
async function trialDetail(name, tid) {
  await plotly();
  const el = document.getElementById("trial-detail");
  let t;
  const at = name + "/" + tid;
  // a trial that is not there (404) is asked for again only every BACKOFF ms
  if (missingTrial && missingTrial.at === at && Date.now() < missingTrial.until) return;
  try {
    t = await api(`study/${encodeURIComponent(name)}/trial/${tid}`);
    missingTrial = null;
  } catch (e) {  // say it where the detail would be (a trial id typed into the address)
    if (e.status === 404 || e.status === 500) missingTrial = { at, until: Date.now() + BACKOFF };
    if (!el) return;
    document.getElementById("trials-split").classList.add("has-detail");
    setHTML(el, `<p class="status-failed" id="trial-missing">trial ${esc(tid)}: ${esc(e.message)}</p>`);
    return;
  }
  if (!el || state.selected !== tid) return;
  document.getElementById("trials-split").classList.add("has-detail");
  if (!document.getElementById("trial-curve")) {
    setHTML(el, '<h3 id="trial-title"></h3><div id="trial-curve" class="small-chart"></div><div id="trial-info"></div>');
  }
  document.getElementById("trial-title").textContent = `trial ${t.trial_id}: ${t.status}`;
  const stops = t.results.filter((r) => r.decision && r.decision !== "continue");
  Plotly.react("trial-curve", [
    { x: t.results.map((r) => r.step), y: t.results.map((r) => r.value), mode: "lines+markers",
      name: pesc(t.metric), line: { color: COLORS[t.status] || "#777" } },
    { x: stops.map((r) => r.step), y: stops.map((r) => r.value), mode: "markers", name: "decision",
      marker: { symbol: "x", size: 11, color: "#d62728" }, text: stops.map((r) => pesc(r.reason)) },
  ], { margin: { t: 10, r: 10, b: 40, l: 50 }, xaxis: { title: { text: "step" } },
       yaxis: { title: { text: pesc(t.metric) } }, showlegend: false }, CONFIG);
  const ended = ["completed", "stopped", "failed"].includes(t.status);
  setHTML(document.getElementById("trial-info"), `
    ${t.parent_id === null || t.parent_id === undefined ? "" :
      `<p id="trial-parent">forked from <a href="${trialLink(name, t.parent_id)}">trial ${esc(t.parent_id)}</a>
       (its decisions say why)</p>`}
    <pre>${esc(JSON.stringify(t.params, null, 1))}</pre>
    ${t.error ? `<pre class="status-failed">${esc(t.error)}</pre>` : ""}
    <h4>Decisions</h4>
    <table id="decisions"><thead><tr><th>step</th><th>decision</th><th>reason</th></tr></thead><tbody>
    ${t.decisions.map((d) => `<tr><td>${d.step}</td><td>${esc(d.action)}</td><td class="reason">${esc(d.reason)}</td></tr>`).join("")
      || `<tr><td colspan="3" class="muted">${ended ? "none: no decision was made on its results" : "none yet"}</td></tr>`}</tbody></table>`);
}
