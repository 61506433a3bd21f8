"""bench_cost part (a): the stop-searching rule's saving against its regret, with peers.

On each learning-curve table (``benchmarks/curves``) and each seed, one search runs its whole
budget: ``--trials`` configurations proposed by rung's
TPE searcher, each trained to ``max_step`` (FIFO, one worker: the trajectory is then a pure
function of the seed). Each stopping rule is judged on that same trajectory:

- ``rung``: the same study with ``Budget(n_trials=..., stop="auto")`` (``rung.StopRule``: the
  regret bound of Makarova et al. 2022 against the statistical error of the incumbent's
  validation estimate, here the binomial error ``sqrt(p (1 - p) / n)`` with ``n`` read off the
  values' grid). It runs for real; its trials are checked to be the full run's first trials.
- ``rung-measured``: the same with ``StopRule(lattice=False)``: the error measured from the
  history (GP noise, curve jitter), the rule's only error before (issue 17's first run).
- ``optuna``: Optuna 5's ``Terminator`` (RegretBoundEvaluator + MedianErrorEvaluator,
  ``min_n_trials=20``), fed the same trials in order (``cost_peers.py``, run with the peers'
  interpreter in ``/tmp/peers``); ``optuna-se``: the same with the binomial error of the
  incumbent on ``n`` examples as its error evaluator, the threshold ``rung`` uses.
- ``ray``: Ray Tune's ``ExperimentPlateauStopper`` re-implemented from its documented rule (Ray
  is not in the peers' environment; on 12 trajectory/feed pairs the re-implementation stopped
  at the same trial and step as Ray 2.60's own class, run in rung's dev environment): keep the ``top`` best values of ``metric`` over every result reported
  so far; stop the experiment once they are ``top`` many, their standard deviation is at most
  ``std``, and that has held for ``patience`` consecutive results. Defaults ``std=0.001,
  top=10, mode="min", patience=0``. Ray calls it on every reported result (``ray``, every step
  of every curve); ``ray-final`` feeds only each trial's final result.

Replay (``--replay``): ``fresh`` (default) samples the table without replacement
(``CurveTable(distinct=True)``): a configuration takes the nearest row no earlier configuration of the same
search has taken, so every trial is a new row, as in a search over a continuous space.
``nearest`` is ``rung.benchmarks.CurveTable``'s own lookup, the nearest row even if already
seen: on these tables 54 to 73 of TPE's 100 trials land on a row seen before, so the whole
budget's later trials are largely repeats, which flatters every stopping rule. The searcher and
the rules see the configuration proposed, not the row's own parameters (a fresh row lies a
median 0.27 to 0.34 from it in the unit cube, the nearest row 0.16 to 0.18).

Compute is the table's recorded seconds of the steps trained (a stopped run keeps what it
trained); regret is the best final validation error among the trials finished when the rule
stopped (and the last value of a run it stopped mid-curve), minus the table's best; it is also
given in validation examples (times ``n``), the unit the error rates are counted in. Saving =
1 - compute used / compute of the whole budget. Medians over seeds; Mann-Whitney U (two-sided) of
the rule's regrets against the whole budget's.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_cost.py --peers-only   # Optuna, cached
    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_cost.py --seeds 10 --write

Optuna's Terminator is slow (about a minute per run of 100 trials); its answers are cached in
``results/cost_peers.json`` with the trajectory (table rows) they were computed on, and reused
only for the same trajectory.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from _cost_report import HELD_OUT_SECTION, SECTION, describe, notes, report
from _cost_report import METHODS as METHODS  # re-exported, as replay_note and REPLAYS
from _cost_report import REPLAYS as REPLAYS
from _cost_report import replay_note as replay_note
from _results import write_section
from cost_peers import PEER_METHODS, cached_peers, peers_optuna, ray_plateau
from make_curves import HELD_OUT  # built after the rule's defaults were chosen

import rung
from rung.benchmarks import CurveTable, regret
from rung.cost.noise import lattice_size

HERE = Path(__file__).resolve().parent
CURVES = HERE / "curves"
TABLES = ("hgb-magic", "hgb-german", "hgb-ring", "mlp-mnist1d")
log = logging.getLogger("bench_cost")


def load(task: str, replay: str = "fresh") -> CurveTable:
    """The table, replayed ``"fresh"`` (``CurveTable(distinct=True)``: sampled without
    replacement, every configuration a new row) or ``"nearest"`` (the nearest row, repeats
    allowed). A new instance per call: a distinct table's taken rows are one search's."""
    path = CURVES / f"{task}.npz"
    for _ in range(5):
        try:
            return CurveTable(path, metric="val_error", distinct=replay == "fresh")
        except (OSError, ValueError, KeyError):  # caught mid-rename: try again
            time.sleep(1.0)
    return CurveTable(path, metric="val_error", distinct=replay == "fresh")


def distances(bench: CurveTable, traj: list[dict[str, Any]]) -> list[float]:
    """Median over the trajectory's trials of the unit-cube distance from the configuration
    proposed to the row it got, and to its nearest row (equal under ``nearest`` replay)."""
    rows = np.stack([bench.space.to_unit(r) for r in bench.rows])
    got, nearest = [], []
    for t in traj:
        d = np.sqrt(((rows - bench.space.to_unit(t["params"])) ** 2).sum(axis=1))
        got.append(float(d[t["row"]]))
        nearest.append(float(d.min()))
    return [float(np.median(got)), float(np.median(nearest))]


def search(bench: CurveTable, seed: int, n_trials: int, stop: Any = None) -> rung.Study:
    study = rung.Study.create(
        f"cost-{seed}", bench.space, objective=rung.Objective("val_error", "min"),
        searcher="tpe", scheduler="fifo", max_step=bench.max_step, seed=seed,
        budget=rung.Budget(n_trials=n_trials, stop=stop),
    )
    return study.simulate(bench, n_workers=1)


def trajectory(bench: CurveTable, study: rung.Study) -> list[dict[str, Any]]:
    """The trials in the order they ran: params, table row, curve, seconds, final value."""
    out = []
    for t in sorted(study.trials(), key=lambda t: t.id):
        row = bench.row_of(t.params)
        out.append({"params": dict(t.params), "row": row,
                    "curve": [float(v) for v in bench.values[row]],
                    "seconds": [float(s) for s in bench.seconds[row]],
                    "final": float(bench.values[row, -1])})
    return out


def outcome(bench: CurveTable, traj: list[dict[str, Any]], stop: tuple[int, int] | None
            ) -> dict[str, float]:
    """Compute used and regret when the search stops after trial ``i``'s step ``s`` (``None``:
    it runs the whole budget). Trials finished by then count for the regret."""
    full = sum(sum(t["seconds"]) for t in traj)
    if stop is None:
        used, done, partial = full, traj, []
    else:
        i, s = stop
        used = sum(sum(t["seconds"]) for t in traj[:i]) + sum(traj[i]["seconds"][:s])
        finished = s >= len(traj[i]["curve"])
        done = traj[: i + 1] if finished else traj[:i]
        # a run stopped mid-curve offers its last reported value (Ray's result of that trial)
        partial = [] if finished else [traj[i]["curve"][s - 1]]
    best = min([*(t["final"] for t in done), *partial])
    return {"saving": 1.0 - used / full, "regret": regret(bench, best),
            "trials": float(len(done) if stop is not None else len(traj))}


def space_json(bench: CurveTable) -> dict[str, list[Any]]:
    out = {}
    for name in bench.space:
        p = bench.space[name]
        out[name] = [p.low, p.high, bool(getattr(p, "log", False)),  # type: ignore[attr-defined]
                     isinstance(p, rung.Int)]
    return out


def validation_size(bench: CurveTable) -> int:
    """``n`` of the validation set: the table's error rates are multiples of ``1/n``
    (``make_curves.py`` validates on the last third of each data set: 6,340 examples for
    magic, 334 german, 2,467 ring, 1,667 mnist1d)."""
    n = lattice_size(bench.values[:, -1].tolist())
    if n is None:
        raise ValueError(f"{bench.task}: the final errors lie on no grid 1/n")
    return n


def run_rule(task: str, replay: str, seed: int, n_trials: int, traj: list[dict[str, Any]],
             stop: Any) -> tuple[dict[str, float], dict[str, float] | None]:
    """The study with a stop rule, on its own replay of the table, checked to follow the full
    run's trajectory (the same rows, in the same order)."""
    bench = load(task, replay)
    stopped = search(bench, seed, n_trials, stop=stop)
    k = len(stopped.trials())
    mine = trajectory(bench, stopped)
    assert [t["row"] for t in mine] == [t["row"] for t in traj[:k]], "trajectories differ"
    verdict = stopped.engine.stopped
    return (outcome(bench, traj, (k - 1, bench.max_step) if verdict else None),
            dict(verdict.evidence) if verdict else None)


