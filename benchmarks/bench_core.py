"""In-process ask/report/tell throughput (no executor): rung vs Optuna, same workload.

Each trial: ask for a configuration of two floats, report a synthetic loss at steps 1..9 until
the scheduler says stop, then tell. Schedulers: FIFO (every trial to step 9) and ASHA (eta=3,
rungs at steps 1 and 3). Optuna 5 runs the same loop in memory with RandomSampler and either no
pruner or SuccessiveHalvingPruner(min_resource=1, reduction_factor=3). Study sizes 10^3, 10^4,
10^5 trials; the per-report cost of the first and last 10% of trials shows whether bookkeeping
stays flat as the study grows. Each configuration runs in a fresh process, one at a time, so
no run inherits another's heap (a larger heap makes the garbage collector's full passes, and
so every later run, slower).

    python benchmarks/bench_core.py [--sizes 1000 10000 100000] [--optuna-max 10000]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _results import table, write_section

import rung
from rung.storage import MemoryJournal

MAX_STEP = 9


def loss(x: float, y: float, step: int) -> float:
    return (x - 0.3) ** 2 + (y - 0.7) ** 2 + 1.0 / step + 0.01 * math.sin(50 * x * step)


class Run:
    def __init__(self) -> None:
        self.reports = 0
        self.trials = 0
        self.seconds = 0.0
        self.first = 0.0  # seconds per report over the first 10% of trials
        self.last = 0.0


def run_rung(n: int, scheduler: str) -> Run:
    sched = rung.ASHA(3) if scheduler == "asha" else rung.FIFOScheduler()
    study = rung.Study.create(
        "core", {"x": rung.Float(0, 1), "y": rung.Float(0, 1)}, rung.Objective("loss"),
        searcher="random", scheduler=sched, max_step=MAX_STEP, budget=rung.Budget(n_trials=n), storage=MemoryJournal(),
    )
    return _loop(n, lambda: _rung_trial(study))


def _rung_trial(study: rung.Study) -> int:
    t = study.ask()
    assert t is not None
    x, y = t.params["x"], t.params["y"]
    n = 0
    for step in range(1, MAX_STEP + 1):
        d = study.report(t.id, step, {"loss": loss(x, y, step)})
        n += 1
        if d.action is not rung.Action.CONTINUE:
            study.tell(t.id, "stopped")
            return n
    study.tell(t.id, "completed")
    return n


def run_optuna(n: int, scheduler: str) -> Run:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = (optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
              if scheduler == "asha" else optuna.pruners.NopPruner())
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), pruner=pruner)

    def one() -> int:
        t = study.ask()
        x, y = t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)
        n = 0
        for step in range(1, MAX_STEP + 1):
            v = loss(x, y, step)
            t.report(v, step)
            n += 1
            if t.should_prune():
                study.tell(t, state=optuna.trial.TrialState.PRUNED)
                return n
        study.tell(t, v)
        return n

    return _loop(n, one)


def _loop(n: int, one: Callable[[], int]) -> Run:
    r = Run()
    tenth = max(n // 10, 1)
    t0 = time.perf_counter()
    mark = t0
    reps_mark = 0
    for i in range(n):
        r.reports += one()
        if i + 1 == tenth:
            now = time.perf_counter()
            r.first = (now - mark) / (r.reports - reps_mark)
        if i + 1 == n - tenth:
            mark = time.perf_counter()
            reps_mark = r.reports
    end = time.perf_counter()
    r.last = (end - mark) / max(r.reports - reps_mark, 1)
    r.seconds = end - t0
    r.trials = n
    return r


def _isolated(fn: Callable[[int, str], Run], n: int, sched: str) -> Run:
    """``fn(n, sched)`` in a fresh spawned process."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as ex:
        return ex.submit(fn, n, sched).result()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--optuna-max", type=int, default=10_000,
                    help="largest study Optuna runs (its pruner re-reads all trials: O(n^2))")
    ap.add_argument("--no-optuna", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    rows: list[list[object]] = []
    ratios: dict[tuple[str, int], float] = {}
    for sched in ("fifo", "asha"):
        for n in args.sizes:
            r = _isolated(run_rung, n, sched)
            rows.append(["rung", sched, n, r.reports, round(r.reports / r.seconds),
                         round(r.first * 1e6, 1), round(r.last * 1e6, 1), round(r.seconds, 2)])
            print(rows[-1], flush=True)
            if args.no_optuna:
                continue
            if n > args.optuna_max:
                rows.append(["optuna", sched, n, "-", "skipped (O(n^2))", "-", "-", "-"])
                continue
            o = _isolated(run_optuna, n, sched)
            rows.append(["optuna", sched, n, o.reports, round(o.reports / o.seconds),
                         round(o.first * 1e6, 1), round(o.last * 1e6, 1), round(o.seconds, 2)])
            ratios[(sched, n)] = (r.reports / r.seconds) / (o.reports / o.seconds)
            print(rows[-1], flush=True)
    headers = ["library", "scheduler", "trials", "reports", "reports/s", "µs/report first 10%",
               "µs/report last 10%", "seconds"]
    text = (
        "Sequential in-process loop, each configuration in a fresh process; in-memory storage for "
        "both (rung: MemoryJournal, every event "
        "journaled; Optuna 5.0: in-memory storage, RandomSampler, SuccessiveHalvingPruner("
        "min_resource=1, reduction_factor=3) or NopPruner).\n\n" + table(headers, rows)
    )
    if ratios:
        text += "\n\nrung / Optuna reports-per-second ratio: " + ", ".join(
            f"{s} {n:,}: {v:.1f}x" for (s, n), v in ratios.items())
    rung_rows = [r for r in rows if r[0] == "rung"]
    worst = min(float(str(r[4])) for r in rung_rows)
    text += (f"\n\nGoal >= 20,000 reports/s: {'met' if worst >= 20_000 else 'MISSED'} "
             f"(slowest rung configuration {worst:,.0f} reports/s).")
    print(text)
    if not args.no_write:
        write_section("bench_core", text)


if __name__ == "__main__":
    main()
