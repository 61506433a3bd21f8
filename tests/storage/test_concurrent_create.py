"""Writers opening the same new journal at once all get it: SQLite answers the one that loses
the race to switch the file to WAL with "database is locked" at once, without its busy
timeout (about 2% of 4-thread races before; sklearn's cross_val_score with n_jobs fits one
search per thread on one file), and ``when_unlocked`` retries it."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from rung.storage import SQLiteJournal
from rung.storage._sqlite_locks import when_unlocked


def test_a_locked_setup_is_tried_again_until_it_succeeds() -> None:
    calls: list[int] = []

    def setup() -> None:
        calls.append(1)
        if len(calls) < 3:
            raise sqlite3.OperationalError("database is locked")

    when_unlocked(setup, time.monotonic() + 10)
    assert len(calls) == 3


def test_other_errors_and_a_passed_deadline_are_raised() -> None:
    def broken() -> None:
        raise sqlite3.OperationalError("disk I/O error")

    def locked() -> None:
        raise sqlite3.OperationalError("database is locked")

    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        when_unlocked(broken, time.monotonic() + 10)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        when_unlocked(locked, time.monotonic() - 1)


def test_four_writers_opening_one_new_file_at_once_all_get_it(tmp_path: Path) -> None:
    failures: list[BaseException] = []
    for i in range(60):
        db = tmp_path / f"{i}" / "s.db"
        barrier = threading.Barrier(4, timeout=30)

        def open_it(db: Path = db, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                with SQLiteJournal(db) as j:
                    j.list_studies()
            except BaseException as e:  # reported by the assertion below
                failures.append(e)

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == []
