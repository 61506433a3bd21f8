"""``rung.optimize``: define-by-run search in one call."""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rung.callbacks import Callback, as_callbacks
from rung.core.events import Command, Event, TrialEnded
from rung.core.history import History
from rung.core.records import (
    Budget,
    Constraint,
    TrialStatus,
    constraints_from,
    objectives_from,
)
from rung.dbr.trial import Trial
from rung.errors import ConfigError, RunFailed
from rung.space import Fidelity, SearchSpace
from rung.storage import Journal, journal_path, open_journal

if TYPE_CHECKING:
    from rung.core.components import SchedulerLike, SearcherLike
    from rung.executors.base import Executor
    from rung.study import Study

# the last line of a failed trial's error when a suggest_* call (or the engine) refused it
_CONFIG_ERROR = re.compile(r"^(?:rung\.errors\.)?(?:ConfigError|SpaceError): (.*)$")
_QUOTED_KEY = re.compile(r"^(['\"])(.*?)\1(\S*): (.*)$")

#: what ``searcher="auto"`` means for a define-by-run study: the space is unknown when the
#: study is created, and TPE models conditional branches and categorical choices natively
AUTO_SEARCHER = "tpe"

#: schedulers that fork trials with perturbed params of the space they were bound to: a
#: define-by-run study's is empty when they are bound, and learned later
_PERTURBING = {"pbt": "PBT", "pb2": "PB2"}

#: the argument a user of another library reaches for, and what it is called here
_PEER_WORDS = {
    "direction": "mode='min' | 'max'",
    "directions": "mode=[...] with metric=[...]",
    "n_jobs": "n_workers",
    "sampler": "searcher",
    "pruner": "scheduler",
    "study_name": "name",
    "timeout": "max_time",
    "num_samples": "n_trials",
    "load_if_exists": "nothing: an existing name in storage is always continued",
    "catch": "nothing: a trial that raises fails, and the search goes on",
    "show_progress_bar": "progress=True",
    "gc_after_trial": "nothing: each trial runs in a worker process",
}


