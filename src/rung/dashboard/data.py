"""What the dashboard shows, as JSON-ready dicts: folds over journals opened read-only.

No web framework here (``rung.dashboard.app`` serves these). A ``Catalog`` finds the studies
in a journal file or a directory of them; ``Catalog.snapshot(name)`` replays a study's journal
into an engine and a ``JournalFold`` and keeps them: the next call reads only the records
appended since and feeds them to the same engine (``Engine.replay(..., engine=...)``), so
following a live run costs O(new records) per poll. Every connection is read-only: the driver
writing the journal is never blocked.

**Large journals open progressively.** Records are read and replayed ``CHUNK`` at a time; a
request waits at most ``WAIT`` seconds for a study to catch up, and a study still behind then
is replayed on by a background thread while requests are answered with what has been replayed
so far (``loading`` in the study's JSON says how far: the pages show it, as they show a live
run growing). A 100,000-trial journal (745,000 records) takes the server about 20 CPU-seconds
to replay in full and build its table's rows, its first data 0.7 (``benchmarks/RESULTS.md``,
``bench_dashboard``).

**Pages cost O(page), not O(study).** The trials table is sorted, filtered and cut into pages
on the server (``trials(snap, query)``): the rows are built once per trial and rebuilt only for
the trials new records touched. Parallel coordinates and learning curves send at most
``MAX_PARALLEL`` / ``MAX_CURVES`` trials (the best and an evenly spaced sample of the rest:
``sample``), the worker timeline the latest ``MAX_RUNS`` runs; each says what it left out, and
the page shows it. (A browser draws 2,000 SVG polylines in about 0.15 s; Plotly's WebGL
``parcoords`` took 1.3 s for any count in headless Chromium, so the page draws SVG.)
"""

from __future__ import annotations

import heapq
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from rung.analysis_frames import JournalFold, spec_steps
from rung.core.engine import Engine
from rung.core.events import Record, is_event
from rung.core.records import StudySpec, TrialStatus
from rung.dashboard._json import clean, jclean
from rung.dashboard.table import refresh_rows, trials
from rung.errors import RungError
from rung.plot._cutoffs import decision_cutoffs
from rung.storage import SQLiteJournal
from rung.storage.codec import loads

T = TypeVar("T")
log = logging.getLogger("rung.dashboard")

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
#: records read and replayed per step
CHUNK = 20_000
#: seconds a request waits for a study to catch up before it is answered with what is loaded
WAIT = 1.0


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
    #: records in the journal when last looked at (``fold.n_records`` of them replayed)
    total: int = 0
    #: the background replay of a large journal, while it runs
    loader: threading.Thread | None = None
    #: why the replay stopped, if it failed
    error: str | None = None
    #: the trials table's rows by trial id, and the trials whose row must be rebuilt
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    texts: dict[int, str] = field(default_factory=dict)
    dirty: set[int] = field(default_factory=set)
    #: trial ids in the order of the last sort: (n_records, column, descending) -> ids
    order: tuple[tuple[int, str, bool], list[int]] | None = None
    #: the last answer of each chart's endpoint, with the state it was computed from
    memo: dict[str, tuple[tuple[int, ...], dict[str, Any]]] = field(default_factory=dict)

    @property
    def history(self) -> Any:
        return self.engine.history

    @property
    def loading(self) -> dict[str, int] | None:
        """``{"records": replayed, "total": in the journal}`` while the replay is behind."""
        if self.fold.n_records >= self.total:
            return None
        return {"records": self.fold.n_records, "total": self.total}


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

    def snapshot(self, name: str, wait: float = WAIT) -> Snapshot:
        """The study ``name`` as of now (replaying only what was appended since last time).
        A replay that takes more than ``wait`` seconds goes on in a background thread and the
        snapshot is returned as far as it got (``Snapshot.loading``)."""
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
                    self._cache[(path, name)] = snap
                snap.total = j.count(name)
                snap.live = j.is_being_written(name)
            if snap.loader is None:
                deadline = time.monotonic() + wait
                while self._step(snap):
                    if time.monotonic() > deadline:
                        snap.loader = threading.Thread(target=self._load, args=(snap,),
                                                       name=f"replay {name}", daemon=True)
                        snap.loader.start()
                        break
            snap.read_at = time.time()
            return snap

    def _step(self, snap: Snapshot) -> bool:
        """Replay up to ``CHUNK`` more records of ``snap``; True if there may be more."""
        new = read_records(snap.path, snap.name, snap.fold.n_records, CHUNK)
        if not new:
            return False
        more = len(new) >= CHUNK
        if more:
            # a turn (an event and the commands it caused: a Launch carries the params the
            # replay needs) must not be split: stop before the chunk's last event
            cut = next((i for i in range(len(new) - 1, -1, -1) if is_event(new[i])), 0)
            if cut == 0:  # one event with CHUNK commands or more: read the rest at once
                new += read_records(snap.path, snap.name, snap.fold.n_records + len(new),
                                    2**62)
                more = False
            else:
                new = new[:cut]
        try:
            Engine.replay(snap.spec, new, engine=snap.engine)
        except RungError:  # should not happen; start over from the whole journal
            log.exception("dashboard: replaying %s failed; reading it again", snap.name)
            with SQLiteJournal(snap.path, readonly=True) as j:
                new = j.read(snap.name)
            snap.engine = Engine.replay(snap.spec, new)
            snap.fold = JournalFold()
            snap.rows.clear()
            snap.texts.clear()
            snap.dirty = set(snap.engine.history)
        snap.fold.update(new)
        for r in new:
            tid = getattr(r, "trial_id", None)
            if tid is not None:
                snap.dirty.add(tid)
        snap.total = max(snap.total, snap.fold.n_records)
        return more

    def _load(self, snap: Snapshot) -> None:
        """The background replay of a large journal: a chunk at a time, under the lock."""
        try:
            while True:
                with self._lock:
                    more = self._step(snap)
                if not more:
                    with self._lock:  # the trials table's rows, before anyone asks
                        refresh_rows(snap)
                    break
                time.sleep(0.001)  # let waiting requests take the lock
        except Exception as e:  # shown on the page; the next request tries again
            log.exception("dashboard: replaying %s failed", snap.name)
            snap.error = f"{type(e).__name__}: {e}"
        finally:
            with self._lock:
                snap.loader = None


