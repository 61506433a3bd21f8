"""rung inside Ray Tune: ``RungScheduler`` (a ``ray.tune.schedulers.TrialScheduler`` backed by
a rung scheduler) and ``RungSearcher`` (a ``ray.tune.search.Searcher`` backed by a rung
searcher), so a Ray Tune user adopts rung's allocation or rung's search without leaving Tune
(Liaw, Liang, Nishihara, Moritz, Gonzalez and Stoica, "Tune: A Research Platform for Distributed
Model Selection and Training", ICML AutoML workshop 2018).

``pip install 'rung[tune]'``::

    from ray import tune
    from rung import ASHA, Float, SearchSpace
    from rung.integrations.ray_tune import RungScheduler, RungSearcher

    tuner = tune.Tuner(
        train_fn,                               # calls tune.report({"loss": ...}) per epoch
        tune_config=tune.TuneConfig(
            metric="loss", mode="min", num_samples=50,
            scheduler=RungScheduler(ASHA(reduction_factor=3), max_step=27),
            search_alg=RungSearcher(SearchSpace({"lr": Float(1e-4, 1e-1, log=True)}), "tpe"),
        ),
    )

Both run an in-memory rung study (``rung.integrations._embedded``) in the Tune driver: each Tune
trial is a rung trial there, fed through ``ask`` / ``report`` / ``tell``, so rung's components
decide exactly as inside rung. ``storage=`` (a SQLite path) journals that study, so ``rung
show`` / the dashboard / ``Study.load`` read every decision and its reason afterwards; the rung
study is created on the first trial, so the adapter pickles (Tune copies its config) until then.
``RungScheduler``'s trials are the Tune trials as Tune configured them: each one's params are
``tune.trial_id`` (Tune's id) and its config, flattened (``model/depth``; ``tune_params``), so
the journal says which configuration each decision was about. The study is stored as driven by
Ray Tune: ``rung show`` suggests no ``rung resume`` for it (rung cannot run Tune's trainable).
A Tune experiment restored by ``Tuner.restore`` journals a new rung study, ``name-2`` (the next
free one) when ``name`` is taken; the trials that ended before the restore are not in it.

**RungScheduler.** The step is ``result[time_attr]`` (Tune's ``training_iteration`` by default,
which counts from 1 as rung's steps do), or its integer part for a ``time_attr`` in seconds
(``time_total_s``). Every result at an integer step is reported to rung, the same step again too
(its result replaces the earlier one, as in rung); with a time in seconds, a step is reached by
the first result at or past it, and the results after it within that second only continue.
Results before step 1 continue with a time in seconds, and are refused (``ConfigError``, see
below) with an integer ``time_attr`` (a loop counted from 0, whose rungs would come one epoch
late). A result that holds the metric but not ``time_attr`` is refused too (``ConfigError``
naming ``time_attr``; Ray's own schedulers continue it without a word, so a misspelt
``time_attr`` never stopped a trial). A result whose step is below the one the trial reported
last is refused as rung refuses it everywhere (``rung._steps``): a ``ConfigError`` naming
``time_attr``, the Tune trial and both steps, which ends the Tune experiment (as Tune's own
check of a result missing the metric does). A trial Tune retries after a failure
(``FailureConfig(max_failures=...)``) is a new rung trial (Tune tells the scheduler it failed,
then adds it again); a trial that errors is a failed rung trial whose error is Tune's last
failure in the trial's ``error.txt`` (RungSearcher is told only that it errored, and says so).
STOP stops the trial; a trial that reaches ``max_step`` is stopped there (Ray Tune's ``max_t``).
Trials run in submission order (``FIFOScheduler``'s choice). Only schedulers that stop can be
used (``asha``, ``async_hyperband``, ``median``, ``fifo``, ...): Tune's PAUSE would need rung to
choose which paused trial resumes, which this adapter does not do (``ConfigError`` up front).
Results are not buffered (a decision at a rung must see that rung's result alone).

**RungSearcher.** ``suggest`` asks rung's searcher for the next configuration of ``space`` (a
rung ``SearchSpace``; the Tuner's ``param_space`` may add constants, and a Tune distribution or
``grid_search`` in it is refused: Tune leaves those to the searcher);
``on_trial_complete`` tells rung the trial's last ``metric`` (or that it failed). Give it
``metric`` and ``mode``: Tune hands them on to a searcher only when ``param_space`` is not
empty. With ``max_step > 1`` every result is reported at its step too, for searchers that model
fidelity (``bohb``), by the scheduler's rule above (a step below 1 or a missing ``time_attr``
included); Tune does not tell a searcher about a
retry, so when a result's ``iterations_since_restore`` starts again (Tune restored the trial),
the steps up to the one reported before are not reported again (the first result stands).
A grid that runs out returns ``Searcher.FINISHED``.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
from collections.abc import Mapping
from typing import Any

from rung._steps import step_back
from rung._validate import check_int, close_hint
from rung.core.components import SchedulerLike, SearcherLike
from rung.core.events import Action
from rung.core.records import Objective
from rung.errors import ConfigError
from rung.integrations._embedded import Embedded, check_stopping
from rung.integrations._framework import require
from rung.integrations._tune_records import SEARCHER_ERROR, tune_error, tune_params
from rung.space import SearchSpace

require("ray.tune", "tune", "rung.integrations.ray_tune")  # names the extra if missing

from ray.tune.experiment import Trial  # noqa: E402
from ray.tune.schedulers import FIFOScheduler, TrialScheduler  # noqa: E402
from ray.tune.search import Searcher  # noqa: E402
from ray.tune.search.variant_generator import parse_spec_vars  # noqa: E402

__all__ = ["RungScheduler", "RungSearcher"]

logger = logging.getLogger(__name__)


def _objective(metric: str | None, mode: str | None, where: str) -> Objective:
    """The objective, or a ``ConfigError`` saying where to give it (``where``)."""
    if not metric or mode not in ("min", "max"):
        raise ConfigError(key="metric", message=(
            f"give metric and mode ('min' or 'max'), got metric={metric!r}, mode={mode!r}: "
            f"{where}"))
    return Objective(metric, mode)


def _step(value: Any) -> int:
    """rung's step for a ``time_attr`` value: its integer part (``training_iteration`` is one
    already; a time in seconds reaches step ``k`` at its first result at or past ``k``, as
    Ray's schedulers take the first result past a milestone)."""
    return math.floor(float(value))


