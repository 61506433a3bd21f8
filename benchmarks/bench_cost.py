"""bench_cost part (a): the stop-searching rule's saving against its regret, with peers.

On each learning-curve table (``benchmarks/curves``, replayed by ``rung.benchmarks.CurveTable``)
and each seed, one search runs its whole budget: ``--trials`` configurations proposed by rung's
TPE searcher, each trained to ``max_step`` (FIFO, one worker: the trajectory is then a pure
function of the seed). Each stopping rule is judged on that same trajectory:

- ``rung``: the same study with ``Budget(n_trials=..., stop="auto")`` (``rung.StopRule``: the
  regret bound of Makarova et al. 2022 against the noise observed in the history). It runs for
  real; its trials are checked to be the full run's first trials.
- ``rung-se``: the same with ``StopRule(noise=se)``, the noise given as a user who knows the
  size ``n`` of the validation set would: ``se = sqrt(p (1 - p) / n)`` at the best error ``p``
  of the first 20 trials (``n`` from the table's value grid: errors are multiples of ``1/n``).
- ``optuna``: Optuna 5's ``Terminator`` (RegretBoundEvaluator + MedianErrorEvaluator,
  ``min_n_trials=20``), fed the same trials in order (``cost_peers.py``, run with the peers'
  interpreter in ``/tmp/peers``).
- ``ray``: Ray Tune's ``ExperimentPlateauStopper`` re-implemented from its documented rule (Ray
  is not in the peers' environment; on 12 trajectory/feed pairs the re-implementation stopped
  at the same trial and step as Ray 2.60's own class, run in rung's dev environment): keep the ``top`` best values of ``metric`` over every result reported
  so far; stop the experiment once they are ``top`` many, their standard deviation is at most
  ``std``, and that has held for ``patience`` consecutive results. Defaults ``std=0.001,
  top=10, mode="min", patience=0``. Ray calls it on every reported result (``ray``, every step
  of every curve); ``ray-final`` feeds only each trial's final result.

Compute is the table's recorded seconds of the steps trained (a stopped run keeps what it
trained); regret is the best final validation error among the trials finished when the rule
stopped (and the last value of a run it stopped mid-curve), minus the table's best. Saving =
1 - compute used / compute of the whole budget. Medians over seeds; Mann-Whitney U (two-sided) of the rule's regrets against the whole budget's.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_cost.py --seeds 10 --write
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _results import table, write_section

import rung
from rung.benchmarks import CurveTable, regret

HERE = Path(__file__).resolve().parent
CURVES = HERE / "curves"
PEERS = Path("/tmp/peers/bin/python")
TABLES = ("hgb-magic", "hgb-german", "hgb-ring", "mlp-mnist1d")
log = logging.getLogger("bench_cost")


def load(task: str) -> CurveTable:
    """The table with whatever rows it has now (the generator may still be appending)."""
    path = CURVES / f"{task}.npz"
    for _ in range(5):
        try:
            return CurveTable(path, metric="val_error")
        except (OSError, ValueError, KeyError):  # caught mid-rename: try again
            time.sleep(1.0)
    return CurveTable(path, metric="val_error")


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


def ray_plateau(traj: list[dict[str, Any]], every_step: bool, std: float = 0.001,
                top: int = 10, patience: int = 0) -> tuple[int, int] | None:
    """``(trial index, step)`` of the result at which ExperimentPlateauStopper stops the
    experiment (``None``: never). Mode ``min``."""
    best: list[float] = []
    iterations = 0
    for i, t in enumerate(traj):
        steps = range(1, len(t["curve"]) + 1) if every_step else [len(t["curve"])]
        for s in steps:
            best = sorted([*best, t["curve"][s - 1]])[:top]
            plateau = len(best) == top and float(np.std(best)) <= std
            iterations = iterations + 1 if plateau else 0
            if plateau and iterations >= patience:
                return i, s
    return None


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


def peers_optuna(runs: list[dict[str, Any]]) -> dict[str, int | None]:
    if not PEERS.exists():
        log.warning("no peers interpreter at %s: Optuna's Terminator is skipped", PEERS)
        return {}
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    p = subprocess.run([str(PEERS), str(HERE / "cost_peers.py")], input=json.dumps(runs),
                       capture_output=True, text=True, env=env, check=False)
    line = next((ln for ln in reversed(p.stdout.splitlines()) if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"cost_peers.py failed ({p.returncode}): {p.stderr[-2000:]}")
    return {k: v["optuna"] for k, v in json.loads(line[7:]).items()}


def space_json(bench: CurveTable) -> dict[str, list[Any]]:
    out = {}
    for name in bench.space:
        p = bench.space[name]
        out[name] = [p.low, p.high, bool(getattr(p, "log", False)),  # type: ignore[attr-defined]
                     isinstance(p, rung.Int)]
    return out


def validation_size(bench: CurveTable) -> int:
    """``n`` of the validation set: error rates are multiples of ``1/n``."""
    u = np.unique(np.round(bench.values[:, -1], 7))
    return round(1.0 / float(np.min(np.diff(u))))


def run_rule(bench: CurveTable, seed: int, n_trials: int, traj: list[dict[str, Any]],
             stop: Any) -> tuple[dict[str, float], dict[str, float] | None]:
    """The study with a stop rule, checked to follow the full run's trajectory."""
    stopped = search(bench, seed, n_trials, stop=stop)
    k = len(stopped.trials())
    mine = trajectory(bench, stopped)
    assert [t["row"] for t in mine] == [t["row"] for t in traj[:k]], "trajectories differ"
    verdict = stopped.engine.stopped
    return (outcome(bench, traj, (k - 1, bench.max_step) if verdict else None),
            dict(verdict.evidence) if verdict else None)