def full_run(task: str, seed: int, n_trials: int, replay: str
             ) -> tuple[CurveTable, list[dict[str, Any]]]:
    """The whole budget's search on its own replay of the table, and its trajectory."""
    bench = load(task, replay)
    return bench, trajectory(bench, search(bench, seed, n_trials))


def peer_run(task: str, seed: int, bench: CurveTable, traj: list[dict[str, Any]]
             ) -> dict[str, Any]:
    return {"key": f"{task}/{seed}", "space": space_json(bench), "n_val": validation_size(bench),
            "rows": [t["row"] for t in traj],
            "trials": [{"params": t["params"], "final": t["final"]} for t in traj]}


def run_cell(task: str, seed: int, n_trials: int, replay: str) -> dict[str, Any]:
    bench, traj = full_run(task, seed, n_trials, replay)
    n_val = validation_size(bench)
    rung_auto, evidence = run_rule(task, replay, seed, n_trials, traj, "auto")
    measured, measured_ev = run_rule(task, replay, seed, n_trials, traj,
                                     rung.StopRule(lattice=False))
    best = min(t["final"] for t in traj)
    cell: dict[str, Any] = {
        "task": task, "seed": seed, "rows": len(bench.params), "n_val": n_val,
        "se_full": float(np.sqrt(best * (1 - best) / n_val)),
        "full": outcome(bench, traj, None),
        "rung": rung_auto,
        "rung-measured": measured,
        "ray": outcome(bench, traj, ray_plateau(traj, every_step=True)),
        "ray-final": outcome(bench, traj, ray_plateau(traj, every_step=False)),
        "rung_evidence": evidence,
        "rung-measured_evidence": measured_ev,
        "traj_rows": [t["row"] for t in traj],
        "replay": replay,
        "distinct_rows": len(set(t["row"] for t in traj)),
        "distance": distances(bench, traj),
        "peer_run": peer_run(task, seed, bench, traj),
    }
    return cell


