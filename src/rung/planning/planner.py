"""``rung.plan``: what a whole study will take on 1, 8, 64 ... workers, predicted from a pilot.

Steps (each in its own module):

1. ``rung.planning.costs.read_pilot``: fold the pilot's journal into curves (scores by step) and
   step costs (first step, every later step, checkpoints) from the events' times;
2. ``rung.planning.fit.fit_curves``: one power law per pilot trial with a pooled prior
   (Domhan et al. 2015; Kadra et al. 2023);
3. ``rung.planning.synthetic.PilotBenchmark``: a ``Benchmark`` whose configurations take the
   nearest pilot trial's fitted curve plus fresh noise, and step costs predicted from their
   parameters (``rung.planning.cost_model``: ridge regression of log cost, log-normal residual);
4. for each worker count and seed ``i``: a fresh in-memory study with the pilot's own spec (its
   searcher, scheduler, objective, ``max_step``; the planned budget; seed ``spec.seed + i``)
   is run by ``Study.simulate`` on the ``SimulatedExecutor``, with the measured start-up as
   ``launch_delay``, on replicate ``i`` of the benchmark: the pilot as measured for ``i = 0``, a
   bootstrap resample of its trials (cost model refitted) for ``i >= 1``. The planner runs the
   study's real components on the real driver: it never re-implements a schedule.

Per run it records the virtual wall-clock (the clock when the last trial ended), the busy
worker-seconds (``SimulatedExecutor.busy_time``), trials and steps, and the regret of the
study's best trial (``PilotBenchmark.regret_of``). Cost counts reserved workers, idle ones
included: ``workers x wall-clock x Prices.rate(resources_per_trial)`` per hour; utilization is
busy / reserved. A row reports the median over seeds and an 80% prediction interval for one
run (its 10% and 90% points): the order statistics ``x_(j)``, ``x_(k)`` of the ``n`` simulated
runs with ``j = floor(0.1 (n + 1))``, ``k = ceil(0.9 (n + 1))`` (clipped to ``1..n``). When the
actual run and the simulated ones are exchangeable, a new run falls below ``x_(k)`` with
probability ``k / (n + 1)`` (the distribution-free tolerance limits of Wilks 1941,
"Determination of Sample Sizes for Setting Tolerance Limits"), so the interval holds it with
probability ``(k - j) / (n + 1) >= 0.8``; the sample's own 10%-90% quantiles would hold it
with about 0.65 for 10 runs and 0.72 for 20. Since the seeds are bootstrap replicates with
alternating curve models, the interval spans the pilot's sampling, the step-cost and curve
models' uncertainty and the randomness of a run (not a model error none of them shows).

What it does not model: failures and retries, checkpoint restore on resume beyond the measured
start-up, and a driver slower than its workers (the simulated driver answers instantly).

**Every plan is bounded.** A worker count is at most ``MAX_WORKERS``, a plan has at most
``MAX_WORKER_COUNTS`` of them and ``MAX_SEEDS`` seeds, and its simulated runs (seeds x worker
counts) hold at most ``MAX_SIMULATED_TRIALS`` trials and ``MAX_SIMULATED_STEPS`` steps in all,
an equal share each (a few minutes of simulation on one core), and take at most
``MAX_PLAN_CPU_SECONDS`` of CPU in all (the searcher's own cost: TPE's proposals grow with the
trials, and 3,333 trials a run took 34 s of it). A budget of ``n_trials`` or
``max_steps`` past its share is refused before the pilot is fitted; one whose size only a run
reveals (``max_time``, ``max_cost``, ``max_gpu_hours``, or steps per trial) when a run passes
its share, so the first run that would have gone on too long stops the plan. Either is a
``ConfigError`` naming the key and the limit; nothing is written (the runs are in memory).
An open-ended budget so large that a run would pass its share many times over even at the
pilot's slowest step (``--max-time 1e300``, ``max_cost=1e300``) is refused in closed form
after the fit, before anything is simulated (``plan_inputs._check_reach``). A pilot of more than
``MAX_FIT_TRIALS`` scored trials is fitted on a seeded sample of that many
(``rung.planning.pilot_sample``); ``Plan.pilot_trials`` and ``rung plan`` say so.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rung._validate import is_int
from rung.core.pricing import check_rate, check_table, gpus
from rung.core.records import Budget, StudySpec
from rung.errors import ConfigError, RunFailed
from rung.planning import plan_inputs
from rung.planning.costs import Pilot, StepCosts, fit_step_costs, read_pilot
from rung.planning.fit import CurvePrior, fit_curves
from rung.planning.pilot_sample import MAX_FIT_TRIALS as MAX_FIT_TRIALS
from rung.planning.pilot_sample import sample_curves
from rung.planning.plan_inputs import MAX_PLAN_CPU_SECONDS as MAX_PLAN_CPU_SECONDS
from rung.planning.plan_inputs import MAX_SEEDS as MAX_SEEDS
from rung.planning.plan_inputs import MAX_SIMULATED_STEPS as MAX_SIMULATED_STEPS
from rung.planning.plan_inputs import MAX_SIMULATED_TRIALS as MAX_SIMULATED_TRIALS
from rung.planning.plan_inputs import MAX_WORKER_COUNTS as MAX_WORKER_COUNTS
from rung.planning.plan_inputs import MAX_WORKERS as MAX_WORKERS
from rung.planning.plan_inputs import (
    _Bounded,
    _budget,
    _check_reach,
    _check_size,
    _check_spendable,
    _limiting_key,
    _open,
    _prices,
    _resources,
    _TooBig,
    _workers,
)
from rung.planning.synthetic import PilotBenchmark

# (the limits above are re-exported: ``rung plan`` and the tests read them here)

if TYPE_CHECKING:
    import pandas as pd

    from rung.cost.prices import Prices
    from rung.storage import Journal
    from rung.study import Study

log = logging.getLogger("rung.plan")

LOW_Q, HIGH_Q = 0.1, 0.9
#: ``PlanRow.longest_share`` from which ``rung plan`` warns that a row's wall-clock is one
#: trial's duration (the costliest few configurations, which a pilot samples least well)
TAIL_BOUND = 0.5
RESAMPLE = True  # ablation switch: False makes every run a plug-in run (no bootstrap)


@dataclass(frozen=True)
class PlanRow:
    """The prediction for one worker count: medians over seeds, ``*_low`` / ``*_high`` the
    ends of the 80% prediction interval (module docstring). Times in seconds, cost in the
    prices' currency, regret in the objective's units (0 = the best fitted pilot curve);
    ``worker_hours`` are reserved (workers x wall-clock), ``busy_hours`` the median of the
    hours workers spent running trials; ``failed`` the median of the trial runs that failed
    (the pilot's ``trial_timeout`` applies to the planned study), ``cut`` the median of the
    trial runs still running when the planned ``max_time`` ended the simulated run (ended by
    the budget, not failed: not in ``failed``); ``longest_share`` the median over runs of the
    longest trial run's seconds over the run's wall-clock: near 1, the wall-clock is one trial's
    duration, decided by the costliest few configurations the planned study carries to
    ``max_step`` (``TAIL_BOUND``)."""

    workers: int
    wall_clock: float
    wall_clock_low: float
    wall_clock_high: float
    cost: float
    cost_low: float
    cost_high: float
    worker_hours: float
    busy_hours: float
    utilization: float
    regret: float
    regret_low: float
    regret_high: float
    trials: float
    steps: float
    wall_clocks: tuple[float, ...] = ()  # every simulated run's, in seed order
    failed: float = 0.0  # median failed trial runs per simulated run (trial_timeout)
    cut: float = 0.0  # median trial runs per simulated run that the planned max_time ended
    longest_share: float = 0.0  # median share of a run's wall-clock its longest trial run took


@dataclass(frozen=True)
class Plan:
    """What ``rung.plan`` predicts, with the pilot evidence it used.

    Attributes:
        study: The pilot study's name.
        budget: The budget the planned study runs until.
        seeds: Simulated runs per worker count.
        rows: One ``PlanRow`` per worker count, in the order asked.
        rate: Money per worker-hour (``Prices.rate`` of one trial's resources); 0 without prices.
        priced: Whether a price table was given (else every cost is 0).
        resources: The devices one trial holds.
        pilot_trials: Pilot trials whose curves were fitted (the templates): every trial with a
            scored result, up to ``MAX_FIT_TRIALS``; beyond it a seeded uniform sample of that
            many that keeps the best curve (``rung.planning.pilot_sample``).
        startup: Measured start-up seconds per launch.
        checkpoint_seconds: Median measured checkpoint time (0 if none was saved).
        prior: The pooled curve prior and noise of the fit.
        cost_spread: Standard deviation of a configuration's log step cost around what its
            parameters predict (``rung.planning.cost_model``; 0.7 means a configuration
            commonly costs half or twice the prediction).
        grid: The simulated values were rounded to multiples of ``1 / grid``, the grid the
            pilot's values lie on, for the planned budget's stop rule to read its statistical
            error off it as the real study's does (``PilotBenchmark.on_grid``); ``None``:
            continuous values (no stop rule, or no grid).
        notes: What the numbers do not say by themselves: prices given that charge none of
            what a trial holds (every cost 0, as ``Ledger.notes`` says of a study).
        scored_trials: Pilot trials with a scored result (``pilot_trials`` of them fitted).
    """

    study: str
    budget: Budget
    seeds: int
    rows: tuple[PlanRow, ...]
    rate: float
    priced: bool
    resources: Mapping[str, float]
    pilot_trials: int
    startup: float
    checkpoint_seconds: float
    prior: CurvePrior
    cost_spread: float
    grid: int | None = None
    notes: tuple[str, ...] = ()
    scored_trials: int = 0

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (``rung plan --json``): every field, the rows with every simulated
        run's wall-clock, the prior as its fields; a non-finite number (the regret of rows
        whose runs finished no trial) is ``None``, so strict JSON parsers read it."""
        out: dict[str, Any] = _finite({
            "study": self.study, "budget": self.budget.to_json(), "seeds": self.seeds,
            "rate": self.rate, "priced": self.priced, "resources": dict(self.resources),
            "pilot_trials": self.pilot_trials, "startup": self.startup,
            "checkpoint_seconds": self.checkpoint_seconds,
            "prior": dataclasses.asdict(self.prior), "cost_spread": self.cost_spread,
            "grid": self.grid, "notes": list(self.notes), "scored_trials": self.scored_trials,
            "rows": [{**dataclasses.asdict(r), "wall_clocks": list(r.wall_clocks)}
                     for r in self.rows],
        })
        return out

    def to_frame(self) -> pd.DataFrame:
        """The rows as a ``pandas.DataFrame``, one per worker count, without ``wall_clocks``
        (needs pandas: ``pip install 'rung[dataframe]'``)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "Plan.to_frame needs pandas: pip install 'rung[dataframe]'") from None
        return pd.DataFrame([{k: v for k, v in dataclasses.asdict(r).items()
                              if k != "wall_clocks"} for r in self.rows])


def _finite(x: Any) -> Any:
    """``x`` with every non-finite float, at any depth, replaced by ``None``."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    return x


# --- the plan -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FittedPilot:
    """A pilot read from its journal and fitted: the evidence, the benchmark built from it
    (seed 0), the step-cost model (with the start-up per launch), the pooled curve prior, and
    how many pilot trials had a scored result (``scored``; the curves fitted, at most
    ``MAX_FIT_TRIALS``, are ``benchmark.units``)."""

    pilot: Pilot
    benchmark: PilotBenchmark
    costs: StepCosts
    prior: CurvePrior
    scored: int = 0  # pilot trials with a scored result; the benchmark fits at most
    # ``MAX_FIT_TRIALS`` of them (``rung.planning.pilot_sample``)

    @property
    def startup(self) -> float:
        return self.costs.startup


def fit_pilot(study: Study) -> FittedPilot:
    """Read and fit ``study``'s pilot (steps 1-3 of the module docstring): from the records a
    read-only ``Study.load`` replayed, without reading the journal again; else (a study loaded
    to write, or changed since its load) from the journal, read now. At most
    ``MAX_FIT_TRIALS`` curves are fitted: beyond it a seeded sample that keeps the best
    (``rung.planning.pilot_sample``).

    Raises:
        ConfigError: (``key="study"``) fewer than two trials have a scored result, or the study
            has several objectives or constraints (the planner models one objective).
    """
    spec = study.spec
    if spec.objectives or spec.constraints:
        raise ConfigError(key="study", message="rung plan models one objective without "
                          "constraints; this study has several objectives or constraints")
    pilot = read_pilot(study._journal_records(), spec.objective)
    curves = {k: (sorted(c), [c[s] for s in sorted(c)]) for k, c in pilot.curves.items() if c}
    if len(curves) < 2:
        raise ConfigError(key="study", message=f"pilot {study.name!r} has {len(curves)} trial(s) "
                          "with a result of the objective; rung plan needs at least 2")
    fits, prior = fit_curves(sample_curves(curves, spec.seed))
    costs = fit_step_costs(pilot.costs, sorted(fits), spec.max_step)
    bench = PilotBenchmark.from_fits(spec.space, spec.objective.metric, spec.objective.mode,
                                     spec.max_step, pilot, fits, prior, costs, seed=0)
    return FittedPilot(pilot, bench, costs, prior, len(curves))


def simulate_once(
    spec: StudySpec, bench: PilotBenchmark, workers: int, seed: int, startup: float,
    resample: bool = True, runs: int = 1, deadline: float | None = None,
) -> dict[str, float]:
    """One simulated run of ``spec`` (seed ``spec.seed + seed``) on replicate ``seed`` of
    ``bench`` (``PilotBenchmark.replicate``): wall-clock, busy seconds, trials, steps and the
    best trial's regret, how many trial runs failed and how many the planned ``max_time``
    cut (not counted as failed).

    ``runs``: the plan's simulated runs; this one raises ``_TooBig`` once it passes its share
    (``1 / runs``) of ``MAX_SIMULATED_TRIALS`` or ``MAX_SIMULATED_STEPS``, or once
    ``time.process_time()`` passes ``deadline`` (the plan's CPU limit)."""
    from rung.storage import MemoryJournal
    from rung.study import Study

    b = bench.replicate(seed, resample)
    run_spec = dataclasses.replace(spec, name=f"{spec.name}-plan-{workers}-{seed}",
                                   seed=spec.seed + seed, written_by=None)
    study = Study.from_spec(run_spec, MemoryJournal())
    reporter = _Bounded(runs, deadline, spec.searcher.name)
    try:
        study.simulate(b, n_workers=workers, launch_delay=startup, reporter=reporter)
    except RunFailed:
        _check_finished(study, workers, seed)
        raise
    ex = study.last_executor  # None: nothing to run (a budget spent before any trial)
    best = study.best_trial
    summary = study.engine.summary()
    return {
        "wall": 0.0 if ex is None else float(ex.now() - ex.start_time),
        "busy": 0.0 if ex is None else float(ex.busy_time),
        "trials": float(len(study.history)),
        "steps": float(summary.get("steps_consumed", 0)),
        "regret": math.nan if best is None else b.regret_of(best.params),
        "failed": float(reporter.failures - reporter.cut),
        "cut": float(reporter.cut),
        "longest": 0.0 if ex is None else float(ex.longest_run),
    }


def _check_finished(study: Study, workers: int, seed: int) -> None:
    """Raise ``ConfigError`` keyed ``budget.max_time`` when the run failed because the planned
    ``max_time`` ended it before any trial reported a step (every trial was cut by it): the
    budget, not the study, let nothing finish. Returns otherwise (the ``RunFailed`` stands)."""
    from rung.run_failures import cut_by_time

    h = study.engine.history
    if len(h) and study.best_trial is None and all(cut_by_time(h, t) for t in h):
        raise ConfigError(key="budget.max_time", message=(
            f"max_time={study.spec.budget.max_time:g} s ends a simulated run before any trial "
            f"reports its first step ({workers} worker(s), seed {seed}: {len(h)} trial(s) "
            "started, none finished a step): plan a longer max_time"))


def plan(
    study_or_name: Study | str,
    workers: Sequence[int] | int = (1, 8, 64),
    seeds: int = 20,
    prices: Prices | Mapping[str, float] | None = None,
    *,
    storage: str | os.PathLike[str] | Journal | None = None,
    budget: Budget | Mapping[str, Any] | None = None,
    resources: Mapping[str, float] | None = None,
) -> Plan:
    """Predict wall-clock, cost, utilization and regret of a study for several worker counts.

    Args:
        study_or_name: A pilot ``Study`` (running or finished; a few trials told through
            ask/tell will do), or its name with ``storage``.
        workers: Worker counts to plan for.
        seeds: Simulated runs per worker count, each on its own replicate of the pilot (the
            first as measured, the others bootstrap resamples): the interval comes from them.
        prices: ``rung.Prices`` or a mapping for it; default: the study's stored ``prices``,
            else none (costs 0, worker-hours still shown).
        storage: Where a study given by name lives (SQLite file or journal).
        budget: The budget of the planned study (default: the pilot study's own).
        resources: Devices one trial holds (default: what the pilot's executor reported, as
            the ledger counts it, else the study's stored ``resources_per_trial``, else one
            CPU). The planned study's ``max_cost`` and ``max_gpu_hours`` are enforced at
            ``prices`` for these resources.

    Returns:
        A ``Plan`` (see the module docstring for what each number means).

    Raises:
        ConfigError: a bad argument, named by ``key`` (``workers``, ``seeds``, ``budget``,
            ``prices.<device>``, ``resources_per_trial.<device>``, ``study``, ``storage``;
            ``prices`` or ``resources_per_trial`` when the planned budget's only limit is a
            ``max_cost`` or ``max_gpu_hours`` those would never spend), or a plan past its
            limits (module docstring): ``workers``, ``seeds``, ``budget.n_trials`` /
            ``budget.max_steps`` before anything is simulated, the budget's open-ended key
            (``budget.max_time``, ...) when the simulated runs reach the limit;
            ``budget.max_time`` when it ends a simulated run before any trial reports a step.
    """
    ws = _workers(workers)
    if not is_int(seeds) or not 1 <= seeds <= MAX_SEEDS:
        raise ConfigError(key="seeds", message=f"must be an integer in 1..{MAX_SEEDS}, got "
                          f"{seeds!r}")
    study, opened = _open(study_or_name, storage)
    try:
        stored = study.journal.load_study(study.name)
        spec = study.spec
        the_budget = _budget(budget, spec)
        _check_size(the_budget, int(seeds), len(ws))
        table = _prices(prices, stored)
        if resources is not None:  # a bad argument is refused before the pilot is fitted
            check_table(resources, "resources_per_trial")
        fitted = fit_pilot(study)
        res = _resources(resources, stored, fitted.pilot.resources)
        rate = check_rate(table.table, res)  # refused when it overflows: prices.<device>
        _check_spendable(the_budget, rate, res, table)
        bench0 = fitted.benchmark
        _check_reach(the_budget, ws, int(seeds), float(np.max(bench0.seconds, initial=0.0))
                     + fitted.startup, rate, gpus(res))
    finally:
        if opened:
            study.close()
    # the planned study is charged (Budget.max_cost, max_gpu_hours) as it will be: at these
    # prices, for these resources
    run_spec = dataclasses.replace(spec, budget=the_budget, prices=table.table,
                                   resources_per_trial=res)
    # a stop rule reads the statistical error of a rate off its values' grid: the planned
    # study's values lie on the pilot's, as the real study's will (synthetic's docstring)
    bench = fitted.benchmark
    if the_budget.stop is not None and bench.lattice is not None:
        bench = bench.on_grid(bench.lattice)
    rows = []
    deadline = time.process_time() + plan_inputs.MAX_PLAN_CPU_SECONDS
    for w in ws:
        try:
            runs = [simulate_once(run_spec, bench, w, i, fitted.startup, RESAMPLE,
                                  seeds * len(ws), deadline) for i in range(seeds)]
        except _TooBig as e:
            raise ConfigError(key=_limiting_key(the_budget), message=str(e)) from None
        rows.append(_row(w, runs, rate))
        log.info("plan %s: %d workers, median wall-clock %.4g s", study.name, w,
                 rows[-1].wall_clock)
    ckpts = fitted.pilot.checkpoint_seconds
    return Plan(study.name, the_budget, int(seeds), tuple(rows), rate, bool(table), res,
                len(fitted.benchmark.units), fitted.startup,
                float(np.median(ckpts)) if ckpts else 0.0, fitted.prior,
                fitted.benchmark.cost_model.sd, bench.grid, _notes(table.table, rate, res),
                fitted.scored)


def _notes(prices: Mapping[str, float], rate: float,
           resources: Mapping[str, float]) -> tuple[str, ...]:
    """``Plan.notes``: prices that charge none of what a trial holds (``rate`` 0) are said,
    with the ledger's words."""
    if not prices or rate > 0:
        return ()
    held = ", ".join(f"{k}={v:g}" for k, v in sorted(resources.items())) or "nothing"
    return (f"prices {dict(prices)} charge none of what a trial holds ({held}): cost is 0 "
            "(the worker-hours are predicted)",)


def _q(xs: list[float]) -> tuple[float, float, float]:
    """``(median, low, high)`` of the finite ``xs``: the 80% prediction interval of the module
    docstring (NaN for none)."""
    a = np.asarray([x for x in xs if math.isfinite(x)])
    if len(a) == 0:
        return math.nan, math.nan, math.nan
    a.sort()
    n = len(a)
    j = min(max(math.floor(LOW_Q * (n + 1) + 1e-9), 1), n)
    k = min(max(math.ceil(HIGH_Q * (n + 1) - 1e-9), 1), n)
    return float(np.median(a)), float(a[j - 1]), float(a[k - 1])


def _row(workers: int, runs: list[dict[str, float]], rate: float) -> PlanRow:
    wall = [r["wall"] for r in runs]
    cost = [workers * w / 3600.0 * rate for w in wall]
    util = [r["busy"] / (workers * r["wall"]) if r["wall"] > 0 else 0.0 for r in runs]
    w_med, w_lo, w_hi = _q(wall)
    c_med, c_lo, c_hi = _q(cost)
    r_med, r_lo, r_hi = _q([r["regret"] for r in runs])
    return PlanRow(
        workers=workers, wall_clock=w_med, wall_clock_low=w_lo, wall_clock_high=w_hi,
        cost=c_med, cost_low=c_lo, cost_high=c_hi, worker_hours=workers * w_med / 3600.0,
        busy_hours=float(np.median([r["busy"] for r in runs])) / 3600.0,
        utilization=float(np.median(util)), regret=r_med, regret_low=r_lo, regret_high=r_hi,
        trials=float(np.median([r["trials"] for r in runs])),
        steps=float(np.median([r["steps"] for r in runs])),
        wall_clocks=tuple(wall),
        failed=float(np.median([r.get("failed", 0.0) for r in runs])),
        cut=float(np.median([r.get("cut", 0.0) for r in runs])),
        longest_share=float(np.median([r.get("longest", 0.0) / r["wall"] if r["wall"] > 0
                                       else 0.0 for r in runs])),
    )
