"""Parameter types of a search space.

Every tunable parameter maps to exactly one coordinate of the unit cube ``[0, 1]``; that encoding
(``to_unit`` / ``from_unit``) is the only one searchers use, so a model-based searcher handles
integer, log-scaled, quantized and categorical parameters without knowing their types. ``Fixed``
parameters (``rung.space.fixed``) take no coordinate. Conditions (``when=``) and ``param_error`` are
``rung.space.conditions``; building a parameter from its JSON form (``param_from_json``) is
``rung.space.param_json``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence, Set
from typing import Any

import numpy as np

from rung._validate import (
    INT64_MAX,
    INT64_MIN,
    check_bool,
    check_float,
    check_int,
    is_number,
    show,
)
from rung.errors import SpaceError
from rung.space.conditions import (
    SCALARS,
    Scalar,
    When,
    early_when,
    norm_when,
    param_error,
    raiser,
    when_json,
)

# isinstance targets as tuples: a ``X | Y`` union is rebuilt on every call, on validation's hot path
_FLOATING = (float, np.floating)
_INTEGER = (int, np.integer)


class Param:
    """Base of all parameter types. Subclasses are immutable after construction."""

    kind: str = ""
    when: dict[str, tuple[Scalar, ...]]
    name: str = ""

    def _bind(self, name: str) -> Param:
        self.name = name
        return self

    # --- encoding -------------------------------------------------------------------------
    @property
    def tunable(self) -> bool:
        return True

    def to_unit(self, value: Any) -> float:
        raise NotImplementedError

    def from_unit(self, u: float) -> Scalar:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> Scalar:
        return self.from_unit(float(rng.random()))

    def validate(self, value: Any) -> Scalar:
        """Return ``value`` normalized to this parameter's type, or raise ``SpaceError``."""
        raise NotImplementedError

    def grid(self, points: int) -> list[Any]:
        raise NotImplementedError

    def contains(self, value: object) -> bool:
        try:
            self.validate(value)
        except SpaceError:
            return False
        return True

    # --- JSON -----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def _when_json(self) -> dict[str, Any]:
        return when_json(self.when)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Param)
            and type(self) is type(other)
            and self.to_json() == other.to_json()
        )

    def __hash__(self) -> int:
        return hash(repr(self.to_json()))

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self.to_json().items() if k != "type")
        return f"{type(self).__name__}({body})"


