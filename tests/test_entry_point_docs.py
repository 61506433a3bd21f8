"""The entry points' docstrings have a Google-style ``Args:`` section with an entry for every
parameter (the API reference renders it as a table); before, ``name``, ``seed``, ``storage``,
``n_workers``, ``on_turn``, ``launch_delay``... were not documented at all."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import pytest

import rung

ENTRY_POINTS: dict[str, Callable[..., Any]] = {
    "Study.create": rung.Study.create, "Study.run": rung.Study.run,
    "Study.simulate": rung.Study.simulate, "rung.run": rung.run, "rung.optimize": rung.optimize,
}


def _args_section(doc: str) -> dict[str, str]:
    """The ``Args:`` section's entries: name (``**kwargs`` with its stars) -> its text."""
    m = re.search(r"^Args:\n(.*?)(?:^\S|\Z)", doc, re.M | re.S)
    assert m is not None, "no Args: section"
    entries: dict[str, str] = {}
    name = None
    for line in m.group(1).splitlines():
        head = re.match(r"^    (\**\w+): (.*)", line)
        if head:
            name = head.group(1)
            entries[name] = head.group(2)
        elif name is not None and line.startswith("        "):
            entries[name] += " " + line.strip()
    return entries


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_every_parameter_has_an_args_entry_with_its_default(name: str) -> None:
    fn = ENTRY_POINTS[name]
    entries = _args_section(inspect.getdoc(fn) or "")
    params = inspect.signature(fn).parameters.values()
    expected = [("**" if p.kind is p.VAR_KEYWORD else "") + p.name for p in params
                if p.name not in ("self", "cls")]
    assert list(entries) == expected  # in the signature's order, none missing or extra
    for p in params:
        if p.default is p.empty or p.name in ("self", "cls"):
            continue
        text = entries[p.name]
        shown = ("none" if p.default == () else f'``"{p.default}"``'
                 if isinstance(p.default, str) else f"``{p.default!r}``"
                 if isinstance(p.default, bool) or p.default is None else repr(p.default))
        assert text.startswith(f"default {shown}"), (p.name, text)
