"""``rung.optimize``: define-by-run search in one call."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rung.core.records import Budget, objectives_from
from rung.dbr.trial import Trial
from rung.errors import ConfigError, RunFailed
from rung.space import Fidelity, SearchSpace
from rung.storage import Journal, open_journal

if TYPE_CHECKING:
    from rung.core.components import SchedulerLike, SearcherLike
    from rung.executors.base import Executor
    from rung.study import Study

# the last line of a failed trial's error when a suggest_* call (or the engine) refused it
_CONFIG_ERROR = re.compile(r"^(?:rung\.errors\.)?(?:ConfigError|SpaceError): (.*)$")

#: what ``searcher="auto"`` means for a define-by-run study: the space is unknown when the
#: study is created, and TPE models conditional branches and categorical choices natively
AUTO_SEARCHER = "tpe"


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
    front); every searcher works. With ``storage`` naming an existing study, the study is
    loaded and continued (resume after a crash).

    ``points_to_evaluate``: configurations (possibly partial) to run first, in order.
    ``fidelity``: a ``rung.Fidelity`` (sets ``max_step``). Other arguments are
    ``rung.run``'s; ``executor_options`` go to the executor (``start_method="fork"``...).

    Raises:
        ConfigError: a bad argument, or a parameter declared with two distributions (one line
            naming it; the trials that declared it differently failed).
        RunFailed: as ``Study.run``.
    """
    from rung.study import Study

    objectives = objectives_from(metric, mode)
    journal = open_journal(storage)
    if name in journal.list_studies():
        study = Study.load(name, journal)
        if not study.spec.define_by_run:
            raise ConfigError(key="name", message=f"study {name!r} exists and is not a "
                              "define-by-run study (use Study.load(...).run)")
    else:
        study = Study.create(
            name,
            SearchSpace.empty(),
            objectives if len(objectives) > 1 else objectives[0],
            searcher=AUTO_SEARCHER if isinstance(searcher, str) and searcher == "auto"
            else searcher,
            scheduler=scheduler,
            max_step=max_step if fidelity is None else Fidelity.from_json(fidelity).max_step,
            budget=Budget(n_trials, max_time, max_steps),
            seed=seed,
            storage=journal,
            n_workers=n_workers,
            fidelity=fidelity,
            points_to_evaluate=points_to_evaluate,
            define_by_run=True,
        )
    try:
        study.run(objective, executor=executor, n_workers=n_workers, **executor_options)
    except RunFailed:
        _raise_conflict(study)
        raise
    _raise_conflict(study)
    return study


def _raise_conflict(study: Study) -> None:
    """A parameter declared with two distributions is the objective's bug: say so once."""
    for t in study.history.trials():
        lines = (t.error or "").strip().splitlines()
        m = _CONFIG_ERROR.match(lines[-1]) if lines else None
        if m is not None:
            key, _, message = m.group(1).partition(": ")
            raise ConfigError(key=key.strip("'\""), message=f"{message} (trial {t.id})")


__all__ = ["AUTO_SEARCHER", "optimize"]
