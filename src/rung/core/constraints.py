"""Outcome constraints of a study: ``Constraint`` (``metric <= bound`` or ``metric >= bound``)
and ``constraints_from``, the one reader of a study's ``constraints``.

A trial is feasible when every constraint holds at the step considered; a constraint on a
missing or non-finite metric never holds (its violation is ``inf``). Bad input raises
``ConfigError`` keyed relative to the study spec (``constraints[1].bound``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rung._validate import check_choice, check_float, kind_of
from rung.core.frozen import record
from rung.errors import ConfigError

_OPS = ("<=", ">=")


@record
class Constraint:
    """An outcome constraint: a trial is feasible when ``metric op bound`` holds at the step
    considered (e.g. ``Constraint("latency_ms", "<=", 100)``).

    ``violation(metrics)`` is 0 when satisfied, the amount by which the bound is exceeded
    otherwise, and ``inf`` when the metric is missing or not finite (never feasible)."""

    metric: str
    op: str = "<="
    bound: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise ConfigError(
                key="constraints.metric",
                message=f"must be a non-empty string, got {self.metric!r}",
            )
        check_choice("constraints.op", self.op, _OPS)
        check_float("constraints.bound", self.bound)

    def slack(self, metrics: Mapping[str, Any]) -> float:
        """``value - bound`` for ``<=`` (``bound - value`` for ``>=``): feasible iff ``<= 0``;
        ``inf`` when the metric is missing or not finite."""
        v = metrics.get(self.metric)
        try:
            x = float(v)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return math.inf
        if isinstance(v, bool) or not math.isfinite(x):
            return math.inf
        return x - self.bound if self.op == "<=" else self.bound - x

    def violation(self, metrics: Mapping[str, Any]) -> float:
        return max(0.0, self.slack(metrics))

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "op": self.op, "bound": self.bound}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Constraint:
        return cls(str(d["metric"]), str(d.get("op", "<=")), d.get("bound", 0.0))


def _split_constraint(text: str) -> tuple[str, str, str] | None:
    """``"metric <= bound"`` as ``(metric, op, bound)`` (``bound`` unread), ``None`` if it
    does not read so: a metric starts with a letter or ``_`` and holds word characters, ``.``
    and ``-``; the first ``<=`` / ``>=`` is the operator; the bound is one word."""
    at = [i for i in (text.find("<="), text.find(">=")) if i >= 0]
    if not at:
        return None
    i = min(at)
    metric, op, bound = text[:i].strip(), text[i:i + 2], text[i + 2:].strip()
    if not metric or not (metric[0] == "_" or (metric[0].isascii() and metric[0].isalpha())):
        return None
    if not all(c.isalnum() or c in "_.-" for c in metric) or not bound \
            or any(c.isspace() for c in bound):
        return None
    return metric, op, bound


def constraints_from(items: Any) -> tuple[Constraint, ...]:
    """Constraints from a study's ``constraints``: a list (or tuple) whose items are
    ``"metric <= bound"`` / ``"metric >= bound"`` strings, ``{metric, op, bound}`` mappings
    (``metric`` and ``bound`` required) or ``Constraint`` values (kept); ``None`` is none.
    Raises ``ConfigError`` keyed relative to the study spec (``constraints``,
    ``constraints[1]``, ``constraints[1].bound``), as a YAML spec's are under ``spec.``."""
    if items is None:
        return ()
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise ConfigError(key="constraints", message="must be a list (e.g. [\"latency_ms <= "
                          f"100\"]), got {kind_of(items)}")
    out: list[Constraint] = []
    for i, item in enumerate(items):
        key = f"constraints[{i}]"
        if isinstance(item, Constraint):
            out.append(item)
            continue
        if isinstance(item, str):
            parts = _split_constraint(item)
            if parts is None:
                raise ConfigError(key=key, message="must read 'metric <= bound' or 'metric >= "
                                  f"bound', got {item!r}")
            metric, op, text = parts
            try:
                bound = float(text)
            except ValueError:
                raise ConfigError(key=f"{key}.bound",
                                  message=f"must be a number, got {text!r}") from None
            item = {"metric": metric, "op": op, "bound": bound}
        if not isinstance(item, Mapping):
            raise ConfigError(key=key, message=f"must be a string or a mapping, got "
                              f"{kind_of(item)}")
        for k in item:
            if k not in ("metric", "op", "bound"):
                raise ConfigError(key=f"{key}.{k}", message="unknown key (known: metric, op, "
                                  "bound)")
        if "metric" not in item or "bound" not in item:
            raise ConfigError(key=f"{key}.{'metric' if 'metric' not in item else 'bound'}",
                              message="missing")
        try:
            out.append(Constraint.from_json(item))
        except ConfigError as e:  # keyed constraints.bound: name the item
            field_ = (e.key or "").removeprefix("constraints")
            raise ConfigError(key=f"{key}{field_}", message=e.message) from None
    return tuple(out)