class Float(Param):
    """A real parameter in ``[low, high]``; ``log=True`` samples uniformly in log space;
    ``step`` quantizes to ``low + k * step``. ``low == high`` is the one value ``low``
    (Optuna's ``suggest_float(name, x, x)``): it takes no coordinate, as ``Fixed``.

    A ``step`` that makes 2**63 - 1 grid points or more (``Float(0, 1, step=1e-300)``) is
    refused with a ``SpaceError`` naming ``<name>.step``, as an ``Int`` spanning more values
    than an int64 holds is: searchers encode a stepped parameter's points as int64."""

    kind = "float"

    @property
    def tunable(self) -> bool:
        return bool(self.low != self.high)

    def __init__(
        self,
        low: float,
        high: float,
        log: bool = False,
        step: float | None = None,
        when: When | None = None,
    ) -> None:
        self.low = low
        self.high = high
        self.log = log
        self.step = step
        self.when = early_when(when)
        self._checked = False

    def _bind(self, name: str) -> Param:
        self.name = name
        self.when = norm_when(name, self.when)
        error = raiser(name)
        low = check_float(f"{name}.low", self.low, error=error)
        high = check_float(f"{name}.high", self.high, error=error)
        self.log = check_bool(f"{name}.log", self.log, error=error)
        _check_bounds(name, low, high, self.log)
        if self.step is not None:
            # normalized (a NumPy float32 step would not be JSON in the journal)
            self.step = check_float(f"{name}.step", self.step, 0, low_open=True, error=error)
            if self.log:
                raise param_error(name, "step and log=True cannot be combined", "step")
            points = (high - low) / self.step + 1e-9  # inf when the quotient overflows
            if not points < INT64_MAX:
                raise param_error(name, f"{self.step:g} makes more grid points than an int64 "
                                  f"holds (2**63 - 1): give a larger step, or none "
                                  f"(continuous)", "step")
            self._n = math.floor(points) + 1
            if self._n == 1 and high > low:
                raise param_error(name, f"{self.step:g} is larger than high - low "
                                  f"({high - low:g}): low would be the only value", "step")
        self.low, self.high = low, high
        return self

    def _point(self, k: int) -> float:
        """Grid point ``k`` of a stepped parameter: ``low + k * step``, never above ``high``
        (rounding can put the top point a hair beyond it)."""
        assert self.step is not None
        return min(float(self.low + k * self.step), self.high)

    def _quantize(self, x: float) -> float:
        if self.step is None:
            return min(max(x, self.low), self.high)
        k = round((x - self.low) / self.step)
        k = min(max(k, 0), self._n - 1)
        return self._point(k)

    def to_unit(self, value: float) -> float:
        x = float(value)
        if self.low == self.high:
            return 0.5
        if self.step is not None:
            k = round((x - self.low) / self.step)
            return (k + 0.5) / self._n
        if self.log:
            return (math.log(x) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (x - self.low) / (self.high - self.low)

    def from_unit(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        if self.low == self.high:
            return float(self.low)
        if self.step is not None:
            k = min(int(u * self._n), self._n - 1)
            return self._point(k)
        if self.log:
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        return min(max(x, self.low), self.high)

    def validate(self, value: Any) -> float:
        if not is_number(value):
            raise param_error(self.name, f"expected a number, got {value!r}")
        x = float(value)
        # on a step grid, the top point computed as low + k * step may exceed high by rounding
        slack = 1e-9 * self.step if self.step is not None else 0.0
        if not math.isfinite(x):
            raise param_error(self.name, f"expected a finite number, got {value!r}")
        if x < self.low or x > self.high + slack:
            raise param_error(self.name, f"{value!r} is outside [{self.low}, {self.high}]")
        if self.step is not None:
            k = (x - self.low) / self.step
            if abs(k - round(k)) > 1e-6:
                raise param_error(self.name, f"{value!r} is not on the step grid {self.step}")
            return self._quantize(x)
        return x

    def grid(self, points: int) -> list[float]:
        if self.step is not None and self._n <= points:
            return [self._point(k) for k in range(self._n)]
        if points == 1:
            return [self.from_unit(0.5)]
        if self.log:
            vals = np.geomspace(self.low, self.high, points)
        else:
            vals = np.linspace(self.low, self.high, points)
        out: list[float] = []
        for v in vals:
            q = self._quantize(float(v))
            if q not in out:
                out.append(q)
        return out

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "float", "low": self.low, "high": self.high}
        if self.log:
            d["log"] = True
        if self.step is not None:
            d["step"] = self.step
        return d | self._when_json()


class Int(Param):
    """An integer parameter in ``[low, high]`` (both inclusive), optionally log-scaled or on a
    ``step`` grid. ``low == high`` is the one value ``low`` (Optuna's ``suggest_int(name, n,
    n)``): it takes no coordinate, as ``Fixed``."""

    kind = "int"

    @property
    def tunable(self) -> bool:
        return bool(self.low != self.high)

    def __init__(
        self,
        low: int,
        high: int,
        log: bool = False,
        step: int = 1,
        when: When | None = None,
    ) -> None:
        self.low = low
        self.high = high
        self.log = log
        self.step = step
        self.when = early_when(when)

    def _bind(self, name: str) -> Param:
        self.name = name
        self.when = norm_when(name, self.when)
        error = raiser(name)
        self.low = _int64(name, "low", check_int(f"{name}.low", self.low, error=error))
        self.high = _int64(name, "high", check_int(f"{name}.high", self.high, error=error))
        self.log = log = check_bool(f"{name}.log", self.log, error=error)
        _check_bounds(name, self.low, self.high, log)
        self.step = _int64(name, "step", check_int(f"{name}.step", self.step, 1, error=error))
        if log and self.step != 1:
            raise param_error(name, "step and log=True cannot be combined", "step")
        self._n = (self.high - self.low) // self.step + 1
        if self._n == 1 and self.high > self.low:
            raise param_error(name, f"{self.step} is larger than high - low "
                              f"({self.high - self.low}): low would be the only value", "step")
        if self._n > INT64_MAX:
            raise param_error(name, f"spans {self._n:,} values, more than an int64 holds "
                              f"(2**63 - 1): narrow the range or give a larger step", "high")
        return self

    def to_unit(self, value: int) -> float:
        x = int(value)
        if self.log:
            lo, hi = math.log(self.low - 0.5), math.log(self.high + 0.5)
            return (math.log(x) - lo) / (hi - lo)
        return ((x - self.low) // self.step + 0.5) / self._n

    def from_unit(self, u: float) -> int:
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            lo, hi = math.log(self.low - 0.5), math.log(self.high + 0.5)
            x = round(math.exp(lo + u * (hi - lo)))
            return int(min(max(x, self.low), self.high))
        k = min(int(u * self._n), self._n - 1)
        return self.low + k * self.step

    def validate(self, value: Any) -> int:
        if isinstance(value, bool):
            raise param_error(self.name, f"expected an integer, got {value!r}")
        if isinstance(value, _FLOATING) and float(value).is_integer():
            value = int(value)
        if not isinstance(value, _INTEGER):
            raise param_error(self.name, f"expected an integer, got {value!r}")
        x = int(value)
        if x < self.low or x > self.high:
            raise param_error(self.name, f"{value!r} is outside [{self.low}, {self.high}]")
        if (x - self.low) % self.step:
            raise param_error(self.name, f"{value!r} is not on the step grid {self.step}")
        return x

    def grid(self, points: int) -> list[int]:
        if self._n <= points:
            return [self.low + k * self.step for k in range(self._n)]
        out: list[int] = []
        for i in range(points):
            u = 0.5 if points == 1 else i / (points - 1)
            if self.log:
                v = round(math.exp(math.log(self.low) + u * math.log(self.high / self.low)))
                v = min(max(v, self.low), self.high)
            else:
                # clamped: u * (n - 1) rounds up to n for a span near 2**63
                v = self.low + min(round(u * (self._n - 1)), self._n - 1) * self.step
            if v not in out:
                out.append(v)
        return out

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "int", "low": self.low, "high": self.high}
        if self.log:
            d["log"] = True
        if self.step != 1:
            d["step"] = self.step
        return d | self._when_json()


class Categorical(Param):
    """One of a list of JSON scalar ``choices``. ``ordered=True`` declares that neighbouring
    choices are similar (used by searchers and PBT's explore step)."""

    kind = "categorical"

    def __init__(
        self,
        choices: Sequence[Scalar] | np.ndarray[Any, Any],
        ordered: bool = False,
        when: When | None = None,
    ) -> None:
        self.choices = choices
        self.ordered = ordered
        self.when = early_when(when)

    def _bind(self, name: str) -> Param:
        self.name = name
        self.when = norm_when(name, self.when)
        if isinstance(self.choices, np.ndarray) and self.choices.ndim == 1:
            self.choices = self.choices.tolist()  # np.linspace(...), np.arange(...)
        if isinstance(self.choices, Set):
            raise param_error(name, f"must be a list, got the set {self.choices!r}: a set has "
                              "no order (sorted(...) gives one)", "choices")
        if isinstance(self.choices, str | bytes) or not isinstance(self.choices, Sequence):
            raise param_error(name, f"must be a non-empty list, got {self.choices!r}", "choices")
        choices = list(self.choices)
        if not choices:
            raise param_error(name, "must be a non-empty list, got []", "choices")
        seen: set[tuple[str, Any]] = set()
        # NumPy scalars as the Python values they hold: a sample must validate as itself
        choices = [c.item() if isinstance(c, np.generic) else c for c in choices]
        for c in choices:
            if not isinstance(c, SCALARS):
                raise param_error(
                    name, f"choice {c!r} is not a JSON scalar (str, int, float, bool, None)"
                )
            if isinstance(c, float) and not math.isfinite(c):
                raise param_error(name, f"choice {c!r} is not a finite number (a trial could "
                                  "never be given it back: NaN equals nothing)")
            key = (type(c).__name__, c)
            if key in seen:
                raise param_error(name, f"duplicate choice {c!r}")
            seen.add(key)
        self.ordered = check_bool(f"{name}.ordered", self.ordered, error=raiser(name))
        self.choices = tuple(choices)
        self._index = {(type(c).__name__, c): i for i, c in enumerate(choices)}
        return self

    def index(self, value: Scalar) -> int:
        try:
            return self._index[(type(value).__name__, value)]
        except (KeyError, TypeError):
            raise param_error(
                self.name, f"{value!r} is not one of {list(self.choices)!r}"
            ) from None

    def to_unit(self, value: Scalar) -> float:
        return (self.index(value) + 0.5) / len(self.choices)

    def from_unit(self, u: float) -> Scalar:
        u = min(max(float(u), 0.0), 1.0)
        return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]

    def sample(self, rng: np.random.Generator) -> Scalar:
        return self.choices[int(rng.integers(len(self.choices)))]

    def validate(self, value: Any) -> Scalar:
        if isinstance(value, np.generic):
            value = value.item()
        return self.choices[self.index(value)]

    def grid(self, points: int) -> list[Scalar]:
        return list(self.choices)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "categorical", "choices": list(self.choices)}
        if self.ordered:
            d["ordered"] = True
        return d | self._when_json()


