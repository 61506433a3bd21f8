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

**Large journals open from a snapshot.** A study with a usable snapshot of its pages
(``rung.dashboard.snapshot``: written by the run beside its journal, or by the dashboard into
its cache) is served from it at once; if the journal has grown since, the whole journal is
replayed in the background (a snapshot holds no engine state to go on from) and replaces it
once caught up. Without one, records are read and replayed ``CHUNK`` at a time; a request
waits at most ``WAIT`` seconds for a study to catch up, and a study still behind then is
replayed on by a background thread while requests are answered with what has been replayed
so far (``loading`` in the study's JSON says how far: the pages show it, as they show a live
run growing); a finished study replayed in full gets the dashboard's own snapshot. A
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
    view_path,
)
from rung.dashboard.snapshot import best as best_view
from rung.dashboard.snapshot import write as write_view
from rung.dashboard.table import refresh_rows, trials
from rung.errors import ReplayDivergenceError, RungError
from rung.storage import SQLiteJournal

T = TypeVar("T")
log = logging.getLogger("rung.dashboard")
#: records read and replayed per step
CHUNK = 20_000
#: seconds a request waits for a study to catch up before it is answered with what is loaded
WAIT = 1.0
#: looks at a study that is re-created again and again while it is read, before giving up
ATTEMPTS = 3


@dataclass
class Snapshot:
    """A study as the dashboard serves it: replayed (``engine``, ``fold``), or read from a
    snapshot of its pages (``view``; ``engine`` is then ``None`` and ``fold`` holds only the
    number of records the snapshot covers) while the journal is replayed in the background
    (``shadow``) if it has grown since."""

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
    #: the replay going on behind a view: its engine and fold
    shadow: tuple[Engine, JournalFold] | None = None
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
    def loading(self) -> dict[str, int] | None:
        """``{"records": replayed, "total": in the journal}`` while the replay is behind."""
        if self.fold.n_records >= self.total:
            return None
        return {"records": self.fold.n_records, "total": self.total}


