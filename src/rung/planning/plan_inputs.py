"""A plan's inputs, checked, and its size, bounded (``rung.planning.planner``'s limits).

``_workers``, ``_budget``, ``_prices``, ``_resources`` and ``_open`` turn ``plan``'s arguments
into what it runs (``ConfigError`` naming the key otherwise); ``_check_size`` refuses a planned
``n_trials`` / ``max_steps`` past the plan's share of ``MAX_SIMULATED_TRIALS`` /
``MAX_SIMULATED_STEPS`` before the pilot is fitted, ``_check_spendable`` a budget whose only
limits are never reached, ``_check_reach`` one whose only limits are so large that its runs
would pass their share many times over (closed form, before simulating); ``_Bounded`` is
the simulated runs' reporter, which stops a run that passes its share (``_TooBig``, worded
with ``_limiting_key``'s budget key) and counts failed trials. Nothing here runs a simulation.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rung._validate import is_int
from rung.core.pricing import DEFAULT_RESOURCES, check_table, gpus
from rung.core.records import Budget, StudySpec
from rung.errors import ConfigError
from rung.executors.simulated import MAX_WORKERS
from rung.reporter import Reporter

if TYPE_CHECKING:
    from rung.cost.prices import Prices
    from rung.storage import Journal
    from rung.study import Study

#: the limits of one plan (module docstring); ``ConfigError`` past them
MAX_WORKER_COUNTS = 100
MAX_SEEDS = 1_000
MAX_SIMULATED_TRIALS = 200_000
MAX_SIMULATED_STEPS = 5_000_000  # about 18,000-26,000 simulated steps per second here
#: CPU seconds a plan's simulated runs may take in all: the trial and step limits bound the
#: simulation, not the searcher, whose proposals can cost more as trials accumulate (TPE's
#: grow with every observation: 3,333 trials a run took 34 s, 20 such runs 11 minutes)
MAX_PLAN_CPU_SECONDS = 300.0
# the planner's own simulated runs would each log a summary line and a line per failed trial
# (trial_timeout, or cut by the planned max_time): keep them to errors; the plan counts them
# per row instead
_QUIET = logging.getLogger("rung.plan.runs")
_QUIET.setLevel(logging.ERROR)


def _workers(workers: Sequence[int] | int) -> list[int]:
    if is_int(workers):
        ws: list[Any] = [workers]
    elif isinstance(workers, Sequence) and not isinstance(workers, str):
        ws = list(workers)
    else:
        ws = []
    if not ws or not all(is_int(w) and w >= 1 for w in ws):
        raise ConfigError(key="workers", message=f"must be positive integers, got {workers!r}")
    big = next((w for w in ws if w > MAX_WORKERS), None)
    if big is not None:
        raise ConfigError(key="workers", message=f"at most {MAX_WORKERS:,} workers, got "
                          f"{big:,}")
    if len(ws) > MAX_WORKER_COUNTS:
        raise ConfigError(key="workers", message=f"at most {MAX_WORKER_COUNTS} worker counts "
                          f"in one plan, got {len(ws)}")
    twice = next((w for i, w in enumerate(ws) if w in ws[:i]), None)
    if twice is not None:
        raise ConfigError(key="workers", message=f"{twice} given twice in {workers!r}")
    return [int(w) for w in ws]


def _check_size(budget: Budget, seeds: int, n_counts: int) -> None:
    """Refuse a planned ``n_trials`` or ``max_steps`` whose simulated runs (``seeds`` per
    each of ``n_counts`` worker counts) would pass ``MAX_SIMULATED_TRIALS`` /
    ``MAX_SIMULATED_STEPS`` in all (even when another limit of the same budget might stop
    the runs before: the size is refused as given)."""
    runs = seeds * n_counts
    for key, value, limit, what in (("n_trials", budget.n_trials, MAX_SIMULATED_TRIALS,
                                     "trials"),
                                    ("max_steps", budget.max_steps, MAX_SIMULATED_STEPS,
                                     "steps")):
        if value is not None and value * runs > limit:
            raise ConfigError(key=f"budget.{key}", message=(
                f"{value:,} {what} x {seeds} seed(s) x {n_counts} worker count(s) is "
                f"{value * runs:,} simulated {what}, past the limit of {limit:,} per plan: "
                f"plan fewer {what}, seeds or worker counts"))


#: how far past its share of ``MAX_SIMULATED_STEPS`` a run's closed-form step count must be
#: (at the pilot's slowest step, every worker busy) for ``_check_reach`` to refuse the budget
#: before simulating: a run whose workers are idle nine tenths of the time still passes it
REACH_MARGIN = 10.0


def _check_reach(budget: Budget, workers: Sequence[int], seeds: int, slowest: float,
                 rate: float, gpus_held: float) -> None:
    """Refuse, before anything is simulated, a planned budget bounded only by ``max_time``,
    ``max_cost`` or ``max_gpu_hours`` (no ``n_trials``, no ``max_steps``) that is so large
    that a simulated run would pass ``REACH_MARGIN`` times its share of
    ``MAX_SIMULATED_STEPS`` even if every step took ``slowest`` seconds (the pilot's slowest,
    start-up included) and no worker idled: the closed-form count is
    ``workers x max_time / slowest`` steps for time, ``max_cost / (rate x slowest / 3600)``
    for money at ``rate`` per trial-hour, and ``max_gpu_hours / (gpus_held x slowest /
    3600)`` for GPU-hours, the least of those set. Such a budget (``--max-time 1e300``)
    would otherwise simulate until the run passes its share or the plan its CPU limit, for
    minutes, to say the same. A budget within the margin is simulated (and stopped at its
    share as before).

    Raises:
        ConfigError: keyed with the budget key of those set that allows the fewest steps
            (it ends the run first: ``budget.max_time``, ...), naming its value and about
            the largest one a plan takes.
    """
    if budget.n_trials is not None or budget.max_steps is not None or not workers:
        return
    slowest = max(slowest, 1e-9)
    share = max(MAX_SIMULATED_STEPS // (seeds * len(workers)), 1)
    allow = share * REACH_MARGIN
    w = max(workers)
    reach: list[tuple[float, str, float, str]] = []  # (steps, key, value, largest value)
    if budget.max_time is not None:
        most = allow * slowest / w
        reach.append((w * budget.max_time / slowest, "max_time", budget.max_time,
                      f"{most:.3g} s with {w} worker(s)"))
    if budget.max_cost is not None and rate > 0:
        per_step = rate * slowest / 3600.0
        reach.append((budget.max_cost / per_step, "max_cost", budget.max_cost,
                      f"{allow * per_step:.3g}"))
    if budget.max_gpu_hours is not None and gpus_held > 0:
        per_step = gpus_held * slowest / 3600.0
        reach.append((budget.max_gpu_hours / per_step, "max_gpu_hours", budget.max_gpu_hours,
                      f"{allow * per_step:.3g}"))
    if not reach:
        return
    steps, key, value, most_text = min(reach)
    if steps <= allow:
        return
    many = f"about {steps:.3g}" if math.isfinite(steps) else "more than a float counts of"
    raise ConfigError(key=f"budget.{key}", message=(
        f"{key}={value:g} allows {many} simulated steps a run (every step taking the pilot's "
        f"slowest, {slowest:.3g} s, no worker idle), past {REACH_MARGIN:g} times a run's share "
        f"of the plan's limit ({share:,} of {MAX_SIMULATED_STEPS:,} steps): plan a {key} of "
        f"at most about {most_text}, or an n_trials or max_steps"))


def _limiting_key(budget: Budget) -> str:
    """The budget key that decides how long the planned runs go (for an error about their
    size): the first of the open-ended limits that is set, else ``n_trials``."""
    for key in ("max_time", "max_cost", "max_gpu_hours", "max_steps", "n_trials"):
        if getattr(budget, key) is not None:
            return f"budget.{key}"
    return "budget"


class _TooBig(Exception):
    """A simulated run passed its share of ``MAX_SIMULATED_TRIALS`` / ``MAX_SIMULATED_STEPS``."""


class _Bounded(Reporter):
    """The planner's reporter: quiet (``_QUIET``), it counts the trial runs that ended
    ``failed``, those the planned ``max_time`` cut (``cut``) apart from those that failed
    (``failures - cut``), and stops a run that passes its share of the plan's limits
    (``_TooBig``, after the turn that passed it: a turn launches at most one trial per free
    worker), or any run once the plan's CPU passes ``deadline`` (``MAX_PLAN_CPU_SECONDS``
    after the plan began)."""

    def __init__(self, runs: int, deadline: float | None = None, searcher: str = "") -> None:
        super().__init__(_QUIET)
        self.runs = runs  # the plan's simulated runs: this one's share is 1 / runs
        self.deadline = deadline  # time.process_time() past which the plan stops
        self.searcher = searcher
        self.trials = max(MAX_SIMULATED_TRIALS // runs, 1)
        self.steps = max(MAX_SIMULATED_STEPS // runs, 1)
        self.cut = 0  # of ``failures``: trial runs the planned max_time ended
        self._history: Any = None  # the run's, for ``trial_failed``

    def on_turn(self, engine: Any, events: Any = ()) -> None:
        h = self._history = engine.history
        super().on_turn(engine, events)
        if self.deadline is not None and time.process_time() > self.deadline:
            raise _TooBig(
                f"the plan's simulated runs passed {MAX_PLAN_CPU_SECONDS:g} s of CPU, its limit "
                f"(the {self.searcher} searcher's proposals cost more as the trials of a run "
                f"accumulate; this run had {len(h):,}): plan a smaller budget, fewer seeds or "
                "fewer worker counts")
        for n, share, limit, what in ((len(h), self.trials, MAX_SIMULATED_TRIALS, "trials"),
                                      (h.n_results, self.steps, MAX_SIMULATED_STEPS, "steps")):
            if n > share:
                raise _TooBig(
                    f"a simulated run went past {share:,} {what}, its share of the limit of "
                    f"{limit:,} {what} per plan ({self.runs} run(s): seeds x worker counts): "
                    "plan a smaller budget, fewer seeds or fewer worker counts")

    def trial_failed(self, trial_id: int, step: int, error: str | None) -> None:
        from rung.run_failures import cut_by_time

        if cut_by_time(self._history, trial_id):
            self.cut += 1
        else:
            super().trial_failed(trial_id, step, error)


def _budget(budget: Budget | Mapping[str, Any] | None, spec: StudySpec) -> Budget:
    if budget is None:
        b = spec.budget
    elif isinstance(budget, Budget):
        b = budget
    elif isinstance(budget, Mapping):
        b = Budget.from_json(budget)
    else:
        raise ConfigError(key="budget",
                          message=f"expected rung.Budget or a mapping, got {budget!r}")
    if b.unlimited:
        raise ConfigError(key="budget", message="the planned study needs a limit (n_trials, "
                          "max_time, max_steps, max_cost or max_gpu_hours): give "
                          "budget=rung.Budget(n_trials=...)")
    return b


def _prices(prices: Prices | Mapping[str, float] | None, stored: Mapping[str, Any]) -> Prices:
    from rung.cost.prices import Prices

    if prices is None:
        prices = stored.get("prices")
    if isinstance(prices, Prices):
        return prices
    return Prices(prices)


def _resources(
    resources: Mapping[str, float] | None, stored: Mapping[str, Any],
    reported: Mapping[str, float] | None,
) -> dict[str, float]:
    """What one trial holds: ``resources`` if given, else what the pilot's executor reported
    (as the ledger and the engine charge it), else the study's ``resources_per_trial``, else
    one CPU."""
    r = resources
    if r is None:
        r = reported if reported is not None else stored.get("resources_per_trial")
    return check_table(DEFAULT_RESOURCES if r is None else r, "resources_per_trial")


def _check_spendable(budget: Budget, rate: float, resources: Mapping[str, float],
                     prices: Prices) -> None:
    """Refuse a planned budget whose only limits can never be reached at these prices and
    resources (``max_cost`` at a rate of 0, ``max_gpu_hours`` without a GPU): its simulated
    runs would never end."""
    if budget.n_trials is not None or budget.max_time is not None \
            or budget.max_steps is not None:
        return
    cost_never = budget.max_cost is None or rate <= 0
    gpu_never = budget.max_gpu_hours is None or gpus(resources) <= 0
    if cost_never and gpu_never:
        held = ", ".join(f"{k}={v:g}" for k, v in sorted(resources.items())) or "nothing"
        if budget.max_cost is not None:
            raise ConfigError(key="prices", message=f"the planned budget max_cost="
                              f"{budget.max_cost:g} would never be spent: one trial ({held}) "
                              f"costs nothing under prices {prices.table}")
        raise ConfigError(key="resources_per_trial", message=f"the planned budget "
                          f"max_gpu_hours={budget.max_gpu_hours:g} would never be spent: one "
                          f"trial ({held}) holds no GPU")


def _open(
    study_or_name: Study | str, storage: str | os.PathLike[str] | Journal | None
) -> tuple[Study, bool]:
    from rung.study import Study

    if isinstance(study_or_name, Study):
        return study_or_name, False
    if not isinstance(study_or_name, str):
        raise ConfigError(key="study", message=f"expected a Study or a study name, "
                          f"got {study_or_name!r}")
    if storage is None:
        raise ConfigError(key="storage", message="a study given by name needs its storage")
    return Study.load(study_or_name, storage, readonly=True), True


__all__ = [
    "MAX_SEEDS", "MAX_SIMULATED_STEPS", "MAX_SIMULATED_TRIALS", "MAX_WORKERS",
    "MAX_WORKER_COUNTS",
]
