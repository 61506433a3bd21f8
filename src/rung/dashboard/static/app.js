// rung dashboard: a single page over the read-only JSON API; re-renders the current page
// every `interval` milliseconds. Charts: plotly.js's basic bundle, vendored in static/
// (VENDORED.md).
"use strict";

const INTERVAL = parseInt(document.body.dataset.interval, 10) || 2000;
const COLORS = {
  completed: "#2ca02c", stopped: "#d62728", paused: "#ff7f0e", running: "#1f77b4",
  launched: "#1f77b4", failed: "#111111", interrupted: "#9467bd",
};
const PAGES = [["", "overview"], ["trials", "trials"], ["curves", "learning curves"],
               ["parallel", "parallel coordinates"], ["pareto", "Pareto front"],
               ["workers", "workers"]];
const FRESH = { sort: "trial_id", dir: 1, filter: "", offset: 0, selected: null };
// the trials table's sort, filter, page and selected trial: one study's (reset on another's)
const state = { ...FRESH, route: null, study: null };
const PAGE_ROWS = 200;  // rows of the trials table per page (sorted and filtered by the server)
const LABELS = { trial_id: "trial", last_step: "last step", decision_step: "at step" };  // short headers, narrow columns
const CONFIG = { displaylogo: false, responsive: true };
// an address that answered 404 (no such study or trial) or 500 (it cannot be read) is asked
// again at most this often (ms), not at every refresh: a missing study rarely appears by
// itself (it may: a run creates it), and a journal rarely mends; navigating asks at once
const BACKOFF = 30000;

