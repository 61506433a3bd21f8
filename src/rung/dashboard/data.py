"""What the dashboard shows, as JSON-ready dicts: folds over journals opened read-only.

No web framework here (``rung.dashboard.app`` serves these). A ``Catalog`` finds the studies
in a journal file or a directory of them; ``Catalog.snapshot(name)`` replays a study's journal
into an engine and a ``JournalFold`` and keeps them: the next call reads only the records
appended since (``SQLiteJournal.read(name, after=n)``) and feeds them to the same engine
(``Engine.replay(..., engine=...)``), so following a live run costs O(new records) per poll.
Every connection is read-only: the driver writing the journal is never blocked.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from rung.analysis_frames import JournalFold, rung_cutoffs, spec_steps, trial_rows
from rung.core.engine import Engine
from rung.core.records import StudySpec, TrialStatus
from rung.errors import RungError
from rung.storage import SQLiteJournal

T = TypeVar("T")

#: learning curves sent at most (the best and the latest trials first)
MAX_CURVES = 400


def clean(x: Any) -> Any:
    """``x`` with non-finite floats as ``None`` (JSON has no NaN or infinity)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, Mapping):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [clean(v) for v in x]
    return x


def jclean(d: Mapping[str, Any]) -> dict[str, Any]:
    """``clean`` of a JSON object."""
    out: dict[str, Any] = clean(d)
    return out


@dataclass
class Snapshot:
    name: str
    path: Path
    spec: StudySpec
    engine: Engine
    fold: JournalFold
    auto: str | None
    live: bool = False
    read_at: float = 0.0

    @property
    def history(self) -> Any:
        return self.engine.history


class Catalog:
    """The studies under ``storage`` (an SQLite journal, or a directory of ``*.db`` files),
    or just ``only`` if given."""

    def __init__(self, storage: str | Path, only: str | None = None) -> None:
        self.storage = Path(storage)
        self.only = only
        self._cache: dict[tuple[Path, str], Snapshot] = {}
        self._lock = threading.RLock()

    def files(self) -> list[Path]:
        if self.storage.is_dir():
            return sorted(p for p in self.storage.glob("*.db") if p.is_file())
        return [self.storage] if self.storage.exists() else []

    def studies(self) -> list[tuple[str, Path]]:
        out: list[tuple[str, Path]] = []
        for path in self.files():
            try:
                with SQLiteJournal(path, readonly=True) as j:
                    names = j.list_studies()
            except Exception:
                continue  # not a journal
            out += [(n, path) for n in names if self.only is None or n == self.only]
        return out

    def locate(self, name: str) -> Path:
        for n, p in self.studies():
            if n == name:
                return p
        raise KeyError(name)

    def view(self, name: str, fn: Callable[[Snapshot], T]) -> T:
        """``fn(snapshot(name))`` with the study held still. The server answers requests on
        several threads and a poll replays new records into the same engine in place, so a page
        is built under the same lock as the replay (else its loops over the history can see it
        change size)."""
        with self._lock:
            return fn(self.snapshot(name))

    def snapshot(self, name: str) -> Snapshot:
        """The study ``name`` as of now (replaying only what was appended since last time)."""
        path = self.locate(name)
        with self._lock:
            snap = self._cache.get((path, name))
            with SQLiteJournal(path, readonly=True) as j:
                if snap is None:
                    stored = j.load_study(name)
                    spec = StudySpec.from_json(stored)
                    auto = stored.get("auto")
                    snap = Snapshot(name, path, spec, Engine.from_spec(spec), JournalFold(),
                                    auto if isinstance(auto, str) else None)
                new = j.read(name, after=snap.fold.n_records)
                if new:
                    try:
                        Engine.replay(snap.spec, new, engine=snap.engine)
                    except RungError:  # should not happen; start over from the whole journal
                        snap.engine = Engine.replay(snap.spec, j.read(name))
                        snap.fold = JournalFold()
                        new = j.read(name)
                    snap.fold.update(new)
                snap.live = j.is_being_written(name)
            snap.read_at = time.time()
            self._cache[(path, name)] = snap
            return snap


# --- the JSON of each page -----------------------------------------------------------------
def study_row(snap: Snapshot) -> dict[str, Any]:
    h = snap.history
    o = h.objective
    best = h.best_trial_id()
    return jclean({
        "name": snap.name,
        "path": str(snap.path),
        "live": snap.live,
        "metric": o.metric,
        "mode": o.mode,
        "trials": len(h),
        "by_status": {s.value: h.count(s) for s in TrialStatus if h.count(s)},
        "best_trial": best,
        "best_value": o.value(h.score(best)) if best is not None else None,
        "searcher": snap.spec.searcher.name,
        "scheduler": snap.spec.scheduler.name,
    })