def add_scaled(cells: list[dict[str, Any]], scales: list[float], n_trials: int) -> None:
    """Each cell's outcome for ``StopRule(noise_scale=s)`` (method ``rung@s``): the default
    rule stopping only once the bound is below ``s`` binomial errors, on the cell's stored
    trajectory (rebuilt from its rows; ``run_rule`` checks the search follows it)."""
    t0 = time.time()
    for c in cells:
        ref = load(c["task"], "nearest")  # read by row only
        traj = [{"row": r, "curve": [float(v) for v in ref.values[r]],
                 "seconds": [float(x) for x in ref.seconds[r]],
                 "final": float(ref.values[r, -1])} for r in c["traj_rows"]]
        for sc in scales:
            key = f"rung@{sc:g}"
            if key in c:
                continue
            c[key], c[key + "_evidence"] = run_rule(c["task"], c.get("replay", "nearest"),
                                                    c["seed"], n_trials, traj,
                                                    rung.StopRule(noise_scale=sc))
            print(f"{c['task']} seed {c['seed']} {key}: {c[key]['trials']:.0f} trials, saved "
                  f"{100 * c[key]['saving']:.0f}%, regret {c[key]['regret']:.4f} "
                  f"[{time.time() - t0:.0f} s]", flush=True)


def add_peers(cells: list[dict[str, Any]], stops: dict[str, dict[str, int | None]]) -> None:
    """Each cell's Optuna outcomes from ``stops`` (trials run per key and variant)."""
    for c in cells:
        got = stops.get(f"{c['task']}/{c['seed']}")
        if not got:
            continue
        bench = load(c["task"], "nearest")  # read by row only
        traj = [{"curve": [float(v) for v in bench.values[r]],
                 "seconds": [float(x) for x in bench.seconds[r]],
                 "final": float(bench.values[r, -1])} for r in c["traj_rows"]]
        for m, n in got.items():
            c[m] = outcome(bench, traj, (n - 1, bench.max_step) if n else None)


