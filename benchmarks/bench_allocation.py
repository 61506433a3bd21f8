"""Allocation at equal compute: rung's multi-fidelity methods and its peers on one virtual clock
(issue 14, item 2).

Tasks: the learning-curve tables of ``benchmarks/make_curves.py`` (``hgb-magic``, ``hgb-german``,
``hgb-ring``, ``hgb-satimage``, ``mlp-mnist1d``; validation error, replayed by
``rung.benchmarks.CurveTable``: nearest table row in unit space, recorded seconds per step) and
the synthetic suite (``mf-hartmann3``, ``mf-hartmann6``, ``mf-branin``, ``counting-ones``, the
benchmark built with ``seed=seed`` for each seed). Every method, rung's or a peer's, gets its
configurations mapped to a table row by the same ``CurveTable.row_of`` lookup.

Definitions (the same for every method):

- **Compute** is reserved worker-seconds: ``n_workers x t`` at virtual time ``t`` (an idle
  worker costs as much as a busy one, so a synchronous method pays for its waits).
- **Budget** ``C``: what random search + FIFO needs for ``--full-trials`` (30) full trials,
  ``30 x`` the mean full-curve cost (sum of the step costs ``1..max_step``; for a table the
  mean over the rows used, for a synthetic problem over 1,000 configurations drawn with a fixed
  seed). Each method runs for ``C / n_workers`` virtual seconds; results reported after that are
  ignored. With 64 workers ``C / 64`` is shorter than one mean full curve, so only cheap
  configurations can reach ``max_step`` there: regret falls back to the rule below.
- **Incumbent** at time ``t``: the configuration the method would return, defined from the
  results reported up to ``t`` and nothing else (no method's own recommendation): the best (by
  its value at ``max_step``) of the trials that reached ``max_step``; if none did yet, the best
  value at the highest step any trial reached (ties: the earlier result).
- **Regret** at ``t``: the incumbent configuration's true value at ``max_step`` (its table row's
  final value; for synthetic problems ``true_value`` / the noiseless top fidelity) minus the
  optimum (for a table: the best final value among the rows used), never negative.
- **Compute to reach**: the fraction of ``C`` from which a method's median (over seeds) regret
  stays at or below random + FIFO's median regret at ``C`` (``reach_fraction``; "—" if never).

Methods (``METHODS``; adding one is one line). rung: ``default`` (``Study.create`` without a
searcher or scheduler: whatever rung picks today), random + FIFO (the reference), ASHA (stopping
and promotion), Hyperband, async Hyperband, BOHB (bohb searcher + Hyperband, the paper's), BOHB
+ ASHA (as Syne Tune runs it), TPE + ASHA, GP + ASHA, the median stopping rule, the
curve-aware ``CurveASHA``, ASHA with the first rung chosen from data; and any variant written
``asha:min_step=9``, ``ahb:min_step=auto``, ``curve+tpe:min_step=9`` (``allocation.rung_methods``).
All with ``eta = 3`` and, unless a variant says otherwise, a first rung at step 1. Peers: Syne Tune 0.16's simulator back end
(``UserBlackboxBackend`` + ``SimulatorCallback``: random search, ASHA, its asynchronous
Hyperband (ASHA with ``brackets``), BOHB, the median stopping rule), Optuna 5 (TPE +
``HyperbandPruner``, TPE + ``SuccessiveHalvingPruner``) and DEHB (``dehb``), the last two
through ask/tell on ``simulate_ask_tell``: an event heap of ``n_workers`` slots in which each
trial is a sequence of steps whose costs come from the benchmark.

Peers run only where their packages are installed (they are bench extras, never rung's
dependencies); a missing one is skipped with a note. Syne Tune 0.16 is installed without its
requirements (``pip install --no-deps syne-tune==0.16.0 dill statsmodels``: they pull xgboost
and a CUDA stack); its ``blackbox_repository`` package imports ``huggingface_hub`` for downloads
only, which is replaced here by an empty module when it is missing.

The report ends with issue 14's criteria judged from the runs (``allocation.report.criteria``).

The code lives in the ``allocation`` package beside this script: ``tasks`` (problems, equal
compute), ``regret`` (incumbent, regret, compute to reach), ``rung_methods``, ``asktell`` (Optuna,
DEHB), ``syne`` (Syne Tune), ``methods`` (the registry), ``storage``, ``report``.

Replay (``--replay``): ``nearest`` (the default, above) gives a configuration its nearest table
row, so a method that refines around its incumbent keeps re-training rows it has seen;
``distinct`` gives a configuration the nearest row no earlier configuration of the same run took
(``CurveTable(distinct=True)``: sampling without replacement, as a real new configuration is a
new training run). Both are applied to every method alike; ``distinct`` runs are kept in
``benchmarks/results/allocation-distinct/`` and reported in their own RESULTS.md section.

Output: one JSON line per run in ``benchmarks/results/allocation/TASK.jsonl`` (curve of
``(compute, time, regret)`` change points, final regret, trials, CPU seconds, rows used). A run
already on disk is skipped (resumable); ``--report`` rebuilds the report from those files
alone, prints it and writes the ``bench_allocation`` section of ``benchmarks/RESULTS.md``.

Usage::

    nice -n 10 python benchmarks/bench_allocation.py --tasks hgb-german hgb-magic \\
        --workers 1 8 --seeds 10 --rows 300 --jobs 1
    python benchmarks/bench_allocation.py --report --tasks hgb-german hgb-magic --workers 1 8
"""

