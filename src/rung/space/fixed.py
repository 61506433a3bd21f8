"""``Fixed``: a constant passed to the objective, a parameter that takes no coordinate of the
unit encoding (``rung.space.params``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rung.space.conditions import SCALARS, Scalar, When, early_when, norm_when, param_error
from rung.space.params import Param


class Fixed(Param):
    """A constant passed to the objective; it takes no coordinate in the unit encoding."""

    kind = "fixed"

    def __init__(self, value: Scalar, when: When | None = None) -> None:
        self.value = value
        self.when = early_when(when)

    def _bind(self, name: str) -> Param:
        self.name = name
        self.when = norm_when(name, self.when)
        if isinstance(self.value, np.generic):
            self.value = self.value.item()
        if not isinstance(self.value, SCALARS):
            raise param_error(name, f"Fixed value {self.value!r} is not a JSON scalar")
        if isinstance(self.value, float) and not math.isfinite(self.value):
            raise param_error(name, f"Fixed value {self.value!r} is not a finite number")
        return self

    @property
    def tunable(self) -> bool:
        return False

    def to_unit(self, value: Scalar) -> float:
        return 0.5

    def from_unit(self, u: float) -> Scalar:
        return self.value

    def sample(self, rng: np.random.Generator) -> Scalar:
        return self.value

    def validate(self, value: Any) -> Scalar:
        if isinstance(value, np.generic):
            value = value.item()
        if type(value) is not type(self.value) or value != self.value:
            raise param_error(self.name, f"expected the fixed value {self.value!r}, got {value!r}")
        return self.value

    def grid(self, points: int) -> list[Scalar]:
        return [self.value]

    def to_json(self) -> dict[str, Any]:
        return {"type": "fixed", "value": self.value} | self._when_json()


__all__ = ["Fixed"]
