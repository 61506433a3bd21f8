"""Whether a fold the dashboard keeps of a study's journal is still a fold of that journal, and
reading on from it.

The dashboard keeps folds of a study's records (``data.Catalog``'s replayed snapshot of the
pages, ``ledger``'s cost fold) and reads only the records appended since (``seq > n``). That is
right only while the journal still starts with the ``n`` records folded: a study deleted and
created again under the same name and file (``rm runs/x.db; rung run spec.yaml``), or a journal
cut and written again, holds other records under the same numbers, as many, fewer or more.

``guard(conn, study, n)`` is what must not change under a fold of the first ``n`` records:
their ``fingerprint`` (``rung.dashboard.snapshot``, the check the page snapshots use: the
study's spec text and creation time, the count and 64 evenly spaced records), or, with ``n``
0, the study's spec text and creation time; ``None`` when the journal holds no such study, or
fewer than ``n`` of its records. A fold keeps the guard of what it has read; ``read_on``
compares it with the journal's, reads on and takes the new guard in one read transaction (one
connection, a fraction of a millisecond more than the read), so a study re-created between two
looks is never mixed into a fold: ``Rewritten``, and the caller folds the new journal from its
start. ``reguard`` is the same check and new guard for a caller that read the records itself
(after they were read: a study re-created before or while they were read fails it).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from rung.core.events import Record, is_event
from rung.dashboard.snapshot import connect_readonly, fingerprint
from rung.errors import JournalError, RungError
from rung.storage.codec import loads


class Rewritten(JournalError):
    """The journal no longer starts with the records a fold read (their ``guard`` changed):
    the study was deleted and created again, or the journal cut or rewritten. Fold it anew."""


def guard(conn: sqlite3.Connection, study: str, n_records: int) -> str | None:
    """What must not change under a fold of study ``study``'s first ``n_records`` records (see
    the module docstring); ``None``: no such study, or fewer records."""
    if n_records > 0:
        return fingerprint(conn, study, n_records)
    row = conn.execute("SELECT spec, created FROM study WHERE name = ?", (study,)).fetchone()
    return None if row is None else f"{row[0]}\0{row[1]!r}"


def guard_of(path: Path, study: str, n_records: int) -> str | None:
    """``guard`` of the SQLite journal at ``path``, read-only."""
    with closing(connect_readonly(path)) as conn:
        return guard(conn, study, n_records)


def read_on(path: Path, study: str, after: int, limit: int | None,
            check: tuple[int, str | None], whole_turns: bool = True,
            ) -> tuple[list[Record], str | None, bool]:
    """Up to ``limit`` (``None``: all) records of study ``study`` after the ``after``-th, read
    in one read-only transaction that first checks the journal still is the one a fold read:
    ``check`` is ``(n, guard)`` of what the fold has read, and a journal whose ``guard`` of its
    first ``n`` records differs raises ``Rewritten``.

    Returns the records, the ``guard`` of the journal's first ``after + len(records)``
    records, and whether there may be more. With ``whole_turns`` a full read ends before its
    last event, so that a turn (an event and the commands it caused: a ``Launch`` carries the
    params a replay needs) is never split; a read of one event with ``limit`` commands or more
    reads the rest at once."""
    with closing(connect_readonly(path)) as conn:
        conn.execute("BEGIN")  # one snapshot of the journal for the check, the read, the guard
        _check(conn, path, study, check)
        new = _records(conn, path, study, after, limit)
        more = limit is not None and len(new) >= limit
        if more and whole_turns:
            cut = next((i for i in range(len(new) - 1, -1, -1) if is_event(new[i])), 0)
            if cut == 0:  # one event with ``limit`` commands or more: read the rest at once
                new += _records(conn, path, study, after + len(new), None)
                more = False
            else:
                new = new[:cut]
        return new, guard(conn, study, after + len(new)), more


def stamp(path: Path) -> tuple[tuple[int, int, int] | None, ...]:
    """What changes when a journal is written: its file's and its log's time, size, inode."""
    out: list[tuple[int, int, int] | None] = []
    for f in (path, path.with_name(path.name + "-wal")):
        try:
            st = f.stat()
            out.append((st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            out.append(None)
    return tuple(out)


def reguard(path: Path, study: str, check: tuple[int, str | None], n_records: int,
            ) -> str | None:
    """``guard`` of the first ``n_records`` records of study ``study``, once ``check`` (``(n,
    guard)`` of what a fold had read before it read on to ``n_records``) holds, in the same read
    transaction; ``Rewritten`` if it does not."""
    with closing(connect_readonly(path)) as conn:
        conn.execute("BEGIN")
        _check(conn, path, study, check)
        return guard(conn, study, n_records)


def _check(conn: sqlite3.Connection, path: Path, study: str,
           check: tuple[int, str | None]) -> None:
    n, expect = check
    if guard(conn, study, n) != expect:
        raise Rewritten(f"{path}: study {study!r} is not the journal read so far (deleted and "
                        "created again, or rewritten): read it again")


def read_records(path: Path, name: str, after: int, limit: int) -> list[Record]:
    """Up to ``limit`` records of study ``name`` after the ``after``-th, read-only. (The journal
    protocol's ``read`` has no limit: the dashboard pages through a large journal itself, with
    the query ``SQLiteJournal.read`` makes.)"""
    with closing(connect_readonly(path)) as conn:
        return _records(conn, path, name, after, limit)


def _records(conn: sqlite3.Connection, path: Path, name: str, after: int,
             limit: int | None) -> list[Record]:
    cur = conn.execute(
        "SELECT seq, kind, body FROM record WHERE study = ? AND seq > ? ORDER BY seq LIMIT ?",
        (name, after, -1 if limit is None else limit),
    )
    out: list[Record] = []
    for seq, kind, body in cur:
        try:
            out.append(loads(kind, body))
        except RungError as e:  # named as ``SQLiteJournal.read`` names it
            raise JournalError(f"{path}: study {name!r}, record {seq}: {e}") from None
    return out


__all__ = ["Rewritten", "guard", "guard_of", "read_on", "read_records", "reguard", "stamp"]
