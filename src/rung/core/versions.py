"""Which code wrote a journal: the rung release and each component's algorithm version.

A study's spec is stored with ``Versions`` (its ``written_by``). Replay compares them with the
running code: when they agree, replay is exact by construction; when they differ, replay is still
attempted (a change may not touch this study), and if it diverges, the ``ReplayDivergenceError``
begins with ``explain``'s account of what changed, taken from the components' ``changes``.

How a component declares a change of behaviour (see ``Component``): bump its ``version`` class
attribute and add ``changes[new_version] = "what changed, in one line"``.

Journals written before versions were recorded carry none: they read back as ``LEGACY``
(version 1 of every component, rung release unknown).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rung.core.frozen import record
from rung.errors import JournalError

if TYPE_CHECKING:  # components import records, which import this module
    from rung.core.components import Component

RUNG_VERSION = "0.1.0"
"""The rung release (``rung.__version__``; ``pyproject.toml`` reads it from here)."""

RECORDED_SINCE = "commit 521ca32, 2026-12-02"
"""Since when journals record ``written_by`` (a journal written before reads as ``LEGACY``)."""

#: how many characters of a component's quoted ``changes`` a short note keeps (``explain``'s
#: ``limit``: an error message leads with what to do, not with a changelog)
CHANGES_LIMIT = 300


@record
class Versions:
    """The code a journal was written with.

    Attributes:
        rung: the rung release; ``""`` for a journal that predates versioning.
        searcher, scheduler: the algorithm versions of the study's two components.
        stop_rule: the algorithm version of its stop-searching rule (``Budget(stop=...)``);
            ``None`` when the study has none, or its journal predates this record. Replay takes
            the rule's verdicts from the journal, so a change of the rule never makes replay
            diverge; it changes what a resumed study decides from then on, and ``explain``
            says so.
    """

    rung: str
    searcher: int
    scheduler: int
    stop_rule: int | None = None

    @property
    def legacy(self) -> bool:
        """True for a journal written before rung recorded versions."""
        return self.rung == ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rung": self.rung, "searcher": self.searcher,
                               "scheduler": self.scheduler}
        if self.stop_rule is not None:
            out["stop_rule"] = self.stop_rule
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any] | None) -> Versions:
        """``None`` (no record in the spec) reads as ``LEGACY``."""
        if d is None:
            return LEGACY
        try:
            rule = d.get("stop_rule")
            return cls(str(d["rung"]), int(d["searcher"]), int(d["scheduler"]),
                       None if rule is None else int(rule))
        except (KeyError, TypeError, ValueError):
            raise JournalError(f"written_by: malformed version record {d!r}") from None


LEGACY = Versions("", 1, 1)


def current(
    searcher: type[Component], scheduler: type[Component],
    stop_rule: type[Component] | None = None,
) -> Versions:
    """The versions of the running code for a study with these component classes (and its
    stop-searching rule's, if it has one)."""
    return Versions(RUNG_VERSION, searcher.version, scheduler.version,
                    None if stop_rule is None else stop_rule.version)


def explain(
    written: Versions, searcher: type[Component], scheduler: type[Component],
    stop_rule: type[Component] | None = None, limit: int | None = None,
) -> str | None:
    """Why replaying a journal written by ``written`` with these classes may not reproduce it
    (and, for ``stop_rule``, why a resumed study may stop its search otherwise than it would
    have): the releases and every algorithm version that differs, with the components'
    ``changes``. ``None`` when the journal was written by exactly this code. A journal that
    predates the stop rule's record (``written.stop_rule is None`` for a study that has one)
    is not a difference by itself. With ``limit``, each component's quoted changes are cut
    to about that many characters, ending ``... (rung show lists them)``."""
    now = current(searcher, scheduler, stop_rule)
    if stop_rule is not None and written.stop_rule is None:
        now = Versions(now.rung, now.searcher, now.scheduler, None)
    if written == now:
        return None
    if written.legacy:
        origin = "journal predates version records (its components read as algorithm version 1)"
    else:
        origin = f"journal was written by rung {written.rung}"
    parts = [
        _component(kind, cls, old, limit)
        for kind, cls, old in (
            ("searcher", searcher, written.searcher),
            ("scheduler", scheduler, written.scheduler),
        )
        if old != cls.version
    ]
    if stop_rule is not None and written.stop_rule not in (None, stop_rule.version):
        assert written.stop_rule is not None
        parts.append(_component("stop rule", stop_rule, written.stop_rule, limit))
    if not parts:
        parts = [
            f"algorithm versions unchanged (searcher {searcher.__name__} v{searcher.version}, "
            f"scheduler {scheduler.__name__} v{scheduler.version})"
        ]
    return f"{origin}; this is rung {RUNG_VERSION}: " + "; ".join(parts)


def _component(kind: str, cls: type[Component], old: int, limit: int | None = None) -> str:
    new = cls.version
    name = cls.__name__
    if old > new:
        return (
            f"{kind} {name} has algorithm version {old} in the journal, newer than this rung's "
            f"version {new} (upgrade rung to replay it)"
        )
    what = "; ".join(f"v{v}: {cls.changes.get(v, 'no description')}"
                     for v in range(old + 1, new + 1))
    if limit is not None and len(what) > limit:
        what = what[:limit].rsplit(" ", 1)[0].rstrip(" ;,:(") + " ... (rung show lists them)"
    return f"{kind} {name} algorithm version {old} -> {new} ({what})"


def writer(
    written: Versions, searcher: type[Component], scheduler: type[Component],
) -> str:
    """The code that can resume a study whose journal ``written`` wrote and that this rung reads
    as written (its replay diverged), named so that a user can find it: ``rung 0.2.0 with
    scheduler ASHA version 9 (this one has 8)``; ``a build of rung 0.1.0 with ...`` when the
    release is this one's (a release number names no single build then); for a journal that
    predates version records, a build from before them, with the versions its components
    read as. Each component whose version differs is named with this rung's version of it
    (the stop rule never makes a replay diverge: it is not named)."""
    parts = [f"{kind} {cls.__name__} version {old} (this one has {cls.version}"
             + (": upgrade rung)" if old > cls.version else ")")
             for kind, cls, old in (("searcher", searcher, written.searcher),
                                    ("scheduler", scheduler, written.scheduler))
             if old != cls.version]
    if written.legacy:
        read = f": this rung reads its components as {' and '.join(parts)}" if parts else ""
        return (f"a build of rung from before journals recorded versions (before "
                f"{RECORDED_SINCE}; the one that wrote it, if you know it){read}")
    who = f"rung {written.rung}" if written.rung != RUNG_VERSION else \
        f"a build of rung {written.rung}"
    return who + (f" with {' and '.join(parts)}" if parts else "")
