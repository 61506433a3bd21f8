"""Reading a study's journal in the background, so that no request waits for a replay.

``BackgroundReading`` is a part of ``rung.dashboard.data.Catalog``, split out to keep one idea
per file: it reads the catalog's ``_lock``, ``snapshots`` and ``cache_dir`` and calls its
``_step``, ``_retire`` and ``_replayed`` (all set by ``Catalog``). A request that finds a study
behind its journal (``Catalog._look``, under the catalog's lock) starts at most one background
replay per study (``start``: ``Snapshot.loader`` is set under the lock, and a request that finds
it set starts none and replays nothing itself), and is answered at once with what is there:

- **behind a snapshot's view** (a stored snapshot of the pages older than the journal: the run
  went on, or the dashboard's own cache is behind): the view is served, marked ``loading``,
  while the whole journal is replayed into an engine of its own (``_behind_view``). A snapshot
  holds the pages, not the engine's state (the scheduler's rung tables, the searcher's, the
  trials' histories), and what a page shows of the new records depends on that state (a
  decision's rank at its rung, a trial the scheduler retired with no record naming it), so the
  new records cannot be folded into the stored pages exactly: the journal is replayed from its
  start. (Storing that state in the snapshot, pickled, would save little: 1.6 s to load it
  against 3.8 s to read, replay and fold the 222,849 records it stands for, and unpickling a
  file found beside a journal runs whatever code the file names.) That replay, and the trials
  table's rows of its result, hold **no lock**: nothing reads that engine until it has caught
  up, when it replaces the view in one step under the lock (other requests wait 0.18-0.28 s at
  most meanwhile, measured on a 30,000-trial study of 222,849 records on two busy cores).
- **without a usable snapshot**: the study is replayed in place ``CHUNK`` records per hold of
  the lock (``_progressively``), so requests are answered between two steps with the pages of
  what has been replayed so far, marked ``loading``; its table's rows are then built ``ROWS`` at
  a time the same way.

Once a finished study of ``MIN_RECORDS`` records or more that had no usable snapshot has been
replayed in full, the dashboard writes its own snapshot into its cache directory
(``Catalog._replayed``), from a copy of the study's bookkeeping (``twin``: its rows, the charts'
memos and incremental state) so that the requests answered meanwhile and the writer never
change the same dicts; while it writes, ``loader`` stays set and no request replays into the
engine the writer reads.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rung.analysis_frames import JournalFold
from rung.core.engine import Engine
from rung.core.records import StudySpec
from rung.dashboard.guard import Rewritten, read_on
from rung.dashboard.table import refresh_rows
from rung.errors import ReplayDivergenceError

if TYPE_CHECKING:
    from rung.dashboard.data import Snapshot

log = logging.getLogger("rung.dashboard")

#: records read at a time by the replay behind a snapshot's view (it holds no lock)
READ_BEHIND = 20_000
#: trials table rows built per hold of the catalog's lock once a study has been replayed
ROWS = 2_000


class BackgroundReading:
    """``Catalog``'s background replays (see the module docstring)."""

    # ``Catalog``'s state and methods, as these methods use them
    snapshots: bool
    cache_dir: Path
    _lock: threading.RLock
    _step: Callable[[Snapshot], bool]
    _retire: Callable[[Snapshot], None]
    _replayed: Callable[[Snapshot], None]

    def start(self, snap: Snapshot) -> None:
        """Read ``snap`` on in a background thread (``_load``), unless one already does.
        Called under the catalog's lock: this is what keeps concurrent requests for a study
        from starting two replays of it."""
        if snap.loader is not None:
            return
        snap.loader = threading.Thread(target=self._load, args=(snap,),
                                       name=f"replay {snap.name}", daemon=True)
        snap.loader.start()

    def _load(self, snap: Snapshot) -> None:
        """The background replay of ``snap`` (the thread ``start`` starts), to its end: behind
        its view if it is served from one, else in place; then the dashboard's own snapshot
        if one is due. A journal re-created meanwhile retires ``snap`` (the next request reads
        it anew); another failure is shown on its pages (``Snapshot.error``) and the next
        request tries again."""
        try:
            if snap.view is not None:
                self._behind_view(snap)
            else:
                self._progressively(snap)
            self._replayed(snap)
        except Rewritten:
            with self._lock:
                self._retire(snap)
        except Exception as e:
            log.exception("dashboard: replaying %s failed", snap.name)
            snap.error = f"{type(e).__name__}: {e}"
        finally:
            with self._lock:
                snap.loader = None

    def _progressively(self, snap: Snapshot) -> None:
        """Replay ``snap`` in place, ``CHUNK`` records per hold of the lock, then build its
        table's rows ``ROWS`` at a time: a request waits at most one step."""
        more = True
        while more:
            with self._lock:
                if snap.retired:
                    return
                more = self._step(snap)
            time.sleep(0.001)  # let waiting requests take the lock
        while True:
            with self._lock:
                if snap.retired or not refresh_rows(snap, ROWS):
                    return
            time.sleep(0.001)

    def _behind_view(self, snap: Snapshot) -> None:
        """Replay the whole journal of ``snap`` into an engine of its own while its view is
        served, without the lock (every read checks that the journal still starts with the
        view's records); once it has caught up, build its rows, still without the lock, and
        put it in the view's place under the lock. ``Snapshot.replayed`` says how far it got."""
        assert snap.view is not None
        spec = snap.spec
        check = (snap.fold.n_records, snap.guard)  # the view's: fixed while it is served
        engine, jf = engine_for(spec), JournalFold()
        while not snap.retired:
            new, after, _ = read_on(snap.path, snap.name, jf.n_records, READ_BEHIND, check)
            if new:
                try:
                    engine = replay(spec, new, engine)
                except ReplayDivergenceError:  # read as written: again from the start
                    new, _, _ = read_on(snap.path, snap.name, 0, jf.n_records + len(new),
                                        check, whole_turns=False)
                    engine, jf = replay(spec, new, None), JournalFold()
                jf.update(new)
                snap.replayed = jf.n_records
                continue
            fresh = dataclasses.replace(snap, engine=engine, fold=jf, guard=after, view=None,
                                        rows={}, texts={}, dirty=set(engine.history),
                                        unsettled=set(), order=None, memo={}, parts={},
                                        loader=None)
            refresh_rows(fresh)
            with self._lock:
                if snap.retired:
                    return
                assert snap.view is not None
                snap.view.close()
                snap.view = None
                snap.uncached = True  # the snapshot was behind the journal
                for f in ("engine", "fold", "guard", "rows", "texts", "dirty", "unsettled",
                          "order", "memo", "parts"):
                    setattr(snap, f, getattr(fresh, f))
                snap.total = max(snap.total, jf.n_records)
            return


