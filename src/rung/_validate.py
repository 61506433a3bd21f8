"""The one family of value checks every component uses.

Each ``check_*`` function returns the value normalized (``int``, ``float``, ``bool``, the matching
choice) or raises ``ConfigError(key=key, message=...)``: ``key`` is the dotted path of the value
relative to the study spec (``scheduler.params.reduction_factor``, ``budget.n_trials``), so the
error names it and the CLI can prefix it with ``spec.``. ``error=`` builds the exception instead
(any callable taking ``key=`` and ``message=`` that returns a ``ConfigError``; the search space
passes ``functools.partial(SpaceError, param=name)``).

Booleans are never numbers here (``True`` is not the integer 1), NumPy integers and floats are
accepted wherever Python ones are, and floats must be finite. ``is_int`` / ``is_number`` are the
bare predicates, for code that builds its own message.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np

from rung.errors import ConfigError

T = TypeVar("T")

#: The integers a NumPy ``int64`` holds: an ``Int`` parameter's bounds and span stay inside,
#: since searchers encode its values in int64 arrays.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

#: Largest ``max_step`` a study accepts. A step is one report of a trial (an epoch, a boosting
#: round, a data fraction's index); a larger resource is reported in coarser steps.
MAX_STEP = 1_000_000

# isinstance targets as tuples: a ``X | Y`` union is rebuilt on every call
_INTEGER = (int, np.integer)
_NUMBER = (int, float, np.integer, np.floating)
_FLOATING = (float, np.floating)


def is_int(value: Any) -> bool:
    """``value`` is an integer (Python or NumPy), and not a ``bool``."""
    return isinstance(value, _INTEGER) and not isinstance(value, bool)


def kind_of(v: Any) -> str:
    """What kind of value ``v`` is, in a spec's words, for an error message (``"a mapping"``,
    ``"an integer"``, ``"nothing"``)."""
    if v is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number"}.get(type(v), type(v).__name__)


def show(value: Any) -> str:
    """``repr(value)`` for an error message, but an integer of more than 30 digits as its
    size (a line stays readable): ``"an integer of 603 digits"``."""
    if is_int(value) and len(str(abs(int(value)))) > 30:
        return f"an integer of {len(str(abs(int(value))))} digits"
    return repr(value)


def close_hint(value: object, known: Iterable[str], given: Iterable[object] = ()) -> str:
    """`` (did you mean 'x'?)`` naming the entry of ``known`` closest to ``value`` (a typo of
    it, in any case, or the one entry that holds it or that it holds: ``interval`` of
    ``perturbation_interval``, ``min`` in ``minimize``), or ``""`` when none is close or
    ``value`` is not a string. The one
    "did you mean" of rung: the registry, the search space and the CLI all use it.

    ``given``: for an unknown key of a mapping, the keys the mapping already holds. Of the
    entries closest to ``value``, one not given yet is named before a given one (``lgo``
    beside ``low`` is a typo of ``log``, not of ``low``); an entry that is less close is not
    (``max_tim`` beside ``max_time`` is a second ``max_time``, not a ``max_cost``)."""
    import difflib

    if not isinstance(value, str):
        return ""
    by_lower = {k.lower(): k for k in known}  # 'TPE' is a typo of 'tpe' too
    present = {k for k in given if isinstance(k, str)}
    v = value.lower()
    # get_close_matches' scores (cutoff 0.6), best first; ties in its order
    sm = difflib.SequenceMatcher()
    sm.set_seq2(v)
    scored = []
    for k in by_lower:
        sm.set_seq1(k)
        if sm.real_quick_ratio() >= 0.6 and sm.quick_ratio() >= 0.6 and sm.ratio() >= 0.6:
            scored.append((sm.ratio(), k))
    scored.sort(reverse=True)
    if scored:
        best = scored[0][0]
        m = next((k for r, k in scored if r == best and by_lower[k] not in present),
                 scored[0][1])
    else:  # one name holds the other: 'interval' of 'perturbation_interval', 'minimize'
        held = [k for k in by_lower if (len(v) >= 4 and v in k) or (len(k) >= 3 and k in v)]
        new = [k for k in held if by_lower[k] not in present]
        m = new[0] if len(new) == 1 else held[0] if len(held) == 1 else ""
    return f" (did you mean {by_lower[m]!r}?)" if m else ""


def is_number(value: Any) -> bool:
    """``value`` is a real number (Python or NumPy, possibly infinite or NaN), not a ``bool``."""
    return isinstance(value, _NUMBER) and not isinstance(value, bool)


def _bounds(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""


def _inside(
    x: float, low: float | None, high: float | None, low_open: bool, high_open: bool
) -> bool:
    if low is not None and (x <= low if low_open else x < low):
        return False
    return not (high is not None and (x >= high if high_open else x > high))


def check_int(
    key: str,
    value: Any,
    low: int | None = None,
    high: int | None = None,
    *,
    error: Callable[..., ConfigError] = ConfigError,
) -> int:
    """``value`` as an ``int`` if it is an integer in ``[low, high]`` (either bound optional).

    Raises ``error(key=key, ...)``: ``"must be an integer >= 1, got 0"``; a float that holds
    an integer is refused too, saying how to write it (``1e3`` in YAML or Python is the float
    ``1000.0``): ``"must be an integer >= 1, got 1000.0 (write 1000)"``.
    """
    if is_int(value) and _inside(value, low, high, False, False):
        return int(value)
    hint = ""
    if isinstance(value, _FLOATING) and math.isfinite(value) and float(value).is_integer():
        hint = f" (write {int(value)})"
    raise error(key=key, message=f"must be an integer{_bounds(low, high, False, False)}, "
                                 f"got {show(value)}{hint}")


def check_float(
    key: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    error: Callable[..., ConfigError] = ConfigError,
) -> float:
    """``value`` as a ``float`` if it is a finite number between ``low`` and ``high`` (either
    optional; ``low_open`` / ``high_open`` exclude the bound itself). Integers are accepted.

    Raises ``error(key=key, ...)``: ``"must be a finite number in [0, 1], got 1.5"``.
    """
    if is_number(value):
        try:
            x = float(value)
        except OverflowError:  # an integer beyond a float's range
            x = math.inf
        if math.isfinite(x) and _inside(x, low, high, low_open, high_open):
            return x
    rng = _bounds(low, high, low_open, high_open)
    raise error(key=key, message=f"must be a finite number{rng}, got {show(value)}")


def check_positive(
    key: str, value: Any, *, error: Callable[..., ConfigError] = ConfigError
) -> float:
    """``value`` as a ``float`` if it is a finite number > 0."""
    return check_float(key, value, 0, low_open=True, error=error)


def check_bool(key: str, value: Any, *, error: Callable[..., ConfigError] = ConfigError) -> bool:
    """``value`` if it is ``True`` or ``False`` (NumPy booleans too, returned as ``bool``)."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise error(key=key, message=f"must be true or false, got {value!r}")


