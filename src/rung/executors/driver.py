"""The driver loop shared by every executor.

One turn: poll events, let the engine handle each, append the events and the commands they
caused to the journal in one transaction, and only then submit the commands. The journal is
therefore always ahead of the workers: a command a worker acts on is never lost by a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from rung.core.engine import Engine
from rung.core.events import Command, Event, Record, Tick
from rung.executors.base import Executor, RunContext
from rung.storage.base import Journal

log = logging.getLogger("rung.driver")


class StallError(RuntimeError):
    """The executor has nothing in flight but the engine still waits for trials."""


def drive(
    engine: Engine,
    executor: Executor,
    journal: Journal,
    ctx: RunContext,
    poll_timeout: float = 1.0,
    on_turn: Callable[[Engine], None] | None = None,
    first: list[Event] | None = None,
) -> None:
    """Run the study until the engine is done (budget spent or nothing left to launch).

    Args:
        first: extra events to handle before the executor's first ones (used on resume).
        on_turn: called after every turn (progress display); must not change anything.
    """
    pending: list[Event] = [*(first or []), *executor.start(ctx)]
    try:
        while True:
            records: list[Record] = []
            commands: list[Command] = []
            for ev in pending:
                cmds = engine.handle(ev)
                records.append(ev)
                records.extend(cmds)
                commands.extend(cmds)
            journal.append(ctx.study, records)
            if commands:
                executor.submit(commands)
            if on_turn is not None:
                on_turn(engine)
            if engine.done:
                break
            pending = executor.poll(poll_timeout)
            if not pending:
                if getattr(executor, "idle", False):
                    raise StallError(
                        f"{len(engine.active)} trial(s) active but the executor runs nothing"
                    )
                pending = [Tick(executor.now())]
    finally:
        executor.shutdown()
