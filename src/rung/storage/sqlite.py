"""SQLite journal: WAL mode, one writer per study, read-only readers, versioned JSON records.

Two tables: ``study`` (name, spec JSON) and ``record`` (study, seq, kind, body JSON). Each
``append`` is one transaction, so a record batch is either wholly there or not at all: a driver
killed mid-write leaves the journal as it was after the previous batch (SQLite discards a torn
WAL frame on open). With ``synchronous=NORMAL`` in WAL mode a committed batch survives a crash of
the process; only a power loss may lose the last batches, never corrupt the file.

One driver writes a study at a time: the writer holds an advisory ``flock`` on a sidecar file,
which the kernel releases when the process dies, so a SIGKILLed driver never leaves a stale lock.
A journal that read a study (``read`` from the start, as ``Study.load`` does) and finds, when it
takes the lock for its first append, that another driver wrote records since, refuses to append
(``JournalError``): its engine decided on a state that is no longer the journal's, and what it
appended would make the journal diverge on replay.

A writer notices its file being deleted (or replaced by another file) under it: SQLite would go
on writing to the deleted file, which nobody can ever read, and the run would seem to succeed.
Before each ``append`` it compares the path's file with the one it opened (one ``stat``) and
raises ``JournalDeletedError`` instead of writing.

A damaged file (SQLite's "database disk image is malformed": a file truncated mid-page, a page
overwritten) is a ``JournalDamagedError``, whichever access meets it, saying how to recover what
it still holds (restore a copy, or ``sqlite3``'s ``.recover``): it is a rung journal, damaged,
not "not a rung journal".
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from rung.core.events import Record
from rung.errors import JournalError
from rung.storage._sqlite_locks import BUSY_MS, when_unlocked
from rung.storage.codec import dumps, loads, loads_spec
from rung.storage.paths import storage_problem, study_subdir
from rung.storage.sqlite_reader import no_studies_hint as no_studies_hint
from rung.storage.sqlite_reader import reader_uri, unwritable_directory
from rung.storage.sqlite_writer import StudyBusyError as StudyBusyError
from rung.storage.sqlite_writer import WriterLock

_SCHEMA = """
CREATE TABLE IF NOT EXISTS study (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS record (
    study TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (study, seq)
) WITHOUT ROWID;
"""


#: the columns ``record`` and ``study`` need (a file may have more: they are ignored)
_COLUMNS = {"study": {"name", "spec", "created"}, "record": {"study", "seq", "kind", "body"}}

#: seconds a reader waits for a journal that another process holds locked before it says so
#: (a WAL journal's readers are never blocked by its writer; a process that took the file in
#: exclusive locking mode, or a rollback-journal writer, holds them off)
OPEN_WAIT = 5.0
#: seconds a read or a write waits for another connection's lock once the journal is open
#: (SQLite's busy timeout)
READ_WAIT = 10.0


def _locked(e: sqlite3.Error) -> bool:
    """SQLite gave up waiting for another connection's lock (``SQLITE_BUSY`` / ``LOCKED``:
    "database is locked", "database table is locked")."""
    return isinstance(e, sqlite3.OperationalError) and "is locked" in str(e)


def _tables(conn: sqlite3.Connection) -> set[str]:
    """The names of the file's tables and views, SQLite's own (``sqlite_*``) left out."""
    return {
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite!_%' ESCAPE '!'"
        )
    }


def _schema_problem(conn: sqlite3.Connection, tables: set[str]) -> str | None:
    """Why a file with these tables is not a rung journal (a clause), or ``None``: no tables
    (a new journal), or ``study`` and ``record`` with the columns rung reads (other tables
    beside them are left alone)."""
    if not tables:
        return None
    if not {"study", "record"} <= tables:
        return "no study/record tables"
    for table, needed in _COLUMNS.items():
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if not needed <= have:
            return f"its {table} table has no {', '.join(sorted(needed - have))} column"
    return None


class JournalDamagedError(JournalError):
    """The journal's file is damaged (SQLite reads a malformed database image)."""


def _corrupt(e: sqlite3.Error) -> bool:
    """SQLite found the file damaged (``SQLITE_CORRUPT``: "database disk image is
    malformed")."""
    code = getattr(e, "sqlite_errorcode", None)
    return (isinstance(code, int) and code & 0xFF == 11) or "malformed" in str(e)


