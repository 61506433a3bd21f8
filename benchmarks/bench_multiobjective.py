"""Multi-objective searchers, rung side by side with Optuna 5: hypervolume at equal trials.

What it measures. For each problem and method, a study of ``--trials`` trials (100) per seed,
driven by ask-and-tell; the hypervolume of the first 30, 60 and 100 completed trials (in the
order they were told) against a fixed reference point, per seed; and the process CPU time of
every ``ask`` (rung: ``Study.ask``; Optuna: ``Study.ask`` plus the ``suggest_float`` calls of
that trial, where its independent samplers draw), the cost side of ``searcher="auto"``.
The report gives the median hypervolume and its interquartile range over seeds per checkpoint,
the ratio of each median to the best Optuna sampler's (sequential), the two-sided Mann-Whitney
U p-value of rung's best sequential searcher and of rung's ``tpe`` against the best Optuna
sampler (and of rung's ``gp`` against its ``tpe``, and of the 8-in-flight runs against
Optuna's TPE with 8 in flight), and the median and mean suggestion time.

Problems (every objective minimized; the hypervolume counts only points strictly better than
the reference in every objective, and only feasible ones where there are constraints):

* ``zdt1``, ``zdt2``: Zitzler, Deb and Thiele (2000), d = 6 on [0, 1]^6, reference (1.1, 11)
  (ideal hypervolume 11.767 and 11.433);
* ``dtlz2``: Deb, Thiele, Laumanns and Zitzler (2002), 3 objectives, d = 6, reference
  (1.5, 1.5, 1.5) (ideal 3.375 - pi / 6 = 2.851);
* ``osy``: Osyczka and Kundu (1995), 2 objectives, d = 6, six inequality constraints (about 3%
  of the box is feasible); reference (0, 100), feasible points only (no closed-form ideal).

Methods: rung's ``random``, ``sobol``, ``tpe`` (MOTPE), ``gp`` (ParEGO; since gp version 10,
EHVI x PoF on two objectives with constraints) and ``bohb`` searchers (``scheduler="fifo"``,
``max_step=1``), sequential; ``tpe-indep``, rung's ``tpe`` with ``multivariate=False`` (one
kernel per parameter, as Optuna's default); and ``tpe`` and ``gp`` with 8 trials in
flight (``-w8``: 8 asked, the oldest told first, as 8 equal-duration workers would); Optuna
5's ``TPESampler`` with its defaults (for several objectives ``multivariate=None`` means the
independent TPE, as Optuna recommends; constant liar on), ``NSGAIISampler``
(``population_size=20``: the default 50 leaves one generation of selection in 100 trials)
and ``GPSampler`` (logEHVI, ``deterministic_objective=True``; needs torch), sequential, and
``TPESampler`` with 8 in flight. Constraints reach Optuna through ``constraints_func``.

Usage (results go to a JSON file; runs with the same file merge into it, per seed)::

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/bench_multiobjective.py --seeds 10 \\
        --problems zdt1 --methods rung-tpe,optuna-tpe --out benchmarks/results/multiobjective/mo.json
    python benchmarks/bench_multiobjective.py --report benchmarks/results/multiobjective/mo.json
    python benchmarks/bench_multiobjective.py --report benchmarks/results/multiobjective/mo.json \\
        --write                       # append (or replace) the section in RESULTS.md

BLAS and torch are pinned to one thread, so both libraries are timed alike on a shared machine.
"""

from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import rung  # noqa: E402
from rung.multiobjective import hypervolume  # noqa: E402
from rung.storage import MemoryJournal  # noqa: E402

log = logging.getLogger("bench_multiobjective")
HERE = Path(__file__).parent
DEFAULT_OUT = HERE / "results" / "multiobjective" / "mo.json"
SECTION = "bench_multiobjective"
CHECKPOINTS = (30, 60, 100)
IN_FLIGHT = 8

