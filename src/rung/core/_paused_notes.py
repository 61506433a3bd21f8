"""Decisions on paused trials: retiring them, and journaling why a paused trial was retired or
resumed (part of the engine: ``rung.core.engine`` calls these with itself; they change nothing
else).

A scheduler that pauses trials decides on some while they are not reporting (a synchronous
rung completed by another member): it retires them (``Scheduler.retired``) or resumes them.
Its optional hook ``paused_decision(trial_id) -> Decision | None`` says why, and the engine
journals that reason:

- ``end_retired``: paused trials the scheduler will never resume end stopped, each with a
  ``Cancel`` carrying the scheduler's reason when it gives one;
- ``note_resumes``: after a resume ``Launch``, a ``CONTINUE`` ``Reply`` on the trial's last
  result saying why it was promoted;
- ``journal_note``: how either note is journaled (during replay, taken from the journal).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rung.core.events import Action, Cancel, Command, Decision, Launch, Reply
from rung.core.proposals import settle
from rung.core.records import Outcome, TrialStatus

if TYPE_CHECKING:
    from rung.core.engine import Engine


def end_retired(engine: Engine, trial_ids: Sequence[int], out: list[Command]) -> None:
    """End paused trials the scheduler will never resume: status stopped, checkpoint
    released. No event records this: replay regenerates it from the same scheduler calls,
    and the commands it causes are journaled: ``DeleteCheckpoint``, and a ``Cancel``
    carrying the scheduler's reason when it gives one (``paused_decision``)."""
    h = engine.history
    for tid in trial_ids:
        if tid in h and h.status(tid) is TrialStatus.PAUSED:
            h._end(tid, TrialStatus.STOPPED, None)
            settle(engine, tid)
            d = paused_decision(engine, tid)
            if d is not None and d.action is Action.STOP and d.reason:
                journal_note(engine, Cancel(tid, d.reason), out)
            engine._retire_checkpoint(tid, Outcome.STOPPED, out)


def paused_decision(engine: Engine, trial_id: int) -> Decision | None:
    """The scheduler's decision on a paused trial as it is retired (a ``STOP``) or resumed
    (a ``CONTINUE``): its optional hook ``paused_decision(trial_id) -> Decision | None``,
    asked once per retired trial and per resume launch (it may forget the answer then).
    Without the hook, or with ``None``, the journal shows its default text."""
    ask = engine._ask_paused
    return ask(trial_id) if ask is not None else None


def journal_note(engine: Engine, note: Cancel | Reply, out: list[Command]) -> None:
    """Journal the reason of a decision on a trial that is not reporting: a ``Cancel`` of
    a paused trial retired (nothing runs: executors do nothing), or a ``Reply`` on a
    resumed trial's last result saying why it was promoted (the launch's lease: executors
    change nothing). Replay takes the journal's own note, if any: a journal written before
    notes holds none and replays as written (``rung.journal_fold`` shows the old text)."""
    if engine._journaled is not None:
        key = (type(note), note.trial_id, getattr(note, "step", None))
        same = next((c for c in engine._journaled if key == (
            type(c), getattr(c, "trial_id", None), getattr(c, "step", None))), None)
        if not isinstance(same, Cancel | Reply):
            return
        note = same
    out.append(note)


def note_resumes(engine: Engine, out: list[Command], start: int) -> None:
    """After each resume ``Launch`` in ``out[start:]`` (the commands of one ``fill``), the
    scheduler's reason for resuming the trial (a rung's promotion), if it gives one."""
    h = engine.history
    cmds: list[Command] = []
    for c in out[start:]:
        cmds.append(c)
        if type(c) is Launch and h.launches(c.trial_id) > 1:
            d = paused_decision(engine, c.trial_id)
            step = h.last_step(c.trial_id)
            if d is not None and d.action is Action.CONTINUE and d.reason and step:
                decision = Decision(Action.CONTINUE, c.until_step, False, d.reason)
                journal_note(engine, Reply(c.trial_id, step, decision), cmds)
    out[start:] = cmds
