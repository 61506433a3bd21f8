"""Allocation at equal compute: rung's multi-fidelity methods and its peers on one virtual clock
(issue 14, item 2).

Tasks: the learning-curve tables of ``benchmarks/make_curves.py`` (``hgb-magic``, ``hgb-german``,
``hgb-ring``, ``hgb-banana``, ``mlp-mnist1d``; validation error, replayed by
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
+ ASHA (as Syne Tune runs it), TPE + ASHA, GP + ASHA, the median stopping rule. All with
``eta = 3`` and a first rung at step 1. Peers: Syne Tune 0.16's simulator back end
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
import contextlib  # noqa: E402
import datetime  # noqa: E402
import heapq  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import multiprocessing  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterable, Mapping  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Protocol  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from _results import table, write_section  # noqa: E402
from bench_schedulers import top_value, values_at  # noqa: E402
from bench_searchers import _ask_params, _optuna_distributions  # noqa: E402

import rung  # noqa: E402
from rung import Budget, Objective, Study  # noqa: E402
from rung.benchmarks import CurveTable, get_benchmark, regret  # noqa: E402
from rung.schedulers import (  # noqa: E402
    ASHA,
    AsyncHyperband,
    CurveASHA,
    Hyperband,
    MedianStoppingRule,
)
from rung.storage import MemoryJournal  # noqa: E402

HERE = Path(__file__).resolve().parent
CURVES = HERE / "curves"
OUT = HERE / "results" / "allocation"
FRACTIONS = (0.1, 0.2, 1 / 3, 0.5, 1.0)
FRACTION_NAMES = ("1/10", "1/5", "1/3", "1/2", "1")
ETA = 3
REFERENCE = "random+fifo"
DEFAULT = "default"

# --- tasks ------------------------------------------------------------------------------------

TABLES = ("hgb-magic", "hgb-german", "hgb-ring", "hgb-banana", "mlp-mnist1d")
SYNTHETIC: dict[str, tuple[str, dict[str, Any]]] = {
    "mf-hartmann3": ("mf-hartmann3", {}),
    "mf-hartmann6": ("mf-hartmann6", {}),
    "mf-branin": ("mf-branin", {}),
    "counting-ones": ("counting-ones", {}),
}
TASKS = (*TABLES, *SYNTHETIC)


class Problem:
    """A benchmark with what the harness needs: a lower-is-better ``score`` of a result, the
    regret of a configuration, a key that identifies a configuration (its table row, or its
    parameters), and the compute budget."""

    def __init__(self, task: str, seed: int, rows: int | None, full_trials: int) -> None:
        self.task = task
        if task in TABLES:
            path = CURVES / f"{task}.npz"
            self.bench: Any = CurveTable(path, metric="val_error", rows=clamp_rows(path, rows))
            self.rows: int | None = len(self.bench.params)
            full = float(self.bench.seconds.sum(axis=1).mean())
        else:
            name, kwargs = SYNTHETIC[task]
            self.bench = get_benchmark(name, seed=seed, **kwargs)
            self.rows = None
            full = mean_full_cost(self.bench)
        self.space = self.bench.space
        self.max_step: int = self.bench.max_step
        self.metric: str = self.bench.metric
        self.sign = 1.0 if self.bench.mode == "min" else -1.0
        self.full_cost = full
        self.budget = full_trials * full  # worker-seconds
        self._regret: dict[Any, float] = {}

    def key(self, params: Mapping[str, Any]) -> Any:
        if isinstance(self.bench, CurveTable):
            return self.bench.row_of(params)
        return json.dumps(dict(params), sort_keys=True)

    def step(self, params: Mapping[str, Any], step: int) -> tuple[float, float]:
        """``(score, seconds)`` of ``step``: score is lower-is-better."""
        metrics, seconds = self.bench.evaluate(params, step)
        return self.sign * float(metrics[self.metric]), float(seconds)

    def regret(self, params: Mapping[str, Any]) -> float:
        k = self.key(params)
        r = self._regret.get(k)
        if r is None:
            if isinstance(self.bench, CurveTable):
                value = self.bench.final_value(params)
            else:
                value = top_value(self.bench, params)
            r = self._regret[k] = regret(self.bench, value)
        return r


def clamp_rows(path: Path, rows: int | None) -> int | None:
    """``rows`` (``None``: all), at most the rows the table has now (it may still be growing)."""
    with np.load(path, allow_pickle=False) as z:
        n = len(z["params"])
    if rows is not None and rows > n:
        logging.getLogger("bench_allocation").warning(
            "%s has %d rows, fewer than --rows %d: using %d", path.name, n, rows, n)
    return n if rows is None else min(rows, n)


_FULL_COST: dict[str, float] = {}


def mean_full_cost(bench: Any, n: int = 1000) -> float:
    """Mean over ``n`` configurations drawn with a fixed seed (memoized per benchmark)."""
    key = json.dumps(bench.to_json()["params"] | {"name": bench.name, "seed": None},
                     sort_keys=True, default=str)
    if key in _FULL_COST:
        return _FULL_COST[key]
    rng = np.random.default_rng(12345)
    total = 0.0
    for _ in range(n):
        p = bench.space.sample(rng)
        total += sum(bench.evaluate(p, s)[1] for s in range(1, bench.max_step + 1))
    _FULL_COST[key] = total / n
    return total / n


# --- incumbent and regret (pure) -------------------------------------------------------------

Obs = tuple[float, int, int, float]  # (time, trial handle, step, score: lower is better)


def incumbent_trajectory(obs: Iterable[Obs], max_step: int) -> list[tuple[float, int]]:
    """``[(time, handle), ...]``: the incumbent (module docstring) after every change, from
    results in time order (a stable sort keeps the reported order of simultaneous results)."""
    out: list[tuple[float, int]] = []
    top_best: tuple[float, int] | None = None  # (score, handle) among results at max_step
    high_step = 0
    high_best: tuple[float, int] | None = None  # best at the highest step reached
    current: int | None = None
    for t, h, s, v in sorted(obs, key=lambda o: o[0]):
        if s == max_step and (top_best is None or v < top_best[0]):
            top_best = (v, h)
        if s > high_step:
            high_step, high_best = s, (v, h)
        elif s == high_step and high_best is not None and v < high_best[0]:
            high_best = (v, h)
        inc = top_best[1] if top_best is not None else high_best[1] if high_best else None
        if inc is not None and inc != current:
            current = inc
            out.append((t, inc))
    return out


def regret_curve(
    obs: Iterable[Obs], max_step: int, n_workers: int, horizon: float,
    regret_of: Callable[[int], float],
) -> list[tuple[float, float, float]]:
    """``[(compute, time, regret), ...]`` change points of the incumbent's regret up to
    ``horizon`` (virtual seconds); compute is ``n_workers x time``."""
    out: list[tuple[float, float, float]] = []
    for t, h in incumbent_trajectory([o for o in obs if o[0] <= horizon], max_step):
        r = regret_of(h)
        if out and out[-1][0] == n_workers * t:
            out[-1] = (n_workers * t, t, r)
        elif not out or r != out[-1][2]:
            out.append((n_workers * t, t, r))
    return out


def reach_fraction(
    runs: list[Mapping[str, Any]], target: float, budget: float
) -> float | None:
    """The fraction of ``budget`` from which the median (over runs) regret stays at or below
    ``target`` until the budget; ``None`` if it is above it at the budget. The curves are step
    functions, so the median is evaluated exactly at every point where one of them moves. A
    median that touches the target and leaves it again (a lucky early incumbent) has not
    reached it."""
    xs = sorted({float(q[0]) for r in runs for q in r["curve"] if q[0] <= budget} | {budget})
    grid = np.array(xs)
    with np.errstate(invalid="ignore"):
        med = np.median(values_at(list(runs), grid, "curve"), axis=0)
    ok = med <= target
    if not ok[-1]:
        return None
    bad = np.nonzero(~ok)[0]
    return float(grid[0 if len(bad) == 0 else bad[-1] + 1]) / budget


def regret_at(curve: list[Any], x: float) -> float:
    """Regret once ``x`` compute is spent (``inf`` before the first result)."""
    value = math.inf
    for p in curve:
        if p[0] > x:
            break
        value = p[2]
    return value


# --- the event-heap simulator for ask/tell peers ---------------------------------------------


class AskTellPeer(Protocol):
    def start(self) -> tuple[Mapping[str, Any], int] | None:
        """A new trial: ``(params, last step to train)``, or ``None`` (nothing to start)."""

    def report(self, handle: int, step: int, score: float) -> bool:
        """A step's score; ``False`` stops the trial here."""

    def end(self, handle: int, step: int, score: float, completed: bool) -> None:
        """The trial ended at ``step`` (``completed``: it reached its last step)."""