# --- problems -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """A box-bounded test problem: ``fn(x)`` gives the objectives (all minimized) and the
    constraint slacks (feasible when every slack is >= 0)."""

    name: str
    title: str
    low: tuple[float, ...]
    high: tuple[float, ...]
    n_objectives: int
    n_constraints: int
    reference: tuple[float, ...]
    ideal: float | None
    fn: Callable[[np.ndarray], tuple[list[float], list[float]]]

    @property
    def d(self) -> int:
        return len(self.low)


def _zdt(x: np.ndarray, which: int) -> tuple[list[float], list[float]]:
    f1 = float(x[0])
    g = 1.0 + 9.0 * float(np.mean(x[1:]))
    f2 = g * (1.0 - math.sqrt(f1 / g)) if which == 1 else g * (1.0 - (f1 / g) ** 2)
    return [f1, f2], []


def _dtlz2(x: np.ndarray) -> tuple[list[float], list[float]]:
    g = float(np.sum((x[2:] - 0.5) ** 2))
    a, b = x[0] * math.pi / 2, x[1] * math.pi / 2
    return [(1 + g) * math.cos(a) * math.cos(b), (1 + g) * math.cos(a) * math.sin(b),
            (1 + g) * math.sin(a)], []


def _osy(x: np.ndarray) -> tuple[list[float], list[float]]:
    x1, x2, x3, x4, x5, x6 = (float(v) for v in x)
    f1 = -(25 * (x1 - 2) ** 2 + (x2 - 2) ** 2 + (x3 - 1) ** 2 + (x4 - 4) ** 2 + (x5 - 1) ** 2)
    f2 = float(np.sum(np.square(x)))
    slack = [x1 + x2 - 2, 6 - x1 - x2, 2 - x2 + x1, 2 - x1 + 3 * x2,
             4 - (x3 - 3) ** 2 - x4, (x5 - 3) ** 2 + x6 - 4]
    return [f1, f2], slack


PROBLEMS: dict[str, Problem] = {
    "zdt1": Problem("zdt1", "ZDT1, d = 6, 2 objectives", (0.0,) * 6, (1.0,) * 6, 2, 0,
                    (1.1, 11.0), 12.1 - 1 / 3, lambda x: _zdt(x, 1)),
    "zdt2": Problem("zdt2", "ZDT2, d = 6, 2 objectives", (0.0,) * 6, (1.0,) * 6, 2, 0,
                    (1.1, 11.0), 12.1 - 2 / 3, lambda x: _zdt(x, 2)),
    "dtlz2": Problem("dtlz2", "DTLZ2, d = 6, 3 objectives", (0.0,) * 6, (1.0,) * 6, 3, 0,
                     (1.5, 1.5, 1.5), 1.5 ** 3 - math.pi / 6, _dtlz2),
    "osy": Problem("osy", "OSY (Osyczka-Kundu), d = 6, 2 objectives, 6 constraints",
                   (0.0, 0.0, 1.0, 0.0, 1.0, 0.0), (10.0, 10.0, 5.0, 6.0, 5.0, 10.0), 2, 6,
                   (0.0, 100.0), None, _osy),
}

# --- runners --------------------------------------------------------------------------------


@dataclass(slots=True)
class Run:
    """One seed's study: objective rows and feasibility in the order trials were told, and
    the CPU seconds of every ask."""

    Y: list[list[float]]
    feasible: list[bool]
    ask_cpu: list[float]
    cpu: float
    wall: float


def run_rung(problem: Problem, searcher: Any, seed: int, n_trials: int, workers: int) -> Run:
    names = [f"x{i}" for i in range(problem.d)]
    space = {n: rung.Float(lo, hi) for n, lo, hi in zip(names, problem.low, problem.high,
                                                         strict=True)}
    study = rung.Study.create(
        "mo", space, objective=[f"obj{j}" for j in range(problem.n_objectives)],
        constraints=[f"slack{j} >= 0" for j in range(problem.n_constraints)],
        searcher=searcher, scheduler="fifo", max_step=1, budget={"n_trials": n_trials},
        seed=seed, storage=MemoryJournal(),
    )
    out = Run([], [], [], 0.0, 0.0)
    c0, w0 = time.process_time(), time.perf_counter()
    inflight: list[Any] = []
    done = False
    while True:
        while not done and len(inflight) < workers:
            t = time.process_time()
            trial = study.ask()
            out.ask_cpu.append(time.process_time() - t)
            if trial is None:
                out.ask_cpu.pop()  # the ask that found the budget spent suggests nothing
                done = True
            else:
                inflight.append(trial)
        if not inflight:
            break
        trial = inflight.pop(0)  # equal durations: the oldest finishes first
        y, slack = problem.fn(np.array([trial.params[n] for n in names]))
        study.tell(trial.id, "completed", {**{f"obj{j}": v for j, v in enumerate(y)},
                                           **{f"slack{j}": v for j, v in enumerate(slack)}})
        out.Y.append(y)
        out.feasible.append(all(s >= 0 for s in slack))
    out.cpu, out.wall = time.process_time() - c0, time.perf_counter() - w0
    return out


def _optuna_sampler(kind: str, seed: int, constrained: bool) -> Any:
    import optuna

    cons = _constraints if constrained else None
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constraints_func=cons)
    if kind == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=20,
                                             constraints_func=cons)
    if kind == "gp":
        return optuna.samplers.GPSampler(seed=seed, deterministic_objective=True,
                                         constraints_func=cons)
    raise ValueError(kind)


def _constraints(trial: Any) -> Sequence[float]:
    """Optuna's convention: feasible when every value is <= 0."""
    return [-s for s in trial.user_attrs["slack"]]


