"""The one rule that turns an objective's value into the study's metrics.

Used for what an objective returns (``rung.run`` / ``Study.run``'s ``objective(ctx)`` through
``ReturnsMetrics``, ``rung.optimize``'s ``objective(trial)`` through ``DefineByRun``) and for
the value ``Trial.report(step, value)`` is given, so the three agree:

- ``None``: nothing (a returned ``None`` records no result: the last report is the trial's);
- a mapping: the metrics, as given;
- a real number (``int``, ``float``, a NumPy integer or floating scalar, a 0-d array or
  tensor holding one; NaN included: the objective's ``nan`` policy scores it): the value of
  a single-objective study's metric;
- a tuple or list of real numbers, one per objective in their order (a single-objective
  study takes a one-element one too, as Optuna does);
- anything else, ``bool`` included (``return acc > 0.9`` is most likely a bug, and Optuna
  would record it as 1.0): a ``ConfigError`` naming the type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rung.core.metric_value import is_real, type_name
from rung.errors import ConfigError


def as_metrics(value: Any, names: Sequence[str], key: str = "return") -> dict[str, Any] | None:
    """``value`` as the metrics of a study whose objectives' metrics are ``names`` (see the
    module's rule); ``None`` for ``None``.

    Raises:
        ConfigError: ``value`` is none of the accepted forms, or not one number per
            objective (keyed ``key``: ``return`` for a returned value, ``value`` for a
            reported one), naming the type it has.
    """
    if value is None:
        return None
    if isinstance(value, Mapping):
        return dict(value)
    verb = "return" if key == "return" else "give"
    if is_real(value):
        if len(names) == 1:
            return {names[0]: value}
        raise ConfigError(key=key, message=(
            f"this study has {len(names)} objectives {list(names)}: {verb} one number each "
            f"(a tuple or list), got {type_name(value)}: {value!r}"))
    if isinstance(value, tuple | list):
        if len(value) != len(names):
            if len(names) == 1:
                return _not_a_value(value, names, key, verb)
            raise ConfigError(key=key, message=(
                f"this study has {len(names)} objectives {list(names)}: {verb} one value "
                f"each, got {len(value)}: {value!r}"))
        for i, v in enumerate(value):
            if not is_real(v):
                raise ConfigError(key=key, message=(
                    f"value {i} of {value!r} (for objective {names[i]!r}) is "
                    f"{type_name(v)}, not a real number"))
        return dict(zip(names, value, strict=True))
    return _not_a_value(value, names, key, verb)


def _not_a_value(value: Any, names: Sequence[str], key: str, verb: str) -> dict[str, Any]:
    what = (f"a real number (the objective {names[0]!r})" if len(names) == 1
            else f"one real number per objective {list(names)} (a tuple or list)")
    raise ConfigError(key=key, message=(
        f"{verb} {what}, a mapping of metrics or None; got {type_name(value)}: {value!r}"))


__all__ = ["as_metrics", "is_real", "type_name"]