@dataclass
class AskTellRun:
    obs: list[Obs] = field(default_factory=list)
    params: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    busy: float = 0.0


def simulate_ask_tell(
    peer: AskTellPeer,
    step_fn: Callable[[Mapping[str, Any], int], tuple[float, float]],
    n_workers: int,
    horizon: float,
) -> AskTellRun:
    """Run an ask/tell optimizer on ``n_workers`` simulated slots until ``horizon``.

    A trial is a sequence of steps from 1; ``step_fn(params, step) -> (score, seconds)`` gives
    each step's result and cost. Step ``s`` of a trial started at ``t0`` finishes at ``t0`` plus
    the costs of steps ``1..s``; its result is reported then, and a trial that ends (its last
    step, or a ``False`` from ``report``) frees its slot at that instant, which asks for the next
    trial at once. Events are ordered by ``(time, sequence)``: deterministic. Handles are
    ``0, 1, 2, ...`` in start order. Nothing finishing after ``horizon`` is reported."""
    run = AskTellRun()
    heap: list[tuple[float, int, int, int, int]] = []  # (time, seq, handle, step, last)
    seq = 0
    next_handle = 0

    def launch(now: float) -> bool:
        nonlocal seq, next_handle
        got = peer.start()
        if got is None:
            return False
        params, last = got
        h = next_handle
        next_handle += 1
        run.params[h] = params
        _, cost = step_fn(params, 1)
        heapq.heappush(heap, (now + cost, seq, h, 1, last))
        seq += 1
        return True

    for _ in range(n_workers):
        if not launch(0.0):
            break
    while heap:
        t, _, h, s, last = heapq.heappop(heap)
        if t > horizon:
            break
        params = run.params[h]
        score, cost = step_fn(params, s)
        run.busy += cost
        run.obs.append((t, h, s, score))
        go_on = peer.report(h, s, score)
        if s >= last or not go_on:
            peer.end(h, s, score, completed=s >= last)
            launch(t)
        else:
            _, nxt = step_fn(params, s + 1)
            heapq.heappush(heap, (t + nxt, seq, h, s + 1, last))
            seq += 1
    return run