def overview(snap: Snapshot) -> dict[str, Any]:
    h = snap.history
    eng = snap.engine
    jf = snap.fold
    spec = snap.spec
    row = study_row(snap)
    best = h.best_trial_id()
    elapsed = (jf.now - jf.start) if jf.start is not None else 0.0
    b = spec.budget
    spent: dict[str, Any] = {}
    if b.n_trials:
        spent["n_trials"] = {"used": h.n_suggested, "limit": b.n_trials}
    if b.max_steps:
        spent["max_steps"] = {"used": h.steps_consumed, "limit": b.max_steps}
    if b.max_time:
        spent["max_time"] = {"used": eng.elapsed, "limit": b.max_time}
    finished = sum(h.count(s) for s in TrialStatus if s.final)
    row.update(clean({
        "max_step": spec.max_step,
        "rung_steps": spec_steps(spec, eng.scheduler),
        "objectives": [{"metric": o.metric, "mode": o.mode} for o in h.objectives],
        "searcher_params": dict(spec.searcher.params),
        "scheduler_params": dict(spec.scheduler.params),
        "auto_reason": snap.auto,
        "budget": spent,
        "steps_consumed": h.steps_consumed,
        "results": h.n_results,
        "elapsed": elapsed,
        "throughput": {
            "results_per_s": h.n_results / elapsed if elapsed > 0 else None,
            "trials_per_min": 60 * finished / elapsed if elapsed > 0 else None,
        },
        "best_params": dict(h.params(best)) if best is not None else None,
        "best_step": h.last_step(best) if best is not None else None,
        "workers": jf.n_slots,
        "records": jf.n_records,
    }))
    return row


def trials(snap: Snapshot) -> dict[str, Any]:
    h = snap.history
    rows = trial_rows(h, snap.fold)
    return jclean({"params": [n for n in h.space], "space": h.space.to_json(),
                   "metric": h.objective.metric, "mode": h.objective.mode,
                   "objectives": [o.metric for o in h.objectives], "rows": rows})


def trial_detail(snap: Snapshot, trial_id: int) -> dict[str, Any]:
    h = snap.history
    if trial_id not in h:
        raise KeyError(trial_id)
    jf = snap.fold
    o = h.objective
    results = [
        {"step": r.step, "time": r.time, "value": o.value(o.score(r.metrics)),
         "metrics": dict(r.metrics),
         **_decision(jf.decision_at.get((trial_id, r.step)))}
        for r in h.results(trial_id)
    ]
    decisions = [
        {"step": d.step, "action": d.action, "reason": d.reason, "time": d.time}
        for d in jf.decisions if d.trial_id == trial_id
    ]
    t = h.trial(trial_id, cache=False)
    return jclean({
        "trial_id": trial_id, "params": dict(t.params), "status": t.status.value,
        "value": o.value(t.score), "steps": t.last_step, "error": t.error,
        "checkpoint": t.checkpoint.path if t.checkpoint else None, "parent_id": t.parent_id,
        "results": results, "decisions": decisions, "metric": o.metric,
    })


def _decision(d: Any) -> dict[str, Any]:
    return {"decision": d.action if d is not None else None,
            "reason": d.reason if d is not None else None}


def curves(snap: Snapshot) -> dict[str, Any]:
    h = snap.history
    o = h.objective
    jf = snap.fold
    ids = list(h)
    if len(ids) > MAX_CURVES:  # the best half by score, then the latest
        best = sorted(ids, key=lambda i: h.score(i))[: MAX_CURVES // 2]
        keep = set(best) | set(ids[-(MAX_CURVES - len(best)):])
        ids = [i for i in ids if i in keep]
    series = []
    for tid in ids:
        pts = sorted(h.scores(tid).items())
        if pts:
            series.append({"id": tid, "status": h.status(tid).value,
                           "x": [p[0] for p in pts], "y": [o.value(p[1]) for p in pts]})
    steps = spec_steps(snap.spec, snap.engine.scheduler)
    marks = []
    for (tid, step), d in jf.decision_at.items():
        if d.action in ("stop", "pause") and tid in h and step in h.scores(tid):
            marks.append({"id": tid, "step": step, "action": d.action, "reason": d.reason,
                          "value": o.value(h.scores(tid)[step])})
    return jclean({"metric": o.metric, "mode": o.mode, "max_step": snap.spec.max_step,
                   "rung_steps": steps, "cutoffs": rung_cutoffs(h, jf, steps),
                   "trials": series, "decisions": marks, "total": len(h)})


def workers(snap: Snapshot) -> dict[str, Any]:
    jf = snap.fold
    t0 = jf.start or 0.0
    runs: list[dict[str, Any]] = [{"trial_id": r.trial_id, "slot": r.slot, "start": r.start - t0,
             "end": (r.end if r.end is not None else jf.now) - t0,
             "outcome": r.outcome or "running"} for r in jf.runs]
    busy = sum(r["end"] - r["start"] for r in runs)
    span = jf.now - t0
    util = busy / (span * jf.n_slots) if span > 0 and jf.n_slots else None
    return jclean({"slots": jf.n_slots, "now": span, "runs": runs, "utilization": util})


def pareto(snap: Snapshot) -> dict[str, Any]:
    h = snap.history
    objs = h.objectives
    if len(objs) < 2:
        return {"objectives": [o.metric for o in objs], "points": [], "front": []}
    pts = []
    for tid in h:
        v = h.values(tid)
        if all(math.isfinite(x) for x in v[:2]):
            pts.append({"id": tid, "x": objs[0].value(v[0]), "y": objs[1].value(v[1])})
    return jclean({"objectives": [o.metric for o in objs], "modes": [o.mode for o in objs],
                  "points": pts, "front": front_ids(h)})


def front_ids(h: Any) -> list[int]:
    """Ids of the feasible, non-dominated trials at the top step (as ``Study.pareto_front``)."""
    import numpy as np

    from rung.multiobjective import non_dominated

    top = h.top_step
    ids = [t for t in h if top and h.last_step(t) == top and h.violation(t) == 0.0
           and all(math.isfinite(v) for v in h.values(t))]
    if not ids:
        return []
    mask = non_dominated(np.array([h.values(t) for t in ids]))
    return [t for t, k in zip(ids, mask, strict=True) if k]
