"""The ``Executor`` protocol: turn commands into actions and actions into events."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from rung.core.events import Command, Event


@dataclass(frozen=True, slots=True)
class RunContext:
    """What an executor learns when a driver session starts.

    Attributes:
        study: the study name.
        checkpoint_dir: where checkpoints live (``None`` for in-memory studies: a temporary
            directory is used by executors that need one).
        max_step: the study's ``max_step``.
        objective: the objective the session runs (``Study.run``'s first argument; ``None``
            when there is none, as in a simulation). An executor built with an objective of
            its own runs that one; one built without takes this one.
        trial_timeout: seconds one run of a trial may take (from its dispatch to a worker);
            a run still going then is killed and ends ``failed`` with reason ``timeout``.
        max_time: seconds this session may run trials, counted from the first trial start
            (what is left of ``Budget.max_time``): the engine stops launching then, and
            trials still running ``MAX_TIME_GRACE`` seconds later are killed and end
            ``failed`` with reason ``timeout``. ``None``: no bound.
    """

    study: str
    checkpoint_dir: Path | None
    max_step: int
    objective: Callable[..., Any] | None = None
    trial_timeout: float | None = None
    max_time: float | None = None

    def checkpoint_root(self) -> tuple[Path, str | None]:
        """The (resolved, existing) directory checkpoints go to, and the temporary directory
        made for it when the study names none (the executor removes that one at shutdown)."""
        if self.checkpoint_dir is None:
            tmp = tempfile.mkdtemp(prefix=f"rung-{self.study}-")
            return Path(tmp).resolve(), tmp
        root = Path(self.checkpoint_dir)
        root.mkdir(parents=True, exist_ok=True)
        return root.resolve(), None


@runtime_checkable
class Executor(Protocol):
    """Runs trials for the driver.

    - ``start(ctx)``: begin a session; returns the first events, starting with a
      ``CapacityChanged(..., new_session=True)``.
    - ``submit(commands)``: act on commands (called only after they are journaled).
    - ``poll(timeout)``: wait up to ``timeout`` seconds for events (``None``: until one comes);
      an empty list means nothing happened.
    - ``now()``: the executor's clock (wall time, or virtual time for the simulator).
    - ``idle``: nothing runs, waits to run, or waits to be reported, so no event can come
      unless a command is submitted (an executor waiting for capacity to appear is not idle).
      The driver stops with an error when the engine still waits for trials and the executor
      is idle.
    - ``shutdown()``: stop every worker; idempotent.
    """

    @property
    def idle(self) -> bool: ...

    def start(self, ctx: RunContext) -> list[Event]: ...

    def submit(self, commands: Sequence[Command]) -> None: ...

    def poll(self, timeout: float | None) -> list[Event]: ...

    def now(self) -> float: ...

    def shutdown(self) -> None: ...
