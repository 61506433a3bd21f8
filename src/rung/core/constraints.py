"""Outcome constraints of a study: ``Constraint`` (``metric <= bound`` or ``metric >= bound``),
``constraints_from``, the one reader of a study's ``constraints``, and ``ReportedSteps``, where
``History`` finds a trial's value of a constraint's metric at a step.

**Which value a constraint reads at a step.** A metric may be reported only at some steps (a
latency measured at the end, a model size measured once). At step ``s`` a constraint reads
the trial's latest value of its metric at or before ``s``: the value reported at ``s``, else
the last one reported before it. A value that is not a finite real number never holds (its
slack and violation are ``inf``). When the trial reported no value of the metric by ``s``:

- for *feasibility* (``History.violation`` / ``slacks``: ``best_trial``, the Pareto front,
  ``Study.feasible``) the constraint does not hold (``inf``): a trial that never reports a
  constraint's metric is never feasible;
- for *ranking* results at ``s`` (``ranking=True``: the rungs of ASHA, async Hyperband and
  MO-ASHA, the observations of TPE, BOHB and GP) the constraint is *unknown* there and counts
  as holding (violation 0; GP leaves the result out of that constraint's model), unless the
  result at ``s`` is the trial's final one (``History.is_final``), where it is violated as
  for feasibility. A metric reported only at the end so ranks no trial below another before
  the end.

Bad input raises ``ConfigError`` keyed relative to the study spec (``constraints[1].bound``).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from typing import Any

from rung._validate import check_choice, check_float, kind_of
from rung.core.frozen import record
from rung.core.metric_value import as_float, is_real
from rung.errors import ConfigError

_OPS = ("<=", ">=")


@record
class Constraint:
    """An outcome constraint: a trial is feasible when ``metric op bound`` holds at the step
    considered (e.g. ``Constraint("latency_ms", "<=", 100)``).

    ``violation(metrics)`` is 0 when satisfied, the amount by which the bound is exceeded
    otherwise, and ``inf`` when the metric is missing from ``metrics`` or not finite (never
    feasible). Which of a trial's results a constraint reads at a step is ``History``'s rule
    (module docstring)."""

    metric: str
    op: str = "<="
    bound: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric.strip():
            raise ConfigError(
                key="constraints.metric",
                message=f"must be a non-empty string, got {self.metric!r}",
            )
        if self.metric != self.metric.strip():
            raise ConfigError(key="constraints.metric", message=(
                f"must not start or end with a space, got {self.metric!r}"))
        check_choice("constraints.op", self.op, _OPS)
        check_float("constraints.bound", self.bound)

    def slack(self, metrics: Mapping[str, Any]) -> float:
        """``value - bound`` for ``<=`` (``bound - value`` for ``>=``): feasible iff ``<= 0``;
        ``inf`` when the metric is missing or not finite."""
        return self.slack_of(metrics.get(self.metric))

    def slack_of(self, v: Any) -> float:
        """``slack`` of the metric's value ``v``: ``inf`` when ``v`` is not a finite real
        number (``None``, a bool, a string, NaN, an int too large for a float: a journal
        written before ``Study.tell`` refused such an int reads back violated, never
        feasible, and never raises)."""
        if not is_real(v):
            return math.inf
        x = as_float(v)
        if not math.isfinite(x):
            return math.inf
        return x - self.bound if self.op == "<=" else self.bound - x

    def violation(self, metrics: Mapping[str, Any]) -> float:
        return max(0.0, self.slack(metrics))

    def text(self) -> str:
        """``"latency_ms <= 100"``."""
        return f"{self.metric} {self.op} {self.bound:g}"

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "op": self.op, "bound": self.bound}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Constraint:
        return cls(str(d["metric"]), str(d.get("op", "<=")), d.get("bound", 0.0))


def _split_constraint(text: str) -> tuple[str, str, str] | None:
    """``"metric <= bound"`` as ``(metric, op, bound)`` (``bound`` unread), ``None`` if it
    does not read so: a metric starts with a letter or ``_`` and holds word characters, ``.``,
    ``-`` and ``/`` (Lightning's ``val/loss``); the first ``<=`` / ``>=`` is the operator; the
    bound is one word."""
    at = [i for i in (text.find("<="), text.find(">=")) if i >= 0]
    if not at:
        return None
    i = min(at)
    metric, op, bound = text[:i].strip(), text[i:i + 2], text[i + 2:].strip()
    if not metric or not (metric[0] == "_" or (metric[0].isascii() and metric[0].isalpha())):
        return None
    if not all(c.isalnum() or c in "_.-/" for c in metric) or not bound \
            or any(c.isspace() for c in bound):
        return None
    return metric, op, bound


def constraints_from(items: Any) -> tuple[Constraint, ...]:
    """Constraints from a study's ``constraints``: a list (or tuple) whose items are
    ``"metric <= bound"`` / ``"metric >= bound"`` strings, ``{metric, op, bound}`` mappings
    (``metric`` and ``bound`` required) or ``Constraint`` values (kept); ``None`` is none.
    Raises ``ConfigError`` keyed relative to the study spec (``constraints``,
    ``constraints[1]``, ``constraints[1].bound``), as a YAML spec's are under ``spec.``.
    An item equal to an earlier one (same metric, operator and bound) is refused, naming the
    later one, and so is one that no value can meet together with an earlier one
    (``m <= 10`` then ``m >= 20``: no trial could ever be feasible, and the whole budget
    would be spent on a study with no best trial); ``m <= 10`` and ``m >= 10`` meet at 10."""
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
            _check_new(out, key)
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
        _check_new(out, key)
    return tuple(out)


def _check_new(out: list[Constraint], key: str) -> None:
    """Refuse ``out[-1]`` (at ``key``) when it repeats an earlier constraint, or when no value
    of its metric meets it together with an earlier one (an upper bound below a lower one)."""
    new = out[-1]
    if new in out[:-1]:
        raise ConfigError(key=key, message=f"'{new.text()}' repeats "
                          f"constraints[{out.index(new)}]")
    for j, old in enumerate(out[:-1]):
        if old.metric != new.metric or old.op == new.op:
            continue
        low, high = (new, old) if new.op == ">=" else (old, new)
        if low.bound > high.bound:
            raise ConfigError(key=key, message=f"'{new.text()}' contradicts constraints[{j}] "
                              f"('{old.text()}'): no value of {new.metric} meets both, so no "
                              "trial could be feasible")


class ReportedSteps:
    """The steps at which one trial reported each constraint's metric (ascending), kept by
    ``History`` as results arrive, so that a constraint's value at a step (module docstring)
    is found by bisection, without scanning the trial's results."""

    __slots__ = ("steps",)

    def __init__(self) -> None:
        self.steps: dict[str, list[int]] = {}

    def note(self, names: Sequence[str], step: int, metrics: Mapping[str, Any]) -> None:
        """The trial's result at ``step`` holds ``metrics`` (a new one, or one that replaces
        the step's earlier result after a restart: a metric it lacks is no longer there)."""
        for name in names:
            steps = self.steps.get(name)
            if name in metrics:
                if steps is None:
                    self.steps[name] = [step]
                elif steps[-1] < step:
                    steps.append(step)
                else:
                    i = bisect.bisect_left(steps, step)
                    if i == len(steps) or steps[i] != step:
                        steps.insert(i, step)
            elif steps:
                i = bisect.bisect_left(steps, step)
                if i < len(steps) and steps[i] == step:
                    del steps[i]

    def at(self, name: str, step: int) -> int | None:
        """The latest step at or before ``step`` whose result holds ``name``, else ``None``."""
        steps = self.steps.get(name)
        if not steps:
            return None
        i = bisect.bisect_right(steps, step)
        return steps[i - 1] if i else None
