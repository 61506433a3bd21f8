"""Multi-fidelity schedulers on the simulated executor (issue 3).

Every method draws its configurations from the same random searcher (same seed, same trial ids,
so the same configurations: common random numbers) and spends the same ``Budget.max_steps``;
only the scheduler differs. Problems come from ``rung.benchmarks``: MF-Hartmann 3 with the
``default`` preset and MF-Branin (low fidelities rank configurations like the top one) and the
``bad`` / ``terrible`` presets (they do not).

Measured per run:

- **regret**: the distance of a recommended configuration's true ``max_step`` value from the
  optimum, as a function of the resource consumed so far (sum of trained steps) and of
  simulated wall-clock time, for two recommendations: the best *fully trained* trial (best
  result at ``max_step``; undefined until a trial gets there) and the any-time
  ``Study.best_trial`` (the same once a trial reached ``max_step``; before, the best at the
  highest step reached). Final regrets are those of ``Study.best_trial`` at the end;
- **worker utilization**: ``busy_time / (workers x wall-clock)``.

Budgets: ``TRAININGS`` (16) full-training equivalents per worker for both worker counts, i.e.
``workers x max_step x 16`` steps. A trial cannot be fully trained before ``max_step`` sequential
steps, while all workers consume ``workers x max_step`` steps, so 1/16 of the budget is a floor
on every method's 'reach' fraction; it must be the same for both worker counts and well below
the 1/5 of the resource claim, or that claim is decided by the budget, not by the scheduler.

A second part runs the toy problem of the PBT paper (Jaderberg et al. 2017, section 4, Fig. 2)
through ``Study.ask / report / tell / checkpoint`` with an in-process population: the state
``theta`` lives in checkpoints keyed by path, so a fork really continues its donor's weights.
PB2 (Parker-Holder et al. 2020) runs beside PBT with the same population, interval, quantile,
seeds and budget; its forks' h comes from the time-varying GP-UCB instead of x0.8/x1.2. The toy
is ``_schedulers_pbt_toy.py``; the regret-curve statistics are ``_schedulers_curves.py``.

Writes ``benchmarks/results/schedulers_runs.csv`` (one row per run),
``schedulers_curves.csv`` (median and quartiles of regret over seeds, against resource and
against time), ``schedulers_pbt_toy.csv``, and the ``bench_schedulers`` section of
``benchmarks/RESULTS.md``.

Usage: ``python benchmarks/bench_schedulers.py [--seeds 20] [--jobs 2]``. A subset
(``--problems``, ``--workers``, ``--methods``; random+FIFO, the target, always runs) prints its
report and writes nothing, nor does ``--no-write``: the files above always hold one full run.
"""

from __future__ import annotations

import argparse
import csv
import logging
import math
import multiprocessing
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _results import table, write_section
from _schedulers_curves import at as at  # re-exported, as values_at (benchmarks/allocation)
from _schedulers_curves import bootstrap_mean_ci, median_curve, reach
from _schedulers_curves import values_at as values_at
from _schedulers_pbt_toy import ONE_HOT as ONE_HOT  # re-exported, as the toy's classes
from _schedulers_pbt_toy import FixedList as FixedList
from _schedulers_pbt_toy import PBTToy as PBTToy
from _schedulers_pbt_toy import drive_toy as drive_toy
from _schedulers_pbt_toy import pbt_report, pbt_toy

from rung import Budget, Objective, Study
from rung.benchmarks import get_benchmark, regret
from rung.schedulers import (
    ASHA,
    AsyncHyperband,
    Hyperband,
    MedianStoppingRule,
)
from rung.storage import MemoryJournal

OUT = Path(__file__).parent / "results"

METHODS: dict[str, Callable[[], Any]] = {
    "random+fifo": lambda: "fifo",
    "asha": lambda: ASHA(3),
    "asha-promotion": lambda: ASHA(3, variant="promotion"),
    "asha+guard": lambda: ASHA(3, guard=True),
    "asha-promotion+guard": lambda: ASHA(3, variant="promotion", guard=True),
    "hyperband": lambda: Hyperband(3),
    "async-hyperband": lambda: AsyncHyperband(3),
    "median": lambda: MedianStoppingRule(min_step=3, min_trials=3),
}