def hindsight(cells: list[dict[str, Any]]) -> None:
    """Each cell's ``hindsight`` outcome: stopped right after the trial that found the whole
    budget's best (no extra regret; the most any rule can save without giving up regret)."""
    for c in cells:
        bench = load(c["task"], "nearest")  # read by row only
        finals = [float(bench.values[r, -1]) for r in c["traj_rows"]]
        i = int(np.argmin(finals))  # the first trial with the best final value
        traj = [{"curve": [0.0] * bench.max_step, "seconds": [float(x) for x in bench.seconds[r]],
                 "final": finals[j]} for j, r in enumerate(c["traj_rows"])]
        c["hindsight"] = outcome(bench, traj, (i, bench.max_step))


def diagnose(task: str, seed: int, n_trials: int, replay: str) -> list[dict[str, float]]:
    """The stop rule's evidence at every check of one whole-budget search, the rule kept from
    stopping (its threshold read as -1 after it is computed): the bound's parts (``ucb``: the
    GP's least upper bound over the evaluated points; ``lcb``: its least lower bound over 512
    quasi-random points of the space and the evaluated points, ``lcb_observed`` 1 if at an
    evaluated one), ``beta``, the GP's fitted noise, signal and lengthscales, the binomial
    error; and ``regret`` (the incumbent's, in examples) and ``n_val``. In the objective's
    units unless named ``*_ex`` (times ``n_val``)."""
    from rung.cost import stop_rule

    bench = load(task, replay)
    n = validation_size(bench)
    rows: list[dict[str, float]] = []
    real = stop_rule.evidence

    def record(h: Any, step: int, rule: Any, request: Any = None) -> dict[str, float] | None:
        ev = real(h, step, rule, request)
        if ev is None:
            return None
        hyper = rule.last_fit["top"]
        rows.append({**ev, "regret_ex": regret(bench, ev["best"]) * n, "n_val_table": float(n),
                     **{f"ls{j}": float(v) for j, v in enumerate(np.exp(hyper.log_ls))}})
        return {**ev, "threshold": -1.0}

    stop_rule.evidence = record
    try:
        search(bench, seed, n_trials, stop="auto")
    finally:
        stop_rule.evidence = real
    return rows


