"""One rung of the asynchronous successive-halving ladder (``rung.schedulers._ladder``).

``rung_steps`` places the rungs at ``min_step * eta**k`` below ``max_step``; a ``RungTable``
holds every result recorded at one rung's step, best first, and the trials waiting there for a
promotion, and answers the rung's questions in ``O(log n)``: rank, quota, whether a tied key
still has a place, and Algorithm 2's promotion candidate (Li et al., "A System for Massively
Parallel Hyperparameter Tuning", MLSys 2020). The rules (ties, quotas) are described in
``rung.schedulers._ladder``'s docstring.

**The rank key** (``rank_key``), one for every rung of every scheduler that ranks results by
one objective (ASHA, async Hyperband; synchronous successive halving and Hyperband can record
the same key). Without constraints it is the result's score itself, so an unconstrained
study's tables, ranks, ties and reasons are exactly those of its scores. With constraints it
is the pair ``(violation, score)``, compared lexicographically: feasible results (violation 0)
rank before infeasible ones, by score; infeasible ones by total violation, then by score (the
constrained-domination order of Deb, Pratap, Agarwal and Meyarivan, "A fast and elitist
multiobjective genetic algorithm: NSGA-II", IEEE TEVC 2002, section IV, for one objective).
The violation is ``History.violation(trial, step, ranking=True)``: a constraint's metric not
reported by the rung's step is unknown and counts as holding (``rung.core.constraints``). A
result whose score is not finite keys ``(inf, inf)``: last, as without constraints. Ties are
results with equal keys. Ranks break ties by trial id, as before.
"""

from __future__ import annotations

import math
from typing import Any, TypeAlias

from rung.core.history import History
from rung.core.records import TrialStatus
from rung.core.sorted_table import SortedTable
from rung.schedulers._reasons import infeasible

#: What a rung ranks a result by, lower first (module docstring, "The rank key").
Key: TypeAlias = float | tuple[float, float]


def rank_key(history: History, trial_id: int, step: int, score: float) -> Key:
    """The key a rung ranks ``trial_id``'s result at ``step`` (of ``score``) by: ``score``
    without constraints, else ``(violation, score)`` with the ranking violation, and
    ``(inf, inf)`` for a score that is not finite (module docstring)."""
    # (a ladder driven by hand, with a stand-in that knows only statuses, ranks by score)
    if not getattr(history, "constraints", ()):
        return score
    if not math.isfinite(score):
        return (math.inf, math.inf)
    return (history.violation(trial_id, step, ranking=True), float(score))


def key_score(key: Key) -> float:
    """The score in a rank key."""
    return key[1] if isinstance(key, tuple) else key


def key_violation(key: Key) -> float:
    """The ranking violation in a rank key (0 without constraints)."""
    return key[0] if isinstance(key, tuple) else 0.0


def infeasible_note(history: History, trial_id: int, step: int, key: Key) -> str:
    """What a stop (or pause) of a result keyed ``key`` says before its rank rule when the key
    is infeasible: ``"infeasible (latency=140 violates latency <= 100), ranked after every
    feasible result: "`` (``rung.schedulers._reasons.infeasible``); ``""`` for a feasible
    key and for a score that is not finite (its own reason says so)."""
    if key_violation(key) == 0.0 or key_score(key) == math.inf:
        return ""
    what = infeasible(history, trial_id, step) or "infeasible"
    return f"{what}, ranked after every feasible result: "


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
    trials that reported here and were not promoted yet. Both are ``SortedTable``s of
    ``(key, trial id)`` (``rank_key``): O(log n) ranks, inserts that move at most a block."""

    __slots__ = ("at", "ceil", "entered", "passed", "passed_at", "step", "table", "waiting")

    def __init__(self, step: int, ceil: bool = False) -> None:
        self.step = step
        self.ceil = ceil  # quota="ceil": ceil(n / eta) instead of floor(n / eta)
        self.table = SortedTable()  # (key, trial id)
        self.entered: dict[int, Key] = {}
        self.at: dict[int, int] = {}  # the step of each recorded result (``step`` or past it)
        self.passed: set[int] = set()  # continued (stopping) or promoted (promotion)
        self.passed_at: dict[Key, int] = {}  # how many of ``passed`` have each key
        self.waiting = SortedTable()  # promotion variant: (key, trial id) not promoted yet

    def add(self, trial_id: int, key: Key, step: int | None = None) -> tuple[int, int]:
        """Record (or, after a restart, replace) a result keyed ``key`` (``rank_key``), reported at
        ``step`` (default: this rung's step; later for a trial that skipped it); returns
        ``(rank, n)``."""
        old = self.entered.get(trial_id)
        if old is not None:
            self.table.remove((old, trial_id))
            self.waiting.discard((old, trial_id))
            if trial_id in self.passed:
                self._count(old, -1)
                self._count(key, 1)
        self.entered[trial_id] = key
        self.at[trial_id] = self.step if step is None else step
        return self.table.add_rank((key, trial_id)), len(self.table)

    def _count(self, key: Key, delta: int) -> None:
        left = self.passed_at.get(key, 0) + delta
        if left:
            self.passed_at[key] = left
        else:
            del self.passed_at[key]

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

    def admits(self, key: Key, eta: int) -> bool:
        """The stopping variant's rule for a result of key ``key`` just recorded here: the
        results strictly better than it (``b``) leave ``keeps(eta) - b`` places, which results
        of exactly this key fill until as many of them have passed (ties fill the quota; see
        "Ties" in ``rung.schedulers._ladder``). ``O(log n)``."""
        better = self.table.bisect_left((key,))  # (key,) sorts before every (key, id)
        return self.passed_at.get(key, 0) < self.keeps(eta) - better

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

    def cutoff(self, eta: int) -> Key:
        """Key of the last result the stopping variant lets past."""
        key: Key = self.table[self.keeps(eta) - 1][0]
        return key

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
            key, tid = waiting[i]
            if self.table.bisect_left((key, tid)) >= quota:
                return None
            if tid == running:
                return int(tid)
            status = history.status(tid)
            if status is TrialStatus.PAUSED:
                return int(tid)
            if status.final:
                waiting.remove((key, tid))  # failed or stopped since: never promotable
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


__all__ = ["Key", "RungTable", "infeasible_note", "key_score", "key_violation", "rank_key",
           "rung_steps"]