def read_records(path: Path, name: str, after: int, limit: int) -> list[Record]:
    """Up to ``limit`` records of study ``name`` after the ``after``-th, read-only. (The journal
    protocol's ``read`` has no limit: the dashboard pages through a large journal itself, with
    the query ``SQLiteJournal.read`` makes.)"""
    uri = path.absolute().as_uri() + "?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        cur = conn.execute(
            "SELECT kind, body FROM record WHERE study = ? AND seq > ? ORDER BY seq LIMIT ?",
            (name, after, limit),
        )
        return [loads(kind, body) for kind, body in cur]


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
        "loading": snap.loading,
        "error": snap.error,
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


def memoized(fn: Callable[[Snapshot], dict[str, Any]]) -> Callable[[Snapshot], dict[str, Any]]:
    """``fn``'s answer is kept until new records arrive (the page polls every few seconds: a
    finished study's chart is computed once). The caps are part of the key."""
    name = fn.__name__

    def cached(snap: Snapshot) -> dict[str, Any]:
        key = (snap.fold.n_records, MAX_CURVES, BEST_CURVES, MAX_PARALLEL, BEST_PARALLEL,
               MAX_RUNS)
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
    ``sample``), as columns: ``ids``, ``values`` and ``columns[param]``, aligned."""
    h = snap.history
    o = h.objective
    ids = [t for t in h if math.isfinite(h.score(t))]
    shown, info = sample(h, ids, MAX_PARALLEL, BEST_PARALLEL, "trials with a value")
    names = list(h.space)
    params = [h.params(t) for t in shown]
    return jclean({"params": names, "space": h.space.to_json(), "metric": o.metric,
                   "mode": o.mode, "ids": shown, "values": [o.value(h.score(t)) for t in shown],
                   "columns": {n: [p.get(n) for p in params] for n in names},
                   "with_value": len(ids), "total": len(h), "sample": info})


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
            series.append({"id": tid, "status": h.status(tid).value,
                           "x": [p[0] for p in pts], "y": [o.value(p[1]) for p in pts]})
    steps = spec_steps(snap.spec, snap.engine.scheduler)
    marks = []
    shown = set(ids)
    for (tid, step), d in jf.decision_at.items():
        if d.action in ("stop", "pause") and tid in shown and step in h.scores(tid):
            marks.append({"id": tid, "step": step, "action": d.action, "reason": d.reason,
                          "value": o.value(h.scores(tid)[step])})
    return jclean({"metric": o.metric, "mode": o.mode, "max_step": snap.spec.max_step,
                   "rung_steps": steps,
                   "cutoffs": {str(c.step): {"latest": c.latest, "low": c.low, "high": c.high,
                                             "n": c.n}
                               for c in decision_cutoffs(h, jf).values()},
                   "trials": series, "decisions": marks, "total": len(h), "sample": info})


@memoized
def workers(snap: Snapshot) -> dict[str, Any]:
    jf = snap.fold
    t0 = jf.start or 0.0
    busy = sum((r.end if r.end is not None else jf.now) - r.start for r in jf.runs)
    span = jf.now - t0
    util = busy / (span * jf.n_slots) if span > 0 and jf.n_slots else None
    runs: list[dict[str, Any]] = [{"trial_id": r.trial_id, "slot": r.slot, "start": r.start - t0,
             "end": (r.end if r.end is not None else jf.now) - t0,
             "outcome": r.outcome or "running"} for r in jf.runs[-MAX_RUNS:]]
    return jclean({"slots": jf.n_slots, "now": span, "runs": runs, "utilization": util,
                   "total_runs": len(jf.runs)})


def pareto(snap: Snapshot) -> dict[str, Any]:
    """The trials' first two objective values: every trial on the Pareto front and, past
    ``MAX_PARETO`` points, an evenly spaced sample (by trial id) of the others; ``sample`` says
    what is drawn."""
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
        pts.append({"id": tid, "x": objs[0].value(v[0]), "y": objs[1].value(v[1])})
    return jclean({"objectives": [o.metric for o in objs], "modes": [o.mode for o in objs],
                  "points": pts, "front": front, "sample": info})


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


__all__ = [
    "BEST_CURVES",
    "BEST_PARALLEL",
    "CHUNK",
    "MAX_CURVES",
    "MAX_PARALLEL",
    "MAX_PARETO",
    "MAX_RUNS",
    "WAIT",
    "Catalog",
    "Snapshot",
    "clean",
    "curves",
    "front_ids",
    "jclean",
    "memoized",
    "overview",
    "parallel",
    "pareto",
    "read_records",
    "sample",
    "study_row",
    "trial_detail",
    "trials",
    "workers",
]
