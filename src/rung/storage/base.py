"""The ``Journal`` protocol: five methods, no queries. Everything else replays the records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    """

    def create_study(self, name: str, spec: Mapping[str, Any]) -> None: ...

    def load_study(self, name: str) -> dict[str, Any]: ...

    def append(self, name: str, records: Sequence[Record]) -> None: ...

    def read(self, name: str, after: int = 0) -> list[Record]: ...

    def list_studies(self) -> list[str]: ...