class Catalog(StudyListing):
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

    def snapshot(self, key: str, wait: float = WAIT) -> Snapshot:
        """The study ``key`` (see ``entries``) as of now (replaying only what was appended
        since last time). A replay that takes more than ``wait`` seconds goes on in a
        background thread and the snapshot is returned as far as it got
        (``Snapshot.loading``). A study whose journal no longer starts with what was read
        (re-created, cut, rewritten: ``rung.dashboard.guard``) is read anew from its start."""
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
                snap = Snapshot(name, path, spec, _engine(spec), JournalFold(),
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
        if snap.view is not None:
            if snap.total > snap.fold.n_records and snap.loader is None:
                snap.loader = threading.Thread(target=self._load, args=(snap,),
                                               name=f"replay {name}", daemon=True)
                snap.loader.start()
        elif snap.loader is None:
            deadline = time.monotonic() + wait
            while self._step(snap):
                if time.monotonic() > deadline:
                    snap.loader = threading.Thread(target=self._load, args=(snap,),
                                                   name=f"replay {name}", daemon=True)
                    snap.loader.start()
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
        """Replay up to ``CHUNK`` more records of ``snap``; True if there may be more. Behind
        a snapshot's view, into the shadow replay, which takes the view's place once it has
        caught up. ``Rewritten`` if the journal no longer starts with what ``snap`` read."""
        if snap.view is not None:
            return self._shadow_step(snap)
        check = (snap.fold.n_records, snap.guard)
        new, after, more = read_on(snap.path, snap.name, snap.fold.n_records, CHUNK, check)
        if not new:
            return False
        try:
            snap.engine = _replay(snap.spec, new, snap.engine)
        except RungError as e:  # start over from the whole journal
            if isinstance(e, ReplayDivergenceError):  # read as written from the start
                log.info("dashboard: %s diverged after its first records; reading it again "
                         "as written", snap.name)
            else:  # should not happen
                log.exception("dashboard: replaying %s failed; reading it again", snap.name)
            new, after, more = read_on(snap.path, snap.name, 0, None, check)
            snap.engine = _replay(snap.spec, new, None)
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

    def _shadow_step(self, snap: Snapshot) -> bool:
        """Replay a chunk of the journal behind ``snap``'s view (from the start: a snapshot
        holds no engine state to go on from); once it has caught up with the journal, it
        replaces the view. Every read checks the journal still holds the view's records."""
        assert snap.view is not None
        if snap.shadow is None:
            snap.shadow = (_engine(snap.spec), JournalFold())
        engine, jf = snap.shadow
        check = (snap.fold.n_records, snap.guard)
        new, after, _ = read_on(snap.path, snap.name, jf.n_records, CHUNK, check)
        if new:
            try:
                engine = _replay(snap.spec, new, engine)
            except ReplayDivergenceError:  # read as written: again from the start
                new, _, _ = read_on(snap.path, snap.name, 0, jf.n_records + len(new), check,
                                    whole_turns=False)
                engine, jf = _replay(snap.spec, new, None), JournalFold()
            snap.shadow = (engine, jf.update(new))
            return True
        snap.view.close()
        snap.view = None
        snap.uncached = True  # the snapshot was behind the journal
        snap.engine, snap.fold, snap.guard = engine, jf, after
        snap.shadow = None
        snap.rows = {}
        snap.texts = {}
        snap.dirty = set(engine.history)
        snap.order = None
        snap.total = max(snap.total, jf.n_records)
        return False

    def _load(self, snap: Snapshot) -> None:
        """The background replay of a large journal: a chunk at a time, under the lock, until
        it has caught up or ``snap`` is retired."""
        try:
            while True:
                with self._lock:
                    if snap.retired:
                        break
                    more = self._step(snap)
                if not more:
                    with self._lock:  # the trials table's rows, before anyone asks
                        refresh_rows(snap)
                    # (outside the lock: requests are answered meanwhile, and nothing
                    # replays while this loader is set)
                    self._replayed(snap)
                    break
                time.sleep(0.001)  # let waiting requests take the lock
        except Rewritten:  # the next request reads the study anew
            with self._lock:
                self._retire(snap)
        except Exception as e:  # shown on the page; the next request tries again
            log.exception("dashboard: replaying %s failed", snap.name)
            snap.error = f"{type(e).__name__}: {e}"
        finally:
            with self._lock:
                snap.loader = None

    def _replayed(self, snap: Snapshot) -> None:
        """``snap`` has been replayed up to the journal's end: a finished study of at least
        ``MIN_RECORDS`` records that had no usable snapshot gets the dashboard's own, which
        the next open reads instead of replaying. Called under the lock, or by the loader
        (while ``snap.loader`` is set no request replays, so the study holds still). A
        snapshot written while the study was re-created is removed again. Never raises."""
        if not (self.snapshots and snap.uncached and not snap.live and not snap.retired
                and snap.fold.n_records >= MIN_RECORDS):
            return
        out = cache_path(self.cache_dir, snap.path, snap.name)
        try:
            if write_view(out, snap):
                snap.uncached = False
                if guard_of(snap.path, snap.name, snap.fold.n_records) != snap.guard:
                    out.unlink(missing_ok=True)  # another study's pages now
        except Exception:
            log.warning("dashboard: could not write a snapshot of %s into %s", snap.name,
                        self.cache_dir, exc_info=True)


def _engine(spec: StudySpec) -> Engine:
    """An engine for ``spec`` built only to read its journal: components that name user code
    this process cannot import (a PBT ``explore=`` in the creating script) bind all the same
    (``rung.study_resume.reading_journal``)."""
    from rung.study_resume import reading_journal

    with reading_journal():
        return Engine.from_spec(spec)


def _replay(spec: StudySpec, records: list[Any], engine: Engine | None) -> Engine:
    """``Engine.replay`` of ``records`` (onto ``engine``, else a new one), only to read them
    (``_engine``): the engine replayed, to use from now on. A journal whose replay diverges
    (another algorithm version wrote it) is read as written (``rung.core.as_written``: its
    ``read_as_written`` says so), on a new engine when it diverges in the first records
    replayed onto ``engine``; when it diverges in later ones, ``ReplayDivergenceError``:
    replay the whole journal onto a new engine."""
    from rung.study_resume import reading_journal

    with reading_journal():
        return Engine.replay(spec, records, engine=engine, as_written=True)

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
