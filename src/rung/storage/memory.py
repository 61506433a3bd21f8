"""In-memory journal: records kept as the immutable objects themselves (nothing to decode)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rung.core.events import Record
from rung.errors import JournalError
from rung.storage.codec import to_body


class MemoryJournal:
    """A journal that lives as long as the process. ``check=True`` encodes every record on
    append, proving it is JSON-serializable (the conformance suite uses it)."""

    def __init__(self, check: bool = False) -> None:
        self.check = check
        self._specs: dict[str, dict[str, Any]] = {}
        self._records: dict[str, list[Record]] = {}

    def create_study(self, name: str, spec: Mapping[str, Any]) -> None:
        if name in self._specs:
            raise JournalError(f"study {name!r} already exists")
        self._specs[name] = copy.deepcopy(dict(spec))
        self._records[name] = []

    def load_study(self, name: str) -> dict[str, Any]:
        try:
            return copy.deepcopy(self._specs[name])
        except KeyError:
            raise JournalError(f"no study named {name!r}") from None

    def append(self, name: str, records: Sequence[Record]) -> None:
        if name not in self._records:
            raise JournalError(f"no study named {name!r}")
        if self.check:
            for r in records:
                to_body(r)
        self._records[name].extend(records)

    def read(self, name: str, after: int = 0) -> list[Record]:
        if name not in self._records:
            raise JournalError(f"no study named {name!r}")
        return self._records[name][after:]

    def list_studies(self) -> list[str]:
        return list(self._specs)

    def delete_study(self, name: str) -> int:
        """Delete study ``name`` (``JournalError`` if there is none); returns how many records
        it held."""
        if name not in self._specs:
            raise JournalError(f"no study named {name!r}")
        del self._specs[name]
        return len(self._records.pop(name))

    def checkpoint_dir(self, name: str) -> Path | None:
        """``None``: nothing of an in-memory study persists, checkpoints included."""
        return None

    def is_being_written(self, name: str) -> bool:
        """``False``: no other process can see this journal."""
        return False

    def close(self) -> None:
        """Nothing to release: the records stay readable."""
