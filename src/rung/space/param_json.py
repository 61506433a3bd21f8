"""A parameter from its JSON form: the ``type`` key names the class (``float``, ``int``,
``categorical``, ``fixed``); the other keys are its constructor's arguments.

``param_from_json(name, d)`` raises ``SpaceError`` keyed on the offending key: a missing
``type`` says which one the keys imply, another library's type name (``loguniform``,
``randint``, ``choice``, ...) says rung's spelling, an unknown key gets the closest known one.
It is the inverse of ``Param.to_json``; the parameter's own checks run when it is bound to its
name.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from rung._validate import close_hint
from rung.errors import SpaceError
from rung.space.conditions import param_error
from rung.space.params import Categorical, Fixed, Float, Int, Param

_KINDS: dict[str, type[Param]] = {
    "float": Float,
    "int": Int,
    "categorical": Categorical,
    "fixed": Fixed,
}


#: The ``type`` a parameter without one needs, by the keys it has.
_IMPLIED = (("choices", "a parameter with choices is type: categorical"),
            ("value", "a parameter with a value is type: fixed"),
            ("low", "a range is type: float or type: int"),
            ("high", "a range is type: float or type: int"))
#: Other libraries' names of a parameter's type (Ray Tune, Optuna, Hyperopt), and rung's form.
_OTHER_TYPES = {
    "uniform": "type: float", "loguniform": "type: float, log: true",
    "quniform": "type: float, step: ...", "randint": "type: int", "lograndint": "type: int, "
    "log: true", "qrandint": "type: int, step: ...", "choice": "type: categorical",
    "grid_search": "type: categorical and searcher: grid", "discrete_uniform": "type: float, "
    "step: ...", "integer": "type: int", "bool": "type: "
    "categorical, choices: [true, false]", "constant": "type: fixed", "const": "type: fixed",
}


def param_from_json(name: str, d: Any) -> Param:
    """Build a parameter from its JSON form (as written by ``Param.to_json``).

    A missing, unknown or unexpected key raises ``SpaceError`` keyed on it (``lr.type``,
    ``lr.lgo``, ``lr.high``); the parameter's own checks run when it is bound to its name.
    """
    if not isinstance(d, Mapping):
        raise param_error(name, f"expected a mapping with a 'type' key, got {d!r}")
    kinds = ", ".join(_KINDS)
    if "type" not in d:
        implied = next((text for key, text in _IMPLIED if key in d), f"one of {kinds}")
        raise param_error(name, f"missing ({implied})", "type")
    cls = _KINDS.get(d["type"]) if isinstance(d["type"], str) else None
    if cls is None:
        other = _OTHER_TYPES.get(d["type"]) if isinstance(d["type"], str) else None
        hint = f" (write {other})" if other else close_hint(d["type"], _KINDS)
        raise param_error(name, f"must be one of {kinds}, got {d['type']!r}{hint}", "type")
    sig = inspect.signature(cls.__init__).parameters
    known = [k for k in sig if k != "self"]
    for k in d:
        if k != "type" and k not in known:
            hint = close_hint(str(k), known, given=d)  # 'lgo' beside 'low': 'log'
            raise param_error(name, f"unknown key for a {d['type']} parameter{hint} "
                             f"(known: {', '.join(known)})", str(k))
    for k in known:
        if sig[k].default is inspect.Parameter.empty and k not in d:
            raise param_error(name, "missing", k)
    try:
        return cls(**{k: v for k, v in d.items() if k != "type"})
    except SpaceError as e:  # raised before the parameter knows its name ('when')
        field = e.key[len(e.param):].lstrip(".") if e.key and e.param else ""
        raise param_error(name, e.message, field or None) from None