# name -> (benchmark, kwargs, low fidelities predict high ones)
PROBLEMS: dict[str, tuple[str, dict[str, Any], bool]] = {
    "hartmann3-default": ("mf-hartmann3", {"preset": "default"}, True),
    "branin": ("mf-branin", {}, True),
    "hartmann3-bad": ("mf-hartmann3", {"preset": "bad"}, False),
    "hartmann3-terrible": ("mf-hartmann3", {"preset": "terrible"}, False),
}

# Budget rule: the same number of full-training equivalents per worker, TRAININGS, for every
# worker count: budget = workers x max_step x TRAININGS steps. A trial needs max_step sequential
# steps, during which every busy worker consumes max_step steps, so no method can have a fully
# trained trial before 1 / TRAININGS of the budget: that floor must lie well below the 1/5 of
# the resource claim, and be the same for both worker counts, or resource fractions cannot be
# compared (the first version gave 256 workers 1.5 trainings each: floor 0.67). 16, as the
# first version gave 16 workers: with 8 the 16-worker budget halves (3,456 steps) and FIFO's
# final regret is a much weaker target, reached by ASHA only after 0.21-0.29 of the budget
# (measured); 16 costs about 45 CPU-minutes, mostly the 256-worker runs (110,592 steps each).
TRAININGS = 16
MAX_STEP = 27
SETTINGS: dict[int, tuple[int, list[str]]] = {
    16: (16 * MAX_STEP * TRAININGS, list(PROBLEMS)),
    256: (256 * MAX_STEP * TRAININGS, ["hartmann3-default", "hartmann3-terrible"]),
}


def make_bench(problem: str, seed: int) -> Any:
    name, kwargs, _ = PROBLEMS[problem]
    return get_benchmark(name, seed=seed, **kwargs)


def top_value(bench: Any, params: Any) -> float:
    if hasattr(bench, "true_value"):
        return float(bench.true_value(params))
    return float(bench.evaluate(params, bench.max_step)[0][bench.metric])


def run_one(job: tuple[str, int, str, int, int]) -> dict[str, Any]:
    problem, workers, method, seed, budget = job
    logging.disable(logging.WARNING)
    bench = make_bench(problem, seed)
    study = Study.create(
        method, bench.space, Objective(bench.metric, bench.mode), searcher="random",
        scheduler=METHODS[method](), max_step=bench.max_step, budget=Budget(max_steps=budget),
        seed=seed, storage=MemoryJournal(),
    )
    trajectory: list[tuple[int, float, int]] = []  # Study.best_trial over time
    trained: list[tuple[int, float, int]] = []  # best trial at max_step over time
    last: list[int | None] = [None, None]
    top = bench.max_step

    def on_turn(engine: Any) -> None:
        h = engine.history
        tid = h.best_trial_id()
        if tid is not None and tid != last[0]:
            last[0] = tid
            trajectory.append((h.steps_consumed, engine.now, tid))
        done = h.at_step(top)
        if done and done[0][1] != last[1]:
            last[1] = done[0][1]
            trained.append((h.steps_consumed, engine.now, done[0][1]))

    t0, c0 = time.perf_counter(), time.process_time()
    study.simulate(bench, n_workers=workers, on_turn=on_turn)
    real, cpu = time.perf_counter() - t0, time.process_time() - c0
    ex = study.last_executor
    h = study.history
    regrets = {
        tid: regret(bench, top_value(bench, h.params(tid))) for _, _, tid in trajectory + trained
    }
    wall = ex.now() - ex.start_time
    state = study.engine.scheduler.state()
    guard = state.get("guard", {}).get("level") if isinstance(state, dict) else None
    best = study.best_trial
    return {
        "problem": problem,
        "workers": workers,
        "method": method,
        "seed": seed,
        "budget": budget,
        "final_regret": regret(bench, top_value(bench, best.params)) if best else math.inf,
        "steps": h.steps_consumed,
        "wall_clock": wall,
        "utilization": ex.busy_time / (workers * wall) if wall > 0 else 0.0,
        "trials": len(h),
        "guard_level": guard,
        "real_seconds": real,
        "cpu_seconds": cpu,
        "curve": [(s, t, regrets[tid]) for s, t, tid in trajectory],
        "curve_trained": [(s, t, regrets[tid]) for s, t, tid in trained],
    }


def _frac(x: float | None) -> str:
    return "never" if x is None else f"{x:.3f}"


