"""rung inside Optuna: ``RungSampler`` (a ``BaseSampler`` backed by a rung searcher) and
``RungPruner`` (a ``BasePruner`` backed by a rung scheduler), so an Optuna user adopts rung's
search or rung's allocation without leaving Optuna (Akiba et al., "Optuna: A Next-generation
Hyperparameter Optimization Framework", KDD 2019: the sampler / pruner interfaces).

``pip install 'rung[optuna]'``::

    import optuna
    from rung import ASHA
    from rung.integrations.optuna_sampler import RungPruner, RungSampler

    study = optuna.create_study(
        sampler=RungSampler("tpe", seed=0),
        pruner=RungPruner(ASHA(reduction_factor=3), max_step=27),
    )
    study.optimize(objective, n_trials=100)   # objective reports steps 0..26 as usual

Both run an in-memory rung study next to the Optuna study (``rung.integrations._embedded``):
every Optuna trial they see is a rung trial there, fed through ``ask`` / ``report`` / ``tell``,
so rung's components decide exactly as inside rung (same engine, same tie rules, a reason for
every decision). Each keeps one rung study per Optuna study (by study name).

**Steps.** Optuna steps usually count from 0, rung steps from 1: Optuna step ``s`` is rung step
``s - first_step + 1`` (``first_step=0`` by default; set it to 1 for objectives that report
from step 1). ``max_step`` is the last rung step a trial reaches (the number of reports).

**RungPruner.** ``prune(study, trial)`` first tells rung what it has not seen of every trial in
Optuna's storage, as Optuna's own pruners read the whole storage: this process's trials, another
process's sharing the database, an earlier session's (a script restarted with
``load_if_exists=True``), in trial number order. Each trial's new intermediate values are
reported in step order, then its end once Optuna finished it (complete, with the value the
objective returned, which is the rung trial's value from then on, even for a trial rung stopped
that ran on; pruned; failed). ``trial`` goes last and is pruned iff rung's decision for it is
STOP. Another process's trial is judged by this process's scheduler too, which cannot stop it: a
trial this scheduler stopped and its own process did not has its later values recorded, not
judged, so with an order-dependent rule (ASHA: a rung's quota grows as results arrive) each
process's rung tables may differ a little, where Optuna's ``SuccessiveHalvingPruner`` shares one
table through the storage; a rule that reads only finished trials (``median_pruner()``) prunes
exactly what Optuna's ``MedianPruner`` prunes. Only trials not yet ended in rung are looked at
again: a call costs Optuna's ``get_trials`` plus ``O(running + new trials)``; a restarted
script's first call reports every earlier intermediate value once. Only schedulers that stop
(``asha``, ``async_hyperband``, ``median``, ``mo_asha``, ``fifo``...) can be used: an Optuna
trial cannot be paused and resumed by rung (``ConfigError`` otherwise). Multi-objective Optuna
studies have no intermediate values, so there is nothing to prune: Optuna refuses it, and so
does the pruner.

**RungSampler.** The search space is rung's ``space`` when given, else inferred as Optuna's
intersection of the completed trials' distributions (as Optuna's relative samplers do); a change
of the inferred space starts a new rung study fed with every finished trial that has all its
parameters. Finished trials reach rung as completed (their values, one objective per study
direction), stopped (a pruned trial, with its last intermediate value: see ``_sync``) or
failed; trials rung did not propose (the first ones, before a space is
known, or ``enqueue_trial``) are enqueued in rung with their params. Parameters outside the
space, and inactive conditional ones, are drawn by Optuna's ``RandomSampler`` seeded from
``derive_rng(seed, "independent", trial number, name)``.

**Threads.** ``study.optimize(..., n_jobs=4)`` calls a sampler and a pruner from several
threads at once; each of the two serializes its calls with a lock of its own (a rung study is
single-threaded), so the rung study sees one call at a time, in the order the threads take the
lock.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from typing import Any

from rung._validate import check_int
from rung.core.components import SchedulerLike, Searcher, SearcherLike
from rung.core.events import Action
from rung.core.records import Objective
from rung.core.registry import to_spec
from rung.core.rng import derive_rng
from rung.errors import ConfigError
from rung.integrations._embedded import CONFIGURED_SPACE, Embedded, check_stopping
from rung.integrations._framework import require
from rung.integrations.optuna import distributions, to_space
from rung.space import SearchSpace
from rung.study_checks import check_first_step

require("optuna", "optuna", "rung.integrations.optuna_sampler")  # names the extra if missing

from optuna.distributions import BaseDistribution  # noqa: E402
from optuna.pruners import BasePruner  # noqa: E402
from optuna.samplers import BaseSampler, RandomSampler  # noqa: E402
from optuna.search_space import IntersectionSearchSpace  # noqa: E402
from optuna.study import Study, StudyDirection  # noqa: E402
from optuna.trial import FrozenTrial, TrialState  # noqa: E402

__all__ = ["RungPruner", "RungSampler"]

logger = logging.getLogger(__name__)

_ENDED = {
    TrialState.COMPLETE: "completed",
    TrialState.PRUNED: "stopped",
    TrialState.FAIL: "failed",
}


def _objectives(study: Study) -> list[Objective]:
    modes = ["max" if d == StudyDirection.MAXIMIZE else "min" for d in study.directions]
    if len(modes) == 1:
        return [Objective("value", modes[0])]
    return [Objective(f"value{i}", m) for i, m in enumerate(modes)]


def _final(trial: FrozenTrial, objectives: Sequence[Objective]) -> dict[str, float] | None:
    if trial.state != TrialState.COMPLETE or trial.values is None:
        return None
    return {o.metric: float(v) for o, v in zip(objectives, trial.values, strict=True)}


def _last_intermediate(
    trial: FrozenTrial, objectives: Sequence[Objective]
) -> dict[str, float] | None:
    """A pruned trial's last finite intermediate value, as its (only) objective's metric."""
    if trial.state != TrialState.PRUNED or len(objectives) != 1:
        return None
    for step in sorted(trial.intermediate_values, reverse=True):
        value = float(trial.intermediate_values[step])
        if math.isfinite(value):
            return {objectives[0].metric: value}
    return None


class _Locked:
    """A lock serializing an Optuna hook's calls (``n_jobs > 1`` runs trials in threads); not
    pickled, a copy gets a new one."""

    _lock: threading.RLock

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()


class _Fed:
    """How far the rung study behind one Optuna study has been told of its trials."""

    __slots__ = ("counts", "pending", "seen", "steps")

    def __init__(self) -> None:
        self.steps: dict[int, int] = {}  # Optuna trial number -> last rung step reported
        self.counts: dict[int, int] = {}  # number -> intermediate values looked at
        self.pending: set[int] = set()  # numbers looked at whose rung trial has not ended
        self.seen = 0  # every trial numbered below it has been looked at


class RungPruner(_Locked, BasePruner):
    """An Optuna pruner backed by a rung scheduler (see the module docstring).

    Args:
        scheduler: a rung scheduler that stops (an instance, a name, or ``{"name", "params"}``).
        max_step: the number of steps (reports) a trial that is never stopped makes.
        first_step: the Optuna step that is rung's step 1.
        seed: the rung study's seed (brackets of async Hyperband, ...).
    """

    def __init__(
        self, scheduler: SchedulerLike = "asha", max_step: int = 1, first_step: int = 0,
        seed: int = 0,
    ) -> None:
        check_stopping(scheduler)
        self.scheduler = scheduler
        self.max_step = check_int("max_step", max_step, 1)
        # a first decision at max_step or past it: refused now, not inside study.optimize
        check_first_step(to_spec("scheduler", scheduler), self.max_step)
        self.first_step = check_int("first_step", first_step)
        self.seed = seed
        self._runs: dict[str, tuple[Embedded, _Fed]] = {}
        self._lock = threading.RLock()

    def _run(self, study: Study) -> tuple[Embedded, _Fed]:
        run = self._runs.get(study.study_name)
        if run is None:
            if len(study.directions) > 1:
                raise ConfigError(
                    key="pruner", message="a multi-objective Optuna study cannot be pruned"
                )
            emb = Embedded(SearchSpace(CONFIGURED_SPACE), _objectives(study), "random",
                           self.scheduler, self.max_step, self.seed, name=study.study_name)
            run = self._runs[study.study_name] = (emb, _Fed())
        return run

    def embedded(self, study: Study) -> Embedded:
        """The rung study behind ``study`` (for inspection: ``.study.trials()``, reasons),
        told first every intermediate value and every end in Optuna's storage (the last
        trial's end reaches it here, there being no later ``should_prune``)."""
        with self._lock:
            run = self._run(study)
            self._sync(study, run, None)
            return run[0]

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        with self._lock:
            run = self._run(study)
            self._sync(study, run, trial)
            decision = run[0].decided.get(trial.number)
            return decision is not None and decision.action is Action.STOP

    def _sync(self, study: Study, run: tuple[Embedded, _Fed], current: FrozenTrial | None,
              ) -> None:
        """Tell rung what it has not seen of the trials in Optuna's storage (this process's,
        another process's, an earlier session's), in trial number order: new intermediate
        values, then the trial's end. ``current`` (the trial ``should_prune`` asks about)
        goes last, so it is judged among every other trial's values, as Optuna's pruners
        judge it. Only trials whose rung trial has not ended are looked at again: past
        Optuna's own ``get_trials``, a call costs ``O(unended + new trials)``."""
        fed = run[1]
        trials = study.get_trials(deepcopy=False)
        numbers = sorted(fed.pending)
        numbers.extend(range(fed.seen, len(trials)))
        fed.seen = max(fed.seen, len(trials))
        skip = -1 if current is None else current.number
        for number in numbers:
            if number != skip:
                self._feed(run, trials[number])
        if current is not None:
            self._feed(run, current)

    def _feed(self, run: tuple[Embedded, _Fed], t: FrozenTrial) -> None:
        """Report ``t``'s intermediate values rung has not seen, in step order (a trial rung
        stopped and Optuna did not prune has its later values recorded, not judged), and end
        its rung trial as Optuna finished it: complete with the value Optuna completed it
        with (its rung value then, as ``study.best_trial`` ranks it) at the last step it
        reported (``max_step`` when it reported none), pruned or failed with no result of
        its own."""
        emb, fed = run
        number = t.number
        if number in emb.ids and number not in emb.open:
            fed.pending.discard(number)
            return
        if t.state == TrialState.WAITING:
            fed.pending.add(number)
            return
        if number not in emb.ids:
            emb.start_configured(number)
            fed.steps[number] = 0
        values = t.intermediate_values
        if fed.counts.get(number) != len(values):
            self._report(emb, fed, number, values)
            fed.counts[number] = len(values)
        status = _ENDED.get(t.state)
        if status is None:  # running
            fed.pending.add(number)
            return
        objectives = emb.study.spec.objectives or (emb.study.spec.objective,)
        final = _final(t, objectives)
        tid = emb.open.pop(number)
        # Optuna's state, also for a trial rung stopped that ran on to complete: Optuna's
        # pruners count it as complete (``Embedded.end`` would make it stopped)
        emb.study.tell(tid, status, final,
                       step=(fed.steps[number] or None) if final is not None else None)
        fed.pending.discard(number)

    def _report(self, emb: Embedded, fed: _Fed, number: int, values: dict[int, float]) -> None:
        """Report trial ``number``'s values at Optuna steps past the last one reported, as
        rung steps; ``ConfigError`` (key ``step``) for a step outside ``[1, max_step]``."""
        metric = emb.study.spec.objective.metric
        for s in sorted(values):
            step = s - self.first_step + 1
            if step <= fed.steps[number]:
                continue
            if not 1 <= step <= self.max_step:
                raise ConfigError(
                    key="step", message=f"trial {number}'s Optuna step {s} is rung step "
                    f"{step}, outside [1, max_step={self.max_step}] (first_step="
                    f"{self.first_step})"
                )
            fed.steps[number] = step
            judged = number not in emb.decided
            decision = emb.report(number, step, {metric: values[s]})
            if decision.action is Action.PAUSE:  # cannot happen with a stopping scheduler
                raise ConfigError(key="scheduler", message="rung's scheduler paused a trial")
            if judged and decision.action is Action.STOP:
                logger.debug("trial %d pruned at step %d: %s", number, s, decision.reason)