def twin(snap: Snapshot) -> Snapshot:
    """``snap`` with the same engine and fold (read only) and its own rows, memos and charts'
    state, so that computing pages on it changes nothing requests read. Under the lock."""
    return dataclasses.replace(snap, rows=dict(snap.rows), texts=dict(snap.texts),
                               dirty=set(snap.dirty), unsettled=set(snap.unsettled),
                               order=None, memo={}, parts={}, loader=None)


def engine_for(spec: StudySpec) -> Engine:
    """An engine for ``spec`` built only to read its journal: components that name user code
    this process cannot import (a PBT ``explore=`` in the creating script) bind all the same
    (``rung.study_resume.reading_journal``)."""
    from rung.study_resume import reading_journal

    with reading_journal():
        return Engine.from_spec(spec)


def replay(spec: StudySpec, records: list[Any], engine: Engine | None) -> Engine:
    """``Engine.replay`` of ``records`` (onto ``engine``, else a new one), only to read them
    (``engine_for``): the engine replayed, to use from now on. A journal whose replay diverges
    (another algorithm version wrote it) is read as written (``rung.core.as_written``: its
    ``read_as_written`` says so), on a new engine when it diverges in the first records
    replayed onto ``engine``; when it diverges in later ones, ``ReplayDivergenceError``:
    replay the whole journal onto a new engine."""
    from rung.study_resume import reading_journal

    with reading_journal():
        return Engine.replay(spec, records, engine=engine, as_written=True)


__all__ = ["READ_BEHIND", "ROWS", "BackgroundReading", "engine_for", "replay", "twin"]