# --- rung ----------------------------------------------------------------------------------


def rung_asha(searcher: str, variant: str = "stopping") -> dict[str, Any]:
    return {"searcher": searcher, "scheduler": ASHA(ETA, variant=variant)}


RUNG_METHODS: dict[str, Callable[[], dict[str, Any]]] = {
    DEFAULT: lambda: {},  # Study.create's own choice
    REFERENCE: lambda: {"searcher": "random", "scheduler": "fifo"},
    "asha": lambda: rung_asha("random"),
    "asha-promotion": lambda: rung_asha("random", "promotion"),
    "hyperband": lambda: {"searcher": "random", "scheduler": Hyperband(ETA)},
    "async-hyperband": lambda: {"searcher": "random", "scheduler": AsyncHyperband(ETA)},
    "bohb": lambda: {"searcher": "bohb", "scheduler": Hyperband(ETA)},
    "bohb+asha": lambda: rung_asha("bohb"),
    "tpe+asha": lambda: rung_asha("tpe"),
    "gp+asha": lambda: rung_asha("gp"),
    "median": lambda: {"searcher": "random",
                       "scheduler": MedianStoppingRule(grace_period=3, min_trials=3)},
    "curve": lambda: {"searcher": "random", "scheduler": CurveASHA(ETA)},
    "asha-auto": lambda: {"searcher": "random", "scheduler": ASHA(ETA, min_step="auto")},
}