function esc(s) {
  return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function pesc(s) {
  // a user's string (a parameter, metric or choice name, a reason) inside a Plotly text: Plotly
  // reads its texts as a small HTML subset and decodes &amp; &lt; &gt; and numeric entities
  // only (esc's &quot; would show as itself)
  return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;" })[c]);
}
function fmt(x) {
  if (x === null || x === undefined) return "";
  if (typeof x === "number") {
    if (Number.isInteger(x)) return String(x);
    const a = Math.abs(x);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(3);
    // toPrecision(4) writes 12345.6 as "1.235e+4"
    return a >= 1e4 ? String(Math.round(x)) : x.toPrecision(4);
  }
  return String(x);
}
const shown = new WeakMap();
function setHTML(el, html) {
  // replace an element's content only when it changed: a poll that finds nothing new leaves
  // the page alone (a text selection, the focus, a hovered row stay)
  if (shown.get(el) === html) return;
  shown.set(el, html);
  el.innerHTML = html;
}
let plotlyLoading = null;
function plotly() {
  // Plotly's basic bundle (1.2 MB, static/VENDORED.md) is loaded on the first page that draws
  // a chart, so the studies, overview and trials pages open without parsing it
  if (window.Plotly) return Promise.resolve();
  if (!plotlyLoading) {
    plotlyLoading = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = "/static/plotly-basic.min.js";
      s.onload = resolve;
      s.onerror = () => { plotlyLoading = null; reject(new Error("could not load plotly-basic.min.js")); };
      document.head.appendChild(s);
    });
  }
  return plotlyLoading;
}
let warming = null;
function warmPlotly() {
  // once a page without charts is drawn, Plotly is loaded while the user reads it, so that a
  // chart page opened from here draws at once (its first parse costs 1-2 s in a slow browser)
  if (window.Plotly || warming) return;
  warming = setTimeout(() => {
    const go = () => plotly().catch(() => {});
    if (window.requestIdleCallback) window.requestIdleCallback(go, { timeout: 3000 }); else go();
  }, 1500);
}
// how far the open study's journal has been read, from its latest answer's X-Rung-Loading
// header (rung.dashboard.app.loading_header; null: its pages are up to date)
let reading = null;
function noteReading(r) {
  const h = r.headers.get("X-Rung-Loading");
  reading = h ? JSON.parse(h) : null;
}
async function api(path) {
  const r = await fetch("/api/" + path, { cache: "no-store" });
  if (path.startsWith("study/")) noteReading(r);
  const body = await r.json();
  if (!r.ok) throw failure(body.error || r.statusText, r.status);
  return body;
}
function failure(message, status) {
  // an error answer's message, with its HTTP status (404: no such study or trial; 500: it
  // cannot be read), by which the page polls that address only every BACKOFF ms
  const e = new Error(message);
  e.status = status;
  return e;
}
function route() {
  // #/study/NAME[/PAGE], and #/study/NAME/trials/ID for a trial's detail
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "study" && parts[1]) {
    const tid = parts[2] === "trials" && /^\d+$/.test(parts[3] || "") ? parseInt(parts[3], 10) : null;
    return { study: parts[1], page: parts[2] || "", trial: tid };
  }
  return { study: null, page: "studies", trial: null };
}
function link(study, page) {
  return "#/study/" + encodeURIComponent(study) + (page ? "/" + page : "");
}
function trialLink(study, tid) { return link(study, "trials") + "/" + tid; }
function pickTrial(el, study) {
  // a click on a chart's point or line opens that trial's detail (its decisions and reasons)
  if (el.dataset.pick === study) return;
  el.dataset.pick = study;
  el.on("plotly_click", (e) => {
    const p = e && e.points && e.points[0];
    const id = p ? p.customdata : null;
    if (typeof id === "number") location.hash = trialLink(study, id);
  });
}
function nav(r) {
  const el = document.getElementById("nav");
  // the ledger page opens on the study being looked at
  document.getElementById("ledger-link").href = r.study ? "/ledger?study=" + encodeURIComponent(r.study) : "/ledger";
  // aria-current: a screen reader says which page is open (the colour alone does not)
  if (!r.study) { el.innerHTML = '<a class="active" aria-current="page" href="#/">studies</a>'; return; }
  el.innerHTML = '<a href="#/">studies</a>' + PAGES.map(([p, label]) =>
    `<a href="${link(r.study, p)}" id="nav-${p || "overview"}" class="${p === r.page ? "active" : ""}"${p === r.page ? ' aria-current="page"' : ""}>${esc(label)}</a>`).join("");
}
function main() { return document.getElementById("main"); }
function readingText(name, l) {
  // a journal being read in the background (Snapshot.loading): what the pages show meanwhile,
  // and how far the reading got
  const n = (x) => x.toLocaleString();
  if (l.snapshot) {
    return `reading ${n(l.total - l.records)} new records of ${name}… shown meanwhile: its snapshot ` +
      `of the first ${n(l.records)} records; the journal is replayed from its start ` +
      `(${Math.floor(100 * l.replayed / l.total)}%, ${n(l.replayed)} of ${n(l.total)} records) and the pages fill in when it is done`;
  }
  return `reading ${n(l.total)} records of ${name}… ${Math.floor(100 * l.records / l.total)}% ` +
    `(${n(l.records)} so far); the pages show what has been read and fill in as it goes`;
}
function loadingNote(name, l) {
  return l ? `<p class="loading">${esc(readingText(name, l))}</p>` : "";
}
function showReading(r) {
  // the status line above the page while the open study's journal is being read
  const el = document.getElementById("reading");
  const text = r.study && reading ? readingText(titles[r.study] || r.study, reading) : "";
  if (el.textContent !== text) el.textContent = text;
  el.hidden = !text;
}
function ensure(id, html) {
  // the page skeleton is built once per route, then only its parts are refreshed
  let el = document.getElementById(id);
  if (!el) { main().innerHTML = html; el = document.getElementById(id); }
  return el;
}

