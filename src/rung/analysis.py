"""Read-only views of a study's history: fidelity diagnostics and parameter importance
(``param_importance``: the method and why it was chosen are in its docstring).

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


# --- parameter importance -------------------------------------------------------------------
#: fewest trials at a step for importance to be computed there
MIN_IMPORTANCE_TRIALS = 8


@dataclass(frozen=True, slots=True)
class Importance:
    """What ``param_importance`` returns: per parameter, the share of the score's variance that
    its main effect explains (bias-corrected correlation ratio, in ``[0, 1]``), the step the
    scores were taken at and how many trials they came from."""

    importances: Mapping[str, float]
    step: int
    n_trials: int
    method: str = "main-effect variance (binned correlation ratio, bias-corrected)"


def importance_step(history: History, min_trials: int = MIN_IMPORTANCE_TRIALS) -> int | None:
    """The highest step that at least ``min_trials`` trials reported (else the most reported
    step): scores from one fidelity, so a stopped trial's early score never competes with a
    finished trial's final one."""
    best: tuple[int, int] | None = None
    for s in reversed(history.steps()):
        n = history.n_at_step(s)
        if n >= min_trials:
            return s
        if best is None or n > best[0]:
            best = (n, s)
    return None if best is None else best[1]


def param_importance(
    history: History | Any, step: int | None = None, n_bins: int = 0
) -> Importance:
    """How much of the variation in score each parameter explains on its own (NumPy only).
    ``history``: a study's ``History`` (``study.history``) or the ``Study`` itself.

    **Method: main-effect variance (first-order sensitivity).** For each parameter, the trials
    at ``step`` (default ``importance_step``) are put into bins of that parameter (one bin per
    category for a categorical; equal-count quantile bins of the value, ``n_bins`` of them,
    default ``~sqrt(n)/2`` within 2..10, otherwise; an inactive conditional parameter is a bin
    of its own), and the importance is the share of the score's variance explained by the bin
    means (the correlation ratio eta^2), minus what ``k`` bins explain by chance among ``n``
    noise-only values, ``(k - 1) / (n - 1)``, floored at 0. Shares are then normalized to sum
    to 1 (when any is positive).

    **Why this and not fANOVA or a random forest's permutation importance:** it estimates the
    same first-order (main-effect) variance fANOVA reports, but needs no forest: no
    scikit-learn or fANOVA dependency, deterministic (no seed), O(n log n) per parameter, so
    the dashboard can recompute it live. It does not credit interactions between parameters
    (a permutation importance of a forest would); with few trials per bin it is noisy, which
    the bias correction keeps from reading as importance. Non-finite scores (``inf``,
    ``nan``) are left out (``n_trials`` counts the others); finite ones of any magnitude,
    up to the largest float, give the importances their shape gives at any other scale.

    Raises:
        ConfigError: ``step`` not ``None`` or an integer >= 1; ``n_bins`` not 0 (automatic)
            or an integer >= 2 (one bin explains nothing).
        TypeError: ``history`` is neither a ``History`` nor a study (naming what it is).
    """
    import numpy as np

    from rung._validate import check_int
    from rung.errors import ConfigError

    if not isinstance(history, History):
        held = getattr(history, "history", None)
        if not isinstance(held, History):
            raise TypeError(f"param_importance: expected a Study or its History "
                            f"(study.history), got {type(history).__name__}")
        history = held
    if step is not None:
        step = check_int("step", step, 1)
    if check_int("n_bins", n_bins, 0) == 1:
        raise ConfigError(key="n_bins", message="must be 0 (automatic) or an integer >= 2 "
                          "(one bin explains nothing), got 1")
    s = importance_step(history) if step is None else step
    names = [n for n in history.space if history.space[n].tunable]
    if s is None:
        return Importance({n: 0.0 for n in names}, 0, 0)
    ids: list[int] = []
    ys: list[float] = []
    for score, tid in history.at_step(s):
        if math.isfinite(score):
            ids.append(tid)
            ys.append(score)
    n = len(ids)
    y = np.asarray(ys, dtype=float)
    scale = float(np.abs(y).max()) if n else 0.0
    if scale > 0.0:
        # eta^2 is a ratio of sums of squares, unchanged by scaling the scores: dividing by the
        # largest |score| keeps those sums finite for scores near 1e308 (and away from 0 for
        # subnormal ones), where they overflowed to inf and nan (every importance 0)
        y = y / scale
    raw: dict[str, float] = {}
    total = float(((y - y.mean()) ** 2).sum()) if n else 0.0
    for name in names:
        if n < 3 or total <= 0.0:
            raw[name] = 0.0
            continue
        p = history.space[name]
        values = [history.params(t).get(name) for t in ids]
        labels = _bins(p, values, n_bins or int(min(10, max(2, round(math.sqrt(n) / 2)))))
        k = int(labels.max()) + 1
        counts = np.bincount(labels, minlength=k)
        sums = np.bincount(labels, weights=y, minlength=k)
        used = counts > 0
        means = sums[used] / counts[used]
        between = float((counts[used] * (means - y.mean()) ** 2).sum())
        k_used = int(used.sum())
        eta2 = between / total - (k_used - 1) / (n - 1)
        raw[name] = max(0.0, eta2)
    tot = sum(raw.values())
    out = {k: (v / tot if tot > 0 else 0.0) for k, v in raw.items()}
    return Importance(out, s, n)


def _bins(param: Any, values: Sequence[Any], n_bins: int) -> Any:
    """Bin labels 0..k-1 for ``values`` of one parameter (``None``: inactive, its own bin)."""
    import numpy as np

    choices = getattr(param, "choices", None)
    labels = np.zeros(len(values), dtype=np.int64)
    if choices is not None:
        index = {repr(c): i for i, c in enumerate(choices)}
        for i, v in enumerate(values):
            labels[i] = index.get(repr(v), len(choices)) if v is not None else len(choices)
        return _dense(labels)
    active = [i for i, v in enumerate(values) if v is not None]
    u = np.array([param.to_unit(values[i]) for i in active], dtype=float)
    if len(active):
        order = np.argsort(u, kind="stable")
        ranks = np.empty(len(u), dtype=np.int64)
        ranks[order] = np.arange(len(u))
        b = np.minimum(ranks * n_bins // len(u), n_bins - 1)
        # equal values share a bin (ties across a quantile edge go to the lower bin)
        for j in range(1, len(order)):
            if u[order[j]] == u[order[j - 1]]:
                b[order[j]] = b[order[j - 1]]
        labels[active] = b
    labels[[i for i, v in enumerate(values) if v is None]] = n_bins
    return _dense(labels)


def _dense(labels: Any) -> Any:
    import numpy as np

    _, dense = np.unique(labels, return_inverse=True)
    return dense.astype(np.int64)


__all__ = [
    "LOW_CORRELATION",
    "MIN_IMPORTANCE_TRIALS",
    "MIN_PAIRS",
    "FidelityDiagnostics",
    "FidelityPair",
    "Importance",
    "default_steps",
    "diagnose",
    "diagnose_engine",
    "fidelity_steps",
    "importance_step",
    "pairs_between",
    "param_importance",
    "spearman",
]
