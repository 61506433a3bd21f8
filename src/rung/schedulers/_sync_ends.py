"""How synchronous brackets (``rung.schedulers.successive_halving``) treat a member whose run
ends before its rung decides on it (the rest of the rule is that module's docstring).

- **Interrupted** (``max_interruptions`` times at most): it is resumed from its checkpoint up
  to its rung, before any promoted trial or new member (``_resume_ended``).
- **Interrupted after max_step** (its worker died in the code after training, in its bracket's
  last rung): it is resumed to end its run, as every scheduler resumes an interrupted trial
  (module docstring, "A run interrupted after max_step").
- **Ended for good** (failed, stopped, completed, or interrupted too often) before it reported
  at its rung: the rung counts it as ended without a result, so it completes without it
  (``_mark_dead``); one that reported there is ranked but never promoted (module docstring,
  "Members that ended").
- **Paused once its rung completed without it** (its pause was on its way): a loser, retired
  (``Scheduler.retired``).

``MemberEnds`` is a part of ``SynchronousBrackets``, split out to keep one idea per file: it reads
and changes the brackets' state (declared below, set by ``SynchronousBrackets.bind``) and calls
their ``_check`` (which completes a rung).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rung.core.components import Resume
from rung.core.history import History
from rung.core.records import Outcome, TrialStatus
from rung.schedulers._brackets import _Bracket


class MemberEnds:
    """Resuming interrupted members, and completing rungs without members that ended."""

    # ``SynchronousBrackets``' state (``bind``) and helpers, as these methods use them
    max_step: int
    max_interruptions: ClassVar[int]
    _brackets: dict[int, _Bracket]
    _where: dict[int, tuple[int, int]]
    _interrupted: dict[int, None]
    _finishers: dict[int, None]
    _retired: list[int]
    _check: Callable[[_Bracket, int, History], list[int]]

    def _resume_ended(self, history: History) -> Resume | None:
        """The interrupted trial ``next_trial`` resumes first, if any: one that reported
        ``max_step`` in its bracket's last rung (to end its run), else an interrupted member
        of an open bracket (towards its rung)."""
        # 0. a trial of the last rung whose run was interrupted after it reported max_step
        # (its worker died in the code after training): resumed to end its run
        for tid in self._finishers:
            if history.status(tid) is TrialStatus.INTERRUPTED:
                return Resume(tid, self.max_step)
        # 1. interrupted members of open brackets: resume them towards their rung
        for tid in list(self._interrupted):
            if history.status(tid) is not TrialStatus.INTERRUPTED:
                del self._interrupted[tid]
                continue
            where = self._where.get(tid)
            if where is None or where[0] not in self._brackets:
                del self._interrupted[tid]
                continue
            del self._interrupted[tid]
            br = self._brackets[where[0]]
            br.queue.pop(tid, None)  # promoted while it was being interrupted
            return Resume(tid, br.rungs[where[1]].step)
        return None

    def _ended(self, history: History, tid: int, outcome: Outcome) -> None:
        """A run of ``tid`` ended with ``outcome`` (``on_trial_end``)."""
        if tid not in self._where:
            if outcome is Outcome.PAUSED and "bracket" in history.tags(tid):
                # told to pause before its rung completed without it: a loser, now paused
                self._retired.append(tid)
            elif (outcome is Outcome.INTERRUPTED and "bracket" in history.tags(tid)
                  and history.last_step(tid) >= self.max_step
                  and history.interruptions(tid) <= self.max_interruptions):
                self._finishers[tid] = None  # its bracket is done with it: it only finishes
            else:
                self._finishers.pop(tid, None)
            return
        if outcome is Outcome.INTERRUPTED:
            if history.interruptions(tid) <= self.max_interruptions:
                self._interrupted[tid] = None
            else:
                self._mark_dead(tid, history)
        elif outcome in (Outcome.FAILED, Outcome.STOPPED, Outcome.COMPLETED):
            self._mark_dead(tid, history)

    def _mark_dead(self, tid: int, history: History) -> None:
        where = self._where.get(tid)
        if where is None:
            return
        br = self._brackets.get(where[0])
        if br is None:
            return
        rung = br.rungs[where[1]]
        if tid not in rung.scores:
            rung.dead.add(tid)
            br.queue.pop(tid, None)
            self._check(br, where[1], history)
