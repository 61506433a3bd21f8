"""PBT's comparisons along lineages (the rule is ``rung.schedulers.pbt``'s docstring): a fork's
results before it was forked are its lineage's (its donor's, up to the checkpoint it copied), and
two members are compared at the latest interval step both have reached.

Pure functions of the ``History`` and PBT's ``last``: member -> ``(step, score)`` of its last
interval result. An exploited member whose fork has not started keeps its entry there (its own
last result: the place it leaves is still ranked); a fork that has not reported an interval
result of its own holds that entry, and ``stands_for`` maps it to the exploited member, whose
results stand for it at earlier steps too, so the place is ranked the same before and after the
fork starts.
"""

from __future__ import annotations

from collections.abc import Mapping

from rung.core.history import History

_NONE: Mapping[int, int] = {}


def score_at(history: History, tid: int, step: int) -> float | None:
    """``tid``'s result at ``step``, or its lineage's (the donor it was forked from, ...)."""
    t: int | None = tid
    while t is not None:
        score = history.scores(t).get(step)
        if score is not None:
            return score
        results = history.results(t)
        if results and results[0].step <= step:
            return None  # it trained there itself, and did not report that step
        t = history.parent_id(t)
    return None


def ranked_at(
    history: History, last: dict[int, tuple[int, float]], step: int,
    stands_for: Mapping[int, int] = _NONE,
) -> list[tuple[float, int]]:
    """``(score, member)`` of the entries of ``last`` (the population's places), best first:
    each member's result at ``step`` when it has passed it (its own, or for a fork, its
    lineage's: its donor's up to the step it was forked at; for a fork in ``stands_for``, the
    exploited member's it replaces), else its latest."""
    out = []
    for t, (at_last, score) in last.items():
        if at_last > step:
            at = score_at(history, stands_for.get(t, t), step)
            if at is not None:
                score = at
        out.append((score, t))
    out.sort()
    return out


def beating(
    history: History, last: dict[int, tuple[int, float]], tid: int, step: int, score: float,
    stands_for: Mapping[int, int] = _NONE,
) -> set[int]:
    """The entries of ``last`` that beat ``tid`` (its result ``score`` at ``step``), each
    compared with it at the latest interval step both have reached: a member ahead with its
    result at ``step`` (a fork in ``stands_for``: the exploited member's it replaces), a member
    behind at its own last interval step, where ``tid``'s (or its lineage's) result stands for
    it. Where either has no result there, their latest results are compared. Ties go to the
    lower trial id."""
    out = set()
    for t, (at_last, theirs) in last.items():
        if t == tid:
            continue
        mine: float | None = score
        if at_last > step:
            at_step = score_at(history, stands_for.get(t, t), step)
            if at_step is not None:
                theirs = at_step
        elif at_last < step:
            mine = score_at(history, tid, at_last)
            if mine is None:
                mine = score
        if (theirs, t) < (mine, tid):
            out.add(t)
    return out