class RungSampler(_Locked, BaseSampler):
    """An Optuna sampler backed by a rung searcher (see the module docstring).

    Args:
        searcher: a rung searcher (an instance, a name such as ``"tpe"`` or ``"gp"``, or
            ``{"name", "params"}``).
        space: rung's search space for the relative parameters (default: inferred).
        seed: the seed of rung's searcher and of the independent draws.
    """

    def __init__(
        self, searcher: SearcherLike = "tpe", space: SearchSpace | None = None, seed: int = 0
    ) -> None:
        if not isinstance(searcher, Searcher):  # a name or spec: known and well-formed now,
            to_spec("searcher", searcher)  # not at the first trial, inside study.optimize
        self.searcher = searcher
        self.space = space
        self.seed = seed
        self._intersection = IntersectionSearchSpace()
        self._runs: dict[str, tuple[Embedded, set[int]]] = {}
        self._warned: dict[str, set[str]] = {}  # study name -> params warned about
        self._lock = threading.RLock()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if self.space is not None:
            return distributions(self.space)
        with self._lock:
            return dict(self._intersection.calculate(study))

    def _run(self, study: Study, space: SearchSpace) -> tuple[Embedded, set[int]]:
        run = self._runs.get(study.study_name)
        if run is None or run[0].space != space:
            # two steps: a pruned trial's last intermediate value at step 1, a completed
            # trial's value at steps 1 and 2 (see _sync)
            emb = Embedded(space, _objectives(study), self.searcher, "fifo", 2, self.seed,
                           name=study.study_name)
            run = self._runs[study.study_name] = (emb, set())
        return run

    def _sync(self, study: Study, emb: Embedded, fed: set[int]) -> None:
        """Feed rung every finished Optuna trial it has not seen end.

        A completed trial reports its value at step 1 and completes with it at step 2; a
        pruned one reports its last intermediate value at step 1 and is stopped there. Once
        enough trials completed, a model-based searcher models step 2 and counts the pruned
        trials among the worst ("stopped below the modelled step"), as Optuna's TPE ranks
        pruned trials after complete ones; before that it models step 1, where a pruned trial
        is worth its last intermediate value. (Without them a pruned trial showed rung
        nothing: a searcher that saw only the few trials a pruner let finish proposed the
        pruned region again and again.)"""
        objectives = emb.study.spec.objectives or (emb.study.spec.objective,)
        names = set(emb.space.params)
        for t in study.get_trials(deepcopy=False):
            status = _ENDED.get(t.state)
            if status is None or t.number in fed:
                continue
            fed.add(t.number)
            if t.number in emb.open and self._ran_other(study, emb, t):
                emb.end(t.number, "stopped")  # the proposal never ran: no result for it
            if t.number not in emb.open:  # not proposed by rung: enqueue its params
                params = {k: v for k, v in t.params.items() if k in names}
                if set(emb.space.active(params)) - set(params):
                    continue  # it lacks parameters of the space
                try:
                    emb.start(t.number, params)
                except ConfigError as e:  # a value outside rung's space= (enqueue_trial...)
                    logger.debug("trial %d not shown to rung: %s", t.number, e)
                    continue
            final = _final(t, objectives)
            first = final if final is not None else _last_intermediate(t, objectives)
            if first is not None:
                emb.report(t.number, 1, first)
            emb.end(t.number, status, final)

    def _ran_other(self, study: Study, emb: Embedded, trial: FrozenTrial) -> bool:
        """Whether ``trial`` ran with other values than rung proposed for it: Optuna takes a
        proposed value only if the objective's ``suggest_*`` range contains it, and draws
        another otherwise (``space=`` wider than the objective's ranges), so rung would learn
        the result under params that never ran. Warns once per study and parameter."""
        proposed = emb.study.history.params(emb.open[trial.number])
        other = sorted(k for k, v in proposed.items()
                       if k in trial.params and trial.params[k] != v)
        warned = self._warned.setdefault(study.study_name, set())
        for name in other:
            if name not in warned:
                warned.add(name)
                logger.warning(
                    "RungSampler: trial %d ran with %s=%r, not rung's proposal %r: the "
                    "objective's suggest_* range for %r does not contain it, so Optuna drew "
                    "another value; rung records such trials with the values they ran with. "
                    "Give space= the objective's ranges", trial.number, name,
                    trial.params[name], proposed[name], name)
        return bool(other)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        space = self.space if self.space is not None else to_space(search_space)
        with self._lock:
            emb, fed = self._run(study, space)
            self._sync(study, emb, fed)
            t = emb.start(trial.number)
        if t is None:  # an exhausted searcher (a grid): Optuna draws independently
            return {}
        return {k: v for k, v in t.params.items() if k in search_space}

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        seed = int(derive_rng(self.seed, "independent", trial.number, param_name)
                   .integers(2**31 - 1))
        return RandomSampler(seed=seed).sample_independent(
            study, trial, param_name, param_distribution
        )