// --- pages --------------------------------------------------------------------------------
async function pageStudies() {
  const d = await api("studies");
  const box = ensure("studies", '<h2>Studies</h2><div id="studies"></div>');
  if (!d.studies.length) { setHTML(box, `<p class="muted">no studies in ${esc(d.storage)}</p>`); return; }
  d.studies.forEach((s) => { if (s.key) titles[s.key] = heading(s.key, s); });
  setHTML(box, `<table id="studies-table"><thead><tr><th>study</th><th>state</th><th>trials</th>
    <th>by status</th><th>best</th><th>searcher</th><th>scheduler</th><th>journal</th></tr></thead><tbody>` +
    // a journal or a study that cannot be read: its own row, with why and which file
    d.studies.map((s) => s.error ? `<tr class="unreadable"><td>${s.key === null ? "–" : `<a href="${link(s.key, "")}">${esc(s.key)}</a>`}</td>` +
      `<td colspan="6" class="status-failed">unreadable: ${esc(s.error)}</td><td class="muted">${esc(s.path)}</td></tr>` :
      `<tr><td><a href="${link(s.key, "")}">${esc(s.key)}</a></td>
      <td class="state">${stateCell(s)}</td><td>${s.trials}</td>
      <td>${Object.entries(s.by_status).map(([k, v]) => `<span class="status-${k}">${k} ${v}</span>`).join(", ")}</td>
      <td>${fmt(s.best_value)} ${esc(s.metric)} (${esc(s.mode)})</td><td>${esc(s.searcher)}</td>
      <td>${esc(s.scheduler)}</td><td class="muted">${esc(s.path)}</td></tr>`).join("") + "</tbody></table>" +
    d.studies.map((s) => loadingNote(s.key, s.loading)).join(""));
}

function stateCell(s) {
  // the study's state in rung ls's words (running, done, resumable, ended, as written), then
  // what rung show adds: the trials a stopped driver left running, why the search ended with
  // its budget not spent, and whether other code wrote the journal
  const notes = [];
  if (s.unfinished) notes.push(`${s.unfinished} trial${s.unfinished === 1 ? " was" : "s were"} running when the driver stopped`);
  if (s.budget_state) notes.push(s.budget_state);
  const other = s.version_note ? `<br><span class="warning version-note" title="${esc(s.version_note)}">written by ${/newer than this rung/.test(s.version_note) ? "a newer rung (upgrade rung to replay it)" : "an older rung or algorithm versions"}</span>` : "";
  return `<span class="state${s.state === "running" ? " live" : ""}">${esc(s.state || (s.live ? "running" : ""))}</span>` +
    notes.map((n) => `<br><span class="muted state-note">${esc(n)}</span>`).join("") + other;
}
// how a study is called on its pages: its name, and its journal's file when several
// journals hold that name (its key is then NAME@FILE): "mo (a.db)"
const titles = {};
function heading(key, s) {
  const file = String(s.path || "").split(/[\\/]/).pop();
  return key !== s.name && key === `${s.name}@${file}` ? `${s.name} (${file})` : s.name;
}
function setTitle(r) {
  document.title = r.study ? `${titles[r.study] || r.study} · rung dashboard` : "rung dashboard";
}

