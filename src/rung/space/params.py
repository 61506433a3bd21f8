"""Parameter types of a search space.

Every tunable parameter maps to exactly one coordinate of the unit cube ``[0, 1]``; that encoding
(``to_unit`` / ``from_unit``) is the only one searchers use, so a model-based searcher handles
integer, log-scaled, quantized and categorical parameters without knowing their types. ``Fixed``
parameters take no coordinate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rung.errors import SpaceError

Scalar = str | int | float | bool | None

# isinstance targets as tuples: a ``X | Y`` union is rebuilt on every call, on validation's hot path
_NUMBER = (int, float, np.floating, np.integer)
_FLOATING = (float, np.floating)
_INTEGER = (int, np.integer)
_SCALARS = (str, int, float, bool, type(None))


def _norm_when(name: str, when: Mapping[str, Any] | None) -> dict[str, tuple[Scalar, ...]]:
    if when is None:
        return {}
    if not isinstance(when, Mapping):
        raise SpaceError(f"{name!r}: 'when' must be a mapping of parent name to value(s)")
    out: dict[str, tuple[Scalar, ...]] = {}
    for parent, values in when.items():
        if not isinstance(parent, str):
            raise SpaceError(f"{name!r}: 'when' parent names must be strings, got {parent!r}")
        vals = tuple(values) if isinstance(values, list | tuple | set | frozenset) else (values,)
        if not vals:
            raise SpaceError(f"{name!r}: 'when' condition on {parent!r} lists no values")
        for v in vals:
            if not isinstance(v, _SCALARS):
                raise SpaceError(
                    f"{name!r}: 'when' value {v!r} for parent {parent!r} is not a JSON scalar"
                )
        out[parent] = vals
    return out


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

    def from_unit(self, u: float) -> Any:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> Any:
        return self.from_unit(float(rng.random()))

    def validate(self, value: Any) -> Any:
        """Return ``value`` normalized to this parameter's type, or raise ``SpaceError``."""
        raise NotImplementedError

    def grid(self, points: int) -> list[Any]:
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        try:
            self.validate(value)
        except SpaceError:
            return False
        return True

    # --- JSON -----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def _when_json(self) -> dict[str, Any]:
        if not self.when:
            return {}
        return {"when": {k: list(v) if len(v) > 1 else v[0] for k, v in self.when.items()}}

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