def run_rung(method: str, p: Problem, workers: int, seed: int) -> dict[str, Any]:
    horizon = p.budget / workers
    study = Study.create(
        method, p.space, Objective(p.metric, p.bench.mode), max_step=p.max_step,
        budget=Budget(max_time=horizon), seed=seed, storage=MemoryJournal(),
        **RUNG_METHODS[method](),
    )
    study.simulate(p.bench, n_workers=workers)
    params: dict[int, Mapping[str, Any]] = {}
    obs: list[Obs] = []
    for t in study.trials():
        params[t.id] = t.params
        for r in t.results:
            v = r.metrics.get(p.metric)
            if v is not None:
                obs.append((float(r.time), t.id, r.step, p.sign * float(v)))
    spec = study.spec
    return {"obs": obs, "params": params, "busy": float(study.last_executor.busy_time),
            "chosen": f"{spec.searcher.name}+{spec.scheduler.name}"}


# --- Optuna 5 and DEHB through ask/tell ------------------------------------------------------


class OptunaPeer:
    """TPE with a pruner; trials report every step and stop when ``should_prune``."""

    def __init__(self, p: Problem, pruner: str, seed: int) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if pruner == "hyperband":
            pr: Any = optuna.pruners.HyperbandPruner(
                min_resource=1, max_resource=p.max_step, reduction_factor=ETA)
        else:
            pr = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=ETA)
        self.optuna = optuna
        self.study = optuna.create_study(
            sampler=optuna.samplers.TPESampler(seed=seed), pruner=pr, direction="minimize")
        self.p = p
        self.dists = _optuna_distributions(p.space)
        self.trials: dict[int, Any] = {}
        self.n = 0

    def start(self) -> tuple[Mapping[str, Any], int]:
        t = self.study.ask()
        self.trials[self.n] = t
        self.n += 1
        return _ask_params(t, self.p.space, self.dists), self.p.max_step

    def report(self, handle: int, step: int, score: float) -> bool:
        t = self.trials[handle]
        t.report(score, step)
        return not t.should_prune()

    def end(self, handle: int, step: int, score: float, completed: bool) -> None:
        t = self.trials.pop(handle)
        if completed:
            self.study.tell(t, score)
        else:
            self.study.tell(t, state=self.optuna.trial.TrialState.PRUNED)


class DEHBPeer:
    """DEHB (Awad et al. 2021) on the unit cube of the space (``cs=None``), decoded by
    ``SearchSpace.from_unit``; a job trains from step 1 to its fidelity (DEHB does not resume),
    and its final score is told with its cost."""

    def __init__(self, p: Problem, seed: int, tmp: str) -> None:
        from dehb import DEHB

        self.p = p
        self.opt = DEHB(
            cs=None, dimensions=p.space.n_dims, min_fidelity=1, max_fidelity=p.max_step,
            eta=ETA, n_workers=1, seed=seed, output_path=tmp, save_freq=None,
            log_level="ERROR",
        )
        self.jobs: dict[int, tuple[dict[str, Any], float]] = {}
        self.n = 0

    def start(self) -> tuple[Mapping[str, Any], int]:
        job = self.opt.ask()
        params = self.p.space.from_unit(np.clip(np.asarray(job["config"], float), 0.0, 1.0))
        last = max(1, min(self.p.max_step, round(float(job["fidelity"]))))
        cost = sum(self.p.step(params, s)[1] for s in range(1, last + 1))
        self.jobs[self.n] = (job, cost)
        self.n += 1
        return params, last

    def report(self, handle: int, step: int, score: float) -> bool:
        return True

    def end(self, handle: int, step: int, score: float, completed: bool) -> None:
        job, cost = self.jobs.pop(handle)
        self.opt.tell(job, {"fitness": score, "cost": cost})


