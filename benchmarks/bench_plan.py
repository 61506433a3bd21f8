"""``rung plan`` checked against the runs it predicts (issue 17, must-show (b)).

For each learning-curve table (``benchmarks/curves/*.npz``, replayed by
``rung.benchmarks.CurveTable``: nearest row, recorded seconds per step) and each method (a
searcher + scheduler pair), and each pilot seed:

1. **pilot**: the study with a small budget (``--pilot-trials``, 30) run on the table with
   ``--pilot-workers`` (4) simulated workers;
2. **plan**: ``rung.plan(pilot, workers=[1, 8, 64], seeds=--plan-seeds, budget=Budget(n_trials=
   --trials), prices={"cpu": 0.04})``: only the pilot's journal is read;
3. **actual**: the same spec with ``--trials`` (200) trials run on the table itself for
   ``--seeds`` (10) study seeds per worker count (shared by every pilot of that cell).

Error of a prediction: ``|predicted median - actual median| / actual median`` for wall-clock
and cost (cost counts reserved workers, idle ones included, as the planner does:
``workers x wall-clock x rate``, so its relative error equals the wall-clock's; the busy cost,
``busy seconds x rate``, is compared too). The goal: median absolute error <= 15%. Coverage:
the share of actual runs whose wall-clock falls in the plan's 10%-90% interval. Regret is
printed for both, but they are not the same quantity: the plan's is against the best pilot
curve, the actual one against the table's best row.

Usage::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_plan.py --pilots 10 --seeds 10
    python benchmarks/bench_plan.py --report      # from benchmarks/results/plan/*.jsonl
"""

from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from _results import table, write_section  # noqa: E402

import rung  # noqa: E402
from rung import ASHA, Budget, Objective, Study  # noqa: E402
from rung.benchmarks import CurveTable, regret  # noqa: E402
from rung.storage import MemoryJournal  # noqa: E402

HERE = Path(__file__).resolve().parent
CURVES = HERE / "curves"
OUT = HERE / "results" / "plan"
TASKS = ("hgb-german", "hgb-magic", "hgb-ring", "mlp-mnist1d")
METHODS: dict[str, dict[str, Any]] = {
    "random+asha": {"searcher": "random", "scheduler": ASHA(3)},
    "tpe+asha": {"searcher": "tpe", "scheduler": ASHA(3)},
    "random+fifo": {"searcher": "random", "scheduler": "fifo"},
}
WORKERS = (1, 8, 64)
PRICES = {"cpu": 0.04}
log = logging.getLogger("bench_plan")


def study(bench: CurveTable, method: str, n_trials: int, seed: int, name: str) -> Study:
    return Study.create(name, bench.space, Objective(bench.metric, bench.mode),
                        max_step=bench.max_step, budget=Budget(n_trials=n_trials), seed=seed,
                        storage=MemoryJournal(), **METHODS[method])


def actual_runs(bench: CurveTable, method: str, n_trials: int, workers: int, seeds: int
                ) -> list[dict[str, float]]:
    out = []
    for s in range(seeds):
        st = study(bench, method, n_trials, s, f"actual-{workers}-{s}")
        st.simulate(bench, n_workers=workers)
        ex = st.last_executor
        best = st.best_trial
        out.append({"wall": float(ex.now()), "busy": float(ex.busy_time),
                    "regret": regret(bench, bench.final_value(best.params)) if best else None})
    return out


