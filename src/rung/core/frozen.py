"""``record``: a frozen slotted dataclass whose ``__init__`` costs a third as much.

Records (events, commands, decisions, results, trial snapshots) are built several times per
report on the engine's hot path: about seventeen per trial of an ask/report/tell loop. The
``__init__`` that ``dataclass(frozen=True)`` generates has to get past the class's own
``__setattr__`` (which raises ``FrozenInstanceError``), so it assigns every field through
``object.__setattr__(self, "name", value)``: a generic attribute write that looks the name up
in the type each time. Calling the slot's own descriptor does the same write directly. For a
four-field record that is about 0.2 µs instead of 0.8 µs per construction (CPython 3.11).

Everything else is the dataclass's own: ``__eq__``, ``__hash__``, ``__repr__``, the raising
``__setattr__``/``__delattr__``, ``dataclasses.fields``/``replace``/``asdict``, defaults,
``field(default_factory=...)`` and ``__post_init__``. ``dataclass_transform`` tells type checkers
so.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")

_FACTORY = object()  # stands for "build the default" in a generated signature


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: type[T]) -> type[T]:
    """``@dataclass(frozen=True, slots=True)`` with a faster generated ``__init__``."""
    new: Any = dataclasses.dataclass(frozen=True, slots=True)(cls)
    ns: dict[str, Any] = {"_FACTORY": _FACTORY}
    params: list[str] = []
    body: list[str] = []
    for f in dataclasses.fields(new):
        if not f.init or f.kw_only:
            raise TypeError(f"{new.__name__}.{f.name}: record fields are positional init fields")
        n = f.name
        ns[f"_set_{n}"] = new.__dict__[n].__set__  # the slot's member descriptor
        value = n
        if f.default is not dataclasses.MISSING:
            ns[f"_default_{n}"] = f.default
            params.append(f"{n}=_default_{n}")
        elif f.default_factory is not dataclasses.MISSING:
            ns[f"_factory_{n}"] = f.default_factory
            params.append(f"{n}=_FACTORY")
            value = f"_factory_{n}() if {n} is _FACTORY else {n}"
        else:
            params.append(n)
        body.append(f"    _set_{n}(self, {value})")
    if hasattr(new, "__post_init__"):
        body.append("    self.__post_init__()")
    src = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or ["    pass"])
    exec(src, ns)  # source built from the class's own field names, as dataclasses does
    init = ns["__init__"]
    init.__qualname__ = f"{new.__qualname__}.__init__"
    init.__module__ = new.__module__
    init.__doc__ = new.__init__.__doc__
    new.__init__ = init
    result: type[T] = new
    return result
