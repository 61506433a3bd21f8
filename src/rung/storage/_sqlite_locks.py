"""Waiting out SQLite's "database is locked" where its busy timeout does not."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

#: how long a writer waits for a lock held by another connection (SQLite's busy timeout), ms
BUSY_MS = 10_000


def when_unlocked(fn: Callable[[], None], deadline: float) -> None:
    """``fn()``, again after a short pause while it fails with "database is locked" and
    ``deadline`` (``time.monotonic``) has not passed. SQLite answers a connection that holds a
    read lock and asks for a write lock another one also waits for (connections opening the
    same new file at once, each switching it to WAL) with that error at once, without its busy
    timeout, to break the deadlock; the loser's retry then finds the file set up."""
    pause = 0.005
    while True:
        try:
            fn()
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(2 * pause, 0.1)


__all__ = ["BUSY_MS", "when_unlocked"]