def _finite_number(name: str, what: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise SpaceError(f"{name!r}: {what} must be a finite number, got {v!r}")
    return float(v)


class Float(Param):
    """A real parameter in ``[low, high]``; ``log=True`` samples uniformly in log space;
    ``step`` quantizes to ``low + k * step``."""

    kind = "float"

    def __init__(
        self,
        low: float,
        high: float,
        log: bool = False,
        step: float | None = None,
        when: Mapping[str, Any] | None = None,
    ) -> None:
        self.low = low
        self.high = high
        self.log = log
        self.step = step
        self.when = _norm_when("float", when)
        self._checked = False

    def _bind(self, name: str) -> Param:
        self.name = name
        self.when = _norm_when(name, self.when)
        low = _finite_number(name, "low", self.low)
        high = _finite_number(name, "high", self.high)
        if low >= high:
            raise SpaceError(f"{name!r}: low ({low}) must be < high ({high})")
        if self.log and low <= 0:
            raise SpaceError(f"{name!r}: log=True needs low > 0, got low={low}")
        if self.step is not None:
            step = _finite_number(name, "step", self.step)
            if step <= 0:
                raise SpaceError(f"{name!r}: step must be > 0, got {step}")
            if self.log:
                raise SpaceError(f"{name!r}: step and log=True cannot be combined")
            self._n = math.floor((high - low) / step + 1e-9) + 1
        self.low, self.high = low, high
        return self

    def _quantize(self, x: float) -> float:
        if self.step is None:
            return min(max(x, self.low), self.high)
        k = round((x - self.low) / self.step)
        k = min(max(k, 0), self._n - 1)
        return float(self.low + k * self.step)

    def to_unit(self, value: Any) -> float:
        x = float(value)
        if self.step is not None:
            k = round((x - self.low) / self.step)
            return (k + 0.5) / self._n
        if self.log:
            return (math.log(x) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (x - self.low) / (self.high - self.low)

    def from_unit(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        if self.step is not None:
            k = min(int(u * self._n), self._n - 1)
            return float(self.low + k * self.step)
        if self.log:
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        return min(max(x, self.low), self.high)

    def validate(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, _NUMBER):
            raise SpaceError(f"{self.name!r}: expected a number, got {value!r}")
        x = float(value)
        if not math.isfinite(x) or x < self.low or x > self.high:
            raise SpaceError(f"{self.name!r}: {value!r} is outside [{self.low}, {self.high}]")
        if self.step is not None:
            k = (x - self.low) / self.step
            if abs(k - round(k)) > 1e-6:
                raise SpaceError(f"{self.name!r}: {value!r} is not on the step grid {self.step}")
            return self._quantize(x)
        return x

    def grid(self, points: int) -> list[Any]:
        if self.step is not None and self._n <= points:
            return [float(self.low + k * self.step) for k in range(self._n)]
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
    ``step`` grid."""

    kind = "int"

    def __init__(
        self,
        low: int,
        high: int,
        log: bool = False,
        step: int = 1,
        when: Mapping[str, Any] | None = None,
    ) -> None:
        self.low = low
        self.high = high
        self.log = log
        self.step = step
        self.when = _norm_when("int", when)

    def _bind(self, name: str) -> Param:
        self.name = name
        self.when = _norm_when(name, self.when)
        for what, v in (("low", self.low), ("high", self.high), ("step", self.step)):
            if isinstance(v, bool) or not isinstance(v, int | np.integer):
                raise SpaceError(f"{name!r}: {what} must be an integer, got {v!r}")
        self.low, self.high, self.step = int(self.low), int(self.high), int(self.step)
        if self.low >= self.high:
            raise SpaceError(f"{name!r}: low ({self.low}) must be < high ({self.high})")
        if self.step < 1:
            raise SpaceError(f"{name!r}: step must be >= 1, got {self.step}")
        if self.log and self.low <= 0:
            raise SpaceError(f"{name!r}: log=True needs low > 0, got low={self.low}")
        if self.log and self.step != 1:
            raise SpaceError(f"{name!r}: step and log=True cannot be combined")
        self._n = (self.high - self.low) // self.step + 1
        return self

    def to_unit(self, value: Any) -> float:
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
            raise SpaceError(f"{self.name!r}: expected an integer, got {value!r}")
        if isinstance(value, _FLOATING) and float(value).is_integer():
            value = int(value)
        if not isinstance(value, _INTEGER):
            raise SpaceError(f"{self.name!r}: expected an integer, got {value!r}")
        x = int(value)
        if x < self.low or x > self.high:
            raise SpaceError(f"{self.name!r}: {value!r} is outside [{self.low}, {self.high}]")
        if (x - self.low) % self.step:
            raise SpaceError(f"{self.name!r}: {value!r} is not on the step grid {self.step}")
        return x

    def grid(self, points: int) -> list[Any]:
        if self._n <= points:
            return [self.low + k * self.step for k in range(self._n)]
        out: list[int] = []
        for i in range(points):
            u = 0.5 if points == 1 else i / (points - 1)
            if self.log:
                v = round(math.exp(math.log(self.low) + u * math.log(self.high / self.low)))
                v = min(max(v, self.low), self.high)
            else:
                v = self.low + round(u * (self._n - 1)) * self.step
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
        choices: Sequence[Scalar],
        ordered: bool = False,
        when: Mapping[str, Any] | None = None,
    ) -> None:
        self.choices = choices
        self.ordered = ordered
        self.when = _norm_when("categorical", when)

    def _bind(self, name: str) -> Param:
        self.name = name
        self.when = _norm_when(name, self.when)
        if isinstance(self.choices, str | bytes) or not isinstance(self.choices, Sequence):
            raise SpaceError(f"{name!r}: choices must be a list, got {self.choices!r}")
        choices = list(self.choices)
        if not choices:
            raise SpaceError(f"{name!r}: choices must not be empty")
        seen: set[tuple[str, Any]] = set()
        for c in choices:
            if not isinstance(c, _SCALARS):
                raise SpaceError(
                    f"{name!r}: choice {c!r} is not a JSON scalar (str, int, float, bool, None)"
                )
            key = (type(c).__name__, c)
            if key in seen:
                raise SpaceError(f"{name!r}: duplicate choice {c!r}")
            seen.add(key)
        self.choices = tuple(choices)
        self._index = {(type(c).__name__, c): i for i, c in enumerate(choices)}
        return self

    def index(self, value: Any) -> int:
        try:
            return self._index[(type(value).__name__, value)]
        except (KeyError, TypeError):
            raise SpaceError(
                f"{self.name!r}: {value!r} is not one of {list(self.choices)!r}"
            ) from None

    def to_unit(self, value: Any) -> float:
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

    def grid(self, points: int) -> list[Any]:
        return list(self.choices)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "categorical", "choices": list(self.choices)}
        if self.ordered:
            d["ordered"] = True
        return d | self._when_json()


class Fixed(Param):
    """A constant passed to the objective; it takes no coordinate in the unit encoding."""

    kind = "fixed"

    def __init__(self, value: Scalar, when: Mapping[str, Any] | None = None) -> None:
        self.value = value
        self.when = _norm_when("fixed", when)

    def _bind(self, name: str) -> Param:
        self.name = name
        self.when = _norm_when(name, self.when)
        if not isinstance(self.value, _SCALARS):
            raise SpaceError(f"{name!r}: Fixed value {self.value!r} is not a JSON scalar")
        return self

    @property
    def tunable(self) -> bool:
        return False

    def to_unit(self, value: Any) -> float:
        return 0.5

    def from_unit(self, u: float) -> Scalar:
        return self.value

    def sample(self, rng: np.random.Generator) -> Scalar:
        return self.value

    def validate(self, value: Any) -> Scalar:
        if isinstance(value, np.generic):
            value = value.item()
        if type(value) is not type(self.value) or value != self.value:
            raise SpaceError(
                f"{self.name!r}: expected the fixed value {self.value!r}, got {value!r}"
            )
        return self.value

    def grid(self, points: int) -> list[Any]:
        return [self.value]

    def to_json(self) -> dict[str, Any]:
        return {"type": "fixed", "value": self.value} | self._when_json()


def param_from_json(name: str, d: Any) -> Param:
    """Build a parameter from its JSON form (as written by ``Param.to_json``)."""
    if not isinstance(d, Mapping) or "type" not in d:
        raise SpaceError(f"{name!r}: expected a mapping with a 'type' key, got {d!r}")
    kinds: dict[str, type[Param]] = {
        "float": Float,
        "int": Int,
        "categorical": Categorical,
        "fixed": Fixed,
    }
    cls = kinds.get(str(d["type"]))
    if cls is None:
        raise SpaceError(f"{name!r}: unknown parameter type {d['type']!r} (one of {sorted(kinds)})")
    kwargs = {k: v for k, v in d.items() if k != "type"}
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise SpaceError(f"{name!r}: {e}") from None
