"""The wire protocol between the driver and its workers: message tags and the conversion
between messages and the engine's commands and events.

Messages are plain tuples with a small integer tag first: they pickle several times faster than
dataclasses and keep the per-report cost of the hot path to one ``send``.

Driver -> worker:

- ``(LAUNCH, token, trial_id, params, start_step, until_step, max_step, checkpoint)``: run a
  trial. ``token`` is unique per run, so a reply addressed to an earlier run of the same trial
  (a stale reply that crossed the trial's end on the wire) is recognised and dropped.
  ``checkpoint`` is relative to the checkpoint directory (or ``None``).
- ``(REPLY, token, trial_id, step, action, until_step, checkpoint, reason)``: the decision on
  the result at ``step``; ``action`` is ``A_CONTINUE`` / ``A_PAUSE`` / ``A_STOP``.
- ``None``: exit the worker loop.

Worker -> driver:

- ``(RESULT, trial_id, step, metrics, time)``
- ``(SAVED, trial_id, step, path, time, size)``: ``path`` relative to the checkpoint directory.
- ``(ENDED, trial_id, outcome, time, error)``: ``outcome`` is an ``Outcome`` value string.
- ``(PARAMS, trial_id, params, declared, time)``: the params a define-by-run trial used so far
  and their distributions (``rung.optimize``), sent before its next report or its end.
- ``(READY, pid)`` and ``(INIT_ERROR, text)``: sent by worker processes at start-up.

``encode_launch``, ``encode_reply`` and ``decode`` convert between these tuples and the
engine's commands and events, so every executor maps them the same way.
"""

from __future__ import annotations

from typing import Any

from rung.core.events import (
    Action,
    CheckpointSaved,
    Decision,
    Event,
    Launch,
    ParamsUsed,
    Reply,
    ResultReported,
    TrialEnded,
)
from rung.core.records import Outcome

LAUNCH = 0
REPLY = 1
RESULT = 2
SAVED = 3
ENDED = 4
READY = 5
INIT_ERROR = 6
PARAMS = 7

A_CONTINUE = 0
A_PAUSE = 1
A_STOP = 2
_ACTION_CODE = {Action.CONTINUE: A_CONTINUE, Action.PAUSE: A_PAUSE, Action.STOP: A_STOP}
_CODE_ACTION = {code: action for action, code in _ACTION_CODE.items()}

Message = tuple[Any, ...]


def encode_launch(launch: Launch, token: int) -> Message:
    """The ``LAUNCH`` message for ``launch`` in the run identified by ``token``."""
    return (LAUNCH, token, launch.trial_id, launch.params, launch.start_step, launch.until_step,
            launch.max_step, launch.checkpoint)


def encode_reply(reply: Reply, token: int) -> Message:
    """The ``REPLY`` message for ``reply`` (the reason travels only with STOP / PAUSE: a worker
    has no use for it otherwise)."""
    d = reply.decision
    code = _ACTION_CODE[d.action]
    return (REPLY, token, reply.trial_id, reply.step, code, d.until_step, d.checkpoint,
            d.reason if code != A_CONTINUE else "")


#: Tags of the worker messages that become engine events (see ``decode``).
EVENT_TAGS = frozenset({RESULT, SAVED, ENDED, PARAMS})


def message_time(msg: Message) -> float:
    """The worker's timestamp of an event message."""
    t: float = msg[3] if msg[0] == ENDED else msg[4]
    return t


def decode(msg: Message, time_: float | None = None) -> Event:
    """The engine event for a worker message (``RESULT``, ``SAVED``, ``ENDED`` or ``PARAMS``);
    ``time_`` overrides the worker's timestamp (executors clamp times so the journal never
    runs backwards)."""
    tag = msg[0]
    if tag == RESULT:
        return ResultReported(msg[1], msg[2], msg[3], msg[4] if time_ is None else time_)
    if tag == SAVED:
        return CheckpointSaved(msg[1], msg[2], msg[3], msg[4] if time_ is None else time_, msg[5])
    if tag == ENDED:
        return TrialEnded(msg[1], Outcome(msg[2]), msg[3] if time_ is None else time_, msg[4])
    if tag == PARAMS:
        return ParamsUsed(msg[1], msg[2], msg[3], msg[4] if time_ is None else time_)
    raise ValueError(f"not an event message: {msg!r}")


# --- the lease ------------------------------------------------------------------------------
def waits_for_reply(step: int, until: int, max_step: int) -> bool:
    """A worker that just reported ``step`` under lease ``until`` blocks for the reply: it is at
    (or past) its lease and not at the last step (where the trial finishes anyway)."""
    return until <= step < max_step


def extended_lease(until: int, step: int, reply_until: int | None, max_step: int) -> int:
    """The lease after a CONTINUE reply to the result at ``step``. A reply at or past the
    current lease moves it to the reply's ``until_step`` (``None``: ``max_step``), always
    beyond ``step``; a reply below the lease (a checkpoint request, or one for an earlier step)
    leaves it where it is. Every executor's workers apply this rule."""
    if step < until:
        return until
    return max(reply_until if reply_until is not None else max_step, step + 1)


def decision_of(msg: Message) -> Decision:
    """The ``Decision`` a ``REPLY`` message carries."""
    _, _, _, _, code, until, ckpt, reason = msg
    return Decision(_CODE_ACTION[code], until, bool(ckpt), reason)


__all__ = [
    "A_CONTINUE",
    "A_PAUSE",
    "A_STOP",
    "ENDED",
    "EVENT_TAGS",
    "INIT_ERROR",
    "LAUNCH",
    "PARAMS",
    "READY",
    "REPLY",
    "RESULT",
    "SAVED",
    "Message",
    "decision_of",
    "decode",
    "encode_launch",
    "encode_reply",
    "extended_lease",
    "message_time",
    "waits_for_reply",
]
