"""``Fidelity``: the user's resource values (samples, a data fraction, a resolution) behind the
integer step the engine counts in.

The engine, the schedulers and the journal keep counting in integer steps: that axis is what
leases, rung tables and ``Budget.max_steps`` are built on. A ``Fidelity`` only maps a step to
the value the user trains at and back, so that a scheduler's geometric rungs
(``reduction_factor**k`` steps) land on the user's values:

- explicit values, ``Fidelity("samples", [1000, 3000, 9000, 27000])``: value ``k`` sits at
  step ``round(values[k] / values[0])`` (here 1, 3, 9, 27, which are ASHA's rungs for
  ``reduction_factor=3``); steps between two values interpolate linearly (rounded to integers
  when every value is an integer);
- a continuous range, ``Fidelity("fraction", low=0.1, high=1.0, reduction_factor=3)``: the
  geometric ladder ``low * reduction_factor**k`` capped by ``high`` (0.1, 0.3, 0.9, 1.0) at
  steps ``round(value / low)`` (1, 3, 9, 10); step ``s`` is the value ``low * s`` (``high`` at
  the last step).

The ladder steps (``steps``) are where a stateless objective reports: it trains from scratch at
``value(step)`` for each of them (``TrialContext.fidelities()``). In a study with a fidelity, a
trial resumed without a checkpoint restarts at the next ladder step above its last result
instead of at step 1 (see ``rung.core.engine``).

This is the resource mapping of successive halving over arbitrary budgets (Jamieson and
Talwalkar, "Non-stochastic Best Arm Identification and Hyperparameter Optimization", AISTATS
2016; Li et al., "Hyperband", JMLR 2018, where the resource may be a number of samples or a
data fraction).
"""

from __future__ import annotations

import bisect
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from rung._renamed import FIDELITY, AliasWarning, accepts, message, rename
from rung._validate import MAX_STEP, check_float, is_int, is_number
from rung.errors import ConfigError

Number = int | float


def _error(field: str, message: str) -> ConfigError:
    return ConfigError(key=f"fidelity.{field}", message=message)


def _number(field: str, value: Any) -> Number:
    check_float(f"fidelity.{field}", value, 0, low_open=True)  # (an int beyond a float too)
    return int(value) if is_int(value) else float(value)


def _tidy(x: float) -> float:
    """``x`` to 12 significant digits: ``0.1 * 3`` is 0.3, not 0.30000000000000004."""
    return float(f"{x:.12g}")