def check_choice(
    key: str, value: Any, choices: Sequence[T], *, error: Callable[..., ConfigError] = ConfigError
) -> T:
    """The element of ``choices`` equal to ``value`` (same type: ``1`` does not match ``True``).

    Raises ``error(key=key, ...)``: ``"must be one of 'min', 'max', got 'up'"``, naming the
    close choice for a typo of a name: ``"..., got 'MIN' (did you mean 'min'?)"``.
    """
    for c in choices:
        if type(c) is type(value) and c == value:
            return c
    listed = ", ".join(repr(c) for c in choices)
    names = [c for c in choices if isinstance(c, str) and c.isidentifier()]  # not '<=' and such
    raise error(key=key, message=f"must be one of {listed}, got {value!r}"
                                 f"{close_hint(value, names)}")


def check_objective(
    key: str, fn: Any, *, error: Callable[..., ConfigError] = ConfigError
) -> Callable[..., Any]:
    """``fn`` if it is a callable that takes one positional argument, the trial context (extra
    parameters need defaults).

    A callable whose signature cannot be read (some built-ins) is accepted. Raises
    ``error(key=key, ...)``: ``"train(a, b) cannot take the trial context as its one argument:
    write it as def train(ctx): ..."``.
    """
    if not callable(fn):
        raise error(key=key, message=f"must be a function taking the trial context, got {fn!r}")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn  # type: ignore[no-any-return]
    try:
        sig.bind(None)
    except TypeError:
        name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
        empty = inspect.Parameter.empty
        sig = sig.replace(parameters=[p.replace(annotation=empty) for p in sig.parameters.values()],
                          return_annotation=inspect.Signature.empty)
        raise error(key=key, message=f"{name}{sig} cannot take the trial context as its one "
                                     f"argument: write it as def {_short(name)}(ctx): ...") \
            from None
    return fn  # type: ignore[no-any-return]


def _short(qualname: str) -> str:
    tail = qualname.rsplit(".", 1)[-1]
    return tail if tail.isidentifier() else "train"


__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_STEP",
    "check_bool",
    "check_choice",
    "check_float",
    "check_int",
    "check_objective",
    "check_positive",
    "close_hint",
    "is_int",
    "is_number",
    "show",
]