async function pageOverview(name) {
  const s = await api("study/" + encodeURIComponent(name));
  const box = ensure("overview", '<div id="overview"></div>');
  titles[name] = heading(name, s);
  setTitle(route());
  const budget = Object.entries(s.budget).map(([k, v]) =>
    `<div class="card">${esc(k)}<b>${fmt(v.used)} / ${fmt(v.limit)}</b>${Math.round(100 * v.used / v.limit)}% spent${s.budget_state ? " · the search is over" : ""}</div>`).join("");
  // a study without a result has no best, no throughput and no worker yet: said, not blank
  const none = s.best_trial === null && !s.results;
  const slots = s.workers ? `${s.workers} worker slot${s.workers === 1 ? "" : "s"}` : "no worker has run yet";
  setHTML(box, `<h2 id="study-title">${esc(titles[name])} ${s.live ? '<span class="live">running</span>' : ""}</h2>
    ${s.error ? `<p class="status-failed">${esc(s.error)}</p>` : ""}
    ${s.read_as_written ? `<p class="warning" id="read-as-written">shown as written: ${esc(s.read_as_written)}; this rung cannot resume it (rung show names the build that can)</p>`
      : s.version_note ? `<p class="warning" id="version-note">written by other code: ${esc(s.version_note)}</p>` : ""}
    <div class="cards">
      <div class="card">trials<b id="n-trials">${s.trials}</b>${Object.entries(s.by_status).map(([k, v]) => `<span class="status-${k}">${k} ${v}</span>`).join(" · ")}</div>
      <div class="card">best ${(s.constraints || []).length ? "feasible " : ""}${esc(s.metric)} (${esc(s.mode)})${s.objectives.length > 1 ? `, the first of ${s.objectives.length} objectives (see the Pareto front)` : ""}<b id="best-value">${s.best_trial === null ? "–" : fmt(s.best_value)}</b>${s.best_trial === null ? (none ? "no trial has a result yet" : "no trial counts for the best yet") : `<a href="${trialLink(name, s.best_trial)}">trial ${s.best_trial}</a> at step ${fmt(s.best_step)}`}</div>
      ${budget}
      <div class="card">throughput<b id="throughput">${s.throughput.trials_per_min === null ? "–" : fmt(s.throughput.trials_per_min)}</b>${s.throughput.trials_per_min !== null ? `trials/min · ${fmt(s.throughput.results_per_s)} results/s` : s.elapsed > 0 ? "under a second of time: no rate" : "nothing has run yet"}</div>
      <div class="card">${esc(s.time_kind || "driver")} time<b>${fmt(s.elapsed)} s</b>${slots}</div>
    </div>
    <h3>Components</h3>
    <p id="components">searcher <b>${esc(s.searcher)}</b>${settings(s.searcher_settings)} · scheduler <b>${esc(s.scheduler)}</b>${settings(s.scheduler_settings)}
       · ${s.rung_steps.length ? `rungs at steps ${esc(s.rung_steps.join(", "))}` : "no rungs"} (max step ${s.max_step})</p>
    ${(s.constraints || []).length ? `<p id="constraints">constraints (a trial that breaks one is never the best): ${s.constraints.map((c) => `<code>${esc(c)}</code>`).join(", ")}</p>` : ""}
    ${s.auto_reason ? `<p class="reason">${esc(s.auto_reason)}</p>` : ""}
    ${s.stopped ? `<p class="reason" id="stopped">the stop rule ended the search: ${esc(s.stopped)}</p>` : ""}
    ${s.budget_state ? `<p class="reason" id="budget-state">budget ${esc(s.budget_state)}</p>` : ""}
    ${s.unfinished_note ? `<p class="warning" id="unfinished-note">note: ${esc(s.unfinished_note)}</p>` : ""}
    <h3>Best params</h3>${s.best_params === null ? `<p class="muted" id="best-params">none yet: ${none ? "no trial has a result yet" : "no trial counts for the best yet"}</p>` : `<pre id="best-params">${esc(JSON.stringify(s.best_params, null, 1))}</pre>`}
    <p class="muted">${esc(s.path)} · ${s.records} records · ${s.results} results · ${s.steps_consumed} steps</p>`);
}

function settings(text) {
  // a component's parameters as name: value pairs, those left at their default left out
  // (the server's rung.cli.component_settings; none: nothing but defaults)
  return text ? ` <span class="settings">(${esc(text)})</span>` : "";
}

