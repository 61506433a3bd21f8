"""One rung of the asynchronous successive-halving ladder (``rung.schedulers._ladder``).

``rung_steps`` places the rungs at ``min_step * eta**k`` below ``max_step``; a ``RungTable``
holds every result recorded at one rung's step, best first, and the trials waiting there for a
promotion, and answers the rung's questions in ``O(log n)``: rank, quota, whether a tied score
still has a place, and Algorithm 2's promotion candidate (Li et al., "A System for Massively
Parallel Hyperparameter Tuning", MLSys 2020). The rules (ties, quotas) are described in
``rung.schedulers._ladder``'s docstring.
"""

from __future__ import annotations

from typing import Any

from rung.core.history import History
from rung.core.records import TrialStatus
from rung.core.sorted_table import SortedTable


def rung_steps(min_step: int, eta: int, max_step: int) -> list[int]:
    """``min_step * eta**k`` for every ``k`` that stays below ``max_step`` (rungs strictly
    below the top, where decisions are made)."""
    steps: list[int] = []
    r = min_step
    while r < max_step:
        steps.append(r)
        r *= eta
    return steps


class RungTable:
    """One rung: every result recorded at its step (best first) and, for promotions, the
    trials that reported here and were not promoted yet. Both are ``SortedTable``s: O(log n)
    ranks, inserts that move at most a block."""

    __slots__ = ("at", "ceil", "entered", "passed", "passed_at", "step", "table", "waiting")

    def __init__(self, step: int, ceil: bool = False) -> None:
        self.step = step
        self.ceil = ceil  # quota="ceil": ceil(n / eta) instead of floor(n / eta)
        self.table = SortedTable()  # (score, trial id)
        self.entered: dict[int, float] = {}
        self.at: dict[int, int] = {}  # the step of each recorded result (``step`` or past it)
        self.passed: set[int] = set()  # continued (stopping) or promoted (promotion)
        self.passed_at: dict[float, int] = {}  # how many of ``passed`` have each score
        self.waiting = SortedTable()  # promotion variant: (score, trial id) not promoted yet

    def add(self, trial_id: int, score: float, step: int | None = None) -> tuple[int, int]:
        """Record (or, after a restart, replace) a result, reported at ``step`` (default: this
        rung's step; later for a trial that skipped it); returns ``(rank, n)``."""
        old = self.entered.get(trial_id)
        if old is not None:
            self.table.remove((old, trial_id))
            self.waiting.discard((old, trial_id))
            if trial_id in self.passed:
                self._count(old, -1)
                self._count(score, 1)
        self.entered[trial_id] = score
        self.at[trial_id] = self.step if step is None else step
        return self.table.add_rank((score, trial_id)), len(self.table)

    def _count(self, score: float, delta: int) -> None:
        left = self.passed_at.get(score, 0) + delta
        if left:
            self.passed_at[score] = left
        else:
            del self.passed_at[score]

    def mark(self, trial_id: int) -> None:
        """``trial_id`` (already recorded) passed this rung."""
        if trial_id not in self.passed:
            self.passed.add(trial_id)
            self._count(self.entered[trial_id], 1)

    def unmark(self, trial_id: int) -> None:
        """Undo ``mark``: ``trial_id`` is to be judged here again."""
        if trial_id in self.passed:
            self.passed.discard(trial_id)
            self._count(self.entered[trial_id], -1)

    def admits(self, score: float, eta: int) -> bool:
        """The stopping variant's rule for a result of ``score`` just recorded here: the
        results strictly better than it (``b``) leave ``keeps(eta) - b`` places, which results
        of exactly this score fill until as many of them have passed (ties fill the quota; see
        "Ties" in ``rung.schedulers._ladder``). ``O(log n)``."""
        better = self.table.bisect_left((score,))  # (score,) sorts before every (score, id)
        return self.passed_at.get(score, 0) < self.keeps(eta) - better

    def wait(self, trial_id: int) -> None:
        self.waiting.add((self.entered[trial_id], trial_id))

    def unwait(self, trial_id: int) -> None:
        self.waiting.discard((self.entered[trial_id], trial_id))

    def quota(self, eta: int) -> int:
        """How many of its results the promotion variant may promote: ``floor(n / eta)``, or
        ``ceil(n / eta)`` with ``quota="ceil"``."""
        n = len(self.table)
        return -(-n // eta) if self.ceil else n // eta

    def keeps(self, eta: int) -> int:
        """How many of its results the stopping variant lets past: ``max(1, floor(n / eta))``
        (``ceil(n / eta)`` with ``quota="ceil"``)."""
        return self.quota(eta) or 1

    def cutoff(self, eta: int) -> float:
        """Score of the last result the stopping variant lets past."""
        score: float = self.table[self.keeps(eta) - 1][0]
        return score

    def candidate(
        self, eta: int, history: History, running: int | None = None, final: bool = False
    ) -> int | None:
        """Algorithm 2's choice at this rung: the best not-yet-promoted trial inside the top
        ``floor(n / eta)`` (``keeps``, at least one, once the rung's population is ``final``)
        that can be resumed now (``running``: a trial reporting at this very moment counts as
        available). Trials that ended for good are dropped from the waiting list; trials still
        on their way to being paused are skipped for now."""
        quota = self.keeps(eta) if final else self.quota(eta)
        i = 0
        waiting = self.waiting
        while i < len(waiting):
            score, tid = waiting[i]
            if self.table.bisect_left((score, tid)) >= quota:
                return None
            if tid == running:
                return int(tid)
            status = history.status(tid)
            if status is TrialStatus.PAUSED:
                return int(tid)
            if status.final:
                waiting.remove((score, tid))  # failed or stopped since: never promotable
                continue
            i += 1
        return None

    def state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "results": len(self.table),
            "continued": len(self.passed),
            "waiting": len(self.waiting),
        }


__all__ = ["RungTable", "rung_steps"]
