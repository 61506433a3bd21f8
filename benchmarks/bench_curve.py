"""rung's schedulers on the learning-curve tables of ``benchmarks/curves`` (real training runs,
replayed by ``CurveTable``): ASHA with a fixed first rung, ASHA and async Hyperband with the first
rung chosen from data (``min_step="auto"``) and the curve-aware ``CurveASHA`` (issue 14 item 4),
against random+FIFO.

Equal compute: every method gets ``30 x`` the table's mean full-curve cost in worker-seconds, i.e.
a virtual wall-clock budget of that divided by the workers. Per (table, workers, method) over
seeds: the median final regret (``val_error`` of the recommended trial, ``Study.best_trial``, at
``max_step``, minus the table's best), the fraction of the compute at which the median regret
curve first reaches random+FIFO's final median regret, and one-sided Mann-Whitney p-values of
"this method's final regret is lower" against random+FIFO and against ASHA (stopping), and of
"random+FIFO's final regret is lower" (the test of being behind FIFO beyond seed noise).

Usage: ``nice -n 10 python benchmarks/bench_curve.py [--seeds 10] [--rows 500] [--jobs 2]
[--tables hgb-german,...] [--methods ...] [--no-write]``; the full run writes the
"bench_curve: rung's schedulers on the curve tables" section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # two processes share two cores
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from scipy.stats import mannwhitneyu

sys.path.insert(0, str(Path(__file__).parent))
from _results import table, write_section

from rung import Budget, Objective, Study
from rung.benchmarks import CurveTable
from rung.schedulers import ASHA, AsyncHyperband, CurveASHA
from rung.storage import MemoryJournal

CURVES = Path(__file__).parent / "curves"
FULL_CURVES = 30  # compute budget in mean full-curve costs
METHODS: dict[str, tuple[str, Callable[[], Any]]] = {
    "random+fifo": ("random", lambda: "fifo"),
    "asha": ("random", lambda: ASHA(3)),
    "asha-promotion": ("random", lambda: ASHA(3, variant="promotion")),
    "curve": ("random", lambda: CurveASHA(3)),
    "curve+tpe": ("tpe", lambda: CurveASHA(3)),
}


def method(name: str) -> tuple[str, Callable[[], Any]]:
    """A name of ``METHODS``, or a variant such as ``curve:min_step=9:explore=1.0``,
    ``asha:min_step=9``, ``asha:min_step=auto`` or ``ahb:min_step=auto`` (``CurveASHA`` /
    ``ASHA(3)`` / ``AsyncHyperband(3)`` with those keyword arguments)."""
    if name in METHODS:
        return METHODS[name]
    base, *pairs = name.split(":")
    kwargs: dict[str, Any] = {
        k: (float(v) if "." in v else int(v)) if v.lstrip("-")[:1].isdigit() else v
        for k, v in (p.split("=") for p in pairs)
    }
    searcher = "tpe" if base.endswith("+tpe") else "random"
    cls: Any = (CurveASHA if base.startswith("curve")
                else AsyncHyperband if base.startswith("ahb") else ASHA)
    return searcher, lambda: cls(3, **kwargs)

DEFAULT = ["random+fifo", "asha", "asha:min_step=9", "asha:min_step=auto",
           "asha:min_step=auto:variant=promotion", "ahb:min_step=auto", "curve",
           "curve:min_step=9"]


def available(name: str) -> int:
    with np.load(CURVES / f"{name}.npz", allow_pickle=False) as z:
        return len(z["params"])


def run_one(job: tuple[str, int, str, int, int]) -> dict[str, Any]:
    name, workers, name_of, seed, rows = job
    logging.disable(logging.WARNING)
    bench = CurveTable(CURVES / f"{name}.npz", rows=rows)
    compute = FULL_CURVES * float(bench.seconds.sum(axis=1).mean())
    searcher, sched = method(name_of)
    study = Study.create(
        "bench", bench.space, Objective(bench.metric, bench.mode), searcher=searcher,
        scheduler=sched(), max_step=bench.max_step, budget=Budget(max_time=compute / workers),
        seed=seed, storage=MemoryJournal(),
    )
    assert bench.optimum is not None
    curve: list[tuple[float, float]] = []  # (fraction of compute, regret of the recommendation)
    last: list[int | None] = [None]

    def on_turn(engine: Any) -> None:
        tid = engine.history.best_trial_id()
        if tid is not None and tid != last[0]:
            last[0] = tid
            r = bench.final_value(engine.history.params(tid)) - bench.optimum
            curve.append((engine.elapsed * workers / compute, r))

    t0 = time.process_time()
    study.simulate(bench, n_workers=workers, on_turn=on_turn)
    best = study.best_trial
    final = bench.final_value(best.params) - bench.optimum if best else math.inf
    full = study.history.n_at_step(bench.max_step)
    return {"table": name, "workers": workers, "method": name_of, "seed": seed,
            "final": final, "curve": curve, "trials": len(study.history), "full": full,
            "cpu": time.process_time() - t0, "rows": len(bench.params)}


def reach(runs: list[dict[str, Any]], target: float) -> float | None:
    """First compute fraction at which the median (over seeds) regret is <= ``target``."""
    xs = np.unique([p[0] for r in runs for p in r["curve"]])
    for x in xs:
        vals = [next((v for f, v in reversed(r["curve"]) if f <= x), math.inf) for r in runs]
        if np.median(vals) <= target:
            return float(x)
    return None


def p_less(a: list[float], b: list[float]) -> float:
    if len(set(a) | set(b)) <= 1:
        return 1.0
    return float(mannwhitneyu(a, b, alternative="less").pvalue)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--rows", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--workers", default="1,8")
    ap.add_argument("--tables", default=",".join(sorted(p.stem for p in CURVES.glob("*.npz"))))
    ap.add_argument("--methods", default=",".join(DEFAULT))
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    tables = args.tables.split(",")
    methods = args.methods.split(",")
    for must in ("random+fifo", "asha"):
        if must not in methods:
            methods.insert(0, must)
    workers = [int(w) for w in args.workers.split(",")]
    rows = {t: min(args.rows, available(t)) for t in tables}  # fixed while the tables grow
    jobs = [(t, w, m, s, rows[t]) for t in tables for w in workers for m in methods
            for s in range(args.seeds)]
    t0 = time.time()
    with multiprocessing.Pool(args.jobs) as pool:
        runs = pool.map(run_one, jobs, chunksize=1)
    rows_out = []
    for t in tables:
        for w in workers:
            by = {m: [r for r in runs if r["table"] == t and r["workers"] == w and r["method"] == m]
                  for m in methods}
            fifo_final = [r["final"] for r in by["random+fifo"]]
            target = float(np.median(fifo_final))
            asha_final = [r["final"] for r in by["asha"]]
            for m in methods:
                rs = by[m]
                fin = [r["final"] for r in rs]
                frac = reach(rs, target)
                rows_out.append([
                    t, rs[0]["rows"], w, m, float(np.median(fin)),
                    f"{np.quantile(fin, 0.25):.3g}-{np.quantile(fin, 0.75):.3g}",
                    "never" if frac is None else f"{frac:.2f}",
                    "" if m == "random+fifo" else f"{p_less(fin, fifo_final):.3f}",
                    "" if m == "random+fifo" else f"{p_less(fifo_final, fin):.3f}",
                    "" if m == "asha" else f"{p_less(fin, asha_final):.3f}",
                    float(np.median([r["full"] for r in rs])),
                    float(np.median([r["trials"] for r in rs])),
                    float(np.mean([r["cpu"] for r in rs])),
                ])
    headers = ["table", "rows", "workers", "method", "median regret", "IQR",
               "compute to FIFO's median", "p vs FIFO", "p FIFO better", "p vs ASHA", "full curves", "trials",
               "cpu s/run"]
    text = table(headers, rows_out)
    print(text)
    print(f"{len(runs)} runs in {time.time() - t0:.0f} s")
    if args.no_write:
        return
    body = (
        f"{len(runs)} simulated runs, {args.seeds} seeds, tables `benchmarks/curves/*.npz` "
        f"(first {args.rows} rows or all there were), metric `val_error`, equal compute "
        f"{FULL_CURVES} x the table's mean full-curve cost in worker-seconds (virtual wall "
        "budget = that / workers). Regret: the recommended trial's (`Study.best_trial`) final "
        "value minus the table's best. 'compute to FIFO's median': fraction of the compute at "
        "which the median regret over seeds first reaches random+FIFO's final median regret. "
        "p vs FIFO / p vs ASHA: one-sided Mann-Whitney U, 'this method's final regret is lower'; "
        "p FIFO better: 'random+FIFO's final regret is lower' (behind FIFO beyond seed noise "
        "when < 0.05). `asha` = `ASHA(3)` (first rung at step 1); `asha:min_step=auto` = "
        "`ASHA(3, min_step=\"auto\")` (first rung chosen from the first 8 trials' complete "
        "curves, Spearman >= 0.7 with the final value); `ahb` = `AsyncHyperband(3)`; `curve` = "
        "`CurveASHA(3)`; all with the random searcher.\n\n" + text
    )
    write_section("bench_curve: rung's schedulers on the curve tables", body)


if __name__ == "__main__":
    main()
