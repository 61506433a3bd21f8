"""How the objective reaches spawn and forkserver workers: pickled in the driver (by reference,
for a module-level function) and unpickled by each worker at start, which imports its module."""

from __future__ import annotations

import pickle
import sys
from typing import Any

from rung.errors import ConfigError
from rung.executors.pool import callable_name

_PROTO = pickle.HIGHEST_PROTOCOL


def serialize_objective(objective: Any) -> bytes:
    """Pickle the objective for spawn workers (by reference, for a module-level function), or
    explain why it cannot be."""
    name = callable_name(objective)
    hint = ("define it at module level in an importable module (spawn workers import it by "
            "name), or use start_method='fork'")
    if getattr(objective, "__module__", None) == "__main__":
        main = sys.modules.get("__main__")
        if main is not None and not getattr(main, "__file__", None):
            raise ConfigError(
                f"objective {name}: defined in an interactive session, where spawn worker "
                f"processes cannot import it; {hint}"
            )
    try:
        return pickle.dumps(objective, _PROTO)
    except (pickle.PicklingError, AttributeError, TypeError) as e:
        raise ConfigError(f"objective {name} cannot be sent to worker processes ({e}); "
                          f"{hint}") from None


def start_method_for(objective: Any, given: str) -> str:
    """The start method of workers running ``objective``: ``given``, unless it is ``"auto"``:
    then ``"spawn"`` when spawn workers can import the objective (``serialize_objective``),
    else ``"fork"`` where there is one (an objective defined in a notebook or an interactive
    session, a lambda, a closure: the one kind of worker that takes any callable).

    Raises:
        ConfigError: ``"auto"`` for an objective spawn workers cannot import, on a platform
            without fork (``serialize_objective``'s error)."""
    if given != "auto":
        return given
    import multiprocessing

    try:
        serialize_objective(objective)
    except ConfigError:
        if "fork" not in multiprocessing.get_all_start_methods():
            raise
        return "fork"
    return "spawn"


__all__ = ["serialize_objective", "start_method_for"]