class _TuneAdapter:
    """What ``RungScheduler`` and ``RungSearcher`` share: an objective that Tune may complete,
    and a rung study embedded on first use (after which the adapter cannot be pickled)."""

    _metric: str | None
    _mode: str | None
    _emb: Embedded | None
    name: str
    storage: str | None
    #: this adapter runs a Tune experiment restored by ``Tuner.restore``
    _restored = False
    #: what it has done once ``_emb`` exists, for the pickling error
    _in_use = "started"

    time_attr: str

    def _report_step(self, key: str, value: Any, last: int) -> int | None:
        """The step at which a result whose ``time_attr`` is ``value`` is reported to rung,
        after the trial ``key`` reported step ``last`` (0 before any); ``None`` when it reaches
        no step: a time in seconds before step 1, or within the step reached last.

        Raises:
            ConfigError: (key ``time_attr``) the step is below ``last`` (rung's one rule,
                ``rung._steps.step_back``), or an integer below 1 (a loop counted from 0).
        """
        step = _step(value)
        if step < 1:
            if isinstance(value, numbers.Integral) and not isinstance(value, bool):
                raise ConfigError(key=self.time_attr, message=(
                    f"Tune trial {key}: must be >= 1 (rung counts steps from 1: in a loop over "
                    f"range(n), report epoch + 1), got {value!r}"))
            return None
        back = step_back(step, last)
        if back is not None:
            raise ConfigError(key=self.time_attr, message=f"Tune trial {key}: {back}")
        if step == last and float(value) != step:
            return None  # seconds: step k is the first result at or past k
        return step

    def _time_of(self, key: str, result: Mapping[str, Any]) -> Any:
        """``result[time_attr]``, of a result that holds the metric (so it counts).

        Raises:
            ConfigError: (key ``time_attr``) the result has no ``time_attr``: a result that
                counts is never skipped for want of its step (Ray Tune's own schedulers
                continue such a result without a word, and never stop the trial).
        """
        try:
            return result[self.time_attr]
        except KeyError:
            raise ConfigError(key=self.time_attr, message=(
                f"Tune trial {key}: a result with {self._metric!r} has no {self.time_attr!r} "
                f"(the step, time_attr){close_hint(self.time_attr, result)}: report it in "
                "every result, or leave time_attr='training_iteration', which Tune sets"
            )) from None

    def _study_name(self) -> str:
        """The rung study's name: ``name``, or in a restored Tune experiment whose
        ``storage`` holds it already (the run before journaled it), the first free
        ``name-2``, ``name-3``, ... (logged)."""
        if not self._restored or self.storage is None:
            return self.name
        from rung.storage import open_journal

        journal = open_journal(self.storage)
        try:
            taken = set(journal.list_studies())
        finally:
            journal.close()
        if self.name not in taken:
            return self.name
        k = 2
        while f"{self.name}-{k}" in taken:
            k += 1
        logger.warning("restored Tune experiment: its rung study is %r in %s (%r holds the run "
                       "before the restore)", f"{self.name}-{k}", self.storage, self.name)
        return f"{self.name}-{k}"

    def _set_objective(self, metric: str | None, mode: str | None) -> bool:
        """Tune's ``set_search_properties``: fill in the metric and mode from
        ``tune.TuneConfig``; ``False`` (Tune then raises) when either was already given here."""
        if (self._metric and metric) or (self._mode and mode):
            return False
        self._metric = metric or self._metric
        self._mode = mode or self._mode
        return True

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if state.get("_emb") is not None:
            raise TypeError(f"a {type(self).__name__} that has {self._in_use} cannot be pickled")
        return state


