"""The chart pages' JSON (learning curves, parallel coordinates, worker timeline, Pareto
front) over a ``rung.dashboard.data.Snapshot``, each capped so that a page costs O(page).

Parallel coordinates and learning curves send at most ``MAX_PARALLEL`` / ``MAX_CURVES`` trials
(the best and an evenly spaced sample of the rest: ``sample``), the Pareto front every trial on
it and a sample of the others past ``MAX_PARETO``, the worker timeline the latest ``MAX_RUNS``
runs; each says what it left out, and the page shows it. (A browser draws 2,000 SVG polylines
in about 0.15 s; Plotly's WebGL ``parcoords`` took 1.3 s for any count in headless Chromium, so
the page draws SVG: ``benchmarks/RESULTS.md``, ``bench_dashboard``.)

A chart is computed again only when new records arrive (``memoized``), and then reads no more of
the journal's past than it draws: the learning curves' cut-offs are folded from the decisions
appended since the last time (``cutoffs``), and their stop and pause marks are looked up for the
trials drawn only (``_marks``); before, each refresh of a live study read every decision's
reason again (most of the 87 ms its curves took at 20,000 trials). What is left grows with the
trials, not the records: choosing the trials to draw (``sample``) scores each trial once.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rung.analysis_frames import front_staircase, has_rungs, spec_steps
from rung.bulk_range import bulk_range
from rung.dashboard._json import jclean
from rung.journal_fold import DecisionMade, decision_marks
from rung.plot._cutoffs import Cutoff, threshold_value

if TYPE_CHECKING:
    from rung.dashboard.data import Snapshot

#: learning curves sent at most, of which the best ``BEST_CURVES`` (the rest a sample)
MAX_CURVES = 1000
BEST_CURVES = 250
#: trials sent to the parallel-coordinates chart at most, of which the best ``BEST_PARALLEL``
MAX_PARALLEL = 2000
BEST_PARALLEL = 500
#: points sent to the Pareto-front chart at most (the front and a sample of the rest)
MAX_PARETO = 2000
#: runs sent to the worker timeline at most (the latest)
MAX_RUNS = 3000


def sample(h: Any, ids: list[int], cap: int, n_best: int,
           what: str = "trials") -> tuple[list[int], dict[str, Any]]:
    """What a chart draws of ``ids`` (trials in id order): all of them if there are at most
    ``cap``, else the ``n_best`` best by score and an evenly spaced sample (by trial id, the
    first and the latest included) of the rest, ``cap`` in all, in id order. The second value
    says so for the page: ``{"shown", "of", "best", "sampled", "note"}``, the note in words
    ("showing 2,000 of 100,000 trials: the best 500 and an evenly spaced sample of 1,500 of the
    other 99,500"; ``what`` names the trials counted), so a chart never leaves trials out
    silently."""
    n = len(ids)
    if n <= cap:
        return ids, {"shown": n, "of": n, "best": 0, "sampled": 0,
                     "note": f"showing all {n:,} {what}"}
    n_best = min(n_best, cap)
    best = set(heapq.nsmallest(n_best, ids, key=lambda i: _finite(h.score(i))))
    rest = [i for i in ids if i not in best]
    k = cap - n_best
    keep = best | set(_even(rest, k))
    shown = [i for i in ids if i in keep]
    note = (f"showing {len(shown):,} of {n:,} {what}: the best {n_best:,} and an evenly spaced "
            f"sample of {k:,} of the other {len(rest):,}")
    return shown, {"shown": len(shown), "of": n, "best": n_best, "sampled": k, "note": note}


def _finite(x: float) -> float:
    return x if math.isfinite(x) else math.inf


def memo_key(n_records: int) -> tuple[int, ...]:
    """What a chart's kept answer depends on: the records replayed and the caps."""
    return (n_records, MAX_CURVES, BEST_CURVES, MAX_PARALLEL, BEST_PARALLEL, MAX_RUNS,
            MAX_PARETO)


#: the memoized chart endpoints (a dashboard snapshot stores their answers)
CHARTS = ("curves", "parallel", "workers", "pareto")


def rung_steps(snap: Snapshot) -> list[int]:
    """The study's rung steps (from its replayed scheduler; none for a scheduler without
    rungs: FIFO, the median rule, PBT)."""
    assert snap.engine is not None
    sched = snap.engine.scheduler
    return spec_steps(snap.spec, sched) if has_rungs(sched) else []


def memoized(fn: Callable[[Snapshot], dict[str, Any]]) -> Callable[[Snapshot], dict[str, Any]]:
    """``fn``'s answer is kept until new records arrive (the page polls every few seconds: a
    finished study's chart is computed once). The caps are part of the key."""
    name = fn.__name__

    def cached(snap: Snapshot) -> dict[str, Any]:
        key = memo_key(snap.fold.n_records)
        hit = snap.memo.get(name)
        if hit is not None and hit[0] == key:
            return hit[1]
        out = fn(snap)
        snap.memo[name] = (key, out)
        return out

    cached.__name__ = cached.__qualname__ = name
    cached.__doc__ = fn.__doc__
    return cached


@memoized
def parallel(snap: Snapshot) -> dict[str, Any]:
    """Parameters and value of the trials with a value (at most ``MAX_PARALLEL``: see
    ``sample``), as columns: ``trial_ids``, ``values`` and ``columns[param]``, aligned."""
    h = snap.history
    o = h.objective
    ids = [t for t in h if math.isfinite(h.score(t))]
    shown, info = sample(h, ids, MAX_PARALLEL, BEST_PARALLEL, "trials with a value")
    names = list(h.space)
    params = [h.params(t) for t in shown]
    return jclean({"params": names, "space": h.space.to_json(), "metric": o.metric,
                   "mode": o.mode, "trial_ids": shown,
                   "values": [o.value(h.score(t)) for t in shown],
                   "columns": {n: [p.get(n) for p in params] for n in names},
                   "with_value": len(ids), "total": len(h), "sample": info})


@memoized
def curves(snap: Snapshot) -> dict[str, Any]:
    h = snap.history
    o = h.objective
    jf = snap.fold
    ids, info = sample(h, [t for t in h if h.scores(t)], MAX_CURVES, BEST_CURVES,
                       "trials with a result")
    series = []
    for tid in ids:
        pts = sorted(h.scores(tid).items())
        if pts:
            series.append({"trial_id": tid, "status": h.status(tid).value,
                           "x": [p[0] for p in pts], "y": [o.value(p[1]) for p in pts]})
    # the value axis fits every result, drawn or not, as ``rung plot --kind curves`` fits it
    # (the sample drawn holds the best trials: its bulk is not the study's)
    bulk = bulk_range(every_score(h), o)
    steps = rung_steps(snap)
    marks = [{"trial_id": d.trial_id, "step": d.step, "action": d.action, "reason": d.reason,
              "value": o.value(h.scores(d.trial_id)[d.step])} for d in _marks(h, jf, ids)]
    return jclean({"metric": o.metric, "mode": o.mode, "max_step": snap.spec.max_step,
                   "rung_steps": steps,
                   "cutoffs": {str(c.step): {"latest": c.latest, "low": c.low, "high": c.high,
                                             "n": c.n}
                               for c in cutoffs(snap).values()},
                   "trials": series, "decisions": marks, "total": len(h), "sample": info,
                   "value_range": None if bulk is None else {
                       "low": bulk.low, "high": bulk.high, "left_out": bulk.left_out,
                       "note": bulk.note()}})


def every_score(h: Any) -> list[float]:
    """Every result's score of every trial (the values only: a list per trial's results,
    no sorting), for the value axis."""
    out: list[float] = []
    for tid in h:
        out.extend(h.scores(tid).values())
    return out


def _marks(h: Any, jf: Any, ids: list[int]) -> list[DecisionMade]:
    """``rung.journal_fold.decision_marks`` of the trials ``ids`` only (O(their steps))."""
    return decision_marks(h, jf, ids)


def cutoffs(snap: Snapshot) -> dict[int, Cutoff]:
    """``rung.plot._cutoffs.decision_cutoffs(snap.history, snap.fold)``, folded
    incrementally: the fold's decisions only grow, so each call reads those appended since the
    last (kept in ``snap.parts`` with the fold they were read from; a fold replaced, a replay
    started over, is read from its start)."""
    jf = snap.fold
    obj = snap.history.objective
    acc: dict[int, tuple[float, float, float, int]]
    kept = snap.parts.get("cutoffs")
    seen, acc = 0, {}  # step -> (latest, low, high, n)
    if kept is not None and kept[0] is jf and kept[1] <= len(jf.decisions):
        _, seen, acc = kept
    for d in jf.decisions[seen:]:
        if d.action not in ("stop", "pause"):
            continue
        v = threshold_value(d.reason, obj)
        if v is None:
            continue
        c = acc.get(d.step)
        acc[d.step] = (v, v, v, 1) if c is None else (v, min(c[1], v), max(c[2], v), c[3] + 1)
    snap.parts["cutoffs"] = (jf, len(jf.decisions), acc)
    return {s: Cutoff(s, *c) for s, c in sorted(acc.items())}


@memoized
def workers(snap: Snapshot) -> dict[str, Any]:
    """The worker timeline: the latest ``MAX_RUNS`` runs, each from its launch to its end (or
    now), in seconds since the study's first event. The busy share is the ledger's, added by
    ``rung.dashboard.workers.workers_page`` (``utilization`` is ``None`` here)."""
    jf = snap.fold
    t0 = jf.start or 0.0
    span = jf.now - t0
    runs: list[dict[str, Any]] = [{"trial_id": r.trial_id, "slot": r.slot, "start": r.start - t0,
             "end": (r.end if r.end is not None else jf.now) - t0,
             "outcome": r.outcome or "running"} for r in jf.runs[-MAX_RUNS:]]
    return jclean({"slots": jf.n_slots, "now": span, "runs": runs, "utilization": None,
                   "total_runs": len(jf.runs)})


@memoized
def pareto(snap: Snapshot) -> dict[str, Any]:
    """The trials' first two objective values: every trial on the Pareto front and, past
    ``MAX_PARETO`` points, an evenly spaced sample (by trial id) of the others; ``sample`` says
    what is drawn, ``line`` is the front's bound (``front_staircase``)."""
    h = snap.history
    objs = h.objectives
    if len(objs) < 2:
        return {"objectives": [o.metric for o in objs], "points": [], "front": []}
    ids = [t for t in h if all(math.isfinite(x) for x in h.values(t)[:2])]
    front = front_ids(h)
    n, cap = len(ids), max(MAX_PARETO, len(front))
    what = "trials with both values"
    if n <= cap:
        shown, info = ids, {"shown": n, "of": n, "best": 0, "sampled": 0,
                            "note": f"showing all {n:,} {what}"}
    else:
        on = set(front)
        rest = [t for t in ids if t not in on]
        k = cap - len(on)
        keep = on | set(_even(rest, k))
        shown = [t for t in ids if t in keep]
        info = {"shown": len(shown), "of": n, "best": len(on), "sampled": k,
                "note": f"showing {len(shown):,} of {n:,} {what}: the {len(on):,} on the "
                        f"Pareto front and an evenly spaced sample of {k:,} of the other "
                        f"{len(rest):,}"}
    pts = []
    for tid in shown:
        v = h.values(tid)
        pts.append({"trial_id": tid, "x": objs[0].value(v[0]), "y": objs[1].value(v[1]),
                    "feasible": h.feasibility(tid)})
    attained = [(objs[0].value(h.values(t)[0]), objs[1].value(h.values(t)[1])) for t in front]
    lx, ly = front_staircase(attained, [o.mode for o in objs])
    return jclean({"objectives": [o.metric for o in objs], "modes": [o.mode for o in objs],
                  "points": pts, "front": front, "line": {"x": lx, "y": ly}, "sample": info,
                  "undominated_early": undominated_early(h, [p["trial_id"] for p in pts], front)})


def undominated_early(h: Any, ids: list[int], front: list[int]) -> int:
    """How many of ``ids`` (trials drawn) are feasible, off the ``front`` and dominated by no
    trial on it: trials the front leaves out because they stopped before their final result
    (``Study.pareto_front`` counts only ``History.best_candidates``), which the chart draws
    grey although nothing red dominates them."""
    on = set(front)
    top = [h.values(t) for t in front]
    n = 0
    for t in ids:
        if t in on or h.violation(t) != 0.0:
            continue
        v = h.values(t)
        if not all(math.isfinite(x) for x in v):
            continue
        if not any(all(a <= b for a, b in zip(f, v, strict=True)) and
                   any(a < b for a, b in zip(f, v, strict=True)) for f in top):
            n += 1
    return n


def _even(xs: list[int], k: int) -> list[int]:
    """``k`` of ``xs`` evenly spaced, the first and the last included (all if ``k`` >= len)."""
    if k >= len(xs):
        return list(xs)
    if k <= 0:
        return []
    if k == 1:
        return [xs[-1]]
    return [xs[(j * (len(xs) - 1)) // (k - 1)] for j in range(k)]


def front_ids(h: Any) -> list[int]:
    """Ids of the Pareto front (``Study.pareto_front``'s: ``rung.study_views.pareto_ids``)."""
    from rung.study_views import pareto_ids

    return pareto_ids(h)


__all__ = [
    "BEST_CURVES",
    "BEST_PARALLEL",
    "CHARTS",
    "MAX_CURVES",
    "MAX_PARALLEL",
    "MAX_PARETO",
    "MAX_RUNS",
    "curves",
    "cutoffs",
    "every_score",
    "front_ids",
    "memo_key",
    "memoized",
    "parallel",
    "pareto",
    "rung_steps",
    "sample",
    "workers",
]