def optimize(
    objective: Callable[[Trial], Any],
    n_trials: int | None = None,
    metric: str | Sequence[str] = "loss",
    mode: str | Sequence[str] = "min",
    searcher: SearcherLike = "auto",
    scheduler: SchedulerLike = "auto",
    max_step: int = 1,
    n_workers: int | None = None,
    storage: str | os.PathLike[str] | Journal | None = None,
    seed: int = 0,
    name: str = "rung",
    fidelity: Fidelity | Mapping[str, Any] | None = None,
    points_to_evaluate: Sequence[Mapping[str, Any]] = (),
    max_time: float | None = None,
    max_steps: int | None = None,
    executor: str | Executor = "local",
    constraints: Sequence[Constraint | Mapping[str, Any] | str] = (),
    max_failures: int | float | None = None,
    trial_timeout: float | None = None,
    **executor_options: Any,
) -> Study:
    """Define-by-run search: ``objective(trial)`` declares its parameters as it uses them.

    ::

        def objective(trial):
            opt = trial.suggest_categorical("opt", ["adam", "sgd"])
            lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
            if opt == "sgd":
                momentum = trial.suggest_float("momentum", 0.0, 0.99)  # conditional on opt
            for step in range(trial.start_step, trial.max_step + 1):
                trial.report(step, val_loss(...))   # may raise StopTrial / PauseTrial
            return final_loss                        # optional: the final result

        study = rung.optimize(objective, n_trials=50, metric="val_loss", max_step=27)

    The space is learned from what trials use (``rung.space.learned``): a parameter suggested
    only under some values of an earlier categorical is conditional on them; the study's
    searcher proposes values for every parameter known so far, and a trial draws any other one
    from the distribution it declares. ``searcher="auto"`` is TPE (the space is unknown up
    front); every searcher but a grid works. With ``storage`` naming an existing study, the
    study is loaded and continued (resume after a crash).

    A study keeps the arguments it was created with: continuing one, an argument left at its
    default takes the stored value, and one given with another value than the stored one
    (``mode``, ``metric``, ``n_trials``, ``max_step``, a named ``searcher`` or ``scheduler``...)
    is refused, since the study would silently go on with the stored one; ``n_trials``,
    ``max_time`` and ``max_steps`` given with another value are its budget from then on
    (``Study.set_budget``: ``n_trials=100`` after 50 trials runs 50 more).

    Args:
        objective: ``objective(trial)`` with a ``rung.dbr.Trial``; what it returns (optional)
            is the final result: a number, one per metric, or a mapping of metrics.
        n_trials: default ``None``: at most this many trials.
        metric: default ``"loss"``: the metric (a list: a multi-objective study).
        mode: default ``"min"``: ``"min"`` / ``"max"``, one for all metrics or one per metric.
        searcher: default ``"auto"`` (TPE): any but ``"grid"``, which needs its space up
            front (refused with a ``ConfigError``).
        scheduler: default ``"auto"``: any but ``rung.PBT`` and ``rung.PB2``, which perturb a
            space declared up front (refused with a ``ConfigError``).
        max_step: default 1: the last step a trial reports (``fidelity`` sets it).
        n_workers: default ``None`` (the CPUs this process may use): trials at once.
        storage: default ``None`` (in memory): a SQLite journal's path, or a ``Journal``.
        seed: default 0: the root of every random draw.
        name: default ``"rung"``: the study's name in ``storage``.
        fidelity: default ``None``: a ``rung.Fidelity`` (sets ``max_step``).
        points_to_evaluate: default none: configurations (possibly partial) to run first, in
            order; a name in one that the objective never asks for is logged when its trial
            ends, with a did-you-mean (``rung.dbr.unused``), and a value its call's
            distribution does not contain fails that trial, naming it
            (``EnqueuedValueError``; the search goes on).
        max_time: default ``None``: seconds of driver time, summed over sessions.
        max_steps: default ``None``: steps trained over all trials. A new study needs
            ``n_trials``, ``max_time`` or ``max_steps``.
        executor: default ``"local"``: as ``Study.run``.
        constraints: default none: as ``rung.run``.
        max_failures: default ``None`` (no limit): how many failed trials (or which fraction
            of the ended ones) end the run.
        trial_timeout: default ``None`` (no limit): seconds one run of a trial may take.
        **executor_options: ``Study.run``'s (``progress``, ``callbacks``, ...) or the
            executor's (``start_method="fork"``...).

    Raises:
        ConfigError: a bad argument (an unknown keyword included, before anything is written),
            an argument that contradicts the existing study's, or a parameter declared with
            another kind, log scale or choices than before, a bad step or returned value (one
            line naming it and the first trial that failed of it: the run stops there, as
            every later trial would fail the same way).
        TrackerError, ImportError: a tracker among ``callbacks`` cannot start (checked before
            anything is written).
        RunFailed: as ``Study.run``.

    Whatever it raises, the study is closed first (its journal intact): ``rung.optimize``
    again, or ``rung.Study.load``, continues it.
    """
    from rung.auto import AUTO, is_auto
    from rung.core.registry import to_spec
    from rung.study import Study

    _check_options(executor, executor_options)
    if not is_auto(searcher) and to_spec("searcher", searcher, (AUTO,)).name == "grid":
        raise ConfigError(key="searcher", message=(
            "a grid needs its space up front, and a define-by-run study learns it as trials "
            "run (its first trials would not be on the grid, later ones repeat): declare a "
            "rung.SearchSpace and use rung.run, or list the points in points_to_evaluate"))
    kind = None if is_auto(scheduler) else to_spec("scheduler", scheduler, (AUTO,)).name
    if kind in _PERTURBING:
        raise ConfigError(key="scheduler", message=(
            f"{_PERTURBING[kind]} perturbs hyperparameters of a space declared up front, and a "
            "define-by-run study learns its space as trials run: declare a rung.SearchSpace "
            "and use rung.run"))
    objectives = objectives_from(metric, mode)
    _check_trackers(executor_options.get("callbacks", ()), name)
    unlimited = n_trials is None and max_time is None and max_steps is None
    if unlimited and not study_exists(storage, name):
        # Study.run would refuse it too, but only once the study is in storage for good
        raise ConfigError(key="n_trials", message="a run needs a limit: give n_trials, max_time "
                          "(seconds) or max_steps")
    journal = open_journal(storage)
    if name in journal.list_studies():
        study = Study.load(name, journal)
        if not study.spec.define_by_run:
            raise ConfigError(key="name", message=f"study {name!r} exists and is not a "
                              "define-by-run study (use Study.load(...).run)")
        _check_same(study, storage, {
            "metric": (metric, "loss", [o.metric for o in objectives]),
            "mode": (mode, "min", [o.mode for o in objectives]),
            "searcher": (searcher, "auto", searcher),
            "scheduler": (scheduler, "auto", scheduler),
            "max_step": (max_step, 1, max_step),
            "seed": (seed, 0, seed),
            "fidelity": (fidelity, None, fidelity),
            "constraints": (constraints, (), constraints),
            "max_failures": (max_failures, None, max_failures),
            "trial_timeout": (trial_timeout, None, trial_timeout),
        })
        # a limit given with another value is the study's budget from now on (Optuna's
        # optimize(n_trials=...) called again: here n_trials counts the whole study)
        given: dict[str, Any] = {k: v for k, v in (("n_trials", n_trials),
                                                   ("max_time", max_time),
                                                   ("max_steps", max_steps)) if v is not None}
        if given:
            try:
                study.set_budget(**given)  # journals nothing when they are the study's
            except BaseException:
                study.close()
                raise
    else:
        study = Study.create(
            name,
            SearchSpace.empty(),
            objectives if len(objectives) > 1 else objectives[0],
            searcher=searcher,  # auto: tpe, and the reason says so (rung.auto.choose)
            scheduler=scheduler,
            max_step=max_step if fidelity is None else Fidelity.from_json(fidelity).max_step,
            budget=Budget(n_trials, max_time, max_steps),
            seed=seed,
            storage=journal,
            n_workers=n_workers,
            fidelity=fidelity,
            points_to_evaluate=points_to_evaluate,
            define_by_run=True,
            constraints=constraints,
            max_failures=max_failures,
            trial_timeout=trial_timeout,
        )
    before = {t.id for t in study.history.trials() if t.error}
    options = dict(executor_options)
    callbacks = (*as_callbacks(options.pop("callbacks", ())), _StopAtConflict())
    try:
        try:
            study.run(objective, executor=executor, n_workers=n_workers, callbacks=callbacks,
                      **options)
        except RunFailed:
            _raise_conflict(study, before)
            raise
        _raise_conflict(study, before)
    except BaseException:
        # the caller gets no study to close: close it here, or it holds the journal's writer
        # lock in this process ("being written by another Study object") until collected
        study.close()
        raise
    return study