def run_optuna(problem: Problem, kind: str, seed: int, n_trials: int, workers: int) -> Run:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        directions=["minimize"] * problem.n_objectives,
        sampler=_optuna_sampler(kind, seed, problem.n_constraints > 0))
    out = Run([], [], [], 0.0, 0.0)
    c0, w0 = time.process_time(), time.perf_counter()
    inflight: list[tuple[Any, np.ndarray]] = []
    asked = 0
    while len(out.Y) < n_trials:
        while asked < n_trials and len(inflight) < workers:
            t = time.process_time()
            trial = study.ask()
            x = np.array([trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in
                          enumerate(zip(problem.low, problem.high, strict=True))])
            out.ask_cpu.append(time.process_time() - t)
            inflight.append((trial, x))
            asked += 1
        trial, x = inflight.pop(0)
        y, slack = problem.fn(x)
        if problem.n_constraints:
            trial.set_user_attr("slack", slack)
        study.tell(trial, y)
        out.Y.append(y)
        out.feasible.append(all(s >= 0 for s in slack))
    out.cpu, out.wall = time.process_time() - c0, time.perf_counter() - w0
    return out


@dataclass(frozen=True, slots=True)
class Method:
    lib: str
    kind: str
    workers: int
    params: tuple[tuple[str, Any], ...] = ()  # rung searcher params, e.g. multivariate=False


METHODS: dict[str, Method] = {
    "rung-random": Method("rung", "random", 1),
    "rung-sobol": Method("rung", "sobol", 1),
    "rung-tpe": Method("rung", "tpe", 1),
    "rung-gp": Method("rung", "gp", 1),
    "rung-bohb": Method("rung", "bohb", 1),
    "rung-tpe-indep": Method("rung", "tpe", 1, (("multivariate", False),)),
    "rung-tpe-w8": Method("rung", "tpe", IN_FLIGHT),
    "rung-gp-w8": Method("rung", "gp", IN_FLIGHT),
    "optuna-tpe": Method("optuna", "tpe", 1),
    "optuna-nsga2": Method("optuna", "nsga2", 1),
    "optuna-gp": Method("optuna", "gp", 1),
    "optuna-tpe-w8": Method("optuna", "tpe", IN_FLIGHT),
}


