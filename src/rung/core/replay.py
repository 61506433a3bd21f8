"""Journal replay: rebuild an engine from its records and check every regenerated command.

Part of the engine (``Engine.replay`` calls ``replay``). Launched trials take their params from
the journal (searchers are not re-run): they are handed to ``rung.core.proposals.propose``
through ``engine._replay_params``. The commands each event regenerates must equal the
journaled ones, else ``ReplayDivergenceError``; ``DeleteCheckpoint`` commands are housekeeping,
not decisions, so a journal written before a change of the checkpoint lifecycle still replays.
Two commands that differ only in their human-readable ``reason`` (a ``Reply``'s decision, a
``Cancel``, a ``StopSearch``) are the same decision: a journal written before a reason's wording
changed still replays, and the journal keeps the text it holds. Every other field must match.
During an event's replay ``engine._journaled`` holds its journaled commands (the stop rule's
verdict is taken from there).

A divergence's error says what to do first (run the study with the build of rung that wrote
it, or read it with this one), then what differs (``engine.version_note``, its quoted changes
cut short) and where. A reader's replay (``as_written``) does not fail there: it reads the
study as written from the divergent event on (``rung.core.as_written``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from rung.core.as_written import follow
from rung.core.events import (
    COMMAND_TYPES,
    EVENT_TYPES,
    Cancel,
    Command,
    DeleteCheckpoint,
    Event,
    Launch,
    Record,
    Reply,
    StopSearch,
    is_event,
)
from rung.core.records import StudySpec
from rung.core.versions import CHANGES_LIMIT, explain, writer
from rung.errors import ReplayDivergenceError

if TYPE_CHECKING:
    from rung.core.engine import Engine


def replay(engine: Engine, spec: StudySpec, records: Iterable[Record],
           as_written: bool = False) -> Engine:
    """Feed ``records`` to ``engine`` (see ``Engine.replay``); returns the engine replayed.

    When ``spec.written_by`` differs from the running code, ``engine.version_note`` says how;
    a divergence's error starts with what to do, then that note and where (``_error``).
    With ``as_written`` (a reader's replay), a divergence raises nothing: the study is read as
    written from the first divergent event on (``rung.core.as_written``), on a new engine that
    replayed the events before it exactly, which is returned (the ``engine`` given is left
    part-way); unless ``engine`` had handled events before this call: their records are not
    here, and the error is raised (replay the whole journal onto a new engine instead). An
    engine already reading as written follows all of ``records``.
    """
    if engine.read_as_written is not None:  # more records of a journal read as written
        follow(engine, _turns(engine, records), 0, "")
        engine._replay_params.clear()
        return engine
    engine.version_note = note = _note(engine, spec)
    fresh = engine.handled == 0
    turns = _turns(engine, records)
    try:
        _replay(engine, turns)
    except _Diverged as d:
        error = _error(engine, spec, note, d.text)
        if not (as_written and fresh):
            raise ReplayDivergenceError(error) from None
        params = engine._replay_params
        engine = type(engine).from_spec(spec)
        engine.version_note, engine._replay_params = note, params
        _follow_from(engine, turns, d.index, error)
    engine._replay_params.clear()
    return engine


def follow_from(engine: Engine, spec: StudySpec, records: Iterable[Record], index: int,
                error: str = "this study is read as written") -> Engine:
    """Replay ``records`` onto ``engine`` (a new one) exactly up to event ``index``, then read
    them as written from there on (``rung.core.as_written.follow``; the engine raises
    ``ReplayDivergenceError(error)`` when asked to decide anything new); returns ``engine``.
    What a read-only replay does from the event where it diverges; on a journal that replays
    exactly, the state it gives is the replay's (up to the tags ``as_written`` names)."""
    engine.version_note = _note(engine, spec)
    _follow_from(engine, _turns(engine, records), index, error)
    engine._replay_params.clear()
    return engine


def _follow_from(engine: Engine, turns: Sequence[tuple[Event, list[Command]]], index: int,
                 error: str) -> None:
    try:
        _replay(engine, turns[:index])  # exact up to the divergence, as it was
    except _Diverged as d:  # (only when asked to follow from a later event than this one)
        raise ReplayDivergenceError(d.text) from None
    follow(engine, turns[index:], index, error)


def _note(engine: Engine, spec: StudySpec, limit: int | None = None) -> str | None:
    """How the code that wrote the journal differs from ``engine``'s (``version_note``; with
    ``limit``, the components' quoted changes cut short, as ``explain`` does)."""
    written = spec.written_by
    rule = engine.stop_rule
    return None if written is None else explain(
        written, type(engine.searcher), type(engine.scheduler),
        None if rule is None else type(rule), limit,
    )


#: every command and call that reads a study whose replay diverged (as written)
READERS = ("`rung show`, `rung ls`, `rung export`, `rung plot`, `rung ledger`, the dashboard "
           "and Study.load(..., readonly=True)")


def _error(engine: Engine, spec: StudySpec, note: str | None, divergence: str) -> str:
    """A divergence's error. After a change of versions it leads with what to do (which code
    can resume the study, which commands read it), then what differs (``explain``, its quoted
    changes cut short) and where the replay diverged; a divergence of the very code that wrote
    the journal is a bug, reported as before: where, then what to do."""
    w = spec.written_by
    if note is None or w is None:
        return (f"{divergence}. The journal was written by this very code, so either the "
                f"study's spec was changed after it was written (a hand edit of the journal) "
                f"or this is a bug in rung: please report it. This rung can still read the "
                f"study as written: {READERS} work")
    who = writer(w, type(engine.searcher), type(engine.scheduler))
    return (f"This rung cannot continue study {spec.name!r}: resume it with {who}. This rung "
            f"can still read it as written: {READERS} work. What differs: "
            f"{_note(engine, spec, CHANGES_LIMIT)}. {divergence}")


class _Diverged(Exception):
    """Replay of event ``index`` regenerated other commands than the journaled ones."""

    def __init__(self, index: int, text: str) -> None:
        super().__init__(text)
        self.index = index
        self.text = text


_EVENTS = frozenset(EVENT_TYPES)
_COMMANDS = frozenset(COMMAND_TYPES)


def _turns(engine: Engine, records: Iterable[Record]) -> list[tuple[Event, list[Command]]]:
    """``records`` as turns, each event with the commands journaled after it; every trial's
    journaled params noted in ``engine._replay_params``."""
    turns: list[tuple[Event, list[Command]]] = []
    params = engine._replay_params
    commands: list[Command] | None = None  # the last turn's
    for rec in records:
        kind = type(rec)
        # (the kinds by exact type first: a journal's records are exactly these)
        if kind in _EVENTS or (kind not in _COMMANDS and is_event(rec)):
            commands = []
            turns.append((rec, commands))  # type: ignore[arg-type]
        elif commands is None:
            raise ReplayDivergenceError(f"journal starts with a command: {rec!r}")
        else:
            commands.append(rec)  # type: ignore[arg-type]
            if kind is Launch or (kind not in _COMMANDS and isinstance(rec, Launch)):
                # a trial's first Launch holds its proposed params; a later one (resume,
                # relaunch after a crash) holds the params it used, e.g. define-by-run's
                params.setdefault(rec.trial_id, rec.params)  # type: ignore[union-attr]
    return turns


def _replay(engine: Engine, turns: Sequence[tuple[Event, list[Command]]]) -> None:
    last = len(turns) - 1
    scheduler = engine.scheduler
    for i, (event, journaled) in enumerate(turns):
        engine._journaled = journaled
        # (the last event's commands past the journal's are sent: decided in full)
        replaying = i < last
        if replaying:
            scheduler.replaying = True
        try:
            regenerated = engine.handle(event)
        finally:
            engine._journaled = None
            if replaying:
                del scheduler.replaying  # (the class's False again)
        n = len(journaled)
        if n == len(regenerated) and regenerated == journaled:
            continue  # the common case: the very commands the journal holds, and no more
        if not _same(regenerated[:n], journaled) or (n > len(regenerated)):
            # checkpoint deletions are housekeeping, not decisions: a journal written
            # before a change of the checkpoint lifecycle still replays
            if not _same(_decisions(regenerated), _decisions(journaled)):
                raise _Diverged(i, _divergence(i, event, journaled, regenerated))
            continue
        if n < len(regenerated):
            if i != len(turns) - 1:
                raise _Diverged(i, _divergence(i, event, journaled, regenerated))
            engine.tail = regenerated[n:]


def _decisions(commands: Sequence[Command]) -> list[Command]:
    return [c for c in commands if type(c) is not DeleteCheckpoint]


def _same(a: Sequence[Command], b: Sequence[Command]) -> bool:
    """The same commands, in the same order, up to their ``reason`` texts."""
    if a == b:  # the common case: the journal was written by this code
        return True
    return len(a) == len(b) and all(map(_same_decision, a, b))


def _same_decision(a: Command, b: Command) -> bool:
    if a == b:
        return True
    if isinstance(a, Reply) and isinstance(b, Reply):
        return (a.trial_id, a.step) == (b.trial_id, b.step) and dataclasses.replace(
            a.decision, reason=""
        ) == dataclasses.replace(b.decision, reason="")
    if isinstance(a, Cancel) and isinstance(b, Cancel):
        return dataclasses.replace(a, reason="") == dataclasses.replace(b, reason="")
    if isinstance(a, StopSearch) and isinstance(b, StopSearch):
        return dataclasses.replace(a, reason="") == dataclasses.replace(b, reason="")
    return False


def _divergence(
    i: int, event: Event, journaled: Sequence[Command], regen: Sequence[Command]
) -> str:
    return (
        f"replay diverged at event #{i} {event!r}: journal has {list(journaled)!r}, "
        f"replay produced {list(regen)!r}"
    )


__all__ = ["replay"]