def damaged(path: Path, e: sqlite3.Error) -> JournalDamagedError:
    """The error of a damaged journal at ``path``: what SQLite said, and how to get back what
    the file still holds."""
    p = shlex.quote(str(path))
    return JournalDamagedError(
        f"cannot read the journal {path}: it is damaged ({e}); restore a copy of it, or try "
        f"to recover what it still holds with sqlite3's .recover (`sqlite3 {p} .recover | "
        "sqlite3 recovered.db`, where the sqlite3 build has it)")


class JournalDeletedError(JournalError):
    """The journal's file was deleted (or replaced by another file) while this writer had it
    open: nothing more can be journaled there, and what the file held is gone."""


def _resolved(path: Path) -> Path:
    """``path`` absolute, its symlinks followed (as far as they exist), or merely absolute
    where they cannot be (a loop)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return path.absolute()


class SQLiteJournal(WriterLock):
    """Args:
    path: the database file (created with its parent directory if missing, unless
        ``readonly``). It is resolved once, here: the journal keeps reading and writing that
        file whatever the working directory becomes later, and a path through a symlink is
        the file it points at (one writer lock, one checkpoint directory: beside the real
        file). ``self.path`` stays the path as given, for messages.
    readonly: read without ever writing (CLI, dashboard); never blocks the writer, and leaves
        no ``-wal``/``-shm`` files behind where it may remove them (``sqlite_reader``).
    """

    def __init__(self, path: str | os.PathLike[str], readonly: bool = False) -> None:
        self.path = Path(path)
        self._real = self.path if "\0" in str(self.path) else _resolved(self.path)
        self.readonly = readonly
        self._seq: dict[str, int] = {}
        self._empty = False
        self._locks: dict[str, int] = {}
        # per study: the records this journal last saw from the start (a full ``read``, or
        # ``create_study``); a writer checks it when it takes the lock
        self._seen: dict[str, int] = {}
        self._identity: tuple[int, int] | None = None  # (device, inode) of the writer's file
        if readonly:
            if "\0" in str(self.path) or not self.path.exists():
                raise JournalError(f"no journal at {self.path}")
            uri, query_only = reader_uri(self._real)
            try:
                self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False,
                                             timeout=OPEN_WAIT)
            except sqlite3.Error as e:
                raise JournalError(unwritable_directory(self._real, self.path)
                                   or f"cannot open the journal {self.path}: {e}") from None
            try:
                if query_only:  # read-write only so that closing it may clean up
                    self._conn.execute("PRAGMA query_only=1")
                tables = _tables(self._conn)
                problem = _schema_problem(self._conn, tables)
            except sqlite3.DatabaseError as e:
                self._conn.close()
                if _locked(e):  # a journal all the same: someone else holds it
                    raise JournalError(
                        f"{self.path} is locked by another process (gave up after "
                        f"{OPEN_WAIT:g} s: {e}); try again once it lets go of it") from None
                if _corrupt(e):
                    raise damaged(self.path, e) from None
                raise JournalError(unwritable_directory(self._real, self.path)
                                   or f"{self.path} is not a rung journal: {e}") from None
            # no tables yet: a writer has just created the file (an empty journal, for now)
            self._empty = not tables
            if problem is not None:
                self._conn.close()
                raise JournalError(f"{self.path} is not a rung journal ({problem})")
        else:
            self._open_writer()
        self._conn.execute(f"PRAGMA busy_timeout={int(READ_WAIT * 1000)}")

    # --- the five methods -----------------------------------------------------------------
    def create_study(self, name: str, spec: Mapping[str, Any]) -> None:
        self._writable()
        try:
            with self._tx():
                orphans = self._conn.execute(
                    "SELECT COUNT(*) FROM record WHERE study = ?", (name,)).fetchone()[0]
                if orphans and self._conn.execute(
                        "SELECT 1 FROM study WHERE name = ?", (name,)).fetchone() is None:
                    sql = "DELETE FROM record WHERE study = '" + name.replace("'", "''")
                    raise JournalError(
                        f"cannot create study {name!r} in {self.path}: the journal still "
                        f"holds {orphans} records of a deleted study of that name, which the "
                        f"new one would take as its own; delete them too ({sql}'; see "
                        "'Deleting a study' in docs/spec.md) or choose another name")
                self._conn.execute(
                    "INSERT INTO study (name, spec, created) VALUES (?, ?, ?)",
                    (name, json.dumps(dict(spec)), time.time()),
                )
        except sqlite3.IntegrityError:
            raise JournalError(f"study {name!r} already exists in {self.path}") from None
        except sqlite3.Error as e:  # a full disk, a damaged file: the study is not in
            raise JournalError(f"cannot write to the journal {self.path}: {e}") from None
        self._seen[name] = 0

    def load_study(self, name: str) -> dict[str, Any]:
        if self._empty:
            raise JournalError(f"no study named {name!r} in {self.path} (studies: none"
                               f"{no_studies_hint(self.path)})")
        with self._reading():
            row = self._conn.execute("SELECT spec FROM study WHERE name = ?", (name,)).fetchone()
        if row is None:
            known = ", ".join(self.list_studies()) or "none" + no_studies_hint(self.path)
            raise JournalError(f"no study named {name!r} in {self.path} (studies: {known})")
        return loads_spec(row[0], f"{self.path}: study {name!r}")

    def append(self, name: str, records: Sequence[Record]) -> None:
        if not records:
            return
        self.claim(name)
        seq = self._seq.get(name)
        if seq is None:
            seq = self._max_seq(name)
        rows = []
        for i, r in enumerate(records, start=seq + 1):
            kind, body = dumps(r)
            rows.append((name, i, kind, body))
        try:
            with self._tx():
                self._conn.executemany(
                    "INSERT INTO record (study, seq, kind, body) VALUES (?, ?, ?, ?)", rows
                )
        except sqlite3.Error as e:  # a full disk, a damaged file: nothing of the batch is in
            if _corrupt(e):
                raise damaged(self.path, e) from None
            raise JournalError(f"cannot write to the journal {self.path}: {e}") from None
        self._seq[name] = seq + len(rows)

    def read(self, name: str, after: int = 0) -> list[Record]:
        self.load_study(name)
        out: list[Record] = []
        with self._reading():
            cur = self._conn.execute(
                "SELECT seq, kind, body FROM record WHERE study = ? AND seq > ? ORDER BY seq",
                (name, after),
            )
            for seq, kind, body in cur:
                try:
                    out.append(loads(kind, body))
                except JournalError as e:
                    raise JournalError(
                        f"{self.path}: study {name!r}, record {seq}: {e}"
                    ) from None
        return out

    def note_replayed(self, name: str, n: int) -> None:
        """An engine was replayed from the first ``n`` records of study ``name``: this
        journal's first write to it is refused if another driver appended since
        (``_lock``). Only the loads that replay an engine say so (``Study.load``, ask/tell's
        reload); a view reading the journal later (a dataframe, the ledger) must not, or a
        study loaded before another driver wrote would append from its stale engine."""
        if name not in self._locks:
            self._seen[name] = n

    def list_studies(self) -> list[str]:
        if self._empty:
            return []
        with self._reading():
            return [r[0] for r in
                    self._conn.execute("SELECT name FROM study ORDER BY created, name")]

    def checkpoint_dir(self, name: str) -> Path | None:
        """``<stem>-checkpoints/<name>`` beside the database file (not created here); a name
        that is not one path component gets one (``paths.study_subdir``)."""
        return study_subdir(self._real.with_name(f"{self._real.stem}-checkpoints"), name)

    # --- extras (not part of the protocol) ------------------------------------------------
    def count(self, name: str) -> int:
        return self._max_seq(name)

    def delete_study(self, name: str) -> int:
        """Delete study ``name``: its records and its row, in one transaction, under its
        writer lock; returns how many records it held. The files beside the journal are the
        caller's (``rung.study_delete``).

        Raises:
            StudyBusyError: a driver runs the study (nothing is deleted).
            JournalError: no such study, or the journal cannot be written."""
        self._writable()
        self._check_file()
        self._seen.pop(name, None)  # what this journal read of it does not matter here
        self._lock(name)  # (a study that is not there: JournalError naming those that are)
        try:
            n = self._max_seq(name)
            with self._tx():
                self._conn.execute("DELETE FROM record WHERE study = ?", (name,))
                self._conn.execute("DELETE FROM study WHERE name = ?", (name,))
        except sqlite3.Error as e:  # a full disk, a damaged file: nothing is deleted
            raise JournalError(f"cannot write to the journal {self.path}: {e}") from None
        finally:
            self.release(name)
        self._seq.pop(name, None)
        self._seen.pop(name, None)
        return n

    def close(self) -> None:
        self._release_all()
        self._conn.close()

    def __enter__(self) -> SQLiteJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals ------------------------------------------------------------------------
    def _open_writer(self) -> None:
        """Open (creating if missing) the file for writing. Nothing is written to a file that
        is not a rung journal; a journal this call created and could not finish (a full disk)
        is removed again, with the directories it made."""
        problem = storage_problem(self.path)
        if problem is not None:
            what = "write to the journal" if self._real.is_file() else "create a journal at"
            raise JournalError(f"cannot {what} {self.path}: {problem}")
        existed = self._real.exists()
        made = [a for a in self._real.parents if not a.exists()]
        try:
            self._real.parent.mkdir(parents=True, exist_ok=True)
            # by absolute URI: no name is read as SQLite's (':memory:', 'file:...')
            self._conn = sqlite3.connect(self._real.as_uri(), uri=True,
                                         check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as e:
            self._undo(existed, made)
            raise JournalError(f"cannot create a journal at {self.path}: {e}") from None
        try:
            self._conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            when_unlocked(self._set_up, time.monotonic() + BUSY_MS / 1000)
            with contextlib.suppress(OSError):
                st = os.stat(self._real)
                self._identity = (st.st_dev, st.st_ino)
        except (JournalError, sqlite3.Error) as e:
            self._conn.close()
            if "locked" not in str(e):  # a locked file has another writer: leave it be
                self._undo(existed, made)
            if isinstance(e, JournalError):
                raise
            if _corrupt(e):
                raise damaged(self.path, e) from None
            if isinstance(e, sqlite3.OperationalError):  # full disk, I/O error, locked
                what = f"open the journal {self.path}" if existed else \
                    f"create a journal at {self.path}"
                raise JournalError(f"cannot {what}: {e}") from None
            raise JournalError(f"{self.path} is not a rung journal: {e}") from None

    def _set_up(self) -> None:
        """Look at the file, then make it a rung journal in WAL mode if it is none yet."""
        # look before writing anything (journal_mode=WAL rewrites the header): a file of
        # another application stays byte for byte as it was
        tables = _tables(self._conn)
        problem = _schema_problem(self._conn, tables)
        if problem is not None:
            found = ", ".join(sorted(tables)) or "none"
            raise JournalError(
                f"{self.path} is not a rung journal ({problem}; its tables: {found}); "
                "rung adds no tables to another application's database"
            )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        if not tables:  # both tables in one transaction: a reader sees none or both
            self._conn.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")

    def _undo(self, existed: bool, made: list[Path]) -> None:
        """Remove what a failed ``_open_writer`` created: the file (and its -wal, -shm) if it
        did not exist before and holds no table (another process creating the same journal
        at the same moment keeps its own), and the directories it made, if empty."""
        if existed:
            return
        try:
            with contextlib.closing(sqlite3.connect(
                    self._real.as_uri() + "?mode=ro", uri=True)) as conn:
                if _tables(conn):
                    return
        except sqlite3.Error:
            pass  # unreadable: nothing of anyone's is in it
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.unlink(f"{self._real}{suffix}")
        for d in made:  # deepest first
            with contextlib.suppress(OSError):
                d.rmdir()

    def _max_seq(self, name: str) -> int:
        if self._empty:
            return 0
        with self._reading():
            row = self._conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM record WHERE study = ?", (name,)
            ).fetchone()
        return int(row[0])

    def _check_file(self) -> None:
        """Raise ``JournalDeletedError`` if the writer's file is no longer at its path."""
        if self._identity is None:
            return
        try:
            st = os.stat(self._real)
            gone = (st.st_dev, st.st_ino) != self._identity
        except OSError:
            gone = True
        if gone:
            raise JournalDeletedError(
                f"the journal {self.path} was deleted (or replaced) while this run was writing "
                "it: the run stops, and what the journal held is lost unless a copy of it is "
                "restored")

    def _writable(self) -> None:
        if self.readonly:
            raise JournalError(f"{self.path} was opened read-only")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """SQLite's errors while reading (a damaged file: 'database disk image is malformed')
        as one ``JournalError`` naming the file."""
        try:
            yield
        except sqlite3.Error as e:
            if _locked(e):
                raise JournalError(
                    f"cannot read the journal {self.path}: it is locked by another process "
                    f"(gave up after {READ_WAIT:g} s: {e})") from None
            if _corrupt(e):
                raise damaged(self.path, e) from None
            raise JournalError(f"cannot read the journal {self.path}: {e}") from None

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
