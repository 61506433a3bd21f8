"""The options of an executor rung builds from its name (``executor="local"`` / ``"ray"``),
checked before anything is created or written: a mistyped one is a ``ConfigError`` naming it,
not a ``TypeError`` from the executor's constructor once the study exists."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from rung.errors import ConfigError

#: parameters the caller sets itself (``Study.run`` passes the objective and the workers)
_SET_BY_RUN = {"objective", "n_workers", "max_concurrent"}
#: ... and for ``"local"``, the study's ``resources_per_trial`` (``Study.create``, the spec)
_SET_BY_STUDY = {"local": {"resources_per_trial"}}


def executor_option_names(executor: str) -> list[str]:
    """The options ``executor`` (``"local"`` or ``"ray"``) takes from ``Study.run``'s and
    ``rung.run``'s keyword arguments, in their constructor's order. Imports nothing heavy:
    ``"ray"``'s are read from the executor class, whose module imports Ray lazily."""
    if executor == "local":
        from rung.executors.local import LocalExecutor as cls
    elif executor == "ray":
        from rung.executors.ray.executor import RayExecutor as cls  # type: ignore[assignment]
    else:
        return []
    params = inspect.signature(cls.__init__).parameters
    study = _SET_BY_STUDY.get(executor, set())
    return [p for p in params if p != "self" and p not in _SET_BY_RUN and p not in study]


def ray_resources(
    study: Mapping[str, float] | None,
    given: Any,
    key: str = "resources_per_trial",
    study_key: str = "the study's resources_per_trial (Study.create)",
) -> Any:
    """What the Ray executor of a study reserves per trial: ``given`` (the executor's own
    ``resources_per_trial``, Ray's spelling) when there is one, else the study's
    ``resources_per_trial`` (cost-model devices, canonical) in Ray's spelling
    (``rung.executors.ray.resources.from_devices``), else ``None`` (the executor's default, one
    CPU). So the ledger, which charges what the executor reports, charges the study's devices.

    Raises:
        ConfigError: ``given`` and ``study`` both set and holding other devices (CPUs, GPUs by
            type; ``memory`` and custom Ray resources are not devices): a trial cannot hold
            both: one line naming both, ``key`` (the executor's, the error's key) and
            ``study_key`` (as the caller spells them). Also a malformed ``given`` (naming its
            key) or GPUs of several types in ``study``.
    """
    from rung.core.pricing import from_ray
    from rung.executors.ray.resources import from_devices, normalize_resources

    if study is None:
        return given
    if given is None:
        return from_devices(study)
    held = from_ray(normalize_resources(given))
    wanted = {d: float(a) for d, a in study.items() if a > 0}
    if held != wanted:
        raise ConfigError(key=key, message=(
            f"the Ray executor's {dict(given)} reserves {held} per trial, but {study_key} is "
            f"{dict(study)}: give it once (the study's reaches the executor), or the same "
            f"devices in both"))
    return given


def check_ray_budget(
    budget: Any, prices: Mapping[str, float], reserved: Mapping[str, Any] | None
) -> None:
    """Refuse a ``budget.max_cost`` / ``budget.max_gpu_hours`` that Ray trials reserving
    ``reserved`` (what ``ray_resources`` chose: Ray's spelling; ``None``: one CPU) would never
    spend, before Ray is started or anything is written: ``ConfigError`` as
    ``rung.core.pricing.check_spendable`` raises it for what the executor will report (the
    same check the driver makes once it does)."""
    from rung.core.pricing import check_spendable, from_ray
    from rung.executors.ray.resources import normalize_resources

    if budget.max_cost is None and budget.max_gpu_hours is None:
        return
    held = from_ray(normalize_resources({"cpu": 1} if reserved is None else reserved))
    check_spendable(budget.max_cost, budget.max_gpu_hours, prices, held, reported=True)


def unknown_executor(executor: str) -> ConfigError:
    """The error for an executor name rung does not know."""
    return ConfigError(f"executor: unknown executor {executor!r} (local, ray, or an instance)")


def check_executor_options(executor: Any, options: Mapping[str, Any],
                           n_workers: Any = None) -> None:
    """Raise ``ConfigError`` for an unknown executor name, or naming the first option
    ``executor`` does not take: any option given with an executor instance (it is built
    already), an unknown one for a name; for ``"local"``, also a bad ``n_workers``,
    ``checkpoint_every``, ``threads_per_worker``, ``max_trials_per_worker`` or
    ``max_memory_per_worker`` value (``check_local_options``, ``memory_limit.parse_size``),
    and for ``"ray"`` an ``n_workers`` that is not an integer >= 1."""
    if isinstance(executor, str) and executor not in ("local", "ray"):
        raise unknown_executor(executor)
    if executor == "local":
        from rung.executors.processes import check_local_options

        check_local_options(n_workers, options.get("checkpoint_every"),
                            options.get("threads_per_worker"),
                            options.get("max_trials_per_worker"))
        if options.get("max_memory_per_worker") is not None:
            from rung.executors.memory_limit import parse_size

            parse_size(options["max_memory_per_worker"])
    elif n_workers is not None:
        from rung._validate import check_int

        check_int("n_workers", n_workers, 1)
    if not options:
        return
    if not isinstance(executor, str):
        raise ConfigError(key=next(iter(options)), message=(
            f"an option of the executor rung builds from a name; pass it to "
            f"{type(executor).__name__}(...) instead"))
    names = executor_option_names(executor)
    for key in options:
        if key in _SET_BY_STUDY.get(executor, ()):
            raise ConfigError(key=key, message=(
                f"the {executor} executor holds the study's {key} (Study.create, or the "
                f"spec's top-level {key}): give it there"))
        if key not in names:
            raise ConfigError(key=key, message=(
                f"not an option of the {executor} executor (it takes {', '.join(names)})"
                if names else f"not an option of executor {executor!r}"))


__all__ = [
    "check_executor_options",
    "check_ray_budget",
    "executor_option_names",
    "ray_resources",
    "unknown_executor",
]
