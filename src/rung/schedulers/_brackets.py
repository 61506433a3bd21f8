"""The brackets of synchronous successive halving (``rung.schedulers.successive_halving``):
their plan and their rungs' bookkeeping.

``s_max_for`` is the most aggressive bracket's ``s`` and ``bracket_plan`` the planned sizes
``n_i`` and steps ``r_i`` of a bracket (Hyperband, Algorithm 1: the formulas are in
``successive_halving``'s docstring). A ``_Bracket`` holds its rungs and the promoted trials to
resume; a ``_Rung`` its members, their scores in a sorted table (best first), the members that
ended without a result, and the promotion once the rung is complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rung.core.sorted_table import SortedTable
from rung.schedulers._rung_table import Key


def s_max_for(min_step: int, eta: int, max_step: int) -> int:
    """``floor(log_eta(max_step / min_step))``, in exact integer arithmetic."""
    s = 0
    while min_step * eta ** (s + 1) <= max_step:
        s += 1
    return s


def bracket_plan(
    s: int, s_max: int, eta: int, max_step: int, n: int | None = None, ceil: bool = False
) -> tuple[list[int], list[int]]:
    """``([n_0..n_s], [r_0..r_s])`` of bracket ``s`` (Hyperband, Algorithm 1).

    ``n`` defaults to the paper's ``ceil((s_max + 1) / (s + 1) * eta**s)``; ``ceil=True``
    plans ``n_{i+1} = ceil(n_i / eta)`` instead of ``floor(n / eta**i)``.
    """
    if n is None:
        n = -(-(s_max + 1) * eta**s // (s + 1))
    ns = [n // eta**i for i in range(s + 1)]
    if ceil:
        for i in range(1, s + 1):
            ns[i] = -(-ns[i - 1] // eta)
    rs = [max_step * eta**i // eta**s for i in range(s + 1)]
    return ns, rs


class _Rung:
    __slots__ = ("closed", "dead", "members", "promoted", "quota", "scores", "step", "table")

    def __init__(self, step: int, quota: int) -> None:
        self.step = step
        self.quota = quota  # planned size (the paper's n_i)
        self.members: dict[int, None] = {}
        self.scores: dict[int, Key] = {}  # rank keys (rung.schedulers._rung_table.rank_key)
        self.table = SortedTable()  # (key, trial id)
        self.dead: set[int] = set()
        self.closed = False  # membership is final
        self.promoted: list[int] | None = None  # decided when the rung completes

    @property
    def complete(self) -> bool:
        return self.closed and len(self.scores) + len(self.dead) >= len(self.members)

    def record(self, tid: int, score: Key) -> None:
        old = self.scores.get(tid)
        if old is not None:
            self.table.remove((old, tid))
        self.scores[tid] = score
        self.table.add((score, tid))
        self.dead.discard(tid)

    def rank(self, tid: int) -> int:
        return self.table.bisect_left((self.scores[tid], tid))

    def state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "planned": self.quota,
            "members": len(self.members),
            "results": len(self.scores),
            "dead": len(self.dead),
            "promoted": None if self.promoted is None else len(self.promoted),
        }


class _Bracket:
    __slots__ = ("done", "index", "queue", "rungs", "s")

    def __init__(self, index: int, s: int, ns: Sequence[int], rs: Sequence[int]) -> None:
        self.index = index
        self.s = s
        self.rungs = [_Rung(r, n) for n, r in zip(ns, rs, strict=True)]
        self.queue: dict[int, None] = {}  # promoted trials to resume, best first
        self.done = False

    def state(self) -> dict[str, Any]:
        return {
            "bracket": self.index,
            "s": self.s,
            "done": self.done,
            "rungs": [r.state() for r in self.rungs],
        }


__all__ = ["_Bracket", "_Rung", "bracket_plan", "s_max_for"]
