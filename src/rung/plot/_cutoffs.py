"""The thresholds a scheduler actually applied, read from the reasons of its decisions.

ASHA and asynchronous Hyperband (Li et al. 2020, "A System for Massively Parallel
Hyperparameter Tuning") stop a trial at a rung when its score is not in the top ``1/eta`` of the
scores recorded there so far, and say so: ``"rank 5/9 at rung 1 (step 3): not in the top 1/3
(cutoff score 0.52)"``. The median stopping rule (Golovin et al. 2017, "Google Vizier") names the
median it compared with: ``"... is worse than the median 0.61 of 7 other trials' ..."``. In an
asynchronous scheduler that threshold moves as results arrive, so the worst value that went on
past a rung is not it (a trial promoted early may be worse than the threshold applied later).
These functions read the thresholds from the journaled decisions: exactly what was applied,
without re-running the scheduler. Schedulers whose reasons name no threshold (synchronous
successive halving ranks within a bracket) get none. No matplotlib here: the dashboard uses it
too.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

#: a threshold in a decision's reason: ASHA's cutoff score, or the median stopping rule's median
_THRESHOLD = (re.compile(r"\(cutoff score ([^)\s]+)\)"),
              re.compile(r"worse than the median (\S+) of "))


@dataclass(frozen=True)
class Cutoff:
    """The thresholds applied at one step, in the objective's own terms (its ``value``).

    Attributes:
        step: the step (a rung's) the decisions were taken at.
        latest: the threshold of the last decision there (journal order).
        low: the lowest threshold applied there over the run.
        high: the highest.
        n: how many decisions named a threshold there.
    """

    step: int
    latest: float
    low: float
    high: float
    n: int


def threshold_score(reason: str) -> float | None:
    """The score (lower is better) a decision's reason names as its threshold, if any."""
    for pattern in _THRESHOLD:
        m = pattern.search(reason)
        if m is not None:
            try:
                x = float(m.group(1))
            except ValueError:
                return None
            return x if math.isfinite(x) else None
    return None


def decision_cutoffs(history: Any, fold: Any) -> dict[int, Cutoff]:
    """Per step: the thresholds named by the stop and pause decisions taken there
    (``fold``: the study's ``rung.analysis_frames.JournalFold``). Steps where no decision
    named one are left out."""
    obj = history.objective
    seen: dict[int, list[float]] = {}
    for d in fold.decisions:
        if d.action not in ("stop", "pause"):
            continue
        score = threshold_score(d.reason)
        if score is not None:
            seen.setdefault(d.step, []).append(obj.value(score))
    return {s: Cutoff(s, v[-1], min(v), max(v), len(v)) for s, v in sorted(seen.items())}


__all__ = ["Cutoff", "decision_cutoffs", "threshold_score"]