async function pageCurves(name) {
  const d = await chartData(name, "curves");
  ensure("curves", '<h2>Learning curves</h2><p class="muted" id="curves-note"></p><div id="curves" class="chart"></div>');
  if (d.unchanged && (drawn("curves") || !d.trials.length)) return;
  if (!d.trials.length) {  // no axes over nothing (a 1-3 step axis when max_step is 9)
    document.getElementById("curves-note").textContent = "no trial has a result yet";
    Plotly.purge("curves");
    return;
  }
  const vr = d.value_range;  // far outliers on the bad side left off the axis (rung.bulk_range)
  document.getElementById("curves-note").textContent =
    `${d.sample.note}${vr ? `; ${vr.note}` : ""}; dotted: rung steps; black bars: the scheduler's cut-off at each rung, its latest threshold (thin line: the range it moved through); x: stopped there; click a curve for its trial's decisions`;
  // one trace per status, the curves separated by gaps: hundreds of curves draw as fast as one
  const by = {};
  d.trials.forEach((t) => { (by[t.status] = by[t.status] || []).push(t); });
  // the trials that ran to the end drawn last, over the many stopped early
  const traces = Object.entries(by).sort(([a], [b]) => (a === "completed") - (b === "completed")).map(([status, ts]) => ({
    x: ts.flatMap((t) => [...t.x, null]), y: ts.flatMap((t) => [...t.y, null]),
    text: ts.flatMap((t) => [...t.x.map(() => `trial ${t.trial_id}`), null]),
    customdata: ts.flatMap((t) => [...t.x.map(() => t.trial_id), null]),
    // lines only (a marker is an SVG node per point: 2,000 of them double the drawing time); a
    // trial stopped at its first result, one point and no line, shows as its decision's x
    mode: "lines", name: status, line: { color: COLORS[status] || "#777", width: 1 }, opacity: 0.75,
    hovertemplate: `%{text}: %{y} at step %{x}<extra>${status}</extra>` }));
  const marks = d.decisions;
  traces.push({ x: marks.map((m) => m.step), y: marks.map((m) => m.value), mode: "markers",
                name: "stopped / paused here", marker: { symbol: "x", color: "#d62728", size: 8 },
                text: marks.map((m) => `trial ${m.trial_id}: ${pesc(m.reason)}`), hoverinfo: "text",
                customdata: marks.map((m) => m.trial_id) });
  // on a log axis, annotations take log10 coordinates and shapes (plotly.js >= 3) data values
  const log = d.max_step >= 9;
  const A = (v) => (log ? Math.log10(v) : v);
  const X = (v) => v;
  const shapes = d.rung_steps.filter((s) => s < d.max_step).map((s) => ({
    type: "line", x0: X(s), x1: X(s), yref: "paper", y0: 0, y1: 1, line: { dash: "dot", color: "#999", width: 1 } }));
  // the scheduler's threshold at each rung as its decisions state it: a bar at the latest,
  // a thin line over the range it moved through, the value written beside the bar
  const annotations = [];
  Object.entries(d.cutoffs).forEach(([s, c]) => {
    const x = Number(s);
    shapes.push({ type: "line", x0: X(x / 1.15), x1: X(x * 1.15), y0: c.latest, y1: c.latest, line: { color: "#000", width: 4 } });
    if (c.high > c.low) shapes.push({ type: "line", x0: X(x), x1: X(x), y0: c.low, y1: c.high, line: { color: "#000", width: 1 } });
    annotations.push({ x: A(x * 1.15), y: c.latest, text: fmt(c.latest),
                       showarrow: false, xanchor: "left", font: { size: 10 } });
  });
  // a log axis labels the digits between powers of ten ("9" for 0.9 next to "1"): the
  // ticks are the steps themselves, 1, each rung, the powers of ten and max_step
  const ticks = log ? [...new Set([1, ...d.rung_steps, d.max_step,
    ...[10, 100, 1000, 10000, 100000, 1000000].filter((p) => p < d.max_step)])].sort((a, b) => a - b) : null;
  Plotly.react("curves", traces, keepZoom("curves", {
    margin: { t: 20 }, shapes, annotations,
    xaxis: { title: { text: "step" }, type: log ? "log" : "linear",
             ...(log ? { tickvals: ticks, ticktext: ticks.map(String) } : {}) },
    yaxis: { title: { text: `${pesc(d.metric)} (${d.mode})` },
             ...(vr ? { range: [vr.low, vr.high], autorange: false } : { autorange: true }) } }), CONFIG);
  watchZoom("curves");
  pickTrial(document.getElementById("curves"), name);
}

const lastChart = {};
async function chartText(path) {
  const r = await fetch("/api/" + path, { cache: "no-store" });
  noteReading(r);
  const text = await r.text();
  if (!r.ok) throw failure(JSON.parse(text).error || r.statusText, r.status);
  return text;
}
function chartData(name, what) {
  // Plotly's bundle is parsed while the data is on its way. ``unchanged``: the answer is the
  // one last drawn (a finished study, an idle one): redrawing 1,000 curves or 3,000 runs
  // costs the browser 0.2-0.6 s per poll for nothing
  const path = "study/" + encodeURIComponent(name) + "/" + what;
  return Promise.all([plotly(), chartText(path)]).then(([, text]) => {
    const d = JSON.parse(text);
    d.unchanged = lastChart[path] === text;
    lastChart[path] = text;
    return d;
  });
}
function drawn(id) {
  // the chart ``id`` is on the page with something drawn in it
  return document.querySelector(`#${id} .main-svg`) !== null;
}

