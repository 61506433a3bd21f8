"""What an objective passes to ``TrialContext.report`` (``rung.executors.worker``), checked and
made plain before it goes on the wire.

- ``plain_metrics``: metrics as JSON-friendly Python values (NumPy scalars and 0-d tensors
  become ``float`` or ``int``, JSON-able containers are kept, anything else becomes its
  ``repr``; NaN and inf are kept as given);
- ``_as_step``: a step as an ``int`` (an integral float or any ``__index__``), else
  ``TypeError``; ``_step_out_of_range``: the message for a step below 1 or above ``max_step``;
- ``_not_a_save``: the message for a ``save`` that is not callable (often metrics passed as a
  dict).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_PLAIN = frozenset({float, int, str, bool, type(None)})


def plain_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Metrics as JSON-friendly Python values: numpy scalars and 0-d tensors become ``float``
    (or ``int``), JSON-able containers are kept, anything else becomes its ``repr``. NaN and inf
    are kept as given (the journal encodes them; the objective scores them worst)."""
    out: dict[str, Any] = {}
    for k, v in metrics.items():
        out[str(k)] = _plain(v)
    return out


def _plain(v: Any) -> Any:
    if type(v) in _PLAIN:
        return v
    if isinstance(v, bool | int | float | str):
        return v  # subclasses (numpy.float64 is a float)
    item = getattr(v, "item", None)
    if callable(item):
        try:
            return _plain(item())
        except (TypeError, ValueError, RuntimeError):
            pass
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    try:
        return float(v)
    except (TypeError, ValueError):
        return repr(v)


def _step_out_of_range(step: int, max_step: int) -> str:
    if step < 1:
        return (f"report(step={step}): steps count from 1 (in a loop over range(n), report "
                f"epoch + 1)")
    return (f"report(step={step}): above the study's max_step ({max_step}); loop up to "
            f"ctx.max_step")


def _as_step(step: Any) -> int:
    try:
        if isinstance(step, float) and step.is_integer():
            return int(step)
        return int(step.__index__())
    except (AttributeError, TypeError):
        raise TypeError(f"report(step=...): expected an integer step, got {step!r}") from None


# --- running trials --------------------------------------------------------------------------


def _not_a_save(save: object) -> str:
    """The message for a ``save`` that is not callable (often metrics passed as a dict)."""
    if isinstance(save, Mapping):
        kw = ", ".join(f"{k}={v!r}" for k, v in list(save.items())[:3] if isinstance(k, str)
                       and k.isidentifier())
        return (f"report(step, save=None, **metrics): metrics are keyword arguments, "
                f"e.g. ctx.report(step, {kw or 'loss=0.5'}), or ctx.report(step, **metrics) "
                f"for a dict; got a {type(save).__name__} as save")
    return f"report: save must be callable (save(directory)), got {type(save).__name__}"
