"""``SpecError``: the one error a bad YAML spec raises, and the mapping of library errors to it.

A library ``ConfigError`` is keyed relative to the study spec (``budget.n_trials``), a
``SpaceError`` relative to the search space (``lr.low``); a ``SpecError`` roots the key at
``spec.`` (``spec.budget.n_trials``, ``spec.space.lr.low``) so that the message names the key of
the YAML file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rung._validate import close_hint, kind_of
from rung.errors import ConfigError, SpaceError


class SpecError(ConfigError):
    """An invalid spec. ``key`` is the dotted path of the offending key (``spec.space.lr.low``);
    ``str(error)`` is one line: ``"<key>: <what is wrong>"``."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(key=key, message=" ".join(message.split()))

    def _render(self) -> str:
        # a key is data from the file: show its control characters escaped, on one line
        key = "".join(c if c.isprintable() else repr(c)[1:-1] for c in self.key or "")
        return f"{key}: {self.message}" if key else self.message


def key_problem(key: object, text: str | None = None) -> str | None:
    """What is wrong with ``key`` as a key of a spec's mapping, or ``None``: every key of a
    spec names something (a setting, a parameter, a device, a metric), so it is non-empty
    text. ``text`` is how the file wrote it (``1`` for the integer ``1``)."""
    if key is None or key == "":
        return "an empty key: every key needs a name"
    if not isinstance(key, str):
        written = text if text is not None else repr(key)
        return f"key {written} is {kind_of(key)}, not a name (quote it: '{written}')"
    return None


def as_spec_error(e: ConfigError) -> SpecError:
    """The ``SpecError`` for a library error: its key (relative to the study spec, or to the
    search space for a ``SpaceError``) rooted at ``spec.``; an error without a key is about the
    spec as a whole (``spec``, or ``spec.space``)."""
    if isinstance(e, SpecError):
        return e
    root = "spec.space" if isinstance(e, SpaceError) else "spec"
    key = f"{root}.{e.key}" if e.key else root
    return SpecError(key, " ".join(e.message.split()) or type(e).__name__)


def wrap(fn: Callable[[], Any]) -> Any:
    """Run ``fn``, turning a ``ConfigError`` raised by the library into a ``SpecError`` whose
    key is rooted at ``spec.``."""
    try:
        return fn()
    except SpecError:
        raise
    except ConfigError as e:
        raise as_spec_error(e) from None


__all__ = ["SpecError", "as_spec_error", "close_hint", "key_problem", "kind_of",
           "wrap"]