async function pagePareto(name) {
  const d = await chartData(name, "pareto");
  ensure("pareto", '<h2>Pareto front</h2><p class="muted" id="pareto-note"></p><div id="pareto" class="chart"></div>');
  if (d.unchanged && drawn("pareto")) return;
  if (d.objectives.length < 2) {
    document.getElementById("pareto-note").textContent = "this study has one objective: no Pareto front";
    Plotly.purge("pareto");
    return;
  }
  if (!d.points.length) {
    document.getElementById("pareto-note").textContent = "no trial has a result yet";
    Plotly.purge("pareto");
    return;
  }
  const front = new Set(d.front);
  const on = d.points.filter((p) => front.has(p.trial_id)).sort((a, b) => a.x - b.x);
  // the front is Study.pareto_front's: only trials at their final result count, so a trial
  // stopped early may be drawn grey where no red point dominates it
  const early = d.undominated_early || 0;
  document.getElementById("pareto-note").textContent = `${on.length} non-dominated; ${d.sample.note}` +
    (d.objectives.length > 2 ? `; the front is over all ${d.objectives.length} objectives (${d.objectives.join(", ")}), drawn in the first two` : "") +
    "; red: the Pareto front of the feasible trials at their final result (max_step, or where they completed), " +
    "as Study.pareto_front counts it; grey: the others" +
    (early ? ` (${early} of them feasible and dominated by no red point, but stopped before their final result)` : "");
  // grey: the feasible trials off the front (the front's own points are red, drawn once: with
  // the red trace hidden from the legend, none shows as "dominated")
  const ok = d.points.filter((p) => p.feasible !== false && !front.has(p.trial_id));
  const bad = d.points.filter((p) => p.feasible === false);  // a constraint excludes them
  Plotly.react("pareto", [
    { x: ok.map((p) => p.x), y: ok.map((p) => p.y), mode: "markers", name: "other trials (dominated, or not at their final result)",
      marker: { color: "#aaa" }, text: ok.map((p) => `trial ${p.trial_id}`), customdata: ok.map((p) => p.trial_id) },
    { x: bad.map((p) => p.x), y: bad.map((p) => p.y), mode: "markers",
      name: "infeasible (a constraint is not met)", marker: { color: "#ccc", symbol: "x" },
      text: bad.map((p) => `trial ${p.trial_id}: infeasible`), customdata: bad.map((p) => p.trial_id),
      visible: bad.length ? true : "legendonly" },
    // the bound of what the front attains, its corners the worse of two neighbours' values
    // (the server's: they depend on each objective's direction)
    { x: d.line.x, y: d.line.y, mode: "lines", name: "attained", showlegend: false,
      line: { color: "#d62728", width: 1 }, hoverinfo: "skip" },
    { x: on.map((p) => p.x), y: on.map((p) => p.y), mode: "markers", name: "Pareto front",
      marker: { color: "#d62728" }, text: on.map((p) => `trial ${p.trial_id}`), customdata: on.map((p) => p.trial_id) },
  ], keepZoom("pareto", { margin: { t: 20 }, xaxis: { title: { text: `${pesc(d.objectives[0])} (${d.modes[0]})` } },
       yaxis: { title: { text: `${pesc(d.objectives[1])} (${d.modes[1]})` } } }), CONFIG);
  watchZoom("pareto");
  pickTrial(document.getElementById("pareto"), name);
}