class Fidelity:
    """The user's resource values behind the integer step.

    Args:
        name: what the value is (``"samples"``, ``"fraction"``, ``"resolution"``): shown in
            ``rung show`` and dataframes.
        values: explicit, strictly increasing positive values (one per rung), or ``None`` for a
            continuous range.
        low: the continuous range's lower end (``0 < low < high``), with ``values=None``.
        high: the continuous range's upper end, with ``values=None``.
        reduction_factor: the ratio of the continuous range's geometric ladder (> 1), a
            scheduler's ``reduction_factor`` for its rungs to land on the ladder. ``eta=`` is
            a deprecated alias (``rung._renamed``).

    Raises:
        ConfigError: naming ``fidelity.<field>`` for a bad argument (one line).
    """

    __slots__ = ("_ints", "high", "low", "name", "reduction_factor", "steps", "values")

    @accepts(FIDELITY, "fidelity.")
    def __init__(
        self,
        name: str,
        values: Sequence[Number] | np.ndarray[Any, Any] | None = None,
        *,
        low: Number | None = None,
        high: Number | None = None,
        reduction_factor: Number = 3,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise _error("name", f"must be a non-empty string, got {name!r}")
        self.name = name
        ladder: list[Number]
        if values is not None:
            if low is not None or high is not None:
                raise _error("values", "give explicit values or low/high, not both")
            if isinstance(values, np.ndarray) and values.ndim == 1:
                values = values.tolist()
            if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
                raise _error("values", f"must be a non-empty list of numbers, got {values!r}")
            ladder = [_number(f"values[{i}]", v) for i, v in enumerate(values)]
            for i in range(1, len(ladder)):
                if ladder[i] <= ladder[i - 1]:
                    raise _error(f"values[{i}]", f"must be greater than values[{i - 1}] "
                                 f"({ladder[i - 1]!r}), got {ladder[i]!r}")
            self.low: Number | None = None
            self.high: Number | None = None
            self.reduction_factor: Number | None = None
            self._ints = all(type(v) is int for v in ladder)
        else:
            if low is None or high is None:
                raise _error("values", "give explicit values, or low= and high=")
            lo, hi = _number("low", low), _number("high", high)
            if hi <= lo:
                raise _error("high", f"must be greater than low ({lo!r}), got {hi!r}")
            factor = reduction_factor
            check_float("fidelity.reduction_factor", factor, 1, low_open=True)
            self.low, self.high, self.reduction_factor = lo, hi, factor
            self._ints = False
            ladder = []
            k = 0
            while (v := _tidy(float(lo) * float(factor) ** k)) < hi * (1 - 1e-9):
                ladder.append(v)
                k += 1
            ladder.append(float(hi))
        steps: list[int] = []
        for v in ladder:
            s = max(round(v / ladder[0]), steps[-1] + 1 if steps else 1)
            steps.append(int(s))
        if steps[-1] > MAX_STEP:
            if values is not None:
                raise _error("values", f"spans more than {MAX_STEP:,} steps (values[-1] / "
                             f"values[0] = {float(ladder[-1]) / float(ladder[0]):.6g})")
            raise _error("low", f"spans {steps[-1]} steps (high / low); at most {MAX_STEP}: "
                         f"raise low to at least {_tidy(float(ladder[-1]) / MAX_STEP)}")
        self.values: tuple[Number, ...] = tuple(ladder)
        self.steps: tuple[int, ...] = tuple(steps)

    @property
    def eta(self) -> Number | None:
        """Deprecated: ``reduction_factor``."""
        warnings.warn(message("Fidelity", "eta", "reduction_factor"), AliasWarning,
                      stacklevel=2)
        return self.reduction_factor

    # --- the mapping --------------------------------------------------------------------------
    @property
    def max_step(self) -> int:
        """The study's ``max_step``: the step of the highest value."""
        return self.steps[-1]

    def value(self, step: int) -> Number:
        """The user's value at ``step`` (``1 <= step <= max_step``): exact at ladder steps,
        interpolated between them."""
        if not is_int(step) or not 1 <= step <= self.max_step:
            raise _error("step", f"must be an integer in [1, {self.max_step}], got {step!r}")
        i = bisect.bisect_left(self.steps, step)
        if self.steps[i] == step:
            return self.values[i]
        if self.low is not None:  # continuous: the step is a multiple of low
            return _tidy(float(self.low) * step)
        s0, s1 = self.steps[i - 1], self.steps[i]
        v0, v1 = self.values[i - 1], self.values[i]
        v = v0 + (v1 - v0) * (step - s0) / (s1 - s0)
        return round(v) if self._ints else v

    def step(self, value: Number) -> int:
        """The first step whose value is at least ``value`` (the inverse of ``value`` on every
        step: ``step(value(s)) == s``)."""
        if not is_number(value) or isinstance(value, bool):
            raise _error("value", f"must be a number, got {value!r}")
        if value > self.values[-1]:
            raise _error("value", f"{value!r} is above the highest value {self.values[-1]!r}")
        lo, hi = 1, self.max_step
        while lo < hi:  # value() is non-decreasing in the step
            mid = (lo + hi) // 2
            if self.value(mid) >= value:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def next_step(self, after: int) -> int | None:
        """The first ladder step above step ``after`` (``None`` past the last)."""
        i = bisect.bisect_right(self.steps, after)
        return self.steps[i] if i < len(self.steps) else None

    def ladder(self, start: int = 1) -> Iterator[tuple[int, Number]]:
        """``(step, value)`` of every ladder step at or above ``start``."""
        for s, v in zip(self.steps, self.values, strict=True):
            if s >= start:
                yield s, v

    # --- plain value --------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        if self.low is not None:
            return {"name": self.name, "low": self.low, "high": self.high,
                    "reduction_factor": self.reduction_factor}
        return {"name": self.name, "values": list(self.values)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | Fidelity, *, stored: bool = False) -> Fidelity:
        """A ``Fidelity`` from its JSON form (``{"name", "values"}`` or ``{"name", "low",
        "high", "reduction_factor"}``); ``ConfigError`` naming ``fidelity.<key>`` otherwise.
        The deprecated key ``eta`` reads as ``reduction_factor``, with a ``DeprecationWarning``
        unless ``stored`` (a study's stored spec, read silently)."""
        if isinstance(data, Fidelity):
            return data
        if not isinstance(data, Mapping):
            raise ConfigError(key="fidelity", message=f"must be a mapping, got {data!r}")
        data = rename(data, FIDELITY, "fidelity.", "fidelity", warn=not stored, stacklevel=2)
        unknown = set(data) - {"name", "values", "low", "high", "reduction_factor"}
        if unknown:
            raise _error(str(sorted(unknown, key=str)[0]),
                         "unknown key (name, values, low, high, reduction_factor)")
        if "name" not in data:
            raise _error("name", "missing")
        return cls(data["name"], data.get("values"), low=data.get("low"),
                   high=data.get("high"), reduction_factor=data.get("reduction_factor", 3))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Fidelity) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash((self.name, self.values))

    def __repr__(self) -> str:
        if self.low is not None:
            return (f"Fidelity({self.name!r}, low={self.low!r}, high={self.high!r}, "
                    f"reduction_factor={self.reduction_factor!r})")
        return f"Fidelity({self.name!r}, {list(self.values)!r})"


__all__ = ["Fidelity"]