def measure(problem: Problem, method: str, seed: int, n_trials: int) -> dict[str, Any]:
    """One seed: hypervolume and feasible count at each checkpoint, ask CPU times."""
    m = METHODS[method]
    kind: Any = {"name": m.kind, "params": dict(m.params)} if m.params else m.kind
    run = (run_rung if m.lib == "rung" else run_optuna)(problem, kind, seed, n_trials,
                                                        m.workers)
    Y, F = np.array(run.Y, dtype=float), np.array(run.feasible, dtype=bool)
    ref = np.array(problem.reference)
    hv, feas = {}, {}
    for k in CHECKPOINTS:
        if k <= len(Y):
            hv[str(k)] = hypervolume(Y[:k][F[:k]], ref) if F[:k].any() else 0.0
            feas[str(k)] = int(F[:k].sum())
    ms = np.array(run.ask_cpu) * 1e3
    return {"hv": hv, "feasible": feas, "trials": len(Y),
            "ask_ms_median": float(np.median(ms)), "ask_ms_mean": float(np.mean(ms)),
            "ask_ms_last10": float(np.mean(ms[-10:])), "cpu_s": run.cpu, "wall_s": run.wall}


# --- report ---------------------------------------------------------------------------------


def load(paths: Sequence[str]) -> dict[str, Any]:
    """Merge result files: ``runs[problem][method][seed]``, and the commands that made them."""
    merged: dict[str, Any] = {"runs": {}, "commands": []}
    for p in paths:
        with open(p) as f:
            d = json.load(f)
        for prob, by_method in d["runs"].items():
            for meth, by_seed in by_method.items():
                merged["runs"].setdefault(prob, {}).setdefault(meth, {}).update(by_seed)
        merged["commands"] += [c for c in d.get("commands", []) if c not in merged["commands"]]
    return merged


def _hvs(rows: dict[str, Any], k: int) -> list[float]:
    return [r["hv"][str(k)] for r in rows.values() if str(k) in r["hv"]]


def _p(a: Sequence[float], b: Sequence[float]) -> float:
    from scipy.stats import mannwhitneyu

    if len(a) < 2 or len(b) < 2:
        return math.nan
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


def _g(x: float) -> str:
    if math.isnan(x):
        return "-"
    return f"{x:.4g}" if abs(x) < 1e4 else f"{x:.0f}"


def _cell(v: Sequence[float]) -> str:
    if not v:
        return "-"
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return f"{_g(med)} [{_g(q1)}, {_g(q3)}]"


def _pfmt(p: float) -> str:
    return "-" if math.isnan(p) else (f"{p:.2g}" if p < 0.01 else f"{p:.2f}")


def best_of(runs: dict[str, Any], prefix: str, k: int, parallel: bool = False) -> str | None:
    """The method of ``prefix`` (``optuna-`` / ``rung-``) with the highest median at ``k``
    among sequential methods (or 8-in-flight ones)."""
    best, best_med = None, -math.inf
    for m, rows in runs.items():
        if not m.startswith(prefix) or m not in METHODS:
            continue
        if (METHODS[m].workers > 1) != parallel:
            continue
        v = _hvs(rows, k)
        if v and float(np.median(v)) > best_med:
            best, best_med = m, float(np.median(v))
    return best