async function pageWorkers(name) {
  const d = await chartData(name, "workers");
  ensure("workers", '<h2>Worker timeline</h2><p class="muted" id="workers-note"></p><div id="workers" class="chart"></div>');
  if (d.unchanged && (drawn("workers") || !d.runs.length)) return;
  if (!d.runs.length) {
    document.getElementById("workers-note").textContent = "no run yet: no worker has run a trial";
    Plotly.purge("workers");
    return;
  }
  // the busy share is the ledger's (rung.cost: worker start-up and the gaps between
  // sessions left out), the timeline's axis runs from the study's first event to now
  document.getElementById("workers-note").textContent =
    (d.runs.length < d.total_runs ? `the latest ${d.runs.length.toLocaleString()} of ${d.total_runs.toLocaleString()} runs` : `${d.runs.length.toLocaleString()} runs`) +
    ` on ${d.slots} worker slot${d.slots === 1 ? "" : "s"}` + (d.utilization === null ? "" : `, ${Math.round(100 * d.utilization)}% busy (as the ledger counts it: while sessions ran)`);
  // one line trace per outcome, a segment per run (an SVG path each: thousands of runs draw
  // in a fraction of the time thousands of bars take)
  const by = {};
  d.runs.forEach((r) => { (by[r.outcome] = by[r.outcome] || []).push(r); });
  const traces = Object.entries(by).map(([o, runs]) => ({
    type: "scatter", mode: "lines", name: o,
    x: runs.flatMap((r) => [r.start, Math.max(r.end, r.start + 1e-9), null]),
    y: runs.flatMap((r) => ["slot " + r.slot, "slot " + r.slot, null]),
    text: runs.flatMap((r) => [`trial ${r.trial_id}`, `trial ${r.trial_id}`, null]),
    customdata: runs.flatMap((r) => [r.trial_id, r.trial_id, null]),
    line: { color: COLORS[o] || "#777", width: Math.max(4, Math.min(18, 240 / Math.max(d.slots, 1))) },
    hoverinfo: "text+name" }));
  Plotly.react("workers", traces, keepZoom("workers", { margin: { t: 20, l: 70 },
    xaxis: { title: { text: "time since the study started (s)" } },
    // the slots in their order (a category axis orders them as the traces first use them)
    yaxis: { autorange: "reversed", type: "category", categoryorder: "array",
             categoryarray: Array.from({ length: d.slots }, (_, i) => "slot " + i) } }), CONFIG);
  watchZoom("workers");
  pickTrial(document.getElementById("workers"), name);
}

// --- the loop -----------------------------------------------------------------------------
const HANDLERS = { "": pageOverview, trials: pageTrials, curves: pageCurves, parallel: pageParallel,
                   pareto: pagePareto, workers: pageWorkers };
let busy = false;
let drewRoute = null;  // the route whose page has drawn its data
let backoff = null;  // {hash, until}: the address answered 404 or 500, polled every BACKOFF ms
async function render(polled) {
  if (busy) return;
  // the timer's refresh of an address that failed waits for BACKOFF (navigating asks at once)
  if (polled === true && backoff && backoff.hash === location.hash && Date.now() < backoff.until) return;
  busy = true;
  const r = route();
  const key = r.study + "/" + r.page;
  if (state.study !== r.study) { Object.assign(state, FRESH); state.study = r.study; reading = null; }
  // the trials page's address says which trial is open (Back to the table's closes it)
  if (r.page === "trials" || r.trial !== null) state.selected = r.trial;
  if (state.route !== key) {
    // the page's place says what it waits for until its data arrives (never a blank page)
    state.route = key; drewRoute = null; zooms = {}; nav(r);
    main().innerHTML = `<p class="muted" id="page-wait">loading ${r.study ? esc(titles[r.study] || r.study) : "the studies"}…</p>`;
    showReading(r);
  }
  setTitle(r);
  try {
    if (!r.study) await pageStudies();
    else await (HANDLERS[r.page] || pageOverview)(r.study);
    drewRoute = key;
    backoff = null;
    showReading(r);
    const st = document.getElementById("status");
    st.textContent = "updated " + new Date().toLocaleTimeString();
    st.title = "";
    warmPlotly();
  } catch (e) {
    const later = e.status === 404 || e.status === 500;
    if (later) backoff = { hash: location.hash, until: Date.now() + BACKOFF };
    const st = document.getElementById("status");
    st.textContent = "could not refresh: " + e.message;
    st.title = later ? `asked again every ${BACKOFF / 1000} s, or when you open a page` : "";
    // a page that never drew (no such study, one that cannot be read) says why where it
    // would be, not an empty table under it
    if (drewRoute !== key) main().innerHTML = `<p class="status-failed" id="page-error">${esc(e.message)}</p>`;
  } finally {
    busy = false;
  }
}
window.addEventListener("hashchange", () => render(false));
render(false);
setInterval(() => render(true), INTERVAL);