from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import multiprocessing  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from allocation import tasks  # noqa: E402
from allocation.asktell import simulate_ask_tell  # noqa: E402
from allocation.methods import METHODS, available, family, known, runner  # noqa: E402
from allocation.regret import (  # noqa: E402
    incumbent_trajectory,
    reach_fraction,
    regret_at,
    regret_curve,
)
from allocation.report import cell_report, criteria, report  # noqa: E402
from allocation.rung_methods import DEFAULT, REFERENCE  # noqa: E402
from allocation.storage import append_run, load_runs, run_key  # noqa: E402
from allocation.tasks import Problem, clamp_rows  # noqa: E402

__all__ = [
    "METHODS", "Problem", "append_run", "cell_report", "criteria", "incumbent_trajectory",
    "load_runs", "reach_fraction", "regret_at", "regret_curve", "report", "run_key", "run_one",
    "simulate_ask_tell", "tasks",
]


def run_one(job: tuple[Any, ...]) -> dict[str, Any]:
    """One run: ``job`` is ``(task, workers, method, seed, rows, full_trials[, replay])``."""
    task, workers, method, seed, rows, full_trials = job[:6]
    replay = job[6] if len(job) > 6 else "nearest"
    logging.disable(logging.WARNING)
    p = Problem(task, seed, rows, full_trials, replay)
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        res = runner(method)(method, p, workers, seed)
    except Exception as e:  # a crash is a result: reported, never silently dropped
        import traceback

        return {"task": task, "workers": workers, "method": method, "seed": seed,
                "rows": p.rows, "full_trials": full_trials,
                "error": f"{type(e).__name__}: {e} | "
                         + traceback.format_exc().strip().splitlines()[-3]}
    cpu = time.process_time() - c0
    horizon = p.budget / workers
    prm = res["params"]
    curve = regret_curve(res["obs"], p.max_step, workers, horizon, lambda h: p.regret(prm[h]))
    seen = {h for t, h, s, _ in res["obs"] if t <= horizon}
    full = {h for t, h, s, _ in res["obs"] if t <= horizon and s == p.max_step}
    steps = sum(1 for o in res["obs"] if o[0] <= horizon)
    curve = [(float(f"{x:.6g}"), float(f"{t:.6g}"), float(f"{r:.6g}")) for x, t, r in curve]
    out = {
        "task": task, "workers": workers, "method": method, "seed": seed, "rows": p.rows,
        "full_trials": full_trials, "budget": p.budget, "full_cost": p.full_cost,
        "final_regret": regret_at(curve, p.budget),  # of the stored (rounded) curve
        "curve": curve,
        "trials": len(seen), "trials_at_max_step": len(full), "steps": steps,
        "cpu_seconds": round(cpu, 3), "real_seconds": round(time.perf_counter() - t0, 3),
    }
    if res.get("busy"):
        out["utilization"] = round(res["busy"] / p.budget, 4)
    if "chosen" in res:
        out["chosen"] = res["chosen"]
    return out