def report(data: dict[str, Any]) -> str:
    runs_all = data["runs"]
    out: list[str] = []
    seeds_seen = sorted({len(rows) for by in runs_all.values() for rows in by.values()})
    out.append(
        "Hypervolume (higher is better) of the first k told trials against the fixed reference "
        "point below, median [interquartile range] over seeds; `ratio` is the median over the "
        "best sequential Optuna sampler's median at that k. `ask ms`: process CPU per "
        "suggestion (rung `Study.ask`; Optuna `ask` plus the trial's `suggest_float` calls), "
        "median and mean over all asks of all seeds, and the mean of each study's last 10 "
        "asks (a model's cost grows with the trials); "
        "`CPU s`: mean per study. `w` = trials in flight (8: the oldest told first). Seeds per "
        f"row: {', '.join(map(str, seeds_seen))}.")
    summary: list[list[str]] = []
    for pname in [p for p in PROBLEMS if p in runs_all]:
        prob = PROBLEMS[pname]
        runs = runs_all[pname]
        ideal = f", ideal hypervolume {prob.ideal:.4g}" if prob.ideal is not None else ""
        feas_note = ", feasible points only" if prob.n_constraints else ""
        out.append(f"\n### {pname}: {prob.title}\n\nReference point "
                   f"({', '.join(_g(r) for r in prob.reference)}){feas_note}{ideal}.\n")
        peer = {k: best_of(runs, "optuna-", k) for k in CHECKPOINTS}
        peer_med = {k: float(np.median(_hvs(runs[m], k))) if m else math.nan
                    for k, m in peer.items()}
        head = ["method", "w", "seeds", *[f"HV @{k}" for k in CHECKPOINTS],
                f"ratio @{'/'.join(map(str, CHECKPOINTS))}"]
        if prob.n_constraints:
            head.append("feasible @100 (median)")
        head += ["ask ms median", "ask ms mean", "ask ms last 10", "CPU s"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for m in [m for m in METHODS if m in runs]:
            rows = runs[m]
            ratios = [(f"{float(np.median(_hvs(rows, k))) / peer_med[k]:.3f}"
                       if _hvs(rows, k) and peer_med[k] > 0 else "-") for k in CHECKPOINTS]
            cells = [m.removesuffix("-w8"), str(METHODS[m].workers), str(len(rows)),
                     *[_cell(_hvs(rows, k)) for k in CHECKPOINTS], " / ".join(ratios)]
            if prob.n_constraints:
                f100 = [r["feasible"].get("100") for r in rows.values()]
                cells.append(_g(float(np.median([f for f in f100 if f is not None])))
                             if any(f is not None for f in f100) else "-")
            cells += [f"{np.median([r['ask_ms_median'] for r in rows.values()]):.3g}",
                      f"{np.mean([r['ask_ms_mean'] for r in rows.values()]):.3g}",
                      f"{np.mean([r['ask_ms_last10'] for r in rows.values()]):.3g}",
                      f"{np.mean([r['cpu_s'] for r in rows.values()]):.3g}"]
            lines.append("| " + " | ".join(cells) + " |")
        out.append("\n".join(lines))
        for k in CHECKPOINTS:
            pm = peer[k]
            if pm is None:
                continue
            ref = _hvs(runs[pm], k)
            row = [pname, str(k), f"{pm.removeprefix('optuna-')} {_g(peer_med[k])}"]
            rb = best_of(runs, "rung-", k)
            for who in (rb, "rung-tpe"):
                v = _hvs(runs.get(who, {}), k) if who else []
                if who and v:
                    med = float(np.median(v))
                    label = f"{who.removeprefix('rung-')} " if who == rb else ""
                    row.append(f"{label}{_g(med)} ({med / peer_med[k]:.3f}x, p "
                               f"{_pfmt(_p(v, ref))})")
                else:
                    row.append("-")
            gp, tpe = _hvs(runs.get("rung-gp", {}), k), _hvs(runs.get("rung-tpe", {}), k)
            row.append(f"{float(np.median(gp)) / float(np.median(tpe)):.3f}x, p "
                       f"{_pfmt(_p(gp, tpe))}" if gp and tpe else "-")
            for suffix in ("", "-w8"):
                rt, ot = (_hvs(runs.get(f"rung-tpe{suffix}", {}), k),
                          _hvs(runs.get(f"optuna-tpe{suffix}", {}), k))
                row.append(f"{float(np.median(rt)) / float(np.median(ot)):.3f}x, p "
                           f"{_pfmt(_p(rt, ot))}" if rt and ot else "-")
            summary.append(row)
    if summary:
        out.append(
            "\n### Against the best Optuna sampler\n\n"
            "Per problem and k: the best sequential Optuna sampler by median; rung's best "
            "sequential searcher by median and rung's `tpe` (`auto`'s choice for several "
            "objectives when this ran; since commit fffd8d9 `auto` applies the one-objective "
            "rules, which pick `gp` for these spaces), each as median (ratio to Optuna's best, "
            "two-sided Mann-Whitney p over the seeds); then ratios of medians with their p: rung `gp` over rung `tpe`, and "
            "rung's `tpe` over Optuna's `TPESampler`, sequential and with 8 trials in flight "
            "each.\n")
        head = ["problem", "k", "best Optuna", "best rung", "rung tpe", "rung gp / tpe",
                "tpe: rung / Optuna", "tpe w8: rung / Optuna"]
        out.append("\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                             + ["| " + " | ".join(r) + " |" for r in summary]))
    cpu = sum(r["cpu_s"] for by in runs_all.values() for rows in by.values()
              for r in rows.values())
    out.append(f"\nTotal CPU of the studies behind these tables: {cpu / 60:.1f} min "
               f"({sum(len(rows) for by in runs_all.values() for rows in by.values())} studies).")
    return "\n".join(out)


def write_section(body: str, commands: Sequence[str]) -> None:
    """Append the section to RESULTS.md in one write (another script may be appending its
    own); replace it instead when it is there already, its command line naming every run
    behind the tables (``commands``), as when it was appended."""
    sys.path.insert(0, str(HERE))
    import datetime
    import re

    from _results import RESULTS, machine

    cmd = "; ".join(f"`{c}`" for c in commands)
    head = (f"- command: {cmd}\n- machine: {machine()}\n"
            f"- date: {datetime.date.today().isoformat()}\n\n")
    text = RESULTS.read_text()  # read right before writing
    section = f"## {SECTION}\n\n{head}" + body.strip() + "\n"
    pattern = re.compile(rf"^## {re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        RESULTS.write_text(pattern.sub(lambda _: section + "\n", text).rstrip("\n") + "\n")
        return
    with open(RESULTS, "a") as f:
        f.write(("\n" if text.endswith("\n") else "\n\n") + f"## {SECTION}\n\n{head}"
                + body.strip() + "\n")


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=max(CHECKPOINTS))
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--out", default=str(DEFAULT_OUT),
                    help="result JSON; an existing file is merged into, per seed")
    ap.add_argument("--report", default=None,
                    help="comma-separated result JSON files: print the tables (no runs)")
    ap.add_argument("--write", action="store_true",
                    help="with --report: append the section to benchmarks/RESULTS.md")
    ap.add_argument("--readme", default=None,
                    help="with --write: a Markdown file appended to the section (the reading)")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")  # Optuna's ExperimentalWarning for GPSampler options
    if args.report:
        merged = load(args.report.split(","))
        body = report(merged)
        if args.readme:
            body += "\n\n" + Path(args.readme).read_text()
        print(body)
        if args.write:
            report_cmd = "python " + " ".join(shlex.quote(a) for a in sys.argv)
            write_section(body, [*merged["commands"], report_cmd])
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("rung").setLevel(logging.WARNING)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    out = Path(args.out)
    data: dict[str, Any] = {"runs": {}, "commands": []}
    if out.exists():
        data = json.loads(out.read_text())
    cmd = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    if cmd not in data["commands"]:
        data["commands"].append(cmd)
    for pname in [p for p in args.problems.split(",") if p]:
        problem = PROBLEMS[pname]
        for method in [m for m in args.methods.split(",") if m]:
            if method not in METHODS:
                raise SystemExit(f"unknown method {method!r}; one of {', '.join(METHODS)}")
            rows = data["runs"].setdefault(pname, {}).setdefault(method, {})
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                r = measure(problem, method, seed, args.trials)
                rows[str(seed)] = r
                log.info("%s %s seed %d: hv %s, ask %.1f ms (mean %.1f), %.1f s CPU", pname,
                         method, seed, {k: round(v, 4) for k, v in r["hv"].items()},
                         r["ask_ms_median"], r["ask_ms_mean"], r["cpu_s"])
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(data, indent=1))
    print(report(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
