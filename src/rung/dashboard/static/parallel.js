// rung dashboard: the parallel-coordinates page (loaded before app.js, whose helpers it
// uses when it draws: chartData, drawn, ensure, fmt, keepZoom, pesc, pickTrial, watchZoom). SVG polylines, one per
// trial, through one axis per parameter to its value; the axes stay AXIS_PX apart (a wider
// chart scrolls sideways) and a name too long for the room is shortened, whole on hover.
"use strict";

// parallel coordinates: the least room between two axes (px), and the most choices named
const AXIS_PX = 110;
const MAX_TICKS = 20;
const VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779",
                 "#6ece58", "#b5de2b", "#fde725"];

async function pageParallel(name) {
  const d = await chartData(name, "parallel");
  ensure("parallel", '<h2>Parallel coordinates</h2><p class="muted" id="par-note"></p><div class="hscroll" id="par-scroll"><div id="parallel" class="chart"></div></div>');
  if (d.unchanged && (drawn("parallel") || !d.trial_ids.length)) return;
  const n = d.trial_ids.length;
  if (!n) {
    document.getElementById("par-note").textContent = "no trial has a result yet";
    Plotly.purge("parallel");
    return;
  }
  document.getElementById("par-note").textContent = `${d.sample.note} (each at its last step); ` +
    "colour: the value, best on top; click a legend entry to hide that band, a line for its trial" +
    "; a shortened name shows in full under the pointer";
  // SVG polylines, one per trial, on axes scaled to [0, 1] (WebGL parcoords costs over a
  // second in a software-rendered browser whatever the count; 2,000 SVG lines a tenth of that)
  const axes = d.params.map((p) => {
    const spec = d.space[p] || {};
    const vals = d.columns[p];
    if (spec.type === "categorical" || vals.some((v) => typeof v === "string" || typeof v === "boolean")) {
      const choices = (spec.choices || [...new Set(vals.map(String))]).map(String);
      const k = Math.max(choices.length - 1, 1);
      return { label: p, pos: vals.map((v) => choices.indexOf(String(v)) / k),
               ticks: choices.map((c, i) => [i / k, c]) };
    }
    if (!spec.log) return scaled(p, vals);
    // a log parameter: positions on log10 of its values, ticks in its own values
    return scaled(`${p} (log scale)`, vals.map((v) => (v === null || !(v > 0) ? null : Math.log10(v))),
                  (u) => fmt(Number((10 ** u).toPrecision(4))));
  });
  axes.push(scaled(`${d.metric} (${d.mode})`, d.values));
  const D = axes.length;
  const lo = Math.min(...d.values), hi = Math.max(...d.values);
  const B = VIRIDIS.length;
  const band = (v) => (hi > lo ? Math.min(B - 1, Math.floor((B * (v - lo)) / (hi - lo))) : 0);
  const bands = VIRIDIS.map(() => ({ x: [], y: [], text: [], ids: [] }));
  for (let i = 0; i < n; i++) {
    const b = bands[band(d.values[i])];
    for (let j = 0; j < D; j++) {
      b.x.push(j); b.y.push(axes[j].pos[i]); b.text.push(`trial ${d.trial_ids[i]}: ${fmt(d.values[i])}`); b.ids.push(d.trial_ids[i]);
    }
    b.x.push(null); b.y.push(null); b.text.push(null); b.ids.push(null);
  }
  // the best band last (drawn on top): low values for "min", high for "max"
  const order = VIRIDIS.map((_, k) => k);
  if (d.mode === "min") order.reverse();
  const w = (hi - lo) / B;
  const traces = order.filter((k) => bands[k].x.length).map((k) => ({
    type: "scatter", mode: "lines", x: bands[k].x, y: bands[k].y, text: bands[k].text, customdata: bands[k].ids,
    hoverinfo: "text", line: { color: VIRIDIS[d.mode === "min" ? B - 1 - k : k], width: 1 }, opacity: 0.6,
    name: `${fmt(lo + k * w)} – ${fmt(lo + (k + 1) * w)}` }));
  const shapes = axes.map((_, j) => ({ type: "line", x0: j, x1: j, y0: 0, y1: 1, line: { color: "#444", width: 1 } }));
  // at least AXIS_PX between two axes: a wider chart scrolls sideways rather than print the
  // axes' titles and choices over each other; a name longer than the space is shortened,
  // whole under the pointer
  const el = document.getElementById("parallel");
  const room = document.getElementById("par-scroll").clientWidth;
  const need = D * AXIS_PX + 260;  // the margins and the legend
  el.style.width = need > room ? need + "px" : "";
  const gap = Math.max(AXIS_PX, (Math.max(room, need) - 260) / D);
  const chars = Math.max(6, Math.floor(gap / 7.5));  // a 12px bold title's letters in the gap
  const short = (t, k) => (t.length > k ? t.slice(0, k - 1) + "…" : t);
  const annotations = [];
  axes.forEach((a, j) => {
    annotations.push({ x: j, y: 1, yref: "paper", yshift: 8, text: `<b>${pesc(short(a.label, chars))}</b>`,
                      hovertext: a.label.length > chars ? pesc(a.label) : undefined,
                      showarrow: false, yanchor: "bottom", captureevents: a.label.length > chars });
    // a categorical of many choices: at most MAX_TICKS of them named, evenly spaced
    const every = Math.ceil(a.ticks.length / MAX_TICKS);
    a.ticks.forEach(([y, t], i) => {
      if (i % every && i !== a.ticks.length - 1) return;
      const k = Math.max(4, chars - 2);
      annotations.push({ x: j, y, text: pesc(short(t, k)), hovertext: t.length > k ? pesc(t) : undefined,
                         showarrow: false, xanchor: "right", xshift: -4, font: { size: 10, color: "#444" } });
    });
  });
  // the user's zoom (of the value positions) and hidden bands stay across refreshes
  Plotly.react("parallel", traces, keepZoom("parallel", {
    margin: { t: 50, l: 70, r: 20 }, shapes, annotations, hovermode: "closest",
    legend: { title: { text: pesc(d.metric) }, traceorder: "reversed" },
    xaxis: { range: [-0.3, D - 0.7], showgrid: false, zeroline: false, showticklabels: false, fixedrange: true },
    yaxis: { range: [-0.03, 1.03], showgrid: false, zeroline: false, showticklabels: false } }), CONFIG);
  watchZoom("parallel");
  pickTrial(document.getElementById("parallel"), name);
}
function scaled(label, vals, show = fmt) {
  // an axis over [min, max] of its values, scaled to [0, 1], with three tick labels (``show``
  // writes a position's value)
  const xs = vals.filter((v) => v !== null && Number.isFinite(v));
  const lo = xs.length ? Math.min(...xs) : 0, hi = xs.length ? Math.max(...xs) : 1;
  const span = hi > lo ? hi - lo : 1;
  return { label, pos: vals.map((v) => (v === null ? null : (v - lo) / span)),
           ticks: [[0, show(lo)], [0.5, show(lo + span / 2)], [1, show(hi)]] };
}
