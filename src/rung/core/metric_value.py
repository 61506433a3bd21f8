"""The one rule for a metric's value where a number is required (an objective's metric, a
constraint's): ``is_real`` says whether a value is a real number, ``as_float`` what float it
is, ``metric_problem`` why it cannot be scored.

- A real number is a Python or NumPy ``int`` or ``float`` (NaN and inf included), a 0-d array
  or tensor holding one; never a ``bool`` (nor NumPy's), a string, ``Decimal``, ``complex`` or
  an array of one element. ``rung.dbr.metrics.as_metrics`` (a returned value),
  ``Study.tell`` / ``Study.report`` and ``TrialContext.report`` all apply it.
- An ``int`` too large for a float (``10**400``) is the infinity of its sign: a value that
  cannot be converted to a finite float is treated as a non-finite one (scored worst, never
  feasible, and under ``Objective(nan="fail")`` it fails its trial as ``inf`` does).

Pure (stdlib only): the engine, ``History`` and every reader of a journal use it, so a journal
written before these rules (holding ``10**400``) replays without an ``OverflowError``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

#: ints beyond this magnitude are not floats: ``float()`` raises ``OverflowError`` on them
BIG_INT = 2**1024


def is_real(v: Any) -> bool:
    """A real number: a Python or NumPy int or float (NaN and inf included), a 0-d array or
    tensor holding one; not a ``bool`` (nor NumPy's)."""
    if isinstance(v, bool) or type(v).__name__ == "bool_":
        return False
    if isinstance(v, numbers.Real):
        return True
    item = getattr(v, "item", None)
    if getattr(v, "ndim", None) == 0 and callable(item):
        try:
            held = item()
        except (TypeError, ValueError, RuntimeError):
            return False
        return not isinstance(held, bool) and isinstance(held, numbers.Real)
    return False


def as_float(v: Any) -> float:
    """``float(v)`` of a real number (``is_real``), an int too large for a float as the
    infinity of its sign."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def type_name(v: Any) -> str:
    """``float``, ``numpy.ndarray``: the type as a user would write it."""
    t = type(v)
    module = t.__module__
    return t.__qualname__ if module == "builtins" else f"{module.split('.')[0]}.{t.__qualname__}"


def show(v: Any) -> str:
    """``repr(v)``, an int too long to read as ``an int of 401 digits`` (one line stays short)."""
    if isinstance(v, int) and not isinstance(v, bool) and not -BIG_INT < v < BIG_INT:
        return f"{'-' if v < 0 else ''}an int of {len(str(abs(v)))} digits"
    text = repr(v)
    return text if len(text) <= 200 else text[:197] + "..."


def metric_problem(name: str, v: Any) -> str | None:
    """Why ``v``, the value of metric ``name``, cannot be scored (``"metric 'loss' is not a
    number: True (bool)"``, ``"metric 'loss' is nan"``, ``"metric 'loss' is inf"``: an int
    too large for a float reads as the infinity it converts to), ``None`` if it can."""
    if not is_real(v):
        return f"metric {name!r} is not a number: {show(v)} ({type_name(v)})"
    x = as_float(v)
    if not math.isfinite(x):
        return f"metric {name!r} is {x}"
    return None


__all__ = ["BIG_INT", "as_float", "is_real", "metric_problem", "show", "type_name"]