def _int64(name: str, field: str, value: int) -> int:
    """``value`` if an int64 holds it (searchers encode an ``Int``'s values in int64 arrays),
    else a ``SpaceError`` naming the parameter and the field."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise param_error(name, f"must be inside int64's range [-2**63, 2**63 - 1], got "
                          f"{show(value)}", field)
    return value


def _check_bounds(name: str, low: float, high: float, log: bool) -> None:
    if low > high:
        raise param_error(name, f"must be < high, or equal to it for a single value (got "
                          f"low={low}, high={high})", "low")
    if log and low <= 0:
        raise param_error(name, f"must be > 0 with log=True, got {low}", "low")
    try:
        span = float(high) - float(low)
    except OverflowError:  # an integer beyond a float's range
        span = math.inf
    if not math.isfinite(span):  # every draw would be low or high, or fail
        raise param_error(name, f"high - low overflows a float (got low={low}, high={high})",
                          "high")


# re-exported: ``Fixed`` is a ``Param`` and ``param_from_json`` builds the classes above (imported
# last, as they import this module)
from rung.space.fixed import Fixed  # noqa: E402
from rung.space.param_json import _KINDS as _KINDS  # noqa: E402
from rung.space.param_json import param_from_json  # noqa: E402

__all__ = [
    "Categorical",
    "Fixed",
    "Float",
    "Int",
    "Param",
    "Scalar",
    "When",
    "param_error",
    "param_from_json",
]
