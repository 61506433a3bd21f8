"""The ``Journal`` protocol: five record methods, no queries, and two questions about where a
study lives. Everything else replays the records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from rung.core.events import Record


@runtime_checkable
class Journal(Protocol):
    """Append-only storage of studies.

    - ``create_study(name, spec)``: store a new study's spec (JSON object); ``JournalError`` if
      the name exists.
    - ``load_study(name)``: the spec; ``JournalError`` if unknown.
    - ``append(name, records)``: add records in one transaction (all or nothing).
    - ``read(name, after=0)``: records after the first ``after``, in append order.
    - ``list_studies()``: names, in creation order.
    - ``checkpoint_dir(name)``: the directory the study's checkpoints persist in beside the
      journal, or ``None`` when the journal keeps nothing on disk (the caller then uses a
      temporary directory). It need not exist yet.
    - ``is_being_written(name)``: whether a live driver (this process or another) holds the
      study's writer role; ``False`` for journals that no other process can see.
    - optional, ``claim(name)``: take the study's writer role before a run starts its workers
      (``SQLiteJournal.claim``); a journal without it is claimed by its first ``append``.
    - ``close()``: release what the journal holds open (connections, writer locks);
      idempotent. Nothing may be called on it afterwards.
    """

    def create_study(self, name: str, spec: Mapping[str, Any]) -> None: ...

    def load_study(self, name: str) -> dict[str, Any]: ...

    def append(self, name: str, records: Sequence[Record]) -> None: ...

    def read(self, name: str, after: int = 0) -> list[Record]: ...

    def list_studies(self) -> list[str]: ...

    def checkpoint_dir(self, name: str) -> Path | None: ...

    def is_being_written(self, name: str) -> bool: ...

    def close(self) -> None: ...
