// rung dashboard: the user's zoom of its charts, kept across refreshes (loaded before
// parallel.js and app.js, which call keepZoom when they lay a chart out and watchZoom once it
// is drawn; keepZoom reads app.js's ``state.route`` when it is called).
"use strict";

// the user's zoom of each chart ({xaxis: [a, b], yaxis: [a, b]}), kept across the refreshes of
// its data until a double-click resets it or the page changes (a live study's refresh redrew
// the chart from its data, zoom lost, every few seconds)
let zooms = {};
function keepZoom(id, layout) {
  // ``layout`` with the user's zoom of chart ``id`` put over its axes' ranges; ``uirevision``
  // keeps what else the user changed (a band hidden from the legend) while the page is open
  const z = zooms[id] || {};
  for (const ax of ["xaxis", "yaxis"]) {
    if (z[ax]) layout[ax] = { ...layout[ax], range: z[ax].slice(), autorange: false };
  }
  layout.uirevision = state.route;
  return layout;
}
function watchZoom(id) {
  const el = document.getElementById(id);
  if (!el || el.dataset.zoom) return;
  el.dataset.zoom = "1";
  let reset = false;
  el.on("plotly_doubleclick", () => { reset = true; delete zooms[id]; });
  el.on("plotly_relayout", (e) => {
    if (reset) { reset = false; delete zooms[id]; return; }  // the double-click's own relayout
    const z = zooms[id] || {};
    for (const ax of ["xaxis", "yaxis"]) {
      if (e[ax + ".autorange"]) delete z[ax];
      else if (e[ax + ".range[0]"] !== undefined) z[ax] = [e[ax + ".range[0]"], e[ax + ".range[1]"]];
      else if (Array.isArray(e[ax + ".range"])) z[ax] = e[ax + ".range"].slice();
    }
    zooms[id] = z;
  });
}