class RungScheduler(_TuneAdapter, FIFOScheduler):
    """A Ray Tune trial scheduler backed by a rung scheduler (see the module docstring).

    Args:
        scheduler: a rung scheduler that stops (instance, name or ``{"name", "params"}``).
        max_step: the step (``time_attr`` value) at which a trial ends.
        metric: the objective's metric (else taken from ``tune.TuneConfig``).
        mode: ``"min"`` or ``"max"`` (else taken from ``tune.TuneConfig``).
        time_attr: the result key that is rung's step.
        seed: the rung study's seed.
        storage: a SQLite path to journal the rung study to (default: in memory).
        name: the rung study's name in ``storage``.
    """

    _supports_buffered_results = False
    _in_use = "started trials"

    def __init__(
        self,
        scheduler: SchedulerLike = "asha",
        max_step: int = 100,
        metric: str | None = None,
        mode: str | None = None,
        time_attr: str = "training_iteration",
        seed: int = 0,
        storage: str | None = None,
        name: str = "ray-tune",
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        check_stopping(scheduler)
        self.rung_scheduler = scheduler
        self.max_step = check_int("max_step", max_step, 1)
        self._metric = metric
        self._mode = mode
        self.time_attr = time_attr
        self.seed = seed
        self.storage = storage
        self.name = name
        self._emb: Embedded | None = None
        self.n_stopped = 0

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        return self._set_objective(metric, mode)

    @property
    def embedded(self) -> Embedded:
        """The rung study behind this scheduler (created on the first trial)."""
        if self._emb is None:
            self._emb = Embedded(
                SearchSpace.empty(),
                [_objective(self._metric, self._mode,
                            "RungScheduler(metric=..., mode=...) or tune.TuneConfig(metric=..., "
                            "mode=...)")], "random",
                self.rung_scheduler, self.max_step, self.seed, self._study_name(),
                self.storage, configured=True, host="Ray Tune (RungScheduler)",
            )
        return self._emb

    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        """A new rung trial for the Tune trial. ``Tuner.restore`` adds every trial of the
        experiment again: those that ended before are not rung trials of this run (they
        report nothing more), and one that reported before marks the run as restored."""
        ended = getattr(trial, "status", None) in (Trial.TERMINATED, Trial.ERROR)
        if self._emb is None and (ended or getattr(trial, "last_result", None)):
            self._restored = True
        if ended:
            return
        self.embedded.start_configured(trial.trial_id, tune_params(trial))

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> str:
        emb, key = self.embedded, trial.trial_id
        if key in emb.decided:  # told to stop before: still stopped
            return str(TrialScheduler.STOP)
        if key not in emb.open or self._metric not in result:
            return str(TrialScheduler.CONTINUE)
        value = self._time_of(key, result)
        if _step(value) > self.max_step:
            emb.end(key, "completed")
            return str(TrialScheduler.STOP)
        step = self._report_step(key, value, emb.study.history.last_step(emb.open[key]))
        if step is None:
            return str(TrialScheduler.CONTINUE)
        assert self._metric is not None
        decision = emb.report(key, step, {self._metric: result[self._metric]})
        if decision.action is Action.STOP:
            self.n_stopped += 1
            logger.debug("trial %s stopped at step %d: %s", key, step, decision.reason)
            emb.end(key, "stopped")
            return str(TrialScheduler.STOP)
        if decision.action is Action.PAUSE:  # refused up front: cannot happen
            raise ConfigError(key="scheduler", message="rung's scheduler paused a trial")
        if step >= self.max_step:
            emb.end(key, "completed")
            return str(TrialScheduler.STOP)
        return str(TrialScheduler.CONTINUE)

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> None:
        self.embedded.end(trial.trial_id, "completed")

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        """The Tune trial failed: its rung trial fails with Tune's error text (which Tune has
        written to the trial's ``error.txt`` before it calls this hook)."""
        self.embedded.end(trial.trial_id, "failed", error=tune_error(trial))

    def on_trial_remove(self, tune_controller: Any, trial: Trial) -> None:
        self.embedded.end(trial.trial_id, "stopped")

    def debug_string(self) -> str:
        return f"Using rung's scheduler {self.rung_scheduler!r}: {self.n_stopped} stopped."


class RungSearcher(_TuneAdapter, Searcher):
    """A Ray Tune searcher backed by a rung searcher (see the module docstring).

    Args:
        space: rung's search space.
        searcher: a rung searcher (instance, name such as ``"tpe"``, ``"gp"``, ``"bohb"``, or
            ``{"name", "params"}``).
        metric: the objective's metric (give it: see the module docstring).
        mode: ``"min"`` or ``"max"``.
        seed: the rung study's seed.
        max_step: above 1, every result is reported at its ``time_attr`` step too.
        time_attr: the result key that is rung's step.
        storage: a SQLite path to journal the rung study to (default: in memory).
        name: the rung study's name in ``storage``.
    """

    _in_use = "suggested"

    def __init__(
        self,
        space: SearchSpace,
        searcher: SearcherLike = "tpe",
        metric: str | None = None,
        mode: str | None = None,
        seed: int = 0,
        max_step: int = 1,
        time_attr: str = "training_iteration",
        storage: str | None = None,
        name: str = "ray-tune-search",
    ) -> None:
        super().__init__(metric=metric, mode=mode)
        self.space = SearchSpace.coerce(space)
        # not ``self.searcher``: Tune walks ``.searcher`` attributes to unwrap its own wrappers
        self.rung_searcher = searcher
        self.seed = seed
        self.max_step = check_int("max_step", max_step, 1)
        self.time_attr = time_attr
        self.storage = storage
        self.name = name
        self._emb: Embedded | None = None
        #: per Tune trial: the last ``iterations_since_restore`` seen, and the step its run had
        #: reached when Tune restored it (steps up to it are not reported again)
        self._since_restore: dict[str, int] = {}
        self._rerun_to: dict[str, int] = {}

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any
    ) -> bool:
        """Tune's hook, with the Tuner's ``param_space`` as ``config``: constants in it are
        Tune's (the trainable gets them beside rung's params); a Tune distribution or
        ``grid_search`` is refused, since Tune leaves it to the searcher and this one samples
        only its rung space (the trainable got the ``tune.choice`` object itself).

        Raises:
            ConfigError: an unresolved value in ``param_space`` (key ``param_space.<path>``).
        """
        _, domains, grids = parse_spec_vars(config or {})
        unresolved = [("grid_search", p) for p, _ in grids]
        unresolved += [(f"distribution ({type(d).__name__})", p) for p, d in domains]
        for what, path in unresolved:
            name = ".".join(str(k) for k in path)
            where = ("it is in RungSearcher's space too: define it once, there"
                     if name in self.space.params else
                     "declare it in RungSearcher's SearchSpace (rung.Float, rung.Int, "
                     "rung.Categorical); param_space may hold constants only")
            raise ConfigError(key=f"param_space.{name}", message=(
                f"a Tune {what}, which RungSearcher does not sample: {where}"))
        return self._set_objective(metric, mode)

    @property
    def embedded(self) -> Embedded:
        """The rung study behind this searcher (created on the first suggestion)."""
        if self._emb is None:
            self._emb = Embedded(
                self.space,
                [_objective(self._metric, self._mode,
                            "RungSearcher(metric=..., mode=...) (Tune hands tune.TuneConfig's "
                            "on to a searcher only when the Tuner has a param_space)")],
                self.rung_searcher, "fifo",
                self.max_step, self.seed, self._study_name(), self.storage,
                host="Ray Tune (RungSearcher)",
            )
        return self._emb

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        trial = self.embedded.start(trial_id)
        if trial is None:  # the searcher ran out (a grid): Tune's FINISHED sentinel
            return Searcher.FINISHED  # type: ignore[return-value]
        return dict(trial.params)

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        emb = self.embedded
        if self.max_step == 1 or trial_id not in emb.open or self._metric not in result:
            return
        last = emb.study.history.last_step(emb.open[trial_id])
        n = result.get("iterations_since_restore")
        if type(n) is int:
            if n <= self._since_restore.get(trial_id, 0):  # Tune restored the trial
                self._rerun_to[trial_id] = last
            self._since_restore[trial_id] = n
        value = self._time_of(trial_id, result)
        at = _step(value)
        if at > self.max_step or 1 <= at <= self._rerun_to.get(trial_id, 0):
            return  # below 1: refused (an integer) or no step yet (seconds), by _report_step
        step = self._report_step(trial_id, value, last)
        if step is not None:
            emb.report(trial_id, step, {self._metric: result[self._metric]})

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        emb = self.embedded
        if error or result is None or self._metric not in result:
            emb.end(trial_id, "failed" if error else "stopped",
                    error=SEARCHER_ERROR if error else None)
            return
        step = 1 if self.max_step == 1 else min(
            max(_step(self._time_of(trial_id, result)), 1), self.max_step)
        # a restored run that ended below the step reached before: its final result is the last
        step = max(step, self._rerun_to.get(trial_id, 0))
        emb.end(trial_id, "completed", {self._metric: result[self._metric]}, step=step)

    def get_state(self) -> dict[str, Any]:
        """What Tune's experiment checkpoint keeps: the objective only. The rung study itself
        is journaled to ``storage`` when one is given; a Tune experiment restored by
        ``Tuner.restore`` journals a new rung study (``name-2`` if ``name`` is taken)."""
        return {"metric": self._metric, "mode": self._mode}

    def set_state(self, state: dict[str, Any]) -> None:
        self._metric, self._mode = state.get("metric"), state.get("mode")
        self._restored = True

    def save(self, checkpoint_path: str) -> None:
        """Tune's experiment checkpoint (``get_state``, as JSON): without it,
        ``Tuner.restore`` failed ("Searcher unable to find checkpoint") and restarted the
        experiment from scratch."""
        with open(checkpoint_path, "w") as f:
            json.dump(self.get_state(), f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path) as f:
            self.set_state(json.load(f))
