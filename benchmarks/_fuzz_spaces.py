"""The search spaces ``fuzz_specs.py`` draws: one parameter in a spec's JSON form, and whole
Python spaces.

``param_dicts`` is a parameter of a spec's ``space`` (a JSON dict, often wrong, a list or a
scalar), ``when_maps`` a ``when=`` mapping (mostly known parents), ``good_params`` a parameter
that should be accepted (a sound range or choices, ``when=`` on an earlier categorical or fixed
parameter), ``python_params`` one value of a Python space (a Param whose arguments are often
wrong, a tuple, a list...) and ``python_spaces`` a whole ``SearchSpace({...})`` argument.
Hypothesis strategies only: nothing here checks a case (``_fuzz_checks.py`` does).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from _fuzz_values import anything, maybe_number, numbers, scalars, values
from hypothesis import strategies as st

from rung import Categorical, Fixed, Float, Int

# --- parameters in a spec's JSON form ----------------------------------------------------------
_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "low": maybe_number, "high": maybe_number, "log": st.one_of(st.booleans(), anything),
    "step": maybe_number, "choices": st.one_of(st.lists(scalars, max_size=4), anything),
    "value": scalars, "ordered": st.one_of(st.booleans(), anything), "when": anything,
    "lgo": anything,
}
_FIELD_NAMES = st.lists(st.sampled_from(sorted(_FIELDS)), max_size=5, unique=True)
_KINDS = st.sampled_from(["float", "int", "categorical", "fixed", "flaot", None, 3])
_SHAPES = st.sampled_from(["dict", "dict", "dict", "list", "scalar", "other"])
_LISTS = st.lists(st.one_of(scalars, values), max_size=4)


@st.composite
def param_dicts(draw: st.DrawFn, parents: list[str]) -> Any:
    """A parameter in a spec's space: a JSON dict (often wrong), a list or a scalar."""
    shape = draw(_SHAPES)
    if shape == "list":
        return draw(_LISTS)
    if shape == "scalar":
        return draw(scalars)
    if shape == "other":
        return draw(values)
    kind = draw(_KINDS)
    d: dict[Any, Any] = {} if kind is None else {"type": kind}
    for k in draw(_FIELD_NAMES):
        d[k] = draw(when_maps(parents) if k == "when" and draw(st.booleans()) else _FIELDS[k])
    if kind in ("float", "int") and draw(st.booleans()):  # often a valid range to build on
        lo = draw(st.integers(-5, 5) if kind == "int" else st.floats(-5, 5))
        d.setdefault("low", lo)
        d.setdefault("high", lo + draw(st.integers(1, 10)))
    return d


_WHEN_VALUES = st.one_of(scalars, st.lists(scalars, max_size=3))
_OTHER_NAMES = st.one_of(st.text(max_size=3), scalars)


@st.composite
def when_maps(draw: st.DrawFn, parents: list[str]) -> Any:
    """A ``when=`` mapping: mostly known parents, sometimes unknown names or non-strings."""
    out: dict[Any, Any] = {}
    for _ in range(draw(st.integers(0, 2))):
        known = draw(st.integers(0, 3)) > 0
        if parents and known:
            name: Any = parents[draw(st.integers(0, len(parents) - 1))]
        else:
            name = draw(_OTHER_NAMES)
        out[name] = draw(_WHEN_VALUES)
    return out


# --- Python spaces -----------------------------------------------------------------------------
py_numbers = st.one_of(
    numbers, st.sampled_from([np.float32(0.5), np.float64(2.0), np.int64(3), np.int8(-1),
                              np.bool_(True), np.float64(np.nan)]),
)
py_anything = st.one_of(anything, py_numbers, st.just(object()), st.just(Float),
                        st.tuples(py_numbers, py_numbers), st.just([[1]]))


good_scalars = st.one_of(
    st.integers(-1000, 1000), st.floats(-1e6, 1e6), st.booleans(), st.text(max_size=5), st.none()
)


