"""What to write instead of another library's parameter in a ``SearchSpace``: a Ray Tune
sample (``tune.loguniform(1e-4, 1e-1)``), ``tune.grid_search([...])``, or a nested dict of
parameters (Ray's nested ``param_space``), named with the rung parameter that draws the same
values (``docs/migrate-ray-tune.md`` has the table). Ray is never imported: its objects are
read by their type's module and attributes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def peer_hint(name: str, value: Any) -> str | None:
    """The message for parameter ``name``'s ``value`` when it is another library's way of
    writing a parameter (``None`` otherwise)."""
    if isinstance(value, Mapping):
        if set(value) == {"grid_search"}:
            return (f"Ray Tune's tune.grid_search: write the list {value['grid_search']!r} "
                    "(a categorical parameter) with searcher='grid', which tries every "
                    "combination of the space once")
        if value and not set(value) & _JSON_KEYS and any(map(_param_like, value.values())):
            path = f"{name}/{next(iter(value))}"
            return ("a nested dict of parameters: a rung space is flat, so name each one by "
                    f"its path ({path!r}: ...) and read it as params[{path!r}]")
        return None
    module = type(value).__module__
    if module.startswith("ray.tune"):
        return f"Ray Tune's tune sample {_ray_expression(value)}: write {_rung_for_ray(value)}"
    if module.startswith("optuna.distributions"):
        return (f"Optuna's {type(value).__name__}: write rung.Float / rung.Int / "
                "rung.Categorical with its bounds or choices (docs/migrate-optuna.md)")
    return None


#: keys of a parameter's JSON form (``rung.space.param_json``): such a dict is not nested
_JSON_KEYS = frozenset({"type", "choices", "value", "low", "high", "log", "step", "ordered",
                        "when", "points"})


def _param_like(v: Any) -> bool:
    """A parameter, another library's, or a dict of them (a plain list or value is not:
    in Ray's ``param_space`` it is a constant, in rung a list is a choice)."""
    from rung.space.params import Param

    if isinstance(v, Mapping):
        return "type" in v or any(map(_param_like, v.values()))
    return (isinstance(v, Param)
            or type(v).__module__.startswith(("ray.tune", "optuna.distributions")))


def _ray_expression(value: Any) -> str:
    kind = type(value).__name__
    lower, upper = getattr(value, "lower", None), getattr(value, "upper", None)
    return f"{kind}({lower!r}, {upper!r})" if lower is not None else kind


def _rung_for_ray(value: Any) -> str:
    """The rung parameter a Ray Tune sample maps to (its ``upper`` is exclusive for integers;
    a quantized one steps by ``q``); the table's advice where rung has none."""
    kind = type(value).__name__
    if kind == "Function":  # tune.sample_from(fn)
        return ("a when= condition for a value that depends on another parameter, or "
                "rung.optimize's define-by-run objective (rung has no sample_from)")
    sampler = value.get_sampler() if callable(getattr(value, "get_sampler", None)) else None
    q = getattr(sampler, "q", None)
    inner = type(getattr(sampler, "sampler", sampler)).__name__
    log = ", log=True" if "Log" in inner else ""
    if kind == "Categorical":
        return f"the list {list(getattr(value, 'categories', []))!r} (rung.Categorical)"
    lower: Any = getattr(value, "lower", None)
    upper: Any = getattr(value, "upper", None)
    if "Normal" in inner or lower is None or not all(
            isinstance(x, int | float) and math.isfinite(x) for x in (lower, upper)):
        return "a rung.Float(low, high) range (rung has no normal prior)"
    if log and q is not None:
        if kind == "Integer" and q == 1:  # as randint: Ray's upper bound is exclusive
            return f"rung.Int({lower!r}, {upper - 1!r}{log}) (Ray's upper bound is exclusive)"
        return (f"rung.{'Int' if kind == 'Integer' else 'Float'}({lower!r}, {upper!r}{log}) and "
                f"round to {q!r} in the objective (rung has no log scale with a step)")
    if kind == "Integer":
        if q is not None and q > 1:
            a, b = -(-lower // q) * q, upper // q * q
            return f"rung.Int({a!r}, {b!r}, step={q!r}) (Ray's upper bound is included here)"
        return f"rung.Int({lower!r}, {upper - 1!r}{log}) (Ray's upper bound is exclusive)"
    step = f", step={q!r}" if q is not None else ""
    return f"rung.Float({lower!r}, {upper!r}{log}{step})"


__all__ = ["peer_hint"]
