"""``rung plan`` checked against the runs it predicts (issue 17, must-show (b)).

For each learning-curve table (``benchmarks/curves/*.npz``, replayed by
``rung.benchmarks.CurveTable``: nearest row, recorded seconds per step) and each method (a
searcher + scheduler pair), and each pilot seed:

1. **pilot**: the study with a small budget (``--pilot-trials``, 30) run on the table with
   ``--pilot-workers`` (4) simulated workers;
2. **plan**: ``rung.plan(pilot, workers=[1, 8, 64], seeds=--plan-seeds, budget=Budget(n_trials=
   --trials), prices={"cpu": 0.04})``: only the pilot's journal is read;
3. **actual**: the same spec with ``--trials`` (200) trials run on the table itself for
   ``--seeds`` (20) study seeds per worker count (shared by every pilot of that cell).

Error of a prediction: ``|predicted median - actual median| / actual median`` for wall-clock
and cost (cost counts reserved workers, idle ones included, as the planner does:
``workers x wall-clock x rate``, so its relative error equals the wall-clock's; the busy cost,
``busy seconds x rate``, is compared too). The goal: median absolute error <= 15%. Coverage:
the share of actual runs whose wall-clock falls in the plan's 80% interval (and of pilots
whose interval holds the actual median); the report also gives the bootstrap spread of the
actual median itself, the floor of any comparison with it. ``--diagnose WORKERS`` replaces one
half of the plan's benchmark (step costs, or curves) by the table's own, to show which half
errs. Regret is
printed for both, but they are not the same quantity: the plan's is against the best pilot
curve, the actual one against the table's best row.

Usage::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_plan.py --methods random+asha --pilots 8
    python benchmarks/bench_plan.py --report      # from benchmarks/results/plan/*.jsonl
    python benchmarks/bench_plan.py --tasks hgb-magic --methods random+asha --diagnose 64
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
from _plan_report import CURVES, HERE, WORKERS, report  # noqa: E402
from _plan_report import (  # noqa: E402  (re-exported with the report)
    HELD_OUT_READING as HELD_OUT_READING,
)
from _plan_report import HELD_OUT_SECTION as HELD_OUT_SECTION  # noqa: E402
from _plan_report import READING as READING  # noqa: E402
from _plan_report import median_noise as median_noise  # noqa: E402
from _plan_report import pilot_size_lines as pilot_size_lines  # noqa: E402
from _plan_report import sampling_floor as sampling_floor  # noqa: E402
from make_curves import HELD_OUT  # noqa: E402

import rung  # noqa: E402
from rung import ASHA, Budget, Objective, Study  # noqa: E402
from rung.benchmarks import CurveTable, regret  # noqa: E402
from rung.planning import synthetic  # noqa: E402
from rung.storage import MemoryJournal  # noqa: E402

OUT = HERE / "results" / "plan"
TASKS = ("hgb-german", "hgb-magic", "hgb-ring", "mlp-mnist1d")
METHODS: dict[str, dict[str, Any]] = {
    "random+asha": {"searcher": "random", "scheduler": ASHA(3)},
    "tpe+asha": {"searcher": "tpe", "scheduler": ASHA(3)},
    "random+fifo": {"searcher": "random", "scheduler": "fifo"},
}
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
                    "longest": float(ex.longest_run),
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
                "pred_wall": row.wall_clock, "pred_walls": list(row.wall_clocks),
                "pred_low": row.wall_clock_low,
                "pred_high": row.wall_clock_high, "pred_cost": row.cost,
                "pred_busy_cost": row.busy_hours * rate,
                "pred_util": row.utilization, "pred_regret": row.regret,
                "pred_longest_share": row.longest_share,
                "act_longest_share": float(np.median([a["longest"] / a["wall"] for a in act])),
                "act_wall": float(np.median(wall)), "act_walls": wall,
                "act_cost": row.workers * float(np.median(wall)) / 3600 * rate,
                "act_busy_cost": busy / 3600 * rate,
                "act_util": float(np.median([a["busy"] / (row.workers * a["wall"])
                                             for a in act])),
                "act_regret": float(np.median([a["regret"] for a in act
                                               if a["regret"] is not None])),
                "plan_cpu": cpu, "actual_cpu": t_actual, "plan_seeds": args.plan_seeds,
                "curve_models": list(synthetic.CURVE_MODELS),
                "refit_step_costs": synthetic.REFIT_STEP_COSTS,
                "curve_neighbours": synthetic.CURVE_NEIGHBOURS,
            })
        log.info("%s %s pilot %d: %s", task, method, p, "  ".join(
            f"{r['workers']}w pred {r['pred_wall']:.3g} act {r['act_wall']:.3g}"
            for r in records[-len(plan.rows):]))
    return records


class _Swap:
    """The plan's benchmark with one half replaced by the table's: ``half="costs"`` answers
    with the fitted curve and the table's step cost of the nearest row, ``half="curves"``
    with the table's curve and the plan's cost (the diagnosis: which half errs)."""

    def __init__(self, plan_bench: Any, table: CurveTable, half: str) -> None:
        self.plan, self.table, self.half = plan_bench, table, half
        self.space, self.max_step = plan_bench.space, plan_bench.max_step
        self.metric, self.mode, self.name = plan_bench.metric, plan_bench.mode, "swap"
        self.optimum = plan_bench.optimum

    def evaluate(self, params: Any, step: int) -> tuple[dict[str, float], float]:
        (pm, ps), (tm, ts) = self.plan.evaluate(params, step), self.table.evaluate(params, step)
        return (pm, ts) if self.half == "costs" else (tm, ps)


def diagnose(task: str, method: str, workers: int, pilots: int, runs: int, rows: int) -> str:
    """Median predicted wall-clock per pilot for the plan as it is, with the table's own step
    costs, and with the table's own curves, against the actual median (``--diagnose``)."""
    import dataclasses

    from rung.planning.planner import fit_pilot

    bench = CurveTable(CURVES / f"{task}.npz", metric="val_error", rows=rows)
    act = float(np.median([a["wall"] for a in actual_runs(bench, method, 200, workers, 20)]))
    out: dict[str, list[float]] = {"plan": [], "costs": [], "curves": []}
    for p in range(pilots):
        pilot = study(bench, method, 30, 1000 + p, f"pilot-{p}")
        pilot.simulate(bench, n_workers=4)
        fitted = fit_pilot(pilot)
        spec = dataclasses.replace(pilot.spec, budget=Budget(n_trials=200), written_by=None)
        for half, walls in out.items():
            w = []
            for i in range(runs):
                b = fitted.benchmark.replicate(i)
                run = Study.from_spec(dataclasses.replace(spec, name=f"d{i}", seed=spec.seed + i),
                                      MemoryJournal())
                run.simulate(b if half == "plan" else _Swap(b, bench, half), n_workers=workers)
                w.append(float(run.last_executor.now()))
            walls.append(float(np.median(w)))
    return (f"{task} {method} {workers} workers, actual median {act:.3g} s; per pilot: "
            + "; ".join(f"{k} " + ", ".join(f"{x:.3g}" for x in v) for k, v in out.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", nargs="+", default=None,
                    help=f"default: {' '.join(TASKS)}, or with --held-out the held-out tables "
                         "on disk")
    ap.add_argument("--held-out", action="store_true",
                    help="the held-out tables (make_curves.HELD_OUT), all their rows, into "
                         "results/plan-heldout/ and a RESULTS.md section of their own")
    ap.add_argument("--methods", nargs="+", default=list(METHODS),
                    choices=list(METHODS))
    ap.add_argument("--pilots", type=int, default=4, help="pilot seeds per cell")
    ap.add_argument("--pilot-trials", type=int, default=30)
    ap.add_argument("--pilot-workers", type=int, default=4)
    ap.add_argument("--trials", type=int, default=200, help="trials of the planned study")
    ap.add_argument("--seeds", type=int, default=20, help="actual runs per worker count")
    ap.add_argument("--plan-seeds", type=int, default=10)
    ap.add_argument("--rows", type=int, default=None,
                    help="the first N rows of each table (default 600; --held-out: 300)")
    ap.add_argument("--report", action="store_true", help="only rebuild the report")
    ap.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    ap.add_argument("--curve-models", nargs="+", choices=["power", "donor"],
                    help="ablation: the curve models the plan's replicates cycle through "
                         "(default: rung.planning.synthetic.CURVE_MODELS)")
    ap.add_argument("--no-refit-costs", action="store_true",
                    help="ablation: bootstrap replicates keep the whole pilot's step-cost fit")
    ap.add_argument("--curve-neighbours", type=int, default=synthetic.CURVE_NEIGHBOURS,
                    help="ablation: a configuration's curve comes from one of its K nearest "
                         "pilot trials, drawn at random")
    ap.add_argument("--plug-in", action="store_true",
                    help="ablation: every simulated run on the pilot as measured (no bootstrap)")
    ap.add_argument("--out", type=Path, default=None,
                    help="directory of the per-cell .jsonl results (ablations elsewhere)")
    ap.add_argument("--diagnose", type=int, metavar="WORKERS",
                    help="for each task and method: the plan with the table's own costs, and "
                         "with its own curves, at WORKERS workers (4 pilots, 10 runs); prints")
    args = ap.parse_args()
    if args.tasks is None:
        args.tasks = ([t for t in HELD_OUT if (HERE / "curves" / f"{t}.npz").exists()]
                      if args.held_out else list(TASKS))
    if args.rows is None:
        args.rows = 300 if args.held_out else 600
    if args.out is None:
        args.out = HERE / "results" / "plan-heldout" if args.held_out else OUT
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("rung").setLevel(logging.WARNING)
    if args.curve_models:
        synthetic.CURVE_MODELS = tuple(args.curve_models)
    if args.no_refit_costs:
        synthetic.REFIT_STEP_COSTS = False
    synthetic.CURVE_NEIGHBOURS = args.curve_neighbours
    if args.plug_in:
        import rung.planning.planner as planner

        planner.RESAMPLE = False
    if args.diagnose:
        for task in args.tasks:
            for method in args.methods:
                print(diagnose(task, method, args.diagnose, 4, 10, args.rows))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    for task in args.tasks:
        for method in args.methods:
            out = args.out / f"{task}--{method}.jsonl"
            if not args.report:
                cell = run_cell(task, method, args)
                out.write_text("".join(json.dumps(r) + "\n" for r in cell))
            if out.exists():
                records += [json.loads(ln) for ln in out.read_text().splitlines() if ln]
    if not records:
        sys.exit("no results: run without --report first")
    print(report(records, write=not args.no_write, held_out=args.held_out))


if __name__ == "__main__":
    main()