def method_name(value: str) -> str:
    if not known(value):
        raise argparse.ArgumentTypeError(
            f"unknown method {value!r}: one of {', '.join(METHODS)} or a variant such as "
            "asha:min_step=9")
    return value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", nargs="+", default=None, choices=list(tasks.TASKS),
                    help="default: the tuned tables and the synthetic suite, or with "
                         "--held-out the held-out tables")
    ap.add_argument("--workers", nargs="+", type=int, default=[1, 8, 64])
    ap.add_argument("--methods", nargs="+", type=method_name, default=None,
                    help="default: every named method whose package is installed")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--rows", type=int, default=None,
                    help="use only the first N rows of each table (default: all on disk)")
    ap.add_argument("--full-trials", type=int, default=30, help="budget in full FIFO trials")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--replay", choices=list(tasks.REPLAYS), default="nearest",
                    help="table lookup: nearest row, or nearest row not yet taken by the run "
                         "(results/allocation-distinct/, its own RESULTS.md section)")
    ap.add_argument("--held-out", action="store_true",
                    help="the held-out tables (make_curves.HELD_OUT), replayed without "
                         "replacement, into results/allocation-heldout/ and their own "
                         "RESULTS.md section")
    ap.add_argument("--report", action="store_true", help="report from the files only")
    ap.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    ap.add_argument("--compare", nargs="+", metavar="METHOD", type=method_name, default=None,
                    help="report only: METHOD [BASELINE]: a variant against the default (or "
                         "BASELINE), cell by cell, and issue 14's criteria with it in the "
                         "default's place; its own RESULTS.md section")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.held_out:
        args.replay = "distinct"
        bad = [t for t in args.tasks or () if t not in tasks.HELD_OUT]
        if bad:
            ap.error(f"--held-out runs the held-out tables only ({', '.join(tasks.HELD_OUT)}),"
                     f" not {', '.join(bad)}")
    if args.tasks is None:
        args.tasks = list(tasks.HELD_OUT if args.held_out else tasks.DEFAULT_TASKS)
    tasks.set_replay(args.replay, held_out=args.held_out)
    if args.compare:
        from allocation.compare import compare

        if len(args.compare) > 2:
            ap.error("--compare takes METHOD and at most one BASELINE")
        print(compare(args.tasks, args.compare[0], args.rows, write=not args.no_write,
                      baseline=[*args.compare, DEFAULT][1]))
        return 0
    if not args.report:
        methods = args.methods or list(METHODS)
        fams = {family(m) for m in methods}
        missing = {f for f in fams if not available(f)}
        for f in sorted(missing):
            print(f"skipped: {f} is not installed (pip install 'rung[bench]')")
        methods = [m for m in methods if family(m) not in missing]
        if REFERENCE not in methods:
            methods.insert(0, REFERENCE)
        done = {run_key(r) for r in load_runs(args.tasks) if "error" not in r}
        jobs = []
        for task in args.tasks:
            rows = clamp_rows(tasks.CURVES / f"{task}.npz", args.rows) if task in tasks.TABLES else None
            for w in args.workers:
                for m in methods:
                    for s in range(args.first_seed, args.first_seed + args.seeds):
                        j = (task, w, m, s, rows, args.full_trials)
                        if j not in done:
                            jobs.append((*j, args.replay))
        print(f"{len(jobs)} runs to do ({len(done)} on disk)", flush=True)
        t0 = time.perf_counter()
        pool = multiprocessing.get_context("spawn").Pool(args.jobs) if args.jobs > 1 else None
        it = pool.imap_unordered(run_one, jobs) if pool else map(run_one, jobs)
        for i, r in enumerate(it, 1):
            append_run(r)
            msg = r.get("error") or f"regret {r['final_regret']:.4g} cpu {r['cpu_seconds']:.1f}s"
            print(f"[{i}/{len(jobs)} {time.perf_counter() - t0:.0f}s] {r['task']} "
                  f"w{r['workers']} {r['method']} s{r['seed']}: {msg}", flush=True)
        if pool:
            pool.close()
            pool.join()
    print(report(args.tasks, args.workers, args.rows, write=not args.no_write))
    return 0


if __name__ == "__main__":
    sys.exit(main())
