"""How a command names a stored study and opens it to read: the ``NAME`` and ``--storage``
arguments that ``rung resume``, ``show``, ``export``, ``ledger`` and ``plot`` share, and the
study loaded read-only from the journal they find."""

from __future__ import annotations

import argparse
import contextlib
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rung.study import Study


def add_study_arguments(q: argparse.ArgumentParser, name_help: str = "study name") -> None:
    """``NAME`` and ``--storage FILE|DIR`` (a SQLite file, or a directory whose ``.db`` files
    are searched for the study; default ``runs/``: see ``rung.cli.main.find_storage``)."""
    q.add_argument("name", help=name_help)
    q.add_argument("--storage", metavar="FILE|DIR",
                   help="SQLite file or directory to search (default: runs/)")


def storage_flag(path: Path | str, name: str) -> str:
    """The ``--storage`` part of a command that names study ``name`` in the journal ``path``,
    as the user can paste it into a shell: ``""`` for the default ``runs/<name>.db``, else
    `` --storage PATH`` with ``PATH`` quoted when it needs to be (spaces, ``$``...)."""
    from rung.cli.main import DEFAULT_DIR

    path = Path(path)
    default = DEFAULT_DIR / f"{name}.db"
    try:
        if path.resolve() == default.resolve():
            return ""
    except OSError:
        pass
    return f" --storage {shlex.quote(str(path))}"


@contextlib.contextmanager
def read_study(name: str, storage: str | None) -> Iterator[Study]:
    """Study ``name``, loaded from the journal that ``find_storage`` finds and opened read-only
    for the block (``open_study``).

    Raises:
        CLIError: no journal, or no such study in it (exit code 2).
    """
    from rung.cli.main import find_storage

    with open_study(find_storage(name, storage), name) as study:
        yield study


@contextlib.contextmanager
def open_study(path: Path | str, name: str) -> Iterator[Study]:
    """Study ``name`` of the SQLite journal ``path``, opened read-only for the block (safe
    while another process runs the study): a snapshot, whose dataframes, figures, ledger and
    ``rung show`` sections fold the records its load replayed (the journal is read once)."""
    from rung.storage import SQLiteJournal
    from rung.study import Study

    with SQLiteJournal(path, readonly=True) as journal:
        yield Study.load(name, journal, readonly=True)