def run_cell(task: str, seed: int, n_trials: int) -> dict[str, Any]:
    bench = load(task)
    full = search(bench, seed, n_trials)
    traj = trajectory(bench, full)
    rung_auto, evidence = run_rule(bench, seed, n_trials, traj, "auto")
    p = min(t["final"] for t in traj[:20])
    se = float(np.sqrt(p * (1 - p) / validation_size(bench)))
    rung_se, _ = run_rule(bench, seed, n_trials, traj, rung.StopRule(noise=se))
    cell: dict[str, Any] = {
        "task": task, "seed": seed, "rows": len(bench.params),
        "full": outcome(bench, traj, None),
        "rung": rung_auto,
        "rung-se": rung_se,
        "ray": outcome(bench, traj, ray_plateau(traj, every_step=True)),
        "ray-final": outcome(bench, traj, ray_plateau(traj, every_step=False)),
        "rung_evidence": evidence,
        "se": se,
        "_traj": traj,
        "peer_run": {"key": f"{task}/{seed}", "space": space_json(bench),
                     "trials": [{"params": t["params"], "final": t["final"]} for t in traj]},
    }
    return cell


METHODS = ("rung", "rung-se", "optuna", "ray", "ray-final")


def report(cells: list[dict[str, Any]], n_trials: int) -> str:
    from scipy.stats import mannwhitneyu

    rows: list[list[object]] = []
    summary: dict[str, list[tuple[float, float]]] = {m: [] for m in METHODS}
    for task in dict.fromkeys(c["task"] for c in cells):
        cs = [c for c in cells if c["task"] == task]
        full_r = [c["full"]["regret"] for c in cs]
        for m in METHODS:
            got = [c[m] for c in cs if m in c]
            if not got:
                continue
            sav = float(np.median([g["saving"] for g in got]))
            reg = [g["regret"] for g in got]
            med_full, med = float(np.median(full_r)), float(np.median(reg))
            # the measure: the median regret against the whole budget's median regret
            # (when that is 0, any regret is infinitely more, none is 0% more)
            if med_full > 0:
                more = (med - med_full) / med_full
            else:
                more = 0.0 if med == 0 else float("inf")
            stops = sum(1 for g in got if g["saving"] > 0)
            try:
                p = float(mannwhitneyu(reg, full_r, alternative="two-sided").pvalue)
            except ValueError:
                p = float("nan")
            trials = float(np.median([g["trials"] for g in got]))
            rows.append([task, m, f"{stops}/{len(got)}", f"{100 * sav:.0f}%", trials, med_full,
                         med, f"{100 * more:+.0f}%" if np.isfinite(more) else "inf",
                         f"{p:.2f}"])
            summary[m].append((sav, more))
    head = ["table", "rule", "stopped early (seeds)", "compute saved (median)", "trials run (median)",
            "regret, whole budget", "regret, rule", "more regret", "Mann-Whitney p"]
    lines = [table(head, rows), ""]
    for m, xs in summary.items():
        if xs:
            ok = sum(1 for s, r in xs if s >= 0.4 and np.isfinite(r) and r <= 0.10)
            lines.append(f"- {m}: goal (>= 40% saved for <= 10% more regret) met on {ok} of "
                         f"{len(xs)} tables")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", nargs="*", default=list(TABLES))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--write", action="store_true", help="write the RESULTS.md section")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "cost.json")
    ap.add_argument("--report-only", action="store_true",
                    help="rebuild the report (and with --write the section) from --out")
    ap.add_argument("--wall", default="", help="with --report-only: the runs' wall time")
    args = ap.parse_args()
    if args.report_only:
        cells = json.loads(args.out.read_text())
        text = report(cells, args.trials)
        print(text)
        if args.write:
            write_section(SECTION, "The runs: `OMP_NUM_THREADS=1 nice -n 10 python "
                          "bench_cost.py --seeds 10 --write`; this section was rebuilt from "
                          f"`results/{args.out.name}`.\n\n" + describe(cells, args, args.wall)
                          + text)
        return
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("rung").setLevel(logging.ERROR)
    cells = []
    t0 = time.time()
    for task in args.tables:
        for seed in range(args.seeds):
            cells.append(run_cell(task, seed, args.trials))
            c = cells[-1]
            print(f"{task} seed {seed}: full regret {c['full']['regret']:.4f}; " + "; ".join(
                f"{m} {c[m]['trials']:.0f} trials, saved {100 * c[m]['saving']:.0f}%, regret "
                f"{c[m]['regret']:.4f}" for m in ("rung", "rung-se", "ray", "ray-final"))
                + f" [{time.time() - t0:.0f} s]", flush=True)
    stops = peers_optuna([c["peer_run"] for c in cells])
    for c in cells:
        n = stops.get(f"{c['task']}/{c['seed']}", -1)
        if n != -1:
            bench = load(c["task"])
            c["optuna"] = outcome(bench, c["_traj"], (n - 1, bench.max_step) if n else None)
    for c in cells:
        c.pop("peer_run")
        c.pop("_traj")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(cells, indent=1))
    text = report(cells, args.trials)
    print(text)
    if args.write:
        write_section(SECTION, describe(cells, args, f"{time.time() - t0:.0f} s") + text)


SECTION = "Cost: stop-searching rule (bench_cost part a)"


def describe(cells: list[dict[str, Any]], args: argparse.Namespace, wall: str) -> str:
    return (
            f"Part (a) of issue 17: each rule stops a TPE search of {args.trials} trials (FIFO, "
            "one worker, every trial trained to max_step) on the same trajectory per seed; "
            "compute = the tables' recorded seconds; regret = best final val_error found - "
            "the table's best. Rows per table: "
            + ", ".join(f"{t} {next(c['rows'] for c in cells if c['task'] == t)}"
                        for t in dict.fromkeys(c["task"] for c in cells))
            + f". Seeds: {args.seeds}. Ray Tune's ExperimentPlateauStopper is re-implemented "
            "(it stopped at the same trial and step as Ray 2.60's own class on 12 trajectories "
            "checked): std=0.001, top=10, patience=0 (its defaults); `ray` feeds "
            "every step's result as Ray does, `ray-final` only each trial's final one. Optuna "
            "5.0's Terminator: RegretBoundEvaluator + MedianErrorEvaluator, min_n_trials=20. "
            f"Wall time {wall}.\n\n")


if __name__ == "__main__":
    sys.exit(main())
