"""How a read-only ``SQLiteJournal`` opens its file, so that reading changes nothing and leaves
nothing behind.

A WAL journal's reader needs the ``-shm`` index beside it (SQLite creates it, and the ``-wal``,
when they are missing), and a connection opened read-only can never remove them again: ``rung
ls`` over 200 finished journals left 400 files. So, by what the reader may do at the file:

- the file and its directory are writable: a read-write connection with ``PRAGMA
  query_only=1`` (no statement can write). Closing it, when it is the file's last connection,
  folds the ``-wal`` into the file and removes both, as the writer does when it closes; while a
  writer runs it is not the last one, and leaves them be. Like any WAL reader it never blocks
  the writer.
- the directory is not writable and there is no ``-wal``: no writer can be at work there (it
  could not have created its ``-wal``), so the file is read as ``immutable``: no ``-shm``, no
  lock, nothing created.
- otherwise: a read-only connection (``mode=ro``), as before.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def reader_uri(real: Path) -> tuple[str, bool]:
    """The URI to open the journal file ``real`` (absolute, resolved) for reading, and whether
    the connection must then be made ``query_only`` (a read-write connection)."""
    uri = real.as_uri()  # quoted: a '?' or '#' in the path would end a bare URI
    if not _writable(real.parent):
        if not os.path.lexists(f"{real}-wal"):
            return uri + "?mode=ro&immutable=1", False
        return uri + "?mode=ro", False
    if _writable(real):
        return uri + "?mode=rw", True
    return uri + "?mode=ro", False


def unwritable_directory(real: Path, shown: Path) -> str | None:
    """Why a read of the journal ``shown`` (at ``real``) failed, when it failed because its
    directory is not writable (SQLite must create ``-shm`` beside a WAL journal that a writer
    may be using: one whose ``-wal`` is there), or ``None``."""
    if _writable(real.parent):
        return None
    return (f"cannot read the journal {shown}: its directory {real.parent} is not writable "
            f"by this user, and SQLite must create {real.name}-shm there to read a journal "
            f"that has a {real.name}-wal beside it; read it as a user who may write there, or "
            "copy the journal (with its -wal) to a writable directory")


def _writable(path: Path) -> bool:
    try:
        return os.access(path, os.W_OK | (os.X_OK if path.is_dir() else 0))
    except OSError:
        return False


def no_studies_hint(path: Path) -> str:
    """What to add to "studies: none" for an SQLite file without a single table and with no
    ``-wal`` beside it: a driver killed before SQLite folded its write-ahead log back leaves
    every record, the journal's tables too, in ``<file>-wal``, so a copy of the file alone
    holds nothing. ``""`` for anything else (a journal with its tables and no study, one with
    its ``-wal``)."""
    lock = _lock_of(Path(path))
    if lock is not None:
        return lock
    if Path(f"{path}-wal").exists():
        return ""
    try:
        if Path(path).stat().st_size == 0:
            return "; the file is empty: not a rung journal"
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except (sqlite3.Error, OSError):
        return ""
    if tables:
        return ""
    return ("; a journal copied or moved without its -wal file after its driver was killed "
            "holds none: bring the -wal file along")


def _lock_of(path: Path) -> str | None:
    """The hint for a study's writer lock named as a journal: ``<db>.<study>.lock`` beside an
    SQLite file ``<db>`` (``rung.storage.paths.lock_file_name``; a hashed ``.rung-*.lock``
    names no database), else ``None``."""
    name = path.name
    if not name.endswith(".lock"):
        return None
    if name.startswith(".rung-"):
        return "; it is a rung journal's writer lock, not a journal: name the journal beside it"
    stem = name[:-len(".lock")]
    for i in range(len(stem) - 1, 0, -1):
        if stem[i] != ".":
            continue
        db = path.with_name(stem[:i])
        try:
            with open(db, "rb") as f:
                if f.read(16) != b"SQLite format 3\x00":
                    continue
        except OSError:
            continue
        return (f"; it is the writer lock of study {stem[i + 1:]!r} in the journal {db}: "
                f"name that file (--storage {db})")
    return None


__all__ = ["reader_uri", "unwritable_directory"]