def _g(x: Any) -> Any:
    """Floats with 6 significant digits in the CSVs."""
    return f"{x:.6g}" if isinstance(x, float) else x


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=multiprocessing.cpu_count())
    ap.add_argument(
        "--no-write", action="store_true",
        help="print the report only: do not touch RESULTS.md or benchmarks/results/",
    )
    ap.add_argument("--problems", nargs="+", choices=list(PROBLEMS), help="subset (no writes)")
    ap.add_argument("--workers", nargs="+", type=int, choices=list(SETTINGS),
                    help="subset (no writes)")
    ap.add_argument("--methods", nargs="+", choices=list(METHODS),
                    help="subset (no writes; random+fifo, the target, always runs)")
    ap.add_argument("--pbt-toy", action="store_true",
                    help="run only the PBT toy (seconds) and replace only its table and "
                         "claims in the bench_schedulers section (the simulated runs stand)")
    args = ap.parse_args()
    if args.pbt_toy:
        pbt_toy_only(args.seeds, write=not args.no_write)
        return
    subset = bool(args.problems or args.workers or args.methods)
    settings = {
        workers: (budget, [p for p in problems if not args.problems or p in args.problems])
        for workers, (budget, problems) in SETTINGS.items()
        if not args.workers or workers in args.workers
    }
    methods = [m for m in METHODS
               if not args.methods or m in args.methods or m == "random+fifo"]
    t0 = time.perf_counter()
    jobs = [
        (problem, workers, method, seed, budget)
        for workers, (budget, problems) in settings.items()
        for problem in problems
        for seed in range(args.seeds)
        for method in methods
    ]
    jobs.sort(key=lambda j: -j[1])  # the slow 256-worker runs first
    with multiprocessing.Pool(args.jobs) as pool:
        runs = pool.map(run_one, jobs, chunksize=1)
    runs.sort(key=lambda r: (r["workers"], r["problem"], r["method"], r["seed"]))
    sim_seconds = time.perf_counter() - t0
    toy_rows = [] if subset else pbt_toy(args.seeds)
    total_seconds = time.perf_counter() - t0
    groups: dict[tuple[int, str, str], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["workers"], r["problem"], r["method"]), []).append(r)
    body = report(runs, groups, toy_rows, args.seeds, sim_seconds, total_seconds)
    print(body)
    if subset or args.no_write:
        return
    write_files(runs, groups, toy_rows)
    write_section("bench_schedulers", body)