@st.composite
def good_params(draw: st.DrawFn, parents: dict[str, Any]) -> Any:
    """A parameter that should be accepted: a sound range or choices, and ``when=`` on an
    earlier categorical or fixed parameter with values it can take."""
    when: dict[str, Any] | None = None
    choosers = {n: p for n, p in parents.items() if isinstance(p, Categorical | Fixed)}
    conditional = draw(st.booleans())
    if choosers and conditional:
        name = sorted(choosers)[draw(st.integers(0, len(choosers) - 1))]
        p = choosers[name]
        options = list(p.choices) if isinstance(p, Categorical) else [p.value]
        picked = draw(st.lists(st.sampled_from(options), min_size=1, max_size=2))
        when = {name: picked if len(picked) > 1 else picked[0]}
    kind = draw(st.sampled_from(["Float", "Int", "Categorical", "Fixed", "list", "scalar"]))
    if kind == "Float":
        log = draw(st.booleans())
        low = draw(st.floats(1e-6, 1e3) if log else st.floats(-1e3, 1e3))
        high = low + draw(st.floats(1e-3, 1e3))
        step = None if log or draw(st.booleans()) else (high - low) / draw(st.integers(1, 50))
        return Float(low, high, log=log, step=step, when=when)
    if kind == "Int":
        log = draw(st.booleans())
        low = draw(st.integers(1, 100) if log else st.integers(-100, 100))
        high = low + draw(st.integers(1, 1000))
        step = 1 if log else draw(st.integers(1, min(7, high - low)))  # at least two values
        return Int(low, high, log=log, step=step, when=when)
    choices = draw(st.lists(good_scalars, min_size=1, max_size=5,
                            unique_by=lambda v: (type(v).__name__, v)))
    if kind == "Categorical":
        return Categorical(choices, ordered=draw(st.booleans()), when=when)
    if kind == "Fixed":
        return Fixed(choices[0], when=when)
    if kind == "list" or when is None:
        return choices if kind == "list" else choices[0]
    return choices[0]


@st.composite
def python_params(draw: st.DrawFn, parents: list[str]) -> Any:
    """One value of a Python space: a Param (arguments often wrong), a tuple, a list, a JSON
    dict, a scalar or something else."""
    arg = st.one_of(py_numbers, py_numbers, py_anything)
    when = st.one_of(st.none(), st.none(), when_maps(parents), py_anything)
    kind = draw(st.sampled_from(["Float", "Int", "Categorical", "Fixed", "tuple", "list", "json",
                                 "scalar", "other"]))
    if kind in ("Float", "Int"):
        cls = Float if kind == "Float" else Int
        if draw(st.booleans()):
            lo = draw(st.integers(-5, 5))
            low, high = lo, lo + draw(st.integers(1, 10))
        else:
            low, high = draw(arg), draw(arg)
        kw: dict[str, Any] = {}
        if draw(st.booleans()):
            kw["log"] = draw(st.one_of(st.booleans(), py_anything))
        if draw(st.booleans()):
            kw["step"] = draw(arg)
        return cls(low, high, when=draw(when), **kw)
    if kind == "Categorical":
        choices = draw(st.one_of(st.lists(st.one_of(scalars, py_numbers), max_size=4),
                                 py_anything))
        return Categorical(choices, ordered=draw(st.one_of(st.booleans(), py_anything)),
                           when=draw(when))
    if kind == "Fixed":
        return Fixed(draw(st.one_of(scalars, py_anything)), when=draw(when))
    if kind == "tuple":
        return tuple(draw(st.lists(st.one_of(py_numbers, scalars), max_size=3)))
    if kind == "list":
        return draw(st.lists(st.one_of(scalars, py_numbers), max_size=4))
    if kind == "json":
        return draw(param_dicts(parents))
    if kind == "scalar":
        return draw(scalars)
    return draw(py_anything)


@st.composite
def python_spaces(draw: st.DrawFn) -> Any:
    params: dict[Any, Any] = {}
    if draw(st.booleans()):  # a sound space, perhaps with one wild parameter
        for i in range(draw(st.integers(1, 5))):
            params[f"p{i}"] = draw(good_params({k: v for k, v in params.items()}))
        if draw(st.integers(0, 3)) == 0:
            params[draw(st.sampled_from(sorted(params)))] = draw(python_params(sorted(params)))
        return params
    for _ in range(draw(st.integers(0, 5))):
        parents = [k for k in params if isinstance(k, str)]
        name = draw(st.one_of(st.sampled_from(["lr", "width", "opt", "m"]), st.text(max_size=4),
                              scalars))
        params[name] = draw(python_params(parents))
    if draw(st.integers(0, 30)) == 0:
        return draw(py_anything)
    return params


__all__ = ["good_params", "good_scalars", "param_dicts", "py_anything", "py_numbers",
           "python_params", "python_spaces", "when_maps"]
