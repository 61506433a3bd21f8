"""The driver: the application's outer loop, the one place events become journaled commands.

One turn: let the engine handle each event, append the events and the commands they caused to
the journal in one transaction, and only then hand the commands on. The journal is therefore
always ahead of the workers: a command a worker acts on is never lost by a crash.

``turn`` is that step alone (``Study``'s ask / report / tell call it directly); ``drive`` loops
it over an ``Executor`` until the engine is done (``Study.run`` and ``Study.simulate``).
The driver knows executors only through the ``Executor`` protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from rung.core.engine import Engine
from rung.core.events import Command, Event, Record, Tick
from rung.executors.base import Executor, RunContext
from rung.storage.base import Journal

log = logging.getLogger("rung.driver")


class StallError(RuntimeError):
    """The executor has nothing in flight but the engine still waits for trials."""


def handle(engine: Engine, events: Iterable[Event], records: list[Record]) -> list[Command]:
    """Let ``engine`` handle ``events`` in order; append each event and then the commands it
    caused to ``records``; return the commands. Journals nothing: the caller appends
    ``records`` (``turn`` does)."""
    commands: list[Command] = []
    for ev in events:
        cmds = engine.handle(ev)
        records.append(ev)
        if cmds:
            records.extend(cmds)
            commands.extend(cmds)
    return commands


def turn(engine: Engine, journal: Journal, study: str, events: Iterable[Event]) -> list[Command]:
    """One driver turn: handle ``events``, journal them with their commands in one
    transaction, return the commands (to be acted on only now that they are journaled)."""
    records: list[Record] = []
    commands = handle(engine, events, records)
    journal.append(study, records)
    return commands


def drive(
    engine: Engine,
    executor: Executor,
    journal: Journal,
    ctx: RunContext,
    poll_timeout: float = 1.0,
    on_turn: Callable[[Engine], None] | None = None,
    first: list[Event] | None = None,
) -> None:
    """Run the study until the engine is done (budget spent or nothing left to launch), then
    shut the executor down (also when anything raises).

    Args:
        first: extra events to handle before the executor's first ones (used on resume).
        on_turn: called after every turn (progress display); must not change anything.

    Raises:
        StallError: the executor is ``idle`` while the engine still waits for trials.
    """
    pending: list[Event] = [*(first or []), *executor.start(ctx)]
    try:
        while True:
            commands = turn(engine, journal, ctx.study, pending)
            if commands:
                executor.submit(commands)
            if on_turn is not None:
                on_turn(engine)
            if engine.done:
                break
            pending = executor.poll(poll_timeout)
            if not pending:
                if executor.idle:
                    raise StallError(
                        f"{len(engine.active)} trial(s) active but the executor runs nothing"
                    )
                pending = [Tick(executor.now())]
    finally:
        executor.shutdown()


__all__ = ["StallError", "drive", "handle", "turn"]
