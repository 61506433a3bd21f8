"""Read-only views of a study's history: fidelity diagnostics.

Nothing here is on the decision path: these functions read a ``History`` (or a live engine)
and never change it, so they work on a finished study, on a replayed journal and on a live run.

**Fidelity diagnostics** (``diagnose``, ``Study.diagnostics()``): do low-fidelity results rank
trials the way high-fidelity ones do? For each pair of adjacent fidelity steps (a scheduler's
``fidelity_steps()``: its rung steps and ``max_step``; for schedulers without rungs,
``default_steps``: ``1, 3, 9, ...`` and ``max_step``), the Spearman rank correlation between the
scores at the two steps over the trials that reported both (``rung.schedulers._guard.spearman``;
pairs come from trials that reached the higher step, so under a stopping scheduler they are the
lower rung's survivors and the correlation is biased towards zero). A pair with at least
``MIN_PAIRS`` (10) pairs and a correlation below ``LOW_CORRELATION`` (0.6) is flagged: its
``low`` field is true and a warning is added to ``FidelityDiagnostics.warnings`` and logged
(logger ``rung.diagnostics``, level WARNING) when ``emit`` is true. ``diagnose_engine`` adds one
note per raise of a scheduler's fidelity guard (``guard=True``, ``rung.schedulers._guard``).

Cost: for each adjacent pair, a walk over the trials that reported the higher step (History
keeps per-step tables) and a ranking, ``O(m log m)`` for ``m`` pairs; on demand only.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rung.core.history import History
from rung.schedulers._guard import LOW_CORRELATION, MIN_PAIRS, json_float, spearman

# the logger keeps the name it had when this report lived in ``rung.diagnostics``
log = logging.getLogger("rung.diagnostics")


def default_steps(max_step: int, base: int = 3) -> list[int]:
    """``1, base, base**2, ...`` below ``max_step``, then ``max_step``: the fidelity ladder used
    for schedulers that have no rungs of their own."""
    steps: list[int] = []
    s = 1
    while s < max_step:
        steps.append(s)
        s *= base
    steps.append(max_step)
    return steps


def fidelity_steps(scheduler: Any, max_step: int) -> list[int]:
    """The fidelity steps to correlate for ``scheduler``: its ``fidelity_steps()`` if it has one
    (multi-fidelity schedulers return their rung steps and ``max_step``), else
    ``default_steps(max_step)``."""
    f = getattr(scheduler, "fidelity_steps", None)
    if callable(f):
        steps = [int(s) for s in f()]
        if steps:
            return sorted(set(steps))
    return default_steps(max_step)


@dataclass(frozen=True, slots=True)
class FidelityPair:
    """Rank agreement between two adjacent fidelity steps."""

    low_step: int
    high_step: int
    n_pairs: int
    spearman: float  # nan when undefined
    low: bool  # flagged: >= MIN_PAIRS pairs and spearman < LOW_CORRELATION

    def to_json(self) -> dict[str, Any]:
        return {
            "low_step": self.low_step,
            "high_step": self.high_step,
            "n_pairs": self.n_pairs,
            "spearman": json_float(self.spearman),
            "low": self.low,
        }


@dataclass(frozen=True, slots=True)
class FidelityDiagnostics:
    """What ``Study.diagnostics()`` returns."""

    steps: tuple[int, ...]
    pairs: tuple[FidelityPair, ...]
    warnings: tuple[str, ...] = ()
    guard: Mapping[str, Any] | None = field(default=None)

    @property
    def low(self) -> bool:
        """True if any adjacent pair is flagged."""
        return any(p.low for p in self.pairs)

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": list(self.steps),
            "pairs": [p.to_json() for p in self.pairs],
            "warnings": list(self.warnings),
            "low": self.low,
            "guard": None if self.guard is None else dict(self.guard),
        }


def pairs_between(
    history: History, low_step: int, high_step: int
) -> tuple[list[float], list[float]]:
    """Scores at ``low_step`` and ``high_step`` of every trial that reported both."""
    xs: list[float] = []
    ys: list[float] = []
    for score, tid in history.at_step(high_step):
        low = history.scores(tid).get(low_step)
        if low is not None:
            xs.append(low)
            ys.append(score)
    return xs, ys


def diagnose(
    history: History,
    steps: Sequence[int],
    threshold: float = LOW_CORRELATION,
    min_pairs: int = MIN_PAIRS,
    guard: Mapping[str, Any] | None = None,
    emit: bool = True,
) -> FidelityDiagnostics:
    """Spearman correlation for each adjacent pair of ``steps`` over ``history``.

    Pairs with at least ``min_pairs`` trials and a correlation below ``threshold`` are flagged,
    and a warning for each is added to the result (and logged, if ``emit``).
    """
    ladder = sorted(set(int(s) for s in steps))
    out: list[FidelityPair] = []
    warnings: list[str] = []
    for lo, hi in itertools.pairwise(ladder):
        xs, ys = pairs_between(history, lo, hi)
        rho = spearman(xs, ys) if len(xs) >= 2 else math.nan
        low = len(xs) >= min_pairs and rho < threshold
        out.append(FidelityPair(lo, hi, len(xs), rho, low))
        if low:
            msg = (
                f"rank correlation between steps {lo} and {hi} is {rho:.2f} over {len(xs)} "
                f"trials (< {threshold}): results at step {lo} predict step {hi} poorly, so "
                f"stopping trials at step {lo} may lose late bloomers (try guard=True or a "
                f"larger min_step)"
            )
            warnings.append(msg)
            if emit:
                log.warning("%s", msg)
    return FidelityDiagnostics(tuple(ladder), tuple(out), tuple(warnings), guard)


def diagnose_engine(engine: Any, emit: bool = True) -> FidelityDiagnostics:
    """``diagnose`` for a live engine: its scheduler's fidelity steps and its guard state."""
    sched = engine.scheduler
    steps = fidelity_steps(sched, engine.spec.max_step)
    guard = None
    state = sched.state()
    if isinstance(state, Mapping) and isinstance(state.get("guard"), Mapping):
        guard = state["guard"]
    out = diagnose(engine.history, steps, guard=guard, emit=emit)
    if guard is None or not guard.get("raises"):
        return out
    notes = [
        f"fidelity guard: rank correlation between steps {r['from_step']} and {r['to_step']} "
        f"was {r['spearman']:.2f} over {r['pairs']} trials; no trial is stopped before step "
        f"{r['to_step']} since"
        for r in guard["raises"]
    ]
    if emit:
        for msg in notes:
            log.warning("%s", msg)
    return FidelityDiagnostics(out.steps, out.pairs, (*out.warnings, *notes), guard)


__all__ = [
    "LOW_CORRELATION",
    "MIN_PAIRS",
    "FidelityDiagnostics",
    "FidelityPair",
    "default_steps",
    "diagnose",
    "diagnose_engine",
    "fidelity_steps",
    "pairs_between",
    "spearman",
]