def study_exists(storage: str | os.PathLike[str] | Journal | None, name: str) -> bool:
    """``name`` is a study in ``storage`` (read without creating anything)."""
    if storage is None:
        return False
    if isinstance(storage, Journal):
        return name in storage.list_studies()
    path = journal_path(storage)  # ConfigError naming storage for what no journal can be
    if not path.exists():
        return False
    journal = open_journal(path, readonly=True)
    try:
        return name in journal.list_studies()
    finally:
        journal.close()


def _check_options(executor: str | Executor, options: Mapping[str, Any]) -> None:
    """Refuse a keyword that neither ``Study.run`` nor the executor takes, before the study is
    created (it would otherwise exist in ``storage`` with the arguments of a failed call)."""
    from rung.study import Study

    if not options:
        return
    allowed = set(inspect.signature(Study.run).parameters) - {"self", "executor_options"}
    what = "Study.run"
    if executor == "local":
        from rung.executors.local import LocalExecutor

        allowed |= set(inspect.signature(LocalExecutor).parameters)
        what += " or the local executor"
    elif executor == "ray":
        try:
            from rung.executors.ray import RayExecutor
        except ImportError:  # Study.run names the extra
            return
        allowed |= set(inspect.signature(RayExecutor).parameters)
        what += " or the Ray executor"
    else:
        what += f" ({type(executor).__name__} instances take their options when built)"
    allowed -= {"objective", "n_workers", "max_concurrent"}
    for key in options:
        if key not in allowed:
            hint = _PEER_WORDS.get(key)
            raise ConfigError(key=key, message=(
                f"not an argument of rung.optimize, nor of {what}"
                + (f"; here it is {hint}" if hint else "")))


def _check_trackers(callbacks: Any, name: str) -> None:
    """A tracker among ``callbacks`` that cannot start (library missing, directory not
    writable, server down) raises here, before the study is created: otherwise the study
    would exist in ``storage`` and the corrected call would continue it."""
    from rung.callbacks import as_callbacks
    from rung.integrations._tracking import check_trackers

    check_trackers(as_callbacks(callbacks), name)


