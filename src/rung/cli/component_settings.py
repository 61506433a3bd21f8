"""A searcher's or scheduler's settings in words, as ``rung show`` and the dashboard's overview
write them: ``name: value`` pairs of the parameters that say something, in the order the study
stored them.

A study stores its components' parameters as given (``ComponentSpec.params``); one created
from an instance (``scheduler=rung.ASHA()``) stores every constructor argument, defaults and
``None`` included. ``settings`` leaves out each parameter that is ``None`` or equal to its
constructor's default (looked up in the component registry: a component this process cannot
import keeps every parameter that is not ``None``), and writes the rest as ``rung show`` writes
numbers (``fmt_num``: at most ~6 significant digits), booleans, lists and mappings as in JSON,
and text as it is.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from typing import Any

from rung.cli.report_format import fmt_num
from rung.core.records import ComponentSpec


def defaults(kind: str, name: str) -> dict[str, Any]:
    """The constructor defaults of the ``kind`` (``"searcher"`` or ``"scheduler"``) registered
    as ``name``; empty when it cannot be looked up (an unknown or unimportable component)."""
    from rung.core.registry import lookup

    try:
        sig = inspect.signature(lookup(kind, name).__init__)
    except Exception:  # a plug-in this process cannot import: no defaults known
        return {}
    return {p.name: p.default for p in sig.parameters.values()
            if p.name != "self" and p.default is not inspect.Parameter.empty}


def settings(kind: str, spec: ComponentSpec) -> list[tuple[str, str]]:
    """``(name, text)`` of each parameter of ``spec`` that is not ``None`` and not its
    default, in stored order."""
    known = defaults(kind, spec.name)
    out: list[tuple[str, str]] = []
    for k, v in spec.params.items():
        if v is None or (k in known and _same(v, known[k])):
            continue
        out.append((k, value_text(v)))
    return out


def settings_text(kind: str, spec: ComponentSpec) -> str:
    """``settings`` as one line, ``name: value`` pairs joined by ``", "`` (``""`` when every
    parameter is left at its default)."""
    return ", ".join(f"{k}: {v}" for k, v in settings(kind, spec))


def value_text(v: Any) -> str:
    """A parameter's value in words: ``true`` / ``false``, a number as ``rung show`` writes
    it, text as it is (a line break as ``\\n``), a list or mapping as compact JSON."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v.replace("\r", "\\r").replace("\n", "\\n")
    if isinstance(v, int | float):
        return fmt_num(v)
    try:
        return json.dumps(_plain(v), separators=(", ", ": "), allow_nan=True)
    except (TypeError, ValueError):
        return str(v)


def _same(a: Any, b: Any) -> bool:
    """``a`` (stored, JSON-shaped) is the default ``b`` (a tuple default equals its list)."""
    if isinstance(a, bool) != isinstance(b, bool):  # 1 is not True here
        return False
    try:
        return bool(_plain(a) == _plain(b))
    except Exception:  # a default that compares otherwise (an array): not the same
        return False


def _plain(v: Any) -> Any:
    if isinstance(v, tuple | list):
        return [_plain(x) for x in v]
    if isinstance(v, Mapping):
        return {k: _plain(x) for k, x in v.items()}
    return v


__all__ = ["defaults", "settings", "settings_text", "value_text"]
