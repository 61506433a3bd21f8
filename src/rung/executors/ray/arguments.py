"""The arguments of ``RayExecutor``, checked before anything starts.

``check_arguments`` raises ``ConfigError`` naming the first bad argument (in the constructor's
order) and returns ``no_room_timeout`` as a float; ``TRANSPORTS`` are the transports a
``RayExecutor`` takes, and the actor options rung sets itself are refused in ``actor_options``
with the reason why. What Ray itself would refuse once it runs (a key of ``ray_init`` that
``ray.init`` does not take, an actor option or value Ray refuses) is refused here too
(``precheck``), so that no study is written with options its runs can never use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rung._validate import check_int, check_positive
from rung.errors import ConfigError
from rung.executors.ray.precheck import check_actor_options, check_ray_init

TRANSPORTS = ("auto", "socket", "ray")

# Actor options rung sets itself: what a trial holds comes from ``resources_per_trial`` (the
# capacity and the ledger count that), the rest is how the executor drives its actors.
_OWN_ACTOR_OPTIONS = {
    "num_cpus": "set it in resources_per_trial ('cpu')",
    "num_gpus": "set it in resources_per_trial ('gpu')",
    "memory": "set it in resources_per_trial ('memory', in bytes)",
    "resources": "set custom resources in resources_per_trial",
    "max_concurrency": "the executor sets it for its transport",
    "max_restarts": "the executor replaces dead actors itself",
    "max_task_retries": "the executor replaces dead actors itself",
}


def check_arguments(
    address: object,
    objective: Callable[..., Any] | None,
    max_concurrent: int | None,
    checkpoint_every: int | None,
    transport: str,
    driver_port: int,
    no_room_timeout: float,
    ray_init: Mapping[str, Any] | None,
    actor_options: Mapping[str, Any] | None,
) -> float:
    """Check ``RayExecutor``'s arguments; return ``no_room_timeout`` as a float.

    Raises:
        ConfigError: the first invalid argument (its key; ``actor_options.<key>`` for an
            option the executor sets itself, or one Ray does not know or whose value it
            refuses; ``ray_init.<key>`` for a key ``ray.init`` does not take: ``precheck``).
    """
    if address is not None and not isinstance(address, str):
        raise ConfigError(key="address", message=f"expected a string or None, got "
                          f"{address!r}")
    if objective is not None and not callable(objective):
        raise ConfigError(key="objective", message=f"expected a callable, got {objective!r}")
    for key, value in (("max_concurrent", max_concurrent),
                       ("checkpoint_every", checkpoint_every)):
        if value is not None:
            check_int(key, value, 1)
    if transport not in TRANSPORTS:
        raise ConfigError(key="transport", message=f"must be one of {TRANSPORTS}, got "
                          f"{transport!r}")
    check_int("driver_port", driver_port, 0, 65535)
    no_room_timeout = check_positive("no_room_timeout", no_room_timeout)
    for name, mapping in (("ray_init", ray_init), ("actor_options", actor_options)):
        if mapping is not None and not isinstance(mapping, Mapping):
            raise ConfigError(key=name, message=f"expected a mapping, got {mapping!r}")
    for key in actor_options or {}:
        if key in _OWN_ACTOR_OPTIONS:
            raise ConfigError(key=f"actor_options.{key}",
                              message=f"not an option here: {_OWN_ACTOR_OPTIONS[key]}")
    check_ray_init(ray_init or {}, address if isinstance(address, str) else None)
    check_actor_options(actor_options or {}, _OWN_ACTOR_OPTIONS)
    return no_room_timeout


__all__ = ["TRANSPORTS", "check_arguments"]