def _check_same(
    study: Study, storage: object, given: Mapping[str, tuple[Any, Any, Any]]
) -> None:
    """Refuse arguments that contradict the stored study's: ``given`` maps an argument's name
    to ``(value, its default, the value to compare)``; one left at its default is not
    compared."""
    from rung.core.registry import build, to_spec

    spec = study.spec
    stored_objectives = spec.objectives or (spec.objective,)
    stored: dict[str, Any] = {
        "metric": [o.metric for o in stored_objectives],
        "mode": [o.mode for o in stored_objectives],
        "max_step": spec.max_step,
        "n_trials": spec.budget.n_trials,
        "max_time": spec.budget.max_time,
        "max_steps": spec.budget.max_steps,
        "seed": spec.seed,
        "fidelity": spec.fidelity,
        "constraints": spec.constraints,
        "max_failures": spec.max_failures,
        "trial_timeout": spec.trial_timeout,
    }
    compared: Any
    was: Any
    for key, (value, default, compared) in given.items():
        if isinstance(value, str) and isinstance(default, str):
            left = value == default
        else:
            left = value is default or (default is not None and value == default)
        if left:
            continue
        if key in ("searcher", "scheduler"):
            from rung.auto import is_auto

            if key == "searcher" and is_auto(value):
                value = AUTO_SEARCHER
            mine = build(key, to_spec(key, value))
            theirs = build(key, getattr(spec, key))
            if mine.name != theirs.name:
                compared, was = mine.name, theirs.name
            else:
                a, b = mine.get_params(), theirs.get_params()
                diff = sorted(k for k in {*a, *b} if a.get(k) != b.get(k))
                if not diff:
                    continue
                compared = f"{mine.name}({', '.join(f'{k}={a.get(k)!r}' for k in diff)})"
                was = f"{theirs.name}({', '.join(f'{k}={b.get(k)!r}' for k in diff)})"
                key = f"{key}.params.{diff[0]}"
                raise ConfigError(key=key, message=(
                    f"study {spec.name!r} in {storage} was created with {was}, not "
                    f"{compared}; {_SAME}"))
        elif key == "fidelity":
            compared = Fidelity.from_json(compared)
            was = stored[key]
            if compared == was:
                continue
        elif key == "constraints":
            mine_c, theirs_c = constraints_from(compared), stored[key]
            if mine_c == theirs_c:
                continue
            compared = [f"{c.metric} {c.op} {c.bound:g}" for c in mine_c]
            was = [f"{c.metric} {c.op} {c.bound:g}" for c in theirs_c]
        else:
            was = stored[key]
            if compared == was:
                continue
        raise ConfigError(key=key, message=(
            f"study {spec.name!r} in {storage} was created with {key}={_shown(was)}, not "
            f"{_shown(compared)}; {_SAME}"))


_SAME = ("rung.optimize continues an existing study with the arguments it was created with: "
         "give the same (or leave it out), or another name=")


def _shown(value: Any) -> str:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return repr(value)


def _conflict(trial_id: int, error: str | None) -> ConfigError | None:
    """The ``ConfigError`` a trial failed of (a parameter declared with two distributions, or
    another ``ConfigError`` of a ``suggest_*`` or ``report`` call), named for the user, or
    ``None`` when it failed of something else."""
    lines = (error or "").strip().splitlines()
    m = _CONFIG_ERROR.match(lines[-1]) if lines else None
    if m is None:
        return None
    quoted = _QUOTED_KEY.match(m.group(1))  # a SpaceError's 'name'.field: message
    if quoted is not None:
        key, message = quoted.group(2) + quoted.group(3), quoted.group(4)
    else:
        key, _, message = m.group(1).partition(": ")
    return ConfigError(key=key, message=f"{message} (trial {trial_id})")


class _StopAtConflict(Callback):
    """Stops the run at the first trial that fails of such a ``ConfigError``: the objective's
    bug fails every later trial the same way (a resumed study whose objective now declares a
    parameter otherwise spent its whole budget on failures before the error was raised)."""

    def on_turn(self, events: Sequence[Event], commands: Sequence[Command],
                history: History) -> None:
        for ev in events:
            if type(ev) is TrialEnded and history.status(ev.trial_id) is TrialStatus.FAILED:
                error = _conflict(ev.trial_id, history.error(ev.trial_id))
                if error is not None:
                    raise error


def _raise_conflict(study: Study, before: set[int]) -> None:
    """A parameter declared with two distributions (or another ``ConfigError`` of a
    ``suggest_*`` or ``report`` call) is the objective's bug: say so once. Trials that had
    failed before this call (``before``) are not this session's: they do not keep a
    continued study from running."""
    for t in study.history.trials():
        if t.id not in before and (error := _conflict(t.id, t.error)) is not None:
            raise error


__all__ = ["AUTO_SEARCHER", "optimize"]
