"""``Trial``'s repr: one short line (``rung.core.records.Trial.__repr__`` says what it holds)."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rung.core.error_line import error_summary
from rung.core.metric_value import as_float, is_real

if TYPE_CHECKING:
    from rung.core.records import Trial


def trial_repr(trial: Trial) -> str:
    """``Trial(3, completed, params={'lr': 0.01, 'n': 2}, loss=0.1234 at step 27, 27
    results)``."""
    parts = [str(trial.id), trial.status.value, f"params={_repr_params(trial.params)}"]
    if trial.parent_id is not None:
        parts.append(f"parent={trial.parent_id}")
    n = len(trial.results)
    if n:
        parts.append(f"{_repr_metrics(trial.metrics, trial.value)} at step {trial.last_step}")
    parts.append(f"{n} result{'' if n == 1 else 's'}" if n else "no results")
    if trial.error and trial.error.strip():
        parts.append(f"error={_cut(error_summary(trial.error), _REPR_ERROR_WIDTH)!r}")
    return f"{type(trial).__name__}({', '.join(parts)})"


#: at most this many metrics, then ``...``; params up to about this many characters, then
#: ``... N more``; a value (a param's, a metric's) and an error line up to these (``Trial``'s repr)
_REPR_METRICS = 3
_REPR_PARAMS_WIDTH = 80
_REPR_VALUE_WIDTH = 40
_REPR_ERROR_WIDTH = 80


def _cut(text: str, width: int) -> str:
    """``text``, or its first ``width - 3`` characters and ``...``."""
    return text if len(text) <= width else text[:width - 3] + "..."


def _repr_value(x: Any) -> str:
    """A real number in at most 6 significant digits (``0.00123457``, ``1.0``, ``nan``;
    an int as it is), anything else (a bool, a string, ...) as its ``repr``, cut to
    ``_REPR_VALUE_WIDTH`` characters."""
    if not is_real(x):  # a bool, a string, None, ...
        return _cut(repr(x), _REPR_VALUE_WIDTH)
    if isinstance(x, numbers.Integral):  # Python's or NumPy's
        return _cut(str(int(x)), _REPR_VALUE_WIDTH)
    text = f"{as_float(x):.6g}"  # a float, NumPy's, a 0-d array or tensor
    return text + ".0" if text.lstrip("-").isdigit() else text  # 1.0, not 1


def _repr_params(params: Mapping[str, Any]) -> str:
    """``{'lr': 0.01, 'n': 2}``, cut once it passes ``_REPR_PARAMS_WIDTH`` characters
    (``{'a': 1, 'b': 2, ... 7 more}``)."""
    items: list[str] = []
    width = 0
    for k, v in params.items():
        if items and width > _REPR_PARAMS_WIDTH:
            return "{" + ", ".join(items) + f", ... {len(params) - len(items)} more}}"
        item = f"{_cut(repr(k), _REPR_VALUE_WIDTH)}: {_repr_value(v)}"
        items.append(item)
        width += len(item) + 2
    return "{" + ", ".join(items) + "}"


def _repr_metrics(metrics: Mapping[str, Any], value: float | None) -> str:
    """``loss=0.1234, acc=0.91``: the metric equal to ``value`` first (when one metric is),
    at most ``_REPR_METRICS``, then ``...``; ``value=...`` when no metric is (no metrics:
    ``no metrics``)."""
    names = list(metrics)
    if value is not None:
        same = [k for k in names if _equals(metrics[k], value)]
        if len(same) == 1:
            names.remove(same[0])
            names.insert(0, same[0])
    shown = [f"{_cut(str(k), _REPR_VALUE_WIDTH)}={_repr_value(metrics[k])}"
             for k in names[:_REPR_METRICS]]
    if len(names) > _REPR_METRICS:
        shown.append("...")
    if value is not None and not any(_equals(metrics[k], value) for k in names):
        shown.insert(0, f"value={_repr_value(value)}")
    return ", ".join(shown) or "no metrics"


def _equals(x: Any, value: float) -> bool:
    """A reported metric is the trial's ``value`` (a real number equal to it)."""
    return is_real(x) and as_float(x) == value


__all__ = ["trial_repr"]
