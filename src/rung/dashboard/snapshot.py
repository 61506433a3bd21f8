"""A snapshot of the dashboard's pages over a study, so that opening a large journal does not
replay it: every page's answer as of the journal's first ``n_records`` records (the overview,
the trials table's rows, each trial's detail, the charts), with a fingerprint of that prefix.

**Only a cache.** The journal stays the truth (DESIGN §1.3): a snapshot is used only when it is
well-formed, written by this rung version in this format with the charts' current caps, for
the same study, and the journal still holds the records it covers (``fingerprint``: the study's
spec text and creation time, the count, and ``SAMPLES`` records at evenly spaced positions, the
first and the last covered included). Anything else (missing, unreadable, corrupt, another
version, a truncated or rewritten journal) is logged and ignored, and the journal is replayed as
without it. The answers are computed by the pages' own functions (``rung.dashboard.data``,
``.charts``, ``.table``) over the replayed state, so a page read from a snapshot is the page a
replay of those records gives (tests compare every page). A snapshot holds no engine state, so
records appended after it cannot be replayed onto it: ``rung.dashboard.data`` then shows the
snapshot at once and replays the whole journal in the background, switching over once it has
caught up.

**Who writes it.** The run (``RunWriter``, called by ``rung.driver.drive``) has it written
beside its SQLite journal (``view_path``: ``<db file>.<study>.view``) by a process of its own
(``rung.dashboard.snapshot_job``: it replays the journal read-only, as the dashboard does), at
the end of a run and, during a long run, whenever the journal has doubled since the last
snapshot (so writing them costs O(records) over the run), for journals of at least
``MIN_RECORDS`` records only (a smaller one replays in well under a second). The dashboard
writes the same file into its own cache directory (``cache_path``: it writes no snapshot
beside a journal, which it opens read-only; SQLite itself may leave the journal's empty
``-wal`` / ``-shm`` files there) after replaying a finished study that had no usable
snapshot (written by an older rung, or by ask/tell). Both write a temporary file and rename
it over the old one: a reader never sees half a file, and a reader that holds the old one
open keeps reading the old one.

**Format** (``FORMAT``): a header, one line of JSON (format, rung version, study,
``n_records``, fingerprint, caps, the length of the front, and the details' length and CRC-32,
checked at open); the front, zlib-compressed JSON (the pages' answers, the table's rows as
columns, the byte offset of each trial's detail); then each trial's detail, zlib-compressed
JSON, read on demand by seeking to it (a 100,000-trial study's details are most of the file
and never parsed at open; 109 MB of JSON, 37 MB compressed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rung.core.versions import RUNG_VERSION

if TYPE_CHECKING:
    from rung.core.engine import Engine
    from rung.dashboard.data import Snapshot
    from rung.dashboard.snapshot_job import Job
    from rung.storage.base import Journal

log = logging.getLogger("rung.dashboard")

#: the snapshot format; a file in another format is ignored (14: the table's ``last_step`` and
#: ``slot`` columns, a detail's ``last_step``, the charts' ``trial_id`` / ``trial_ids``)
FORMAT = 14
#: journals shorter than this get no snapshot (their replay takes well under a second)
MIN_RECORDS = 20_000
#: records sampled (evenly spaced, the first and last covered included) by ``fingerprint``
SAMPLES = 64
#: the page answers a snapshot holds besides the charts (``charts.CHARTS``)
PAGES = ("study_row", "overview")
#: keys of ``study_row`` / ``overview`` that say how the study is served now, not what it holds
LIVE_KEYS = ("path", "live", "loading", "error")


class SnapshotError(ValueError):
    """A snapshot that must not be used (the message says why)."""


@dataclass
class View:
    """A snapshot opened for serving: the pages' answers after the first ``n_records``
    records, the table's rows, and each trial's detail read from the open file on demand."""

    n_records: int
    pages: dict[str, dict[str, Any]]
    table: dict[str, Any]
    rows: dict[int, dict[str, Any]]
    offsets: list[int]
    file: IO[bytes]
    base: int
    lock: threading.Lock = field(default_factory=threading.Lock)

    def detail(self, trial_id: int) -> dict[str, Any]:
        """The trial's detail page (``KeyError`` if the study has no such trial)."""
        if not 0 <= trial_id < len(self.offsets) - 1:
            raise KeyError(trial_id)
        start, end = self.offsets[trial_id], self.offsets[trial_id + 1]
        with self.lock:
            self.file.seek(self.base + start)
            blob = self.file.read(end - start)
        out: dict[str, Any] = json.loads(zlib.decompress(blob))
        return out

    def close(self) -> None:
        self.file.close()


