"""What an objective passes to ``TrialContext.report`` (``rung.executors.worker``), checked and
made plain before it goes on the wire.

- ``plain_metrics``: metrics as JSON-friendly Python values (NumPy scalars and 0-d tensors
  become ``float`` or ``int``, JSON-able containers are kept, anything else becomes its
  ``repr``; NaN and inf are kept as given, an int too large for a float becomes the
  infinity of its sign); ``needs_plain``: whether a value must go through it;
- ``refused_metric``: the message for an objective's metric that is not a real number
  (``rung.core.metric_value.is_real``, the rule a returned value and ``Study.tell`` follow);
- ``_as_step``: a step as an ``int`` (an integral float or any ``__index__``), else
  ``TypeError`` (naming Ray Tune's ``tune.report(metrics)`` for a mapping);
  ``_step_out_of_range``: the message for a step below 1 or above ``max_step``;
- ``_not_a_save``: the message for a ``save`` that is not callable (often metrics passed as a
  dict).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rung.core.metric_value import BIG_INT, as_float, is_real, show, type_name

_PLAIN = frozenset({float, int, str, bool, type(None)})


def plain_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Metrics as JSON-friendly Python values: numpy scalars and 0-d tensors become ``float``
    (or ``int``), JSON-able containers are kept, anything else becomes its ``repr``. NaN and inf
    are kept as given (the journal encodes them; the objective scores them worst); an int too
    large for a float (``10**400``) becomes the infinity of its sign, so every reader of the
    journal sees a non-finite number (``rung.core.metric_value``)."""
    out: dict[str, Any] = {}
    for k, v in metrics.items():
        out[str(k)] = _plain(v)
    return out


def needs_plain(metrics: Mapping[str, Any]) -> bool:
    """Whether ``plain_metrics`` would change any of ``metrics`` (the hot path skips it)."""
    for v in metrics.values():
        t = type(v)
        if t not in _PLAIN or (t is int and not -BIG_INT < v < BIG_INT):
            return True
    return False


def refused_metric(names: Sequence[str], metrics: Mapping[str, Any]) -> str | None:
    """The message for the first of ``names`` (a study's objective metrics) whose value in
    ``metrics`` is not a real number (``is_real``: not a ``bool``, a string, ``Decimal``,
    ``complex``, an array of one element...), naming its type; ``None`` if none is (a
    missing one is the driver's to judge)."""
    for name in names:
        if name in metrics and not is_real(metrics[name]):
            v = metrics[name]
            return (f"metric {name!r} must be a real number (an objective's metric), got "
                    f"{type_name(v)}: {show(v)}")
    return None


def _plain(v: Any) -> Any:
    if type(v) in _PLAIN:
        return v if type(v) is not int or -BIG_INT < v < BIG_INT else as_float(v)
    if isinstance(v, int) and not isinstance(v, bool) and not -BIG_INT < v < BIG_INT:
        return as_float(v)
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
        habit = ""
        if isinstance(step, Mapping):  # Ray Tune's tune.report(metrics): no step, a dict
            kw = ", ".join(f"{k}={v!r}" for k, v in list(step.items())[:3]
                           if isinstance(k, str) and k.isidentifier())
            habit = (" (Ray Tune's tune.report(metrics) habit: write "
                     + (f"ctx.report(step, {kw}), or " if kw else "")
                     + "ctx.report(step, **metrics) for a dict)")
        raise TypeError(f"report(step=...): expected an integer step, got {step!r}"
                        + habit) from None


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
