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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from rung.core.events import (
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
from rung.core.versions import explain
from rung.errors import ReplayDivergenceError

if TYPE_CHECKING:
    from rung.core.engine import Engine


def replay(engine: Engine, spec: StudySpec, records: Iterable[Record]) -> Engine:
    """Feed ``records`` to ``engine`` (see ``Engine.replay``); returns ``engine``.

    When ``spec.written_by`` differs from the running code, ``engine.version_note`` says how
    and a divergence's error starts with that note.
    """
    written = spec.written_by
    rule = engine.stop_rule
    engine.version_note = None if written is None else explain(
        written, type(engine.searcher), type(engine.scheduler),
        None if rule is None else type(rule),
    )
    try:
        _replay(engine, records)
    except ReplayDivergenceError as e:
        if engine.version_note is None:
            raise
        raise ReplayDivergenceError(f"{engine.version_note}. {e}") from None
    return engine


def _replay(engine: Engine, records: Iterable[Record]) -> None:
    turns: list[tuple[Event, list[Command]]] = []
    for rec in records:
        if is_event(rec):
            turns.append((rec, []))  # type: ignore[arg-type]
        elif not turns:
            raise ReplayDivergenceError(f"journal starts with a command: {rec!r}")
        else:
            turns[-1][1].append(rec)  # type: ignore[arg-type]
            if isinstance(rec, Launch):
                # a trial's first Launch holds its proposed params; a later one (resume,
                # relaunch after a crash) holds the params it used, e.g. define-by-run's
                engine._replay_params.setdefault(rec.trial_id, rec.params)
    for i, (event, journaled) in enumerate(turns):
        engine._journaled = journaled
        try:
            regenerated = engine.handle(event)
        finally:
            engine._journaled = None
        n = len(journaled)
        if not _same(regenerated[:n], journaled) or (n > len(regenerated)):
            # checkpoint deletions are housekeeping, not decisions: a journal written
            # before a change of the checkpoint lifecycle still replays
            if not _same(_decisions(regenerated), _decisions(journaled)):
                raise ReplayDivergenceError(_divergence(i, event, journaled, regenerated))
            continue
        if n < len(regenerated):
            if i != len(turns) - 1:
                raise ReplayDivergenceError(_divergence(i, event, journaled, regenerated))
            engine.tail = regenerated[n:]
    engine._replay_params.clear()


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
