"""Conditions of a parameter (``when=``), the scalar values they name, and ``param_error``,
the error every parameter check raises.

A parameter with ``when={"opt": "sgd"}`` is active only when its parent ``opt`` takes one of
the listed values (``rung.space.search_space`` resolves activity). ``norm_when`` turns the
user's form (a value, or a list or set of values, per parent) into parent -> tuple of values,
``when_json`` turns it back into its JSON form.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence, Set
from typing import Any

from rung.errors import SpaceError

Scalar = str | int | float | bool | None
When = Mapping[str, Scalar | Sequence[Scalar] | Set[Scalar]]
"""``when=``: parent name -> the value, or the values, under which the parameter is active."""

# isinstance target as a tuple: a ``X | Y`` union is rebuilt on every call
SCALARS = (str, int, float, bool, type(None))


def param_error(name: str, message: str, field: str | None = None) -> SpaceError:
    """A ``SpaceError`` about parameter ``name`` (key ``name`` or ``name.field``)."""
    return SpaceError(key=f"{name}.{field}" if field else name, param=name, message=message)


def raiser(name: str) -> Callable[..., SpaceError]:
    """``error=`` for ``rung._validate``: a ``SpaceError`` that names parameter ``name``."""
    return functools.partial(SpaceError, param=name)


def norm_when(name: str, when: When | None) -> dict[str, tuple[Scalar, ...]]:
    """``when`` of parameter ``name`` as parent name -> tuple of values (``{}``: always
    active); ``SpaceError`` keyed on ``name`` (or ``name.when``) if it is malformed."""
    if when is None:
        return {}
    if not isinstance(when, Mapping):
        raise param_error(
            name, f"must be a mapping of parent name to value(s), got {when!r}", "when"
        )
    out: dict[str, tuple[Scalar, ...]] = {}
    for parent, values in when.items():
        if not isinstance(parent, str):
            raise param_error(name, f"'when' parent names must be strings, got {parent!r}")
        vals = tuple(values) if isinstance(values, list | tuple | set | frozenset) else (values,)
        if not vals:
            raise param_error(name, f"'when' condition on {parent!r} lists no values")
        for v in vals:
            if not isinstance(v, SCALARS):
                raise param_error(
                    name, f"'when' value {v!r} for parent {parent!r} is not a JSON scalar"
                )
        out[parent] = vals
    return out


def early_when(when: Any) -> Any:
    """``when`` normalized if it is valid, else as given: a constructor does not know the
    parameter's name yet, so ``_bind`` reports the error, keyed on that name."""
    try:
        return norm_when("", when)
    except SpaceError:
        return when


def when_json(when: Any) -> dict[str, Any]:
    """The ``when`` entry of a parameter's JSON form (``{}`` without conditions); a condition
    not normalized yet because it is invalid is shown as given."""
    if not when:
        return {}
    if not isinstance(when, dict) or not all(
        isinstance(v, tuple) and v for v in when.values()
    ):
        return {"when": when}  # not bound yet, and invalid: shown as given
    return {"when": {k: list(v) if len(v) > 1 else v[0] for k, v in when.items()}}


__all__ = [
    "SCALARS",
    "Scalar",
    "When",
    "early_when",
    "norm_when",
    "param_error",
    "raiser",
    "when_json",
]