def run_cell(task: str, method: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    path = CURVES / f"{task}.npz"
    with np.load(path, allow_pickle=False) as z:
        rows = min(args.rows, len(z["params"]))
    bench = CurveTable(path, metric="val_error", rows=rows)
    rate = rung.Prices(PRICES).rate({"cpu": 1})
    t0 = time.process_time()
    actual = {w: actual_runs(bench, method, args.trials, w, args.seeds) for w in WORKERS}
    t_actual = time.process_time() - t0
    records = []
    for p in range(args.pilots):
        t0 = time.process_time()
        pilot = study(bench, method, args.pilot_trials, 1000 + p, f"pilot-{p}")
        pilot.simulate(bench, n_workers=args.pilot_workers)
        plan = rung.plan(pilot, workers=list(WORKERS), seeds=args.plan_seeds, prices=PRICES,
                         budget=Budget(n_trials=args.trials))
        cpu = time.process_time() - t0
        for row in plan.rows:
            act = actual[row.workers]
            wall = [a["wall"] for a in act]
            busy = float(np.median([a["busy"] for a in act]))
            records.append({
                "task": task, "method": method, "pilot": p, "workers": row.workers,
                "rows": rows, "trials": args.trials, "pilot_trials": args.pilot_trials,
                "pred_wall": row.wall_clock, "pred_low": row.wall_clock_low,
                "pred_high": row.wall_clock_high, "pred_cost": row.cost,
                "pred_busy_cost": row.utilization * row.cost,
                "pred_util": row.utilization, "pred_regret": row.regret,
                "act_wall": float(np.median(wall)), "act_walls": wall,
                "act_cost": row.workers * float(np.median(wall)) / 3600 * rate,
                "act_busy_cost": busy / 3600 * rate,
                "act_util": float(np.median([a["busy"] / (row.workers * a["wall"])
                                             for a in act])),
                "act_regret": float(np.median([a["regret"] for a in act
                                               if a["regret"] is not None])),
                "plan_cpu": cpu, "actual_cpu": t_actual,
            })
        log.info("%s %s pilot %d: %s", task, method, p, "  ".join(
            f"{r['workers']}w pred {r['pred_wall']:.3g} act {r['act_wall']:.3g}"
            for r in records[-len(plan.rows):]))
    return records


def sampling_floor(task: str, rows: int, n: int, draws: int = 2000) -> float:
    """Median relative error of the mean full-curve cost of ``n`` random rows against the mean
    of all ``rows``: what a planner that knew the ``n`` pilot configurations' costs exactly
    would still miss on one worker without early stopping (the pilot is a sample)."""
    full = CurveTable(CURVES / f"{task}.npz", metric="val_error", rows=rows).seconds.sum(axis=1)
    rng = np.random.default_rng(0)
    means = np.array([full[rng.choice(len(full), n, replace=False)].mean()
                      for _ in range(draws)])
    return float(np.median(np.abs(means / full.mean() - 1.0)))


def _err(r: dict[str, Any], key: str) -> float:
    return abs(r[f"pred_{key}"] - r[f"act_{key}"]) / r[f"act_{key}"]


def report(records: list[dict[str, Any]], write: bool) -> str:
    cells: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in records:
        cells.setdefault((r["task"], r["method"], r["workers"]), []).append(r)
    rows = []
    for (task, method, w), rs in sorted(cells.items()):
        inside = [lo <= a <= hi for r in rs for a in r["act_walls"]
                  for lo, hi in [(r["pred_low"], r["pred_high"])]]
        rows.append([
            task, method, w, len(rs), float(np.median([r["pred_wall"] for r in rs])),
            rs[0]["act_wall"], f"{100 * np.median([_err(r, 'wall') for r in rs]):.1f}%",
            f"{100 * np.median([_err(r, 'busy_cost') for r in rs]):.1f}%",
            f"{100 * np.mean(inside):.0f}%",
            f"{np.median([r['pred_util'] for r in rs]):.2f} / {rs[0]['act_util']:.2f}",
            f"{np.median([r['pred_regret'] for r in rs]):.3g} / {rs[0]['act_regret']:.3g}",
        ])
    headers = ["task", "method", "workers", "pilots", "predicted wall-clock (s)",
               "actual (s)", "wall-clock & cost error", "busy-cost error",
               "actual runs in 10-90% interval", "utilization pred / act",
               "regret pred / act"]
    by_w = {w: [_err(r, "wall") for r in records if r["workers"] == w] for w in WORKERS}
    all_err = [_err(r, "wall") for r in records]
    busy_err = [_err(r, "busy_cost") for r in records]
    r0 = records[0]
    methods = sorted({r["method"] for r in records})
    by_m = {m: {w: [_err(r, "wall") for r in records if r["method"] == m and r["workers"] == w]
                for w in WORKERS} for m in methods}
    lines = [
        f"Median absolute error of the predicted wall-clock (and of the cost, which counts "
        f"reserved workers: the same relative error) over all {len(records)} predictions: "
        f"**{100 * np.median(all_err):.1f}%** (goal <= 15%: **not met**"
        if np.median(all_err) > 0.15 else
        f"Median absolute error of the predicted wall-clock (and of the cost, which counts "
        f"reserved workers: the same relative error) over all {len(records)} predictions: "
        f"**{100 * np.median(all_err):.1f}%** (goal <= 15%: met",
    ]
    lines[0] += ("); by workers: "
                 + ", ".join(f"{w}: {100 * np.median(e):.1f}%" for w, e in by_w.items() if e)
                 + f". Busy cost (busy seconds x rate): {100 * np.median(busy_err):.1f}%. "
                 f"Share of predictions within 15%: "
                 f"{100 * np.mean(np.array(all_err) <= 0.15):.0f}%.")
    lines.append("By method (median error at 1 / 8 / 64 workers): " + "; ".join(
        f"{m}: " + " / ".join(f"{100 * np.median(e):.0f}%" for e in by_m[m].values() if e)
        for m in methods) + ".")
    floors = {t: sampling_floor(t, rows_, n) for t, rows_, n in sorted(
        {(r["task"], r["rows"], r["pilot_trials"]) for r in records})}
    lines.append(
        f"Sampling floor: the mean full-curve cost of {r0['pilot_trials']} random rows misses "
        "the table's mean by a median of " + ", ".join(
            f"{100 * f:.0f}% ({t})" for t, f in floors.items())
        + ": step costs are skewed, so even exact knowledge of a 30-trial pilot's costs "
        "leaves that error on the total work (random+fifo on one worker is that case).")
    lines.append(
        "Reading: the error grows with the number of workers. With one worker the wall-clock "
        "is the total work, which the pilot's step costs predict about as well as a 30-row "
        "sample allows (the floor above); with 64 workers and 200 trials it is the duration "
        "of the few longest trials (the one to five a multi-fidelity scheduler trains to "
        "max_step, or FIFO's slowest configurations), a tail statistic a 30-trial pilot "
        "measures poorly: a table's costliest configuration takes 13 to 41 times the median's "
        "full-curve time, and averaging the step costs of five neighbouring pilot trials "
        "flattens that tail (FIFO at 64 workers is under-predicted by half), while ASHA's "
        "long trials are sometimes given a costlier neighbour's steps (over-predicted on "
        "hgb-magic). mlp-mnist1d, the most skewed table, is under-predicted at every worker "
        "count. The busy cost (total work) is predicted better than the wall-clock at 64 "
        "workers. The 10%-90% intervals are too narrow (coverage column): they come from the "
        "simulated seeds only and leave out the uncertainty of the fit and of the pilot "
        "sample.")
    cpu = (np.median([r["plan_cpu"] for r in records]),
           np.median([r["actual_cpu"] for r in records]))
    lines.append(
        f"Runs: `OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_plan.py --tasks TASK "
        f"--methods METHOD --pilots 10 --seeds 10 --no-write` per cell, then `--report`. "
        f"CPU: a pilot and its plan (3 worker counts x 5 simulated runs) take a median "
        f"{cpu[0]:.1f} s; the 30 actual runs of a cell {cpu[1]:.1f} s.")
    setup = (
        f"Setup: pilot = the study with {r0['pilot_trials']} trials on 4 simulated workers "
        f"(pilot seeds 1000+); plan = `rung.plan(pilot, workers=[1, 8, 64], seeds=5, "
        f"budget=Budget(n_trials={r0['trials']}), prices={{'cpu': 0.04}})`; actual = the "
        f"same spec with {r0['trials']} trials on the table, median over "
        f"{len(r0['act_walls'])} study seeds. Tables: first {r0['rows']} rows, metric "
        "val_error. Error per prediction: |predicted median - actual median| / actual "
        "median; a cell shows the median over pilots. Regret columns are not the same "
        "quantity: the plan's is against the best pilot curve (fitted, at max_step), the "
        "actual one against the table's best row."
    )
    body = "\n\n".join([setup, *lines, table(headers, rows)])
    if write:
        write_section("bench_plan", body)
    return body


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", nargs="+", default=list(TASKS))
    ap.add_argument("--methods", nargs="+", default=["random+asha", "tpe+asha"],
                    choices=list(METHODS))
    ap.add_argument("--pilots", type=int, default=10, help="pilot seeds per cell")
    ap.add_argument("--pilot-trials", type=int, default=30)
    ap.add_argument("--pilot-workers", type=int, default=4)
    ap.add_argument("--trials", type=int, default=200, help="trials of the planned study")
    ap.add_argument("--seeds", type=int, default=10, help="actual runs per worker count")
    ap.add_argument("--plan-seeds", type=int, default=5)
    ap.add_argument("--rows", type=int, default=600)
    ap.add_argument("--report", action="store_true", help="only rebuild the report")
    ap.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("rung").setLevel(logging.WARNING)
    OUT.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    for task in args.tasks:
        for method in args.methods:
            out = OUT / f"{task}--{method}.jsonl"
            if not args.report:
                cell = run_cell(task, method, args)
                out.write_text("".join(json.dumps(r) + "\n" for r in cell))
            if out.exists():
                records += [json.loads(ln) for ln in out.read_text().splitlines() if ln]
    if not records:
        sys.exit("no results: run without --report first")
    print(report(records, write=not args.no_write))


if __name__ == "__main__":
    main()
