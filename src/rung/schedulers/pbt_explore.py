"""PBT's explore step (Jaderberg et al., "Population Based Training of Neural Networks",
arXiv:1711.09846, 2017: the paper's "perturb", section 3.1 and appendix A).

Each explored hyperparameter is resampled from the space with probability
``resample_probability``; otherwise a number is multiplied by 0.8 or 1.2 (equally likely),
clipped to its range and snapped to the nearest point of its grid (integers, and floats with a
``step``) inside the range; a value on a grid that would not move moves by one grid step (unless
it is at the end it moves towards), an ordered categorical moves to a neighbouring choice, and
an unordered categorical keeps its value. Parameters that the new values make inactive are
dropped and newly active ones are sampled, so the result is always valid in the space.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rung.space import Categorical, Float, Int, Param, SearchSpace


def perturb(p: Param, value: Any, up: bool) -> Any:
    """PBT's perturbation of one value (see the module docstring)."""
    if isinstance(p, Float):
        x = float(value) * (1.2 if up else 0.8)
        x = min(max(x, p.low), p.high)
        if p.step is not None:
            x = _on_grid(p.low, p.high, p.step, x, float(value), up)
        return x
    if isinstance(p, Int):
        x = round(int(value) * (1.2 if up else 0.8))
        x = min(max(x, p.low), p.high)
        return int(_on_grid(p.low, p.high, p.step, x, int(value), up))
    if isinstance(p, Categorical) and p.ordered:
        i = p.index(value) + (1 if up else -1)
        return p.choices[min(max(i, 0), len(p.choices) - 1)]
    return value


def _on_grid(low: float, high: float, step: float, x: float, value: float, up: bool) -> float:
    """The grid point ``low + k * step`` (inside ``[low, high]``) nearest to ``x``; if that is
    ``value``'s own point, the next one up or down (the perturbation always moves a value
    that can move)."""
    top = math.floor((high - low) / step + 1e-9)  # the last grid point's k
    k = min(max(round((x - low) / step), 0), top)
    own = round((value - low) / step)
    if k == own:
        k = min(max(own + (1 if up else -1), 0), top)
    return min(low + k * step, high)


def explore(
    space: SearchSpace,
    params: Mapping[str, Any],
    names: Sequence[str],
    resample_probability: float,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Perturb or resample ``names`` in ``params``; returns a valid configuration."""
    out = dict(params)
    for name in names:
        if name not in out:
            continue  # inactive in this configuration
        p = space.params[name]
        if rng.random() < resample_probability:
            out[name] = p.sample(rng)
        else:
            out[name] = perturb(p, out[name], bool(rng.random() < 0.5))
    for _ in range(len(space.params) + 1):  # settle conditions (a DAG: this terminates)
        active = space.active(out)
        changed = False
        for n in [n for n in out if n not in active]:
            del out[n]
            changed = True
        for n in active:
            if n not in out:
                out[n] = space.params[n].sample(rng)
                changed = True
        if not changed:
            break
    return space.validate(out)


def describe_changes(space: SearchSpace, old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """``"lr 0.01 -> 0.012, opt adam -> sgd, momentum (inactive) -> 0.9"``: what explore
    changed (``"no change"`` when nothing did)."""
    out = []
    for name in space.params:
        a, b = old.get(name, _INACTIVE), new.get(name, _INACTIVE)
        if a != b:
            out.append(f"{name} {_show(a)} -> {_show(b)}")
    return ", ".join(out) if out else "no change"


_INACTIVE = object()


def _show(value: Any) -> str:
    if value is _INACTIVE:
        return "(inactive)"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
