"""Journals: append-only storage of events and commands, replayed into the same ``History``."""

from __future__ import annotations

import os
from pathlib import Path

from rung.storage.base import Journal
from rung.storage.codec import RECORD_VERSION, from_body, to_body
from rung.storage.memory import MemoryJournal
from rung.storage.sqlite import SQLiteJournal


def open_journal(
    storage: str | os.PathLike[str] | Journal | None, readonly: bool = False
) -> Journal:
    """``None`` -> in-memory; a path (``.db``/``.sqlite`` or any file name) -> SQLite; a
    ``sqlite:///path`` URL -> SQLite; a ``Journal`` instance -> itself."""
    if storage is None:
        return MemoryJournal()
    if isinstance(storage, str | os.PathLike):
        s = os.fspath(storage)
        if s.startswith("sqlite:///"):
            s = s[len("sqlite:///") :]
        return SQLiteJournal(Path(s), readonly=readonly)
    if isinstance(storage, Journal):
        return storage
    raise TypeError(f"storage: expected None, a path or a Journal, got {storage!r}")


__all__ = [
    "RECORD_VERSION",
    "Journal",
    "MemoryJournal",
    "SQLiteJournal",
    "from_body",
    "open_journal",
    "to_body",
]
