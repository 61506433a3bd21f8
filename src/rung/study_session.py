"""What a ``Study`` session checks and which executor it drives, before anything is written.

``Study.run`` and ``Study.simulate`` call these first: ``check_budget`` refuses a run without
a limit, ``check_spendable_here`` a ``max_cost`` / ``max_gpu_hours`` budget the session would
never spend, ``check_simulated_workers`` a simulated worker count out of bounds;
``with_study_resources`` makes the study's ``resources_per_trial`` what a Ray executor reserves
per trial, and ``make_executor`` builds the executor a name stands for. Each raises
``ConfigError`` naming the key; none writes to the journal or starts a worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rung._validate import check_int, is_int
from rung.core.engine import Engine
from rung.core.pricing import DEFAULT_RESOURCES, check_spendable
from rung.core.records import StudySpec
from rung.errors import ConfigError
from rung.executors.base import Executor
from rung.executors.options import unknown_executor
from rung.executors.simulated import MAX_WORKERS

#: Most workers of a simulated run: ``rung.executors.simulated.MAX_WORKERS``, the one bound.
MAX_SIMULATED_WORKERS = MAX_WORKERS


def check_simulated_workers(
    n_workers: Any, key: str = "n_workers", error: Callable[..., ConfigError] = ConfigError
) -> int:
    """``n_workers`` of a simulated run, checked: an integer in 1..``MAX_SIMULATED_WORKERS``.

    Raises:
        ``error(key=key, message=...)`` naming the limit; ``rung.cli.spec`` passes its
        ``SpecError`` and the spec's key (``spec.n_workers``, ``--workers``).
    """
    if is_int(n_workers) and n_workers > MAX_SIMULATED_WORKERS:
        raise error(key=key, message=f"at most {MAX_SIMULATED_WORKERS:,} simulated workers (a "
                    f"simulated run starts a trial on each at once), got {n_workers:,}")
    return check_int(key, n_workers, 1, error=error)


def check_budget(spec: StudySpec, engine: Engine) -> None:
    """``ConfigError`` for a run with no limit whose searcher never runs out."""
    if spec.budget.unlimited and not engine.searcher.exhausts:
        raise ConfigError(
            "budget: a run needs a limit (rung.Budget(n_trials=..., max_time=..., "
            "max_steps=..., max_cost=..., max_gpu_hours=...)); only a searcher that runs "
            "out of configurations (a grid) ends by itself"
        )


def check_spendable_here(
    spec: StudySpec, engine: Engine, executor: str | Executor | None
) -> None:
    """Refuse a ``max_cost`` / ``max_gpu_hours`` this session would never spend (it would
    never end by its budget), before anything is written. Only for an executor that does
    not say what a trial holds (``"local"``; ``None``: ``simulate``'s own
    ``SimulatedExecutor``); a trial then holds what the engine charges, which is the
    spec's ``resources_per_trial`` (else one CPU) unless an earlier session's executor
    said otherwise (the engine keeps that)."""
    from rung.executors.local import LocalExecutor
    from rung.executors.simulated import SimulatedExecutor

    silent = (executor is None or executor == "local"
              or (isinstance(executor, LocalExecutor | SimulatedExecutor)
                  and executor.resources is None))
    given = spec.resources_per_trial
    if not silent or dict(engine.meter.resources) != dict(given or DEFAULT_RESOURCES):
        return
    check_spendable(spec.budget.max_cost, spec.budget.max_gpu_hours, spec.prices, given)
    from rung.cost.stop_rule import check_value_priced

    check_value_priced(spec.budget.stop, spec.prices or {}, given)


def with_study_resources(
    spec: StudySpec, executor: str | Executor, options: dict[str, Any],
    n_workers: int | None = None,
) -> dict[str, Any]:
    """Make the study's ``resources_per_trial`` what a Ray executor reserves per trial
    (``rung.executors.options.ray_resources``): ``executor="ray"``'s options get it unless
    they give their own, and a ``RayExecutor`` instance takes it unless built with its
    own; ``ConfigError`` naming both when they disagree, and for a ``max_cost`` /
    ``max_gpu_hours`` budget what each trial reserves would never spend, before Ray
    starts and anything is written. The local executor lays its workers out for it
    (``rung.executors.local_devices``): ``executor="local"`` is built with it (a layout it
    refuses, for ``n_workers``, is a ``ConfigError`` now), a
    ``LocalExecutor`` instance takes it (``use_study_resources``; a different one of its own
    is a ``ConfigError`` naming both). Other executors report no resources: a trial holds
    the study's (the engine's meter)."""
    from rung.executors.local import LocalExecutor
    from rung.executors.options import check_ray_budget, ray_resources
    from rung.executors.ray.executor import RayExecutor  # imports no Ray

    given = spec.resources_per_trial
    if isinstance(executor, LocalExecutor):
        executor.use_study_resources(given)
    elif executor == "local" and given is not None:
        from rung.executors.local_devices import layout
        from rung.executors.processes import usable_cpus

        # refused now, not once the session has begun: a GPU fraction above one, or more
        # workers than the GPU slots this process sees
        layout(given, n_workers, options.get("threads_per_worker", "auto"), usable_cpus())
        return {**options, "resources_per_trial": dict(given)}
    elif isinstance(executor, RayExecutor):
        executor.use_study_resources(given)
        check_ray_budget(spec.budget, spec.prices, executor.resources)
    elif executor == "ray":
        chosen = ray_resources(given, options.get("resources_per_trial"))
        check_ray_budget(spec.budget, spec.prices, chosen)
        if chosen is not None:
            return {**options, "resources_per_trial": chosen}
    return options


def make_executor(
    objective: Callable[..., Any],
    executor: str | Executor,
    n_workers: int | None,
    options: Mapping[str, Any],
) -> Executor:
    """The executor ``executor`` names (``"local"``, ``"ray"``), built with the session's
    objective; an ``Executor`` instance as it is (it gets the objective with the session's
    ``RunContext``); ``unknown_executor``'s ``ConfigError`` for another name."""
    if not isinstance(executor, str):
        return executor  # it gets the objective with the session's RunContext
    if executor == "local":
        from rung.executors.local import LocalExecutor

        local: Executor = LocalExecutor(objective, n_workers=n_workers, **options)
        return local
    if executor == "ray":
        from rung.executors.ray import RayExecutor

        ray: Executor = RayExecutor(objective=objective, max_concurrent=n_workers, **options)
        return ray
    raise unknown_executor(executor)


__all__ = [
    "MAX_SIMULATED_WORKERS", "check_budget", "check_simulated_workers", "check_spendable_here",
    "make_executor", "with_study_resources",
]
