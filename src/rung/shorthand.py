"""``rung.run``: create a study, run it and return it, in one call."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rung.core.records import Budget, Constraint, objectives_from
from rung.dbr.optimize import study_exists
from rung.errors import ConfigError
from rung.executors.base import Executor
from rung.executors.options import check_executor_options
from rung.space import Fidelity, SearchSpace
from rung.storage import Journal
from rung.study import Study

if TYPE_CHECKING:
    from rung.callbacks import Callback
    from rung.core.components import SchedulerLike, SearcherLike
    from rung.space.search_space import ParamLike

def run(
    objective: Callable[..., Any],
    space: SearchSpace | Mapping[str, ParamLike],
    metric: str | Sequence[str] = "loss",
    mode: str | Sequence[str] = "min",
    searcher: SearcherLike = "auto",
    scheduler: SchedulerLike = "auto",
    max_step: int = 1,
    n_trials: int | None = None,
    max_time: float | None = None,
    max_steps: int | None = None,
    seed: int = 0,
    storage: str | os.PathLike[str] | Journal | None = None,
    name: str = "rung",
    executor: str | Executor = "local",
    n_workers: int | None = None,
    constraints: Sequence[Constraint | Mapping[str, Any] | str] = (),
    budget: Budget | Mapping[str, Any] | None = None,
    max_failures: int | float | None = None,
    trial_timeout: float | None = None,
    points_to_evaluate: Sequence[Mapping[str, Any]] = (),
    fidelity: Fidelity | Mapping[str, Any] | None = None,
    progress: bool | None = None,
    callbacks: Sequence[Callback] | Callback = (),
    **executor_options: Any,
) -> Study:
    """One call: create a study, run it, return it.

    Example: maximize accuracy subject to latency_ms <= 100::

        rung.run(fit, space, metric="accuracy", mode="max",
                 constraints=["latency_ms <= 100"], n_trials=50)

    Args:
        objective: ``objective(ctx)``, as ``Study.run`` takes it.
        space: a ``rung.SearchSpace`` or a mapping of names to parameters (``Study.create``).
        metric: default ``"loss"``: the metric to optimize, or a list of them (a
            multi-objective study).
        mode: default ``"min"``: ``"min"`` / ``"max"``, one for all metrics or one per metric.
        searcher: default ``"auto"``: as ``Study.create``.
        scheduler: default ``"auto"``: as ``Study.create``.
        max_step: default 1: the last step a trial reports (``fidelity`` sets it).
        n_trials: default ``None``: at most this many configurations proposed.
        max_time: default ``None``: seconds of driver time, summed over sessions.
        max_steps: default ``None``: steps trained over all trials. The budget is these
            three (``None``: no limit of that kind; only a grid runs without any), or
            ``budget`` (not both; see ``rung.Budget``).
        seed: default 0: the root of every random draw.
        storage: default ``None`` (in memory): a SQLite journal's path, or a ``Journal``.
        name: default ``"rung"``: the study's name. A ``name`` already in ``storage`` is
            refused (``ConfigError``, key ``name``, before anything runs):
            ``rung.Study.load(name, storage=...).run(objective)`` continues it.
        executor: default ``"local"``: as ``Study.run``. ``"ray"`` without Ray installed is
            a ``ConfigError`` (key ``executor``: ``pip install 'rung[ray]'``) before anything
            is written.
        n_workers: default ``None`` (the CPUs this process may use over the CPUs a trial
            holds, no more than the GPU slots for trials holding GPUs, as ``LocalExecutor``):
            trials at once, also what ``"auto"`` chooses for.
        constraints: default none: ``rung.Constraint(metric, "<=" | ">=", bound)``, or as in a
            spec ``"metric <= bound"`` strings and mappings of the same keys.
        budget: default ``None``: a ``rung.Budget`` in place of ``n_trials`` / ``max_time`` /
            ``max_steps``.
        max_failures: default ``None``: as ``Study.create``.
        trial_timeout: default ``None``: as ``Study.create``.
        points_to_evaluate: default none: configurations (possibly partial) run first, in
            order.
        fidelity: default ``None``: a ``rung.Fidelity``, which sets ``max_step``.
        progress: default ``None``: ``Study.run``'s: the live view (or plain lines) on stderr,
            by default when stderr is a terminal or this is a notebook. It starts with the
            line that says which components ``searcher="auto"`` / ``scheduler="auto"`` chose
            and why (``rung: study <name>: auto: searcher gp (...); scheduler fifo (...)``);
            without progress nothing of it is shown (it stays in ``study.auto_reason`` and
            the journal).
        callbacks: default none: as ``Study.run``.
        **executor_options: ``Study.run``'s (``start_method="fork"``, ``checkpoint_every=5``,
            ``threads_per_worker`` for ``"local"``; ``address``, ``resources_per_trial``, ...
            for ``"ray"``); an option the executor does not take is a ``ConfigError`` naming
            it, before anything is written.
    """
    if budget is None:
        budget = Budget(n_trials, max_time, max_steps)
    elif n_trials is not None or max_time is not None or max_steps is not None:
        raise ConfigError(key="budget", message="give budget= or n_trials / max_time / "
                          "max_steps, not both")
    check_executor_options(executor, executor_options, n_workers)
    if executor == "ray":  # Study.run would refuse it too, after the study was written
        from rung.executors.ray.importing import check_ray_installed

        check_ray_installed()
    objectives = objectives_from(metric, mode)
    if study_exists(storage, name):  # Study.create's error would name its own options
        where = os.fspath(storage) if isinstance(storage, str | os.PathLike) else storage
        raise ConfigError(key="name", message=(
            f"study {name!r} already exists in {where}: continue it with rung.Study.load("
            f"{name!r}, storage={where!r}).run(objective), or give another name="))
    from rung.callbacks import as_callbacks
    from rung.integrations._tracking import check_trackers

    check_trackers(as_callbacks(callbacks), name)  # before the study is written
    study = Study.create(
        name,
        space,
        objectives if len(objectives) > 1 else objectives[0],
        searcher=searcher,
        scheduler=scheduler,
        max_step=max_step,
        budget=budget,
        seed=seed,
        storage=storage,
        constraints=constraints,
        n_workers=n_workers,
        max_failures=max_failures,
        trial_timeout=trial_timeout,
        points_to_evaluate=points_to_evaluate,
        fidelity=fidelity,
    )
    try:
        return study.run(objective, executor=executor, n_workers=n_workers, progress=progress,
                         callbacks=callbacks, **executor_options)
    except ConfigError:
        # refused before its session wrote anything (an objective the executor's workers
        # cannot take, say): the study just created goes too, so the mended call runs
        if not study.journal.read(name):
            from rung.study_delete import delete_study

            delete_study(name, study.journal)
        raise


__all__ = ["run"]
