"""Deleting a study: ``rung.delete_study(name, storage)`` and ``rung delete NAME --yes``.

A study is its journal's records and row, and the files rung keeps beside the journal for it:
its checkpoints (``<stem>-checkpoints/<name>``), the dashboard snapshot a run writes
(``<file>.<name>.view``) and its writer-lock file (``<file>.<name>.lock``). All go, the rows in
one transaction under the study's writer lock, so a study a driver runs is never deleted (nothing
is, then). Other studies of the same journal are left as they are. It cannot be undone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from rung.errors import ConfigError, JournalError
from rung.storage import Journal, open_journal


@dataclass(frozen=True)
class Deleted:
    """What ``delete_study`` removed: the study's ``records``, and the ``files`` beside the
    journal (its checkpoint directory, snapshot, lock file) that were there."""

    name: str
    records: int
    files: tuple[Path, ...]


def delete_study(name: str, storage: str | os.PathLike[str] | Journal) -> Deleted:
    """Delete study ``name`` from ``storage`` (a SQLite journal's path or URL, or a ``Journal``
    that can delete: ``SQLiteJournal``, ``MemoryJournal``), as the module docstring says.
    A ``Study`` object of it that is still open must not be used again (its journal reads
    no study any more).

    Raises:
        StudyBusyError: a driver runs the study (``rung.storage.sqlite``); nothing is deleted.
        JournalError: no journal at the path, or no study of that name in it (naming those
            there are); nothing is deleted.
        ConfigError: ``storage`` is no path or journal (key ``storage``), or a journal that
            cannot delete a study."""
    if isinstance(storage, str | os.PathLike):
        from rung.storage import journal_path
        from rung.storage.paths import inspectable

        path = journal_path(storage)
        if not inspectable(path.exists):  # (opening it would create one)
            raise JournalError(f"no journal at {path}")
    journal = open_journal(storage)
    try:
        delete = getattr(journal, "delete_study", None)
        if delete is None:
            raise ConfigError(key="storage", message=(
                f"{type(journal).__name__} cannot delete a study"))
        checkpoints = journal.checkpoint_dir(name)
        records = int(delete(name))
        gone: list[Path] = []
        if checkpoints is not None and checkpoints.exists():
            shutil.rmtree(checkpoints, ignore_errors=True)
            gone.append(checkpoints)
        db = getattr(journal, "_real", None)
        if isinstance(db, Path):
            from rung.dashboard.snapshot import cache_path, default_cache_dir, view_path
            from rung.storage.paths import lock_file_name

            # its snapshot, lock file, and the dashboard's own snapshot of it in its cache
            # (keyed by the journal's path as the dashboard was given it: this one, or real)
            given = Path(getattr(journal, "path", db))
            cached = {cache_path(default_cache_dir(), p, name) for p in (db, given)}
            for beside in (view_path(db, name), db.with_name(lock_file_name(db.name, name)),
                           *sorted(cached)):
                with contextlib.suppress(FileNotFoundError):
                    beside.unlink()
                    gone.append(beside)
        return Deleted(name, records, tuple(gone))
    finally:
        if journal is not storage:
            journal.close()


__all__ = ["Deleted", "delete_study"]
