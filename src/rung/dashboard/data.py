"""What the dashboard shows, as JSON-ready dicts: folds over journals opened read-only.

No web framework here (``rung.dashboard.app`` serves these). A ``Catalog`` finds the studies
in a journal file or a directory of them (``rung.dashboard._listing``);
``Catalog.snapshot(name)`` replays a study's journal into an engine and a ``JournalFold`` and
keeps them: the next call reads only the records appended since and feeds them to the same
engine (``Engine.replay(..., engine=...)``), so following a live run costs O(new records) per
poll. Every connection is read-only: the driver writing the journal is never blocked.

**A study re-created under the same name is read anew.** Each look compares the journal with
what the snapshot has read (``rung.dashboard.guard``: the fingerprint of its first records, in
the same read transaction as the new records), and a study deleted and created again (``rm
runs/x.db; rung run spec.yaml``), or a journal cut or rewritten, drops the whole snapshot
(engine, fold, rows, the charts' answers) and replays the journal from its start, as on a first
look: never the old study, nor a mix of the two.

**No request waits for a replay.** A study with a usable snapshot of its pages
(``rung.dashboard.snapshot``: written by the run beside its journal, or by the dashboard into
its cache) is served from it at once; if the journal has grown since, the whole journal is
replayed in the background, without the lock (a snapshot holds no engine state to go on from:
``rung.dashboard.loading``), and replaces it once caught up. Without one, records are read and
replayed ``CHUNK`` at a time; a request replays a study that is behind for at most ``WAIT``
seconds (and one step), then a background thread replays on, one step per hold of the lock,
while requests are answered between two steps with what has been replayed so far. Either way
``loading`` in the study's JSON says how far (``Snapshot.loading``: the pages show it, as they
show a live run growing), at most one background replay runs per study however many requests
ask for it, and a finished study replayed in full gets the dashboard's own snapshot. A
100,000-trial journal (745,000 records) opens from its snapshot in about 0.4 CPU-seconds; its
replay takes about 15 (``benchmarks/RESULTS.md``, ``bench_dashboard``).

The JSON of the study list, overview and trial pages is ``rung.dashboard.pages``'s
(re-exported here).

**Pages cost O(page), not O(study).** The trials table is sorted, filtered and cut into pages
on the server (``trials(snap, query)``): the rows are built once per trial and rebuilt only for
the trials new records touched. The chart pages (``rung.dashboard.charts``, re-exported here)
send capped samples and say what they left out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from rung.analysis_frames import JournalFold
from rung.core.engine import Engine
from rung.core.records import StudySpec
from rung.dashboard._json import clean, jclean
from rung.dashboard._listing import StudyListing
from rung.dashboard.charts import (  # the chart pages, re-exported
    BEST_CURVES,
    BEST_PARALLEL,
    CHARTS,
    MAX_CURVES,
    MAX_PARALLEL,
    MAX_PARETO,
    MAX_RUNS,
    curves,
    front_ids,
    memo_key,
    memoized,
    parallel,
    pareto,
    rung_steps,
    sample,
    workers,
)
from rung.dashboard.guard import Rewritten, guard_of, read_on, read_records
from rung.dashboard.loading import BackgroundReading, engine_for, replay, twin
from rung.dashboard.pages import (  # the JSON of each page, re-exported
    detail,
    ended_early,
    overview,
    study_row,
    trial_detail,
)
from rung.dashboard.snapshot import (
    MIN_RECORDS,
    View,
    cache_path,
    default_cache_dir,
    header,
    view_path,
)
from rung.dashboard.snapshot import best as best_view
from rung.dashboard.snapshot import write as write_view
from rung.dashboard.table import trials
from rung.errors import ReplayDivergenceError, RungError
from rung.storage import SQLiteJournal

T = TypeVar("T")
log = logging.getLogger("rung.dashboard")
#: records read and replayed per step: one hold of the catalog's lock, which every request
#: takes (about 0.05 s; 20,000 made requests wait up to 0.6-1.5 s behind a background replay)
CHUNK = 2_000
#: seconds a request replays a study that is behind before a background thread replays on and
#: the request is answered with what has been replayed (1.0 left the page blank for ~2 s)
WAIT = 0.25
#: looks at a study that is re-created again and again while it is read, before giving up
ATTEMPTS = 3


@dataclass
class Snapshot:
    """A study as the dashboard serves it: replayed (``engine``, ``fold``), or read from a
    snapshot of its pages (``view``; ``engine`` is then ``None`` and ``fold`` holds only the
    number of records the snapshot covers) while the journal is replayed in the background
    (``rung.dashboard.loading``) if it has grown since."""

    name: str
    path: Path
    spec: StudySpec
    engine: Engine | None
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
    #: trials whose row shows a status that may still change (running, paused, ...): a
    #: scheduler stops a paused trial with no record naming it (``Scheduler.retired``)
    unsettled: set[int] = field(default_factory=set)
    #: trial ids in the order of the last sort: (n_records, column, descending) -> ids
    order: tuple[tuple[int, str, bool], list[int]] | None = None
    #: the last answer of each chart's endpoint, with the state it was computed from
    memo: dict[str, tuple[tuple[int, ...], dict[str, Any]]] = field(default_factory=dict)
    #: the snapshot served until the replay has caught up (``rung.dashboard.snapshot``)
    view: View | None = None
    #: records the background replay behind a view has replayed so far
    replayed: int = 0
    #: no usable snapshot was found when the study was opened (a full replay writes one)
    uncached: bool = False
    #: ``rung.dashboard.guard.guard`` of the journal's first ``fold.n_records`` records (the
    #: view's, while one is served): the journal must still start with them to be this study
    guard: str | None = None
    #: dropped: the journal no longer holds what it read (nothing replays into it any more)
    retired: bool = False
    #: the charts' incremental state (``rung.dashboard.charts``), kept with the fold it read
    parts: dict[str, Any] = field(default_factory=dict)
    #: the study's stored creation (``Journal.load_study``): who created it (``rung run``'s
    #: key, a tool's ``host``), for the state ``rung ls`` gives and ``rung show``'s notes
    stored: dict[str, Any] = field(default_factory=dict)

    @property
    def history(self) -> Any:
        if self.engine is None:
            raise RuntimeError("a snapshot's view has no history (its pages are stored)")
        return self.engine.history

    @property
    def loading(self) -> dict[str, Any] | None:
        """While the pages show fewer records than the journal holds: ``records``, those the
        pages show; ``total``, those in the journal; ``snapshot``, whether the pages are a
        stored snapshot's (``True``: the journal is replayed from its start behind them) or
        what has been replayed so far (``False``); ``replayed``, how far the replay has got
        (``records`` when ``snapshot`` is ``False``). ``None`` when the pages are up to date
        with the journal as last counted."""
        if self.fold.n_records >= self.total:
            return None
        shown = self.view is not None
        return {"records": self.fold.n_records, "total": self.total, "snapshot": shown,
                "replayed": self.replayed if shown else self.fold.n_records}


class Catalog(StudyListing, BackgroundReading):
    """The studies under ``storage`` (an SQLite journal, or a directory of ``*.db`` files),
    or just ``only`` if given."""

    def __init__(self, storage: str | Path, only: str | None = None,
                 cache_dir: Path | None = None, snapshots: bool = True) -> None:
        self.storage = Path(storage)
        self.only = only
        #: where the dashboard writes its own snapshots (``rung.dashboard.snapshot``)
        self.cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        #: False: never read nor write snapshots (always replay the journal)
        self.snapshots = snapshots
        self._cache: dict[tuple[Path, str], Snapshot] = {}
        self._lock = threading.RLock()
        #: each journal's studies, with the file's stamp when they were read (``_names``)
        self._names_at: dict[Path, tuple[tuple[Any, ...], tuple[list[str], str | None]]] = {}

    def view(self, name: str, fn: Callable[[Snapshot], T]) -> T:
        """``fn(snapshot(name))`` with the study held still. The server answers requests on
        several threads and a poll replays new records into the same engine in place, so a page
        is built under the same lock as the replay (else its loops over the history can see it
        change size)."""
        with self._lock:
            return fn(self.snapshot(name))

    def snapshot(self, key: str, wait: float | None = None) -> Snapshot:
        """The study ``key`` (see ``entries``) as of now (replaying only what was appended
        since last time). A replay that takes more than ``wait`` seconds (default ``WAIT``)
        goes on in a background thread and the snapshot is returned as far as it got
        (``Snapshot.loading``); a study served from a snapshot of its pages that the journal
        has outgrown is returned as that snapshot while the journal is replayed in the
        background (``rung.dashboard.loading``). Either way at most one background replay
        runs per study. A study whose journal no longer starts with what was read
        (re-created, cut, rewritten: ``rung.dashboard.guard``) is read anew from its start."""
        wait = WAIT if wait is None else wait
        name, path = self.resolve(key)
        with self._lock:
            for _ in range(ATTEMPTS - 1):
                try:
                    return self._look(name, path, wait)
                except Rewritten:  # read it anew, from the journal's start
                    self._retire(self._cache[(path, name)])
            return self._look(name, path, wait)

    def _look(self, name: str, path: Path, wait: float) -> Snapshot:
        """``snapshot``'s one look, under the lock; ``Rewritten`` if the journal is not the
        one the kept snapshot read (checked by every read, else by one ``guard``)."""
        snap = self._cache.get((path, name))
        with SQLiteJournal(path, readonly=True) as j:
            if snap is None:
                # the guard before the spec: a study re-created in between fails the first read
                ident = guard_of(path, name, 0)
                stored = j.load_study(name)
                spec = StudySpec.from_json(stored)
                auto = stored.get("auto")
                snap = Snapshot(name, path, spec, engine_for(spec), JournalFold(),
                                auto if isinstance(auto, str) else None, guard=ident,
                                stored=stored)
                if self.snapshots:
                    self._open_view(snap)
                self._cache[(path, name)] = snap
            elif ((snap.view is not None or snap.loader is not None)  # no read below: look
                  and guard_of(path, name, snap.fold.n_records) != snap.guard):
                raise Rewritten(f"{path}: study {name!r} was re-created")
            snap.total = j.count(name)
            snap.live = j.is_being_written(name)
        if snap.loader is not None:  # a background replay reads it: nothing more to do
            pass
        elif snap.view is not None:
            if snap.total > snap.fold.n_records:
                self.start(snap)
        else:
            # the first step even with no time to wait: it checks, in its read, that the
            # journal still starts with what was replayed (a study re-created)
            deadline = time.monotonic() + wait
            while self._step(snap):
                if time.monotonic() >= deadline:
                    self.start(snap)
                    break
            else:
                self._replayed(snap)
        snap.read_at = time.time()
        return snap

    def _retire(self, snap: Snapshot) -> None:
        """Drop ``snap``: its journal is not the one it read. Under the lock."""
        snap.retired = True
        if self._cache.get((snap.path, snap.name)) is snap:
            del self._cache[(snap.path, snap.name)]
        if snap.view is not None:
            snap.view.close()
        log.info("dashboard: %s was re-created or rewritten; reading it anew", snap.name)

    def _open_view(self, snap: Snapshot) -> None:
        """Serve ``snap`` from the best usable snapshot of its pages, if there is one: the
        run's beside the journal, or the dashboard's own in its cache directory."""
        paths = [view_path(snap.path, snap.name), cache_path(self.cache_dir, snap.path,
                                                             snap.name)]
        view = best_view(paths, snap.path, snap.name)
        if view is None:
            snap.uncached = True
            return
        snap.view = view
        snap.engine = None
        snap.fold = JournalFold(n_records=view.n_records)
        snap.guard = guard_of(snap.path, snap.name, view.n_records)
        snap.rows = view.rows
        key = memo_key(view.n_records)
        for name in CHARTS:
            snap.memo[name] = (key, view.pages[name])
        log.info("dashboard: %s opened from a snapshot of its first %d records", snap.name,
                 view.n_records)

    def _step(self, snap: Snapshot) -> bool:
        """Replay up to ``CHUNK`` more records of ``snap`` (replayed, not served from a view);
        True if there may be more. Under the lock. ``Rewritten`` if the journal no longer
        starts with what ``snap`` read."""
        check = (snap.fold.n_records, snap.guard)
        new, after, more = read_on(snap.path, snap.name, snap.fold.n_records, CHUNK, check)
        if not new:
            return False
        try:
            snap.engine = replay(snap.spec, new, snap.engine)
        except RungError as e:  # start over from the whole journal
            if isinstance(e, ReplayDivergenceError):  # read as written from the start
                log.info("dashboard: %s diverged after its first records; reading it again "
                         "as written", snap.name)
            else:  # should not happen
                log.exception("dashboard: replaying %s failed; reading it again", snap.name)
            new, after, more = read_on(snap.path, snap.name, 0, None, check)
            snap.engine = replay(snap.spec, new, None)
            snap.fold = JournalFold()
            snap.rows.clear()
            snap.texts.clear()
            snap.dirty = set(snap.engine.history)
        snap.fold.update(new)
        snap.guard = after
        for r in new:
            tid = getattr(r, "trial_id", None)
            if tid is not None:
                snap.dirty.add(tid)
        snap.total = max(snap.total, snap.fold.n_records)
        return more

    def _replayed(self, snap: Snapshot) -> None:
        """Write the dashboard's own snapshot of ``snap``, if due: ``snap`` has been replayed
        to the journal's end, it is finished (no driver writes it), it had no usable snapshot,
        and it has at least ``MIN_RECORDS`` records. Called by the background thread, with
        ``snap.loader`` set (no request replays meanwhile), or by a request that replayed
        the study itself within ``WAIT`` (under the lock: such a study is small, and its
        snapshot takes a fraction of its replay's time): the pages are computed on
        a ``twin``. Not written when the run's own snapshot beside the journal, written since
        the study was opened (its run ended meanwhile), covers as much. A snapshot written
        while the study was re-created is removed again. Never raises."""
        with self._lock:
            if not (self.snapshots and snap.uncached and not snap.live and not snap.retired
                    and snap.view is None and snap.fold.n_records >= MIN_RECORDS):
                return
            copy = twin(snap)
        own = header(view_path(snap.path, snap.name), snap.path, snap.name, quiet=True)
        if own is not None and int(own["n_records"]) >= copy.fold.n_records:
            snap.uncached = False  # the run's own snapshot, written since: no second copy
            return
        out = cache_path(self.cache_dir, snap.path, snap.name)
        try:
            if write_view(out, copy):
                snap.uncached = False
                if guard_of(snap.path, snap.name, copy.fold.n_records) != copy.guard:
                    out.unlink(missing_ok=True)  # another study's pages now
        except Exception:
            log.warning("dashboard: could not write a snapshot of %s into %s", snap.name,
                        self.cache_dir, exc_info=True)


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
    "detail",
    "ended_early",
    "front_ids",
    "jclean",
    "memoized",
    "overview",
    "parallel",
    "pareto",
    "read_records",
    "rung_steps",
    "sample",
    "study_row",
    "trial_detail",
    "trials",
    "workers",
]