def run_ask_tell(method: str, p: Problem, workers: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        if method == "optuna-tpe+hyperband":
            peer: Any = OptunaPeer(p, "hyperband", seed)
        elif method == "optuna-tpe+sh":
            peer = OptunaPeer(p, "sh", seed)
        elif method == "dehb":
            logging.getLogger("distributed").setLevel(logging.ERROR)
            peer = DEHBPeer(p, seed, tmp)
            from loguru import logger

            logger.remove()
        else:
            raise ValueError(method)
        run = simulate_ask_tell(peer, p.step, workers, p.budget / workers)
    return {"obs": run.obs, "params": run.params, "busy": run.busy}


# --- Syne Tune 0.16 ---------------------------------------------------------------------------


def _syne_imports() -> Any:
    import types

    try:
        import huggingface_hub  # noqa: F401
    except ImportError:  # only blackbox_repository's download code imports it
        sys.modules["huggingface_hub"] = types.ModuleType("huggingface_hub")
        sys.modules["huggingface_hub"].snapshot_download = None  # type: ignore[attr-defined]
    import syne_tune

    return syne_tune


def _syne_space(space: rung.SearchSpace) -> dict[str, Any]:
    from syne_tune import config_space as cs

    out: dict[str, Any] = {}
    for name, q in space.params.items():
        if isinstance(q, rung.Float):
            out[name] = (cs.loguniform if q.log else cs.uniform)(q.low, q.high)
        elif isinstance(q, rung.Int):
            out[name] = (cs.lograndint if q.log else cs.randint)(q.low, q.high)
        elif isinstance(q, rung.Categorical):
            out[name] = cs.choice(list(q.choices))
        else:
            raise ValueError(f"{name}: no Syne Tune domain for {q!r}")
    return out


def run_syne(method: str, p: Problem, workers: int, seed: int) -> dict[str, Any]:
    _syne_imports()
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_backend import SimulatorConfig
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.backend.simulator_backend.time_keeper import SimulatedTimeKeeper
    from syne_tune.blackbox_repository.blackbox import Blackbox
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
    from syne_tune.config_space import randint
    from syne_tune.constants import ST_TUNER_TIME
    from syne_tune.optimizer import baselines as bl
    from syne_tune.optimizer.schedulers.median_stopping_rule import MedianStoppingRule as STMSR
    from syne_tune.tuner_callback import TunerCallback

    logging.getLogger("syne_tune").setLevel(logging.ERROR)
    space = _syne_space(p.space)
    steps = np.arange(1, p.max_step + 1)
    # Syne Tune's back end makes every step last at least 0.01 time units (it forces elapsed
    # times apart by 0.01): time is scaled so that a mean step lasts 10,000 units
    scale = 1e4 * p.max_step / p.full_cost

    class Table(Blackbox):  # the problem's curve of a configuration, every step at once
        def __init__(self) -> None:
            super().__init__(space, {"step": randint(1, p.max_step)}, ["score", "elapsed"])
            self.memo: dict[Any, np.ndarray] = {}

        def _objective_function(self, configuration: Any, fidelity: Any = None,
                                seed: Any = None) -> np.ndarray:
            params = {k: configuration[k] for k in space}
            key = p.key(params)
            arr = self.memo.get(key)
            if arr is None:
                res = [p.step(params, int(s)) for s in steps]
                arr = np.array([[v for v, _ in res], scale * np.cumsum([c for _, c in res])]).T
                self.memo[key] = arr
            if fidelity is not None:
                return dict(zip(self.objectives_names, arr[int(fidelity["step"]) - 1],
                                strict=True))
            return arr

        @property
        def fidelity_values(self) -> np.ndarray:
            return steps

    obs: list[Obs] = []
    params: dict[int, Mapping[str, Any]] = {}

    class Recorder(TunerCallback):
        def on_trial_result(self, trial: Any, status: str, result: dict[str, Any],
                            decision: str) -> None:
            params[trial.trial_id] = {k: trial.config[k] for k in space}
            obs.append((float(result[ST_TUNER_TIME]) / scale, trial.trial_id, int(result["step"]),
                        float(result["score"])))

    class VirtualClock(SimulatedTimeKeeper):  # the tuner's real computing time is not charged
        def real_time_since_last_recent_exit(self) -> float:
            return 0.0

    class EventDriven(SimulatorCallback):  # a sleep advances to the next event, not by 5 s
        def on_tuning_sleep(self, sleep_time: float) -> None:
            heap = backend._simulator_state.event_heap
            self._time_keeper.advance_to(heap[0][0] if heap else self._time_keeper.time())

    common = {"config_space": space, "do_minimize": True, "random_seed": seed}
    mf = {**common, "metric": "score", "time_attr": "step", "max_t": p.max_step,
          "grace_period": 1, "reduction_factor": ETA}
    n_rungs = round(math.log(p.max_step) / math.log(ETA)) + 1
    if method == "st-random":
        sched: Any = bl.RandomSearch(**common, metrics=["score"])
    elif method == "st-asha":
        sched = bl.ASHA(**mf)
    elif method == "st-hyperband":
        sched = bl.ASHA(**mf, brackets=n_rungs)
    elif method == "st-bohb":
        sched = bl.BOHB(**mf)
    elif method == "st-median":
        sched = STMSR(bl.RandomSearch(**common, metrics=["score"]), time_attr="step",
                      metric="score", do_minimize=True, random_seed=seed)
    else:
        raise ValueError(method)
    horizon = p.budget / workers
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SYNETUNE_FOLDER"] = tmp
        backend = UserBlackboxBackend(
            blackbox=Table(), elapsed_time_attr="elapsed",
            simulator_config=SimulatorConfig(0.0, 0.0, 0.0, 0.0, 0.0))
        backend._time_keeper = VirtualClock()
        tuner = Tuner(
            trial_backend=backend, scheduler=sched,
            stop_criterion=StoppingCriterion(max_wallclock_time=horizon * scale),
            n_workers=workers,
            sleep_time=0, callbacks=[EventDriven(), Recorder()], save_tuner=False,
            print_update_interval=1e12, results_update_interval=1e12,
            tuner_name=f"alloc-{os.getpid()}", suffix_tuner_name=True,
        )
        with contextlib.redirect_stdout(io.StringIO()):  # its tables and summary
            tuner.run()
    return {"obs": obs, "params": params}  # the back end does not expose busy time


# --- methods ----------------------------------------------------------------------------------

# name -> (family, runner); a family's package must be importable for its methods to run
METHODS: dict[str, tuple[str, Callable[[str, Problem, int, int], dict[str, Any]]]] = {
    **{m: ("rung", run_rung) for m in RUNG_METHODS},
    "st-random": ("syne_tune", run_syne),
    "st-asha": ("syne_tune", run_syne),
    "st-hyperband": ("syne_tune", run_syne),
    "st-bohb": ("syne_tune", run_syne),
    "st-median": ("syne_tune", run_syne),
    "optuna-tpe+hyperband": ("optuna", run_ask_tell),
    "optuna-tpe+sh": ("optuna", run_ask_tell),
    "dehb": ("dehb", run_ask_tell),
}
NOT_RUN = (
    "Syne Tune 0.16 ships no synchronous Hyperband, MOBSTER, HyperTune or DEHB any more (its "
    "Hyperband is ASHA with brackets, run as st-hyperband); ASHABORE needs xgboost (a CUDA "
    "stack), BOTorch and EHVI need torch + botorch, CQR/BORE/REA/TPE are single-fidelity."
)


def available(family: str) -> bool:
    if family == "rung":
        return True
    try:
        if family == "syne_tune":
            _syne_imports()
        else:
            __import__(family)
    except Exception:
        return False
    return True


def is_rung(method: str) -> bool:
    return METHODS[method][0] == "rung"


# --- one run ----------------------------------------------------------------------------------


def run_one(job: tuple[str, int, str, int, int | None, int]) -> dict[str, Any]:
    task, workers, method, seed, rows, full_trials = job
    logging.disable(logging.WARNING)
    p = Problem(task, seed, rows, full_trials)
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        res = METHODS[method][1](method, p, workers, seed)
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


# --- storage ----------------------------------------------------------------------------------


def run_key(r: Mapping[str, Any]) -> tuple[Any, ...]:
    return (r["task"], r["workers"], r["method"], r["seed"], r["rows"], r["full_trials"])


def load_runs(tasks: Iterable[str]) -> list[dict[str, Any]]:
    out = []
    for task in tasks:
        path = OUT / f"{task}.jsonl"
        if path.exists():
            out += [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]
    return out


def append_run(r: Mapping[str, Any]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / f"{r['task']}.jsonl", "a") as f:
        f.write(json.dumps(r, separators=(",", ":")) + "\n")


# --- report -----------------------------------------------------------------------------------


def _q(xs: np.ndarray) -> str:
    if not len(xs):
        return "—"
    with np.errstate(invalid="ignore"):
        q = np.quantile(xs, [0.25, 0.5, 0.75])
    return "—" if math.isinf(q[1]) else f"{q[1]:.4f} [{q[0]:.4f}, {q[2]:.4f}]"


def mann_whitney_less(a: list[float], b: list[float]) -> float | None:
    """One-sided p-value of ``a < b`` (regrets; ``inf`` ranks last)."""
    if len(a) < 2 or len(b) < 2:
        return None
    from scipy.stats import mannwhitneyu

    big = 1e300
    x = [min(v, big) for v in a]
    y = [min(v, big) for v in b]
    if len(set(x) | set(y)) == 1:
        return 1.0
    return float(mannwhitneyu(x, y, alternative="less").pvalue)


def best_of(methods: list[str], finals: Mapping[str, list[float]]) -> str | None:
    """The method of lowest median final regret (mean breaks ties)."""
    cands = [m for m in methods if finals.get(m)]
    if not cands:
        return None
    return min(cands, key=lambda m: (float(np.median(finals[m])),
                                     float(np.mean(np.minimum(finals[m], 1e300)))))


def cell_report(runs: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The markdown of one (task, workers) cell and its summary numbers."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by.setdefault(r["method"], []).append(r)
    budget = runs[0]["budget"]
    order = [m for m in METHODS if m in by] + sorted(m for m in by if m not in METHODS)
    fifo = by.get(REFERENCE, [])
    rows = []
    finals: dict[str, list[float]] = {}
    reaches: dict[str, float | None] = {}
    for m in order:
        rs = sorted(by[m], key=lambda r: r["seed"])
        finals[m] = [r["final_regret"] for r in rs]
        vals = values_at(rs, np.array([f * budget for f in FRACTIONS]), "curve")
        frac = None
        if fifo:
            target = float(np.median([r["final_regret"] for r in fifo]))
            frac = reaches[m] = reach_fraction(rs, target, budget)
        rows.append([
            m if is_rung(m) or m not in METHODS else f"*{m}*", len(rs),
            *[_q(vals[:, i]) for i in range(len(FRACTIONS))],
            "—" if frac is None else f"{frac:.3f}",
            f"{np.median([r['trials'] for r in rs]):.0f}",
            f"{np.median([r['trials_at_max_step'] for r in rs]):.0f}",
        ])
    md = table(["method", "seeds", *[f"regret @{n}" for n in FRACTION_NAMES],
                "compute to reach FIFO", "trials", "at max_step"], rows)
    ours = [m for m in order if m in METHODS and is_rung(m)]
    peers = [m for m in order if m in METHODS and not is_rung(m)]
    b_r, b_p = best_of(ours, finals), best_of(peers, finals)
    lines = []
    summary: dict[str, Any] = {"best_rung": b_r, "best_peer": b_p}
    if b_r and b_p:
        p1 = mann_whitney_less(finals[b_r], finals[b_p])
        p2 = mann_whitney_less(finals[b_p], finals[b_r])
        summary |= {"p_rung_ahead": p1, "p_peer_ahead": p2}
        lines.append(
            f"- best of rung: **{b_r}** (median {np.median(finals[b_r]):.4g}); best peer: "
            f"**{b_p}** (median {np.median(finals[b_p]):.4g}); one-sided Mann-Whitney "
            f"p(rung < peer) = {_p(p1)}, p(peer < rung) = {_p(p2)}")
    if DEFAULT in finals and REFERENCE in finals:
        p3 = mann_whitney_less(finals[REFERENCE], finals[DEFAULT])
        summary["p_default_behind_fifo"] = p3
        chosen = {r.get("chosen") for r in by[DEFAULT]} - {None}
        lines.append(
            f"- rung's default ({', '.join(sorted(chosen)) or '?'}) vs random+FIFO: "
            f"p(random+FIFO < default) = {_p(p3)} (> 0.05: not behind beyond seed noise)")
    summary["reach"] = reaches
    return md + "\n\n" + "\n".join(lines), summary


def _p(p: float | None) -> str:
    return "n/a" if p is None else f"{p:.3g}"


def cpu_model() -> str:
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def report(tasks: list[str], workers: list[int], rows: int | None, write: bool) -> str:
    all_runs = [r for r in load_runs(tasks) if r["workers"] in workers]
    parts = [
        f"Machine: {os.cpu_count()} cores ({cpu_model()}); generated "
        f"{datetime.date.today().isoformat()} from `benchmarks/results/allocation/*.jsonl` "
        "(per-seed curves). Definitions (compute = workers x virtual time, budget = 30 x the "
        "mean full-curve cost, incumbent, regret, compute to reach) are in the module "
        "docstring. Peers are in *italics* (`st-random`, Syne Tune's random search, also checks "
        "the harness against rung's random+FIFO). 'Best' is the lowest median regret at the "
        "budget over all of rung's methods (random+FIFO included) or all peers'. Regret: median "
        "[25%, 75%] over seeds; '—' before a method has any result.",
        f"Not run: {NOT_RUN}",
    ]
    cpu_total = 0.0
    for task in tasks:
        runs = [r for r in all_runs if r["task"] == task]
        if not runs:
            continue
        n_rows = rows if rows is not None else max((r["rows"] or 0) for r in runs) or None
        if task in TABLES and n_rows is not None:
            runs = [r for r in runs if r["rows"] == n_rows]
        ok = [r for r in runs if "error" not in r]
        cpu_total += sum(r.get("cpu_seconds", 0.0) for r in ok)
        for w in workers:
            cell = [r for r in runs if r["workers"] == w]
            if not [r for r in cell if "error" not in r]:
                continue
            md, _ = cell_report([r for r in cell if "error" not in r])
            crashed = [r for r in cell if "error" in r]
            extra = (f"\n- {len(crashed)} runs crashed, e.g. {crashed[0]['method']}: "
                     f"{crashed[0]['error'][:240]}" if crashed else "")
            ok0 = next(r for r in cell if "error" not in r)
            head = (f"### {task}, {w} worker{'s' if w > 1 else ''}"
                    + (f" ({n_rows} table rows)" if task in TABLES else "")
                    + f"\n\nbudget {ok0['budget']:.4g} worker-seconds = "
                      f"{ok0['full_trials']} x mean full curve {ok0['full_cost']:.4g} s\n")
            parts.append(head + "\n" + md + extra)
    tab = [t for t in tasks if t in TABLES]
    if tab:
        import make_curves

        parts.append("### Tables: tie share and Spearman rank correlation with the final step "
                     "(all rows on disk now)\n\n"
                     + make_curves.report([make_curves.TASKS[t] for t in tab]))
    parts.append(f"CPU time of the runs shown: {cpu_total / 60:.1f} min.")
    body = "\n\n".join(parts)
    if write:
        write_section("bench_allocation", body)
    return body


# --- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--workers", nargs="+", type=int, default=[1, 8, 64])
    ap.add_argument("--methods", nargs="+", default=None, choices=list(METHODS),
                    help="default: every method whose package is installed")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--rows", type=int, default=None,
                    help="use only the first N rows of each table (default: all on disk)")
    ap.add_argument("--full-trials", type=int, default=30, help="budget in full FIFO trials")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--report", action="store_true", help="report from the files only")
    ap.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.report:
        methods = args.methods or list(METHODS)
        fams = {METHODS[m][0] for m in methods}
        missing = {f for f in fams if not available(f)}
        for f in sorted(missing):
            print(f"skipped: {f} is not installed (pip install 'rung[bench]')")
        methods = [m for m in methods if METHODS[m][0] not in missing]
        if REFERENCE not in methods:
            methods.insert(0, REFERENCE)
        done = {run_key(r) for r in load_runs(args.tasks) if "error" not in r}
        jobs = []
        for task in args.tasks:
            rows = clamp_rows(CURVES / f"{task}.npz", args.rows) if task in TABLES else None
            for w in args.workers:
                for m in methods:
                    for s in range(args.first_seed, args.first_seed + args.seeds):
                        j = (task, w, m, s, rows, args.full_trials)
                        if j not in done:
                            jobs.append(j)
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