def write_files(
    runs: list[dict[str, Any]],
    groups: dict[tuple[int, str, str], list[dict[str, Any]]],
    toy_rows: list[dict[str, Any]],
) -> None:
    OUT.mkdir(exist_ok=True)
    keys = ["problem", "workers", "method", "seed", "budget", "final_regret", "steps",
            "wall_clock", "utilization", "trials", "guard_level", "real_seconds", "cpu_seconds"]
    with open(OUT / "schedulers_runs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keys)
        for r in runs:
            w.writerow([_g(r[k]) for k in keys])

    with open(OUT / "schedulers_curves.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["workers", "problem", "method", "incumbent", "axis", "x", "q25", "median", "q75"]
        )
        for workers, (budget, problems) in SETTINGS.items():
            for problem in problems:
                tmax = max(r["wall_clock"] for (wk, p, _), rs in groups.items()
                           if wk == workers and p == problem for r in rs)
                for method in METHODS:
                    rs = groups[(workers, problem, method)]
                    for key, inc in (("curve", "best_trial"), ("curve_trained", "trained")):
                        for axis, name, top in ((0, "resource", budget), (1, "time", tmax)):
                            grid = np.linspace(0, top, 41)[1:]
                            curve = median_curve(rs, grid, axis, key)
                            for x, (a, m, b) in zip(grid, curve, strict=True):
                                w.writerow([workers, problem, method, inc, name,
                                            _g(float(x)), _g(a), _g(m), _g(b)])
    write_toy_csv(toy_rows)


def write_toy_csv(toy_rows: list[dict[str, Any]]) -> None:
    """``schedulers_pbt_toy.csv``: one row per PBT toy run."""
    with open(OUT / "schedulers_pbt_toy.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["setting", "method", "seed", "best_q", "regret", "steps"])
        for row in toy_rows:
            w.writerow(
                [_g(row[k]) for k in ("setting", "method", "seed", "best_q", "regret", "steps")]
            )


def report(
    runs: list[dict[str, Any]],
    groups: dict[tuple[int, str, str], list[dict[str, Any]]],
    toy_rows: list[dict[str, Any]],
    seeds: int,
    sim_seconds: float,
    total_seconds: float,
) -> str:
    out: list[str] = []
    cpu = sum(r["cpu_seconds"] for r in runs)
    out.append(
        f"{len(runs)} simulated runs ({seeds} seeds; max_step 27; random searcher for every "
        f"method; equal `Budget.max_steps` per worker count: "
        + ", ".join(f"{b} steps with {w} workers" for w, (b, _) in SETTINGS.items())
        + f") in {sim_seconds:.0f} s, PBT toy in {total_seconds - sim_seconds:.0f} s; "
        f"total {total_seconds:.0f} s real time on a machine shared with other jobs "
        f"({cpu:.0f} CPU-seconds of simulation: about {cpu / 2 / 60:.1f} minutes on 2 idle "
        "cores). Final "
        "regret: `Study.best_trial`'s configuration, true value at max_step minus the optimum. "
        "'Budget fraction to reach FIFO's final median': the resource (fraction of the budget) "
        "at which the median over seeds of the regret-vs-resource step curves first drops to "
        "random+FIFO's final median regret, computed exactly at the curves' own points (no "
        "grid), for the best fully trained trial ('trained') and for the any-time "
        "`Study.best_trial`; the claims give a 95% bootstrap interval over seeds (FIFO's "
        "target resampled with the same seeds). "
        "Curves (both, against resource and simulated time): "
        "`benchmarks/results/schedulers_curves.csv`; every run: `schedulers_runs.csv`."
    )
    out.append(
        f"\nBudget rule: {TRAININGS} full-training equivalents per worker for every worker "
        f"count (budget = workers x {MAX_STEP} x {TRAININGS} steps). No trial can be fully "
        f"trained before {MAX_STEP} sequential steps, during which every busy worker consumes "
        f"{MAX_STEP} steps, so the 'trained' fraction of every method is about "
        f"1/{TRAININGS} = {1 / TRAININGS:.3f} at the least with either worker count (a little "
        "less when a configuration with cheap steps finishes first); equal floors make the "
        "fractions comparable across worker counts (the first version of this benchmark gave "
        "256 workers 1.5 trainings each, a floor of 0.67 that no method could beat)."
    )
    claims: list[str] = []
    for workers, (budget, problems) in SETTINGS.items():
        for problem in problems:
            if (workers, problem, "random+fifo") not in groups:
                continue  # not in this subset
            rows = []
            fifo = groups[(workers, problem, "random+fifo")]
            fifo_final = float(np.median([r["final_regret"] for r in fifo]))
            claim_reach: dict[str, tuple[Any, ...]] = {}
            for method in METHODS:
                if (workers, problem, method) not in groups:
                    continue
                rs = groups[(workers, problem, method)]
                fr = np.array([r["final_regret"] for r in rs])
                reach_fr: list[float | None] = []
                for key in ("curve_trained", "curve"):
                    claimed = method in ("asha", "asha-promotion") and key == "curve_trained"
                    boot = 1000 if claimed else 0
                    x, ci = reach(rs, fifo, key, budget, boot)
                    reach_fr.append(x)
                    if claimed:
                        claim_reach[method] = (x, ci)
                levels = [r["guard_level"] for r in rs if r["guard_level"] is not None]
                rows.append([
                    method,
                    float(np.median(fr)),
                    f"{np.quantile(fr, 0.25):.3g} - {np.quantile(fr, 0.75):.3g}",
                    *("-" if f is None else f"{f:.3f}" for f in reach_fr),
                    float(np.median([r["utilization"] for r in rs])),
                    int(np.median([r["trials"] for r in rs])),
                    "-" if not levels else f"{np.median(levels):.0f}",
                ])
            out.append(f"\n### {problem}, {workers} workers, budget {budget} steps\n")
            out.append(table(
                ["method", "median final regret", "IQR",
                 "budget fraction to reach FIFO's final median (trained)",
                 "(best_trial)", "utilization", "trials", "guard level"], rows))
            high = PROBLEMS[problem][2]
            if high:
                for method, label in (("asha", "ASHA (stopping variant)"),
                                      ("asha-promotion", "ASHA (promotion variant)")):
                    if method not in claim_reach:
                        continue
                    frac, ci = claim_reach[method]
                    ok = frac is not None and frac <= 0.2
                    lo, hi = ci if ci is not None else (math.inf, math.inf)
                    claims.append(
                        f"- {'PASS' if ok else 'FAIL'}: {problem}, {workers} workers: {label}'s "
                        f"best fully trained trial reaches random+FIFO's final median regret "
                        f"({fifo_final:.3g}) after {_frac(frac)} of the budget (claim: <= 0.2; "
                        f"95% bootstrap interval over seeds {_frac(lo if lo < math.inf else None)}"
                        f" - {_frac(hi if hi < math.inf else None)}; floor "
                        f"about {1 / TRAININGS:.3f})."
                    )
            else:
                fifo_by_seed = {r["seed"]: r["final_regret"] for r in fifo}
                for method in ("asha+guard", "asha-promotion+guard", "asha"):
                    if (workers, problem, method) not in groups:
                        continue
                    rs = groups[(workers, problem, method)]
                    d = np.array([r["final_regret"] - fifo_by_seed[r["seed"]] for r in rs])
                    lo, hi = bootstrap_mean_ci(d)
                    worse = lo > 0
                    if method == "asha":
                        claims.append(
                            f"- (plain ASHA) {problem}, {workers} workers: regret minus "
                            f"random+FIFO's, paired by seed: mean {d.mean():+.3f}, 95% CI "
                            f"[{lo:+.3f}, {hi:+.3f}] -> "
                            f"{'worse than FIFO' if worse else 'not worse than FIFO'}."
                        )
                    else:
                        claims.append(
                            f"- {'FAIL' if worse else 'PASS'}: {problem}, {workers} workers: "
                            f"{method} regret minus random+FIFO's at equal resource, paired by "
                            f"seed: mean {d.mean():+.3f}, 95% CI [{lo:+.3f}, {hi:+.3f}] "
                            f"(claim: not worse, i.e. the CI does not lie above 0)."
                        )
            if workers == 256 and problem == "hartmann3-default" and all(
                (256, problem, m) in groups for m in ("asha", "hyperband")
            ):
                ua = float(np.median([r["utilization"] for r in groups[(256, problem, "asha")]]))
                uh = float(np.median(
                    [r["utilization"] for r in groups[(256, problem, "hyperband")]]
                ))
                claims.append(
                    f"- {'PASS' if ua >= 0.95 else 'FAIL'}: 256 workers, {problem}: ASHA "
                    f"utilization {ua:.3f} (claim: >= 0.95); synchronous Hyperband {uh:.3f}."
                )

    if toy_rows:
        pbt_report(toy_rows, seeds, out, claims)
    out.append("\n### Claims\n")
    out.extend(claims)
    return "\n".join(out)


def pbt_toy_only(seeds: int, write: bool) -> None:
    """``--pbt-toy``: the PBT toy again, its CSV and, in RESULTS.md's ``bench_schedulers``
    section, its subsection and its claim lines replaced (headed by this command and date, as
    the rest of the section keeps the full run's); the simulated runs are not run again."""
    import datetime
    import re

    from _results import RESULTS, command

    t0 = time.perf_counter()
    rows = pbt_toy(seeds)
    out: list[str] = []
    claims: list[str] = []
    pbt_report(rows, seeds, out, claims)
    out[0] = out[0].rstrip("\n") + "\n\n" + (
        f"(this subsection and the PBT claims: `{command()}`, "
        f"{datetime.date.today().isoformat()}, {time.perf_counter() - t0:.0f} s)\n")
    body = "\n".join(out)
    print(body + "\n\n" + "\n".join(claims))
    if not write:
        return
    write_toy_csv(rows)
    text = RESULTS.read_text()
    start = text.index("## bench_schedulers\n")
    end = text.find("\n## ", start + 1)
    end = len(text) if end < 0 else end + 1
    sec = text[start:end]
    toy = re.compile(r"\n+### PBT toy \(Jaderberg.*?\n+(?=### Claims)", re.S)
    if not toy.search(sec):
        raise SystemExit("no PBT toy subsection in the bench_schedulers section: run it whole")
    sec = toy.sub(lambda _: "\n\n" + body.strip("\n") + "\n\n", sec, count=1)
    lines = [ln for ln in sec.split("\n") if "PBT toy," not in ln]
    sec = "\n".join(lines).rstrip("\n") + "\n" + "\n".join(claims) + "\n\n"
    RESULTS.write_text((text[:start] + sec + text[end:]).rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
