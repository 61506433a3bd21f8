"""Events (facts reported by executors) and commands (intents issued by the engine).

Every event carries the executor's ``time``; the engine reads no clock. All of them are frozen,
slotted and JSON-encodable (see ``rung.storage.codec``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from rung.core.frozen import record
from rung.core.records import Outcome


class Action(enum.StrEnum):
    CONTINUE = "continue"
    PAUSE = "pause"
    STOP = "stop"


@record
class Decision:
    """A scheduler's answer to a result.

    ``until_step`` is the lease: the worker streams results below it without waiting and blocks
    for a reply when it reports at it (``None``: run to ``max_step``). ``checkpoint`` asks the
    worker to save a checkpoint now. ``reason`` is for humans (CLI, dashboard, journal).
    """

    action: Action = Action.CONTINUE
    until_step: int | None = None
    checkpoint: bool = False
    reason: str = ""

    @classmethod
    def proceed(cls, until_step: int | None = None, reason: str = "") -> Decision:
        if reason or cls is not Decision:
            return cls(Action.CONTINUE, until_step, False, reason)
        # decisions are immutable: the plain ones are shared (one per lease end)
        d = _PROCEED.get(until_step)
        if d is None:
            d = _PROCEED[until_step] = cls(Action.CONTINUE, until_step, False, reason)
        return d

    @classmethod
    def stop(cls, reason: str) -> Decision:
        return cls(Action.STOP, None, False, reason)

    @classmethod
    def pause(cls, reason: str) -> Decision:
        return cls(Action.PAUSE, None, True, reason)


CONTINUE = Decision()
_PROCEED: dict[int | None, Decision] = {None: CONTINUE}

# --- events ---------------------------------------------------------------------------------


@record
class TrialStarted:
    trial_id: int
    time: float


@record
class ResultReported:
    trial_id: int
    step: int
    metrics: Mapping[str, Any]
    time: float


@record
class CheckpointSaved:
    """A worker saved the trial's state at ``step`` to ``path`` (``size`` bytes on disk)."""

    trial_id: int
    step: int
    path: str
    time: float
    size: int = 0


@record
class TrialEnded:
    """A run ended with ``outcome`` (``error``: why it failed or was interrupted).

    ``told``: ``True`` when the caller ended it itself (``Study.tell``): its ``error`` is then
    the caller's account of a failure and is recorded as given, even when the run's last
    result failed it (a metric missing or NaN: the failed run's final metrics). ``None``
    elsewhere (an executor's end: a ``failed`` run's traceback gives way to the invalid
    metric reported before it) and in journals written before it was recorded.
    """

    trial_id: int
    outcome: Outcome
    time: float
    error: str | None = None
    told: bool | None = None


@record
class CapacityChanged:
    """The number of trials the executor can run at once. ``new_session`` marks the first event
    of a driver session (a fresh run or a resume): time spent between sessions is not counted
    against ``Budget.max_time``. ``resources``: the devices each trial launched from now on
    holds, as the executor allocates them (``{"cpu": 1, "gpu:A100": 1}``). ``None``: the
    executor does not say, and what applied before still applies: the resources of the
    study's last ``CapacityChanged`` that gave them, in this session or an earlier one (also
    across a ``new_session``), else the study's ``resources_per_trial``, else one CPU. The
    engine's meter and the ledger (``rung.cost.ledger``) both read it so. ``executor``: what
    runs the session, on its ``new_session`` event (``{"name": "ray", "address": ...,
    "transport": "socket"}``: its name and where it runs, plain JSON, for ``rung show``);
    ``None`` elsewhere, from an executor that does not say, and in journals written before
    it was recorded. Nothing decides from it."""

    capacity: int
    time: float
    new_session: bool = False
    resources: Mapping[str, float] | None = None
    executor: Mapping[str, Any] | None = None


@record
class Tick:
    """Time passed with nothing else to report."""

    time: float


@record
class TrialRetried:
    """The user asked to retry a trial that failed because it was interrupted too often
    (``Study.run(retry_failed=True)``, ``rung resume --retry-failed``): it becomes interrupted
    again, with its count of interruptions reset, and the scheduler resumes it."""

    trial_id: int
    time: float


@record
class ParamsUsed:
    """The parameters a define-by-run trial actually used (``rung.optimize``), in the order it
    suggested them, and the distribution it declared for each (``name -> param JSON``). Sent by
    the worker before the trial's next report or its end whenever it suggested a new one; the
    engine grows the study's space from it (``rung.space.learned``)."""

    trial_id: int
    params: Mapping[str, Any]
    declared: Mapping[str, Any]
    time: float


@record
class TrialEnqueued:
    """A configuration (possibly partial) to launch before the searcher's next suggestion
    (``Study.enqueue``); enqueued configurations launch first, in order, once each."""

    params: Mapping[str, Any]
    time: float


@record
class BudgetChanged:
    """The study's budget from now on (``Study.set_budget``, ``rung resume --n-trials``), as
    ``Budget.to_json`` writes it: a study whose budget was spent goes on with the new one; its
    stop rule (``Budget.stop``) stays the one it was created with."""

    budget: Mapping[str, Any]
    time: float


Event = (
    TrialStarted | ResultReported | CheckpointSaved | TrialEnded | CapacityChanged | Tick
    | TrialRetried | ParamsUsed | TrialEnqueued | BudgetChanged
)
EVENT_TYPES: tuple[type, ...] = (
    TrialStarted,
    ResultReported,
    CheckpointSaved,
    TrialEnded,
    CapacityChanged,
    Tick,
    TrialRetried,
    ParamsUsed,
    TrialEnqueued,
    BudgetChanged,
)

# --- commands -------------------------------------------------------------------------------


@record
class Launch:
    """Start (or resume, or fork) a trial: run ``params`` from ``start_step`` up to ``max_step``,
    restoring ``checkpoint`` first if given, waiting for a reply at ``until_step``."""

    trial_id: int
    params: Mapping[str, Any]
    start_step: int
    until_step: int
    max_step: int
    checkpoint: str | None = None


@record
class Reply:
    """The decision on the trial's result at ``step`` (replies are keyed by ``(trial_id, step)``
    so a stale reply is never applied to another result). Right after the ``Launch`` that
    resumes a paused trial, a ``CONTINUE`` reply on its last result, with that launch's lease,
    records why its scheduler promoted it while it was paused (``rung.core._paused_notes``)."""

    trial_id: int
    step: int
    decision: Decision


@record
class Cancel:
    """End a trial now, whatever it is doing (kill its worker). The engine journals one for a
    paused trial its scheduler retires (nothing runs: there is nothing to kill), with the
    scheduler's reason (``rung.core._paused_notes``)."""

    trial_id: int
    reason: str


@record
class DeleteCheckpoint:
    """The checkpoint is no longer needed by anyone: the executor (or study) may delete it."""

    trial_id: int
    path: str


@record
class StopSearch:
    """The stop-searching rule (``Budget.stop``) ended the search: nothing more is launched.
    A note for the journal, the CLI and the dashboard, never sent to an executor; ``evidence``
    holds the numbers the rule decided on."""

    reason: str
    evidence: Mapping[str, float]


Command = Launch | Reply | Cancel | DeleteCheckpoint | StopSearch
COMMAND_TYPES: tuple[type, ...] = (Launch, Reply, Cancel, DeleteCheckpoint, StopSearch)

Record = Event | Command


def is_event(record: object) -> bool:
    return isinstance(record, EVENT_TYPES)