# --- where ---------------------------------------------------------------------------------
def _file_name(db_name: str, study: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in study)
    name = f"{db_name}.{safe}.view"
    if len(os.fsencode(name)) <= 255:
        return name
    digest = hashlib.sha256(f"{db_name}\0{study}".encode("utf-8", "surrogateescape"))
    return f".rung-{digest.hexdigest()[:32]}.view"


def view_path(db: Path, study: str) -> Path:
    """The snapshot a run writes beside its SQLite journal ``db``."""
    return db.with_name(_file_name(db.name, study))


def default_cache_dir() -> Path:
    """``$RUNG_DASHBOARD_CACHE``, else ``$XDG_CACHE_HOME/rung/dashboard`` (``~/.cache/...``)."""
    env = os.environ.get("RUNG_DASHBOARD_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rung" / "dashboard"


def cache_path(cache_dir: Path, db: Path, study: str) -> Path:
    """The dashboard's own snapshot of ``study`` in journal ``db``, under ``cache_dir``."""
    key = hashlib.sha256(f"{db.absolute()}\0{study}".encode("utf-8", "surrogateescape"))
    return cache_dir / f"{key.hexdigest()[:32]}.view"


# --- the fingerprint of a journal's prefix ----------------------------------------------------
def fingerprint(conn: sqlite3.Connection, study: str, n_records: int) -> str | None:
    """A digest of study ``study``'s spec text, creation time and ``SAMPLES`` of its first
    ``n_records`` records (evenly spaced by sequence number, the first and the last
    included), or ``None`` when the journal holds fewer than ``n_records`` records of it (it
    was truncated). A study deleted and created again has another creation time; a journal
    rewritten, or cut and appended to again, differs in the sampled records. (A record edited
    in place between two samples is not seen: reading every record back would cost about as
    much as decoding them, which is what a snapshot saves.)"""
    row = conn.execute("SELECT spec, created FROM study WHERE name = ?", (study,)).fetchone()
    if row is None or n_records <= 0:
        return None
    top = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM record WHERE study = ?",
                       (study,)).fetchone()[0]
    if int(top) < n_records:
        return None
    k = min(SAMPLES, n_records)
    seqs = sorted({1 + (j * (n_records - 1)) // max(k - 1, 1) for j in range(k)})
    marks = ",".join("?" * len(seqs))
    rows = conn.execute(
        f"SELECT seq, kind, body FROM record WHERE study = ? AND seq IN ({marks}) ORDER BY seq",
        (study, *seqs)).fetchall()
    if [r[0] for r in rows] != seqs:
        return None  # a gap: not the journal the snapshot was taken of
    h = hashlib.sha256()
    h.update(f"{row[0]}\0{row[1]!r}\0{n_records}".encode())
    for seq, kind, body in rows:
        h.update(f"\0{seq}\0{kind}\0{body}".encode())
    return h.hexdigest()


def connect_readonly(db: Path) -> sqlite3.Connection:
    """A connection to the SQLite journal ``db`` that cannot write and never blocks a writer,
    opened as a read-only ``SQLiteJournal`` opens it (``rung.storage.sqlite_reader``): the
    last one to close a finished journal leaves no ``-wal`` / ``-shm`` beside it."""
    from rung.storage.sqlite_reader import reader_uri

    uri, query_only = reader_uri(Path(os.path.realpath(db)))
    conn = sqlite3.connect(uri, uri=True)
    if query_only:
        conn.execute("PRAGMA query_only=1")
    return conn


def _caps() -> list[int]:
    from rung.dashboard.charts import memo_key

    return list(memo_key(0)[1:])


# --- writing ---------------------------------------------------------------------------------
def write(path: Path, snap: Snapshot) -> bool:
    """Snapshot the pages of ``snap`` (a study replayed up to its first
    ``snap.fold.n_records`` records) to ``path``; False (and nothing written) if its journal no
    longer holds those records or the study has no records."""
    from rung.dashboard import charts, data, table

    n = snap.fold.n_records
    with closing(connect_readonly(snap.path)) as conn:
        fp = fingerprint(conn, snap.name, n)
    if fp is None:
        return False
    h = snap.history
    pages: dict[str, dict[str, Any]] = {}
    for name in PAGES:
        out = getattr(data, name)(snap)
        pages[name] = {k: v for k, v in out.items() if k not in LIVE_KEYS}
    for name in charts.CHARTS:
        pages[name] = getattr(charts, name)(snap)
    table.refresh_rows(snap)
    meta = table.meta(snap)
    cols = meta["columns"]
    ids = list(h)
    assert ids == list(range(len(ids))), "trial ids are dense"
    rows = {c: [snap.rows[t].get(c) for t in ids] for c in cols}
    by_trial: dict[int, list[Any]] = {}
    for d in snap.fold.decisions:
        by_trial.setdefault(d.trial_id, []).append(d)
    blobs: list[bytes] = []
    offsets: list[int] = [0]
    crc = 0
    for t in ids:
        blob = zlib.compress(_dumps(data.detail(snap, t, by_trial.get(t, []))).encode(), 1)
        crc = zlib.crc32(blob, crc)
        offsets.append(offsets[-1] + len(blob))
        blobs.append(blob)
    front = zlib.compress(_dumps({"pages": pages, "table": meta, "rows": rows,
                                  "offsets": offsets}).encode(), 1)
    header = {"format": FORMAT, "rung": RUNG_VERSION, "study": snap.name, "n_records": n,
              "fingerprint": fp, "caps": _caps(), "front": len(front),
              "details": {"bytes": offsets[-1], "crc32": crc}}
    save(path, [(_dumps(header) + "\n").encode(), front, *blobs])
    return True


def _dumps(x: Any) -> str:
    return json.dumps(x, separators=(",", ":"), allow_nan=False)


def save(path: Path, chunks: list[bytes]) -> None:
    """Write ``chunks`` to ``path`` atomically (a temporary file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.writelines(chunks)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- reading ---------------------------------------------------------------------------------
def header(path: Path, db: Path, study: str, quiet: bool = False) -> dict[str, Any] | None:
    """The header of the snapshot at ``path`` if it may be used for ``study`` in the journal
    ``db`` now (see the module's docstring); ``None`` (and, unless ``quiet``, a log line
    saying why, unless there is no file) if not."""
    try:
        with path.open("rb") as f:
            head = json.loads(f.readline())
        if not isinstance(head, dict):
            raise SnapshotError("not a snapshot")
        if head.get("format") != FORMAT or head.get("rung") != RUNG_VERSION:
            raise SnapshotError(f"format {head.get('format')!r} of rung {head.get('rung')!r}")
        if head.get("study") != study:
            raise SnapshotError(f"of study {head.get('study')!r}")
        if head.get("caps") != _caps():
            raise SnapshotError("written with other caps on the charts")
        n = int(head["n_records"])
        with closing(connect_readonly(db)) as conn:
            fp = fingerprint(conn, study, n)
        if fp is None or fp != head.get("fingerprint"):
            raise SnapshotError(f"the journal no longer starts with the {n} records it covers")
        return head
    except FileNotFoundError:
        return None
    except Exception as e:  # a cache: anything wrong with it means replaying the journal
        if not quiet:
            _ignored(path, e)
        return None


def _ignored(path: Path, e: Exception) -> None:
    why = str(e) if isinstance(e, SnapshotError) else f"{type(e).__name__}: {e}"
    log.warning("dashboard: snapshot %s not used (%s): replaying the journal", path, why)


def open_view(path: Path, db: Path, study: str) -> View | None:
    """The snapshot at ``path``, opened for serving, if it may be used (``header``)."""
    head = header(path, db, study)
    if head is None:
        return None
    try:
        f = path.open("rb")
    except OSError as e:
        _ignored(path, e)
        return None
    try:
        if json.loads(f.readline()) != head:
            raise SnapshotError("replaced while it was read")
        front = json.loads(zlib.decompress(f.read(int(head["front"]))))
        base = f.tell()
        table = front["table"]
        cols: list[str] = table["columns"]
        columns = front["rows"]
        rows = {i: dict(zip(cols, vals, strict=True))
                for i, vals in enumerate(zip(*(columns[c] for c in cols), strict=True))}
        offsets = [int(x) for x in front["offsets"]]
        _check_details(f, base, head["details"])
        if len(offsets) != len(rows) + 1 or len(rows) != table["total"]:
            raise SnapshotError("malformed: rows and details disagree")
        pages = front["pages"]
        if not isinstance(pages, dict) or not all(isinstance(pages[k], dict) for k in pages):
            raise SnapshotError("malformed pages")
        return View(int(head["n_records"]), pages, table, rows, offsets, f, base)
    except Exception as e:
        f.close()
        _ignored(path, e)
        return None


def _check_details(f: IO[bytes], base: int, want: Mapping[str, Any]) -> None:
    """The details after ``base`` are the bytes the snapshot was written with (their length
    and CRC-32: a file cut short or damaged is not served; about 0.1 s per 100 MB)."""
    crc, n = 0, 0
    f.seek(base)
    while chunk := f.read(1 << 20):
        crc = zlib.crc32(chunk, crc)
        n += len(chunk)
    if n != want["bytes"] or crc != want["crc32"]:
        raise SnapshotError("damaged: its trial details are not the bytes it was written with")
    f.seek(base)


def best(paths: list[Path], db: Path, study: str) -> View | None:
    """Of the snapshots at ``paths``, the usable one covering the most records, opened."""
    heads = [(h["n_records"], p) for p in paths if (h := header(p, db, study)) is not None]
    for _, p in sorted(heads, key=lambda x: -x[0]):
        view = open_view(p, db, study)
        if view is not None:
            return view
    return None


# --- the run's side --------------------------------------------------------------------------
class RunWriter:
    """Has the snapshot of a run's study written beside its SQLite journal
    (``rung.driver.drive`` calls ``after_turn`` after every turn and ``at_end`` once the run
    has ended) by a process of its own (``rung.dashboard.snapshot_job``), so that the run
    never waits for it and holds none of the dashboard's state in memory.

    ``after_turn`` costs a clock read, except every ``CHECK_EVERY`` seconds, when it counts the
    journal's records: a snapshot is due once the journal has at least ``MIN_RECORDS`` records
    and has doubled since the last one (``covered``: at a run's first check, the records the
    snapshot already beside the journal covers, if ``header`` finds it usable, so that a
    resumed study's up-to-date snapshot is not written again). ``at_end`` starts one if
    records were appended since. A due snapshot starts a job (``launch``, default
    ``rung.dashboard.snapshot_job.start``: a detached, low-priority process; the check only
    starts it, in milliseconds) unless one is running: at most one per writer at a time, a
    due snapshot waits for the running job to end and is started at a later check; at the
    end, a running job that started before the last records is stopped and one for the whole
    journal started instead. Nothing waits for a job (``wait`` does, for callers that want
    to): the run's process reaps each when it ends and leaves one still running at its exit
    to finish on its own; a reader that finds no snapshot, or one behind the journal,
    replays the journal, which is correct, only slower. Never raises: a job that cannot be
    started or fails is logged (one warning per writer) and left out (the journal is the
    truth). ``RUNG_DASHBOARD_SNAPSHOTS=0`` in the environment turns it off.

    Cost, to the run: a record count every ``CHECK_EVERY`` seconds and, per snapshot, a
    process started (a few ms); its driver's memory and pace are those of a run without
    snapshots. The job costs what the dashboard's replay of the journal does, in its own
    process at ``nice`` 10 beside the run: the last one of a simulated 100,000-trial run
    (745,084 records) 24 CPU-s and 700 MB, the mid-run ones about as much again; and while
    it reads, SQLite cannot restart the journal's write-ahead log, which grows (121 MB in
    that run; removed when the journal is closed). Measured in docs/dashboard.md."""

    CHECK_EVERY = 10.0

    def __init__(self, journal: Journal, study: str, clock: Callable[[], float] = time.monotonic,
                 launch: Callable[[Path, str], Job] | None = None) -> None:
        db = getattr(journal, "path", None)
        off = os.environ.get("RUNG_DASHBOARD_SNAPSHOTS", "1") == "0"
        self.db = db if isinstance(db, Path) and callable(getattr(journal, "count", None)) \
            and not off else None
        self.journal = journal
        self.study = study
        #: records the snapshot beside the journal covers (``None``: not looked at yet)
        self.covered: int | None = None
        self.clock = clock
        self.checked = clock()
        self.launch = launch
        #: the running job, and the journal's records when it was started
        self.job: Job | None = None
        self.job_records = 0
        self._warned = False

    def after_turn(self, engine: Engine) -> None:
        if self.db is None or self.clock() - self.checked < self.CHECK_EVERY:
            return
        self.checked = self.clock()
        self._guarded(False)

    def at_end(self, engine: Engine) -> None:
        if self.db is not None:
            self._guarded(True)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (``None``: as long as it takes) for the running job,
        if any; True if none is running any more."""
        job = self.job
        if job is None:
            return True
        if not job.wait(timeout):
            return False
        self._guard(self._reap)
        return True

    def _guarded(self, end: bool) -> None:
        self._guard(lambda: self._check(end))

    def _guard(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            self._warn("could not have the dashboard snapshot of %s written", self.study,
                       exc_info=True)

    def _warn(self, msg: str, *args: Any, exc_info: bool = False) -> None:
        if self._warned:
            log.debug(msg, *args, exc_info=exc_info)
        else:
            self._warned = True
            log.warning(msg + " (the dashboard replays the journal instead)", *args,
                        exc_info=exc_info)

    def _check(self, end: bool) -> None:
        """Start a job if a snapshot is due (see the class docstring)."""
        assert self.db is not None
        self._reap()
        n = self._count()
        if n < MIN_RECORDS:
            return
        if self.covered is None:
            head = header(view_path(self.db, self.study), self.db, self.study, quiet=True)
            self.covered = int(head["n_records"]) if head is not None else 0
        job = self.job
        if job is not None:
            if not (end and n > self.job_records):
                return  # one at a time: a later check starts the next one
            job.stop()  # it covers less than the whole journal: one that does replaces it
            self.job = None
        elif not (n > self.covered if end else n >= 2 * max(self.covered, MIN_RECORDS // 2)):
            return
        from rung.dashboard import snapshot_job

        launch = self.launch or snapshot_job.start
        self.job, self.job_records = launch(self.db, self.study), n

    def _reap(self) -> None:
        """Take note of the job's end, if it has ended: ``covered`` grows to what it wrote
        (the records the journal held when it started, at least ``job_records``); a failed
        one is warned of, and not started again before the journal doubles (or, at the end,
        grows)."""
        job = self.job
        if job is None or not job.done():
            return
        self.job = None
        assert self.db is not None
        if job.ok():
            head = header(view_path(self.db, self.study), self.db, self.study, quiet=True)
            wrote = int(head["n_records"]) if head is not None else 0
        else:
            wrote = 0
            self._warn("the job writing the dashboard snapshot of %s failed (%s; run it "
                       "again to see why: %s)", self.study, job.why(), job.command())
        self.covered = max(self.covered or 0, self.job_records, wrote)

    def _count(self) -> int:
        n: int = self.journal.count(self.study)  # type: ignore[attr-defined]
        return n


__all__ = [
    "FORMAT",
    "MIN_RECORDS",
    "RunWriter",
    "SnapshotError",
    "View",
    "best",
    "cache_path",
    "connect_readonly",
    "default_cache_dir",
    "fingerprint",
    "header",
    "open_view",
    "save",
    "view_path",
    "write",
]
