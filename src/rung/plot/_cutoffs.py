"""The thresholds a scheduler actually applied, read from the reasons of its decisions.

ASHA and asynchronous Hyperband (Li et al. 2020, "A System for Massively Parallel
Hyperparameter Tuning") stop a trial at a rung when its score is not in the top ``1/eta`` of the
scores recorded there so far, and say so: ``"rank 5/9 at rung 1 (step 3): not in the top 1/3
(cutoff accuracy=0.912)"``. The median stopping rule (Golovin et al. 2017, "Google Vizier") names
the median it compared with: ``"best accuracy=0.85 by step 4 is worse than the median
accuracy=0.91 of 7 other trials' ..."``. Both quote the metric's value in its own direction
(``rung.schedulers._reasons``). Reasons journaled before that quoted the lower-is-better score
instead (``"(cutoff score -0.912)"``, ``"... worse than the median -0.91 of ..."``); they are
read too, and mapped through ``Objective.value``. The two forms cannot be confused, whatever
the metric is called (a metric named ``score`` reads ``"cutoff score=0.912"``).

In an asynchronous scheduler that threshold moves as results arrive, so the worst value that
went on past a rung is not it (a trial promoted early may be worse than the threshold applied
later). These functions read the thresholds from the journaled decisions: exactly what was
applied, without re-running the scheduler. Schedulers whose reasons name no threshold
(synchronous successive halving ranks within a bracket) get none. No matplotlib here: the
dashboard uses it too.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from rung.core.records import Objective

#: thresholds in reasons journaled before they quoted the metric: a lower-is-better score
_OLD = (re.compile(r"\(cutoff score ([^)\s]+)\)"),
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


def _number(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _patterns(metric: str) -> tuple[re.Pattern[str], ...]:
    m = re.escape(metric)
    return (re.compile(rf"\(cutoff {m}=([^)\s]+)\)"),
            re.compile(rf"worse than the median {m}=(\S+) of "))


def threshold_value(reason: str, objective: Objective) -> float | None:
    """The metric value (in ``objective``'s own direction) a decision's reason names as its
    threshold: ASHA's cutoff or the median rule's median, in either form (module docstring);
    ``None`` if it names none, or names one that is not a finite number."""
    for pattern in _patterns(objective.metric):
        m = pattern.search(reason)
        if m is not None:
            return _number(m.group(1))
    for pattern in _OLD:
        m = pattern.search(reason)
        if m is not None:
            score = _number(m.group(1))
            return None if score is None else objective.value(score)
    return None


def decision_cutoffs(history: Any, fold: Any) -> dict[int, Cutoff]:
    """Per step: the thresholds named by the stop and pause decisions taken there
    (``fold``: the study's ``rung.analysis_frames.JournalFold``), as metric values. Steps
    where no decision named one are left out."""
    obj = history.objective
    seen: dict[int, list[float]] = {}
    for d in fold.decisions:
        if d.action not in ("stop", "pause"):
            continue
        value = threshold_value(d.reason, obj)
        if value is not None:
            seen.setdefault(d.step, []).append(value)
    return {s: Cutoff(s, v[-1], min(v), max(v), len(v)) for s, v in sorted(seen.items())}


__all__ = ["Cutoff", "decision_cutoffs", "threshold_value"]