def print_diagnosis(task: str, seed: int, rows: list[dict[str, float]]) -> None:
    """One line per check: the bound and its parts in validation examples."""
    n = rows[0]["n_val_table"] if rows else 1.0
    print(f"{task} seed {seed}: per trial, in validation examples (x {n:.0f}); z = the GP's "
          "standardized units")
    print(" trial  bound   se  bound/se  ucb-best  best-lcb  lcb at  beta  noise  signal  "
          "lengthscales                    regret")
    for r in rows:
        ls = " ".join(f"{r[k]:5.2f}" for k in sorted(r) if k.startswith("ls"))
        print(f"{r['trials']:6.0f} {r['regret_bound'] * n:6.1f} {r['noise'] * n:5.1f} "
              f"{r['regret_bound'] / r['noise']:8.2f} {(r['ucb'] - r['best']) * n:9.1f} "
              f"{(r['best'] - r['lcb']) * n:9.1f}  {'obs ' if r['lcb_observed'] else 'cand'}  "
              f"{r['beta']:4.2f} {r['bound_noise'] * n:6.1f} {r['signal_sd'] * n:7.1f}  {ls}  "
              f"{r['regret_ex']:6.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", nargs="*", default=None,
                    help=f"default: {' '.join(TABLES)}, or with --held-out the held-out "
                         "tables on disk")
    ap.add_argument("--held-out", action="store_true",
                    help="the held-out tables (make_curves.HELD_OUT, never used to choose "
                         "the rule's defaults) into results/cost-heldout.json and their own "
                         "RESULTS.md section")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--write", action="store_true", help="write the RESULTS.md section")
    ap.add_argument("--out", type=Path, default=None,
                    help="default: results/cost.json (--held-out: results/cost-heldout.json)")
    ap.add_argument("--report-only", action="store_true",
                    help="rebuild the report (and with --write the section) from --out")
    ap.add_argument("--peers-only", action="store_true",
                    help="run the whole-budget searches and Optuna's Terminator on them "
                    "(cached in results/cost_peers.json), nothing else")
    ap.add_argument("--no-peers", action="store_true",
                    help="leave Optuna out (--report-only adds it later from the cache)")
    ap.add_argument("--replay", choices=("fresh", "nearest"), default="fresh",
                    help="fresh: every configuration a new table row (default); nearest: the "
                    "nearest row, repeats allowed (the replay before)")
    ap.add_argument("--diagnose", action="store_true",
                    help="print the stop rule's evidence at every check of each search (the "
                    "rule kept from stopping), nothing else")
    ap.add_argument("--jobs", type=int, default=2, help="processes for Optuna's Terminator")
    ap.add_argument("--wall", default="", help="with --report-only: the runs' wall time")
    ap.add_argument("--scales", type=float, nargs="+", default=None,
                    help="add StopRule(noise_scale=s) for each s (rows rung@s) to the stored "
                         "cells of --out, then report")
    ap.add_argument("--notes", type=Path, default=None,
                    help="with --write: a markdown file appended to the section (the reading)")
    args = ap.parse_args()
    section = HELD_OUT_SECTION if args.held_out else SECTION
    if args.tables is None:
        args.tables = ([t for t in HELD_OUT if (CURVES / f"{t}.npz").exists()] if args.held_out
                       else list(TABLES))
    if args.out is None:
        args.out = HERE / "results" / ("cost-heldout.json" if args.held_out else "cost.json")
    if args.scales:
        logging.getLogger("rung").setLevel(logging.ERROR)
        cells = json.loads(args.out.read_text())
        add_scaled(cells, args.scales, args.trials)
        args.out.write_text(json.dumps(cells, indent=1))
        print(report(cells, args.trials))
        return
    if args.report_only:
        cells = json.loads(args.out.read_text())
        if any(m not in c for c in cells for m in (*PEER_METHODS, "hindsight")):
            add_peers(cells, cached_peers(cells))
            hindsight(cells)
            args.out.write_text(json.dumps(cells, indent=1))
        text = report(cells, args.trials)
        print(text)
        if args.write:
            write_section(section, "The runs: `OMP_NUM_THREADS=1 nice -n 10 python "
                          "benchmarks/bench_cost.py --peers-only --seeds 10 --jobs 2` (Optuna, "
                          "two processes at once; `results/cost_peers.json`), then `... "
                          "--seeds 10` (rung and Ray; Optuna's answers from that cache, "
                          "checked to be for the same rows); this section was rebuilt from "
                          f"`results/{args.out.name}`.\n\n" + describe(cells, args, args.wall)
                          + text + notes(args))
        return
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("rung").setLevel(logging.ERROR)
    t0 = time.time()
    if args.diagnose:
        for task in args.tables:
            for seed in range(args.seeds):
                print_diagnosis(task, seed, diagnose(task, seed, args.trials, args.replay))
        return
    if args.peers_only:
        runs = []
        for task in args.tables:
            for seed in range(args.seeds):
                bench, traj = full_run(task, seed, args.trials, args.replay)
                runs.append(peer_run(task, seed, bench, traj))
        print(json.dumps(peers_optuna(runs, args.jobs)), f"[{time.time() - t0:.0f} s]")
        return
    cells = []
    for task in args.tables:
        for seed in range(args.seeds):
            cells.append(run_cell(task, seed, args.trials, args.replay))
            c = cells[-1]
            print(f"{task} seed {seed}: full regret {c['full']['regret']:.4f}; " + "; ".join(
                f"{m} {c[m]['trials']:.0f} trials, saved {100 * c[m]['saving']:.0f}%, regret "
                f"{c[m]['regret']:.4f}" for m in ("rung", "rung-measured", "ray", "ray-final"))
                + f" [{time.time() - t0:.0f} s]", flush=True)
    if not args.no_peers:
        add_peers(cells, peers_optuna([c["peer_run"] for c in cells], args.jobs))
    hindsight(cells)
    for c in cells:
        c.pop("peer_run")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(cells, indent=1))
    text = report(cells, args.trials)
    print(text)
    if args.write:
        write_section(section, describe(cells, args, f"{time.time() - t0:.0f} s") + text
                      + notes(args))


if __name__ == "__main__":
    main()
