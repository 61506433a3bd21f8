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

from rung.cli.errors import CLIError

#: where commands look for journals when no --storage is given
DEFAULT_DIR = Path("runs")

if TYPE_CHECKING:
    from rung.storage.base import Journal
    from rung.study import Study


def add_study_arguments(q: argparse.ArgumentParser, name_help: str = "study name") -> None:
    """``NAME`` and ``--storage FILE|DIR`` (a SQLite file, or a directory whose ``.db`` files
    are searched for the study; default ``runs/``: see ``find_storage``)."""
    q.add_argument("name", help=name_help)
    q.add_argument("--storage", metavar="FILE|DIR",
                   help="SQLite file or directory to search (default: runs/)")


def storage_flag(path: Path | str, name: str) -> str:
    """The ``--storage`` part of a command that names study ``name`` in the journal ``path``,
    as the user can paste it into a shell: ``""`` for the default ``runs/<name>.db``, else
    `` --storage PATH`` with ``PATH`` quoted when it needs to be (spaces, ``$``...)."""
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
    ``rung show`` sections fold the records its load replayed (the journal is read once).
    The cyclic garbage collector is paused for the block (``rung.study_gc.gc_paused``).

    A study created by ``rung run`` has its spec's ``path`` directories put on ``sys.path``
    first (as ``rung resume`` does), so what its components name by ``"module:function"``
    (PBT's ``explore``) imports when the load replays their decisions."""
    from rung.storage import SQLiteJournal
    from rung.study import Study
    from rung.study_gc import gc_paused

    # the block folds the load's records into rows and text: the collector's walks of the
    # loaded study would find nothing there either
    with SQLiteJournal(path, readonly=True) as journal, gc_paused():
        _spec_paths_on_sys_path(journal, name)
        yield Study.load(name, journal, readonly=True)


def _spec_paths_on_sys_path(journal: Journal, name: str) -> None:
    """Prepend the ``path`` directories that ``rung run`` recorded for study ``name`` (and that
    still exist) to ``sys.path`` and ``PYTHONPATH``, as ``rung run`` does (``add_spec_paths``);
    nothing for a study without them or not in ``journal`` (the load that follows says so)."""
    from rung.cli.spec import CLI_KEY
    from rung.cli.spec_objective import add_spec_paths
    from rung.errors import RungError

    try:
        data = journal.load_study(name)
    except RungError:
        return
    cli = data.get(CLI_KEY)
    paths = cli.get("path") if isinstance(cli, dict) else None
    if not isinstance(paths, list):
        return
    add_spec_paths([p for p in paths if isinstance(p, str) and Path(p).is_dir()])


# --- which journal holds a study -------------------------------------------------------------
def db_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.db") if p.is_file())


def studies_in(path: Path, strict: bool = False, damaged: bool = False) -> list[str]:
    """The studies in the journal at ``path``; ``[]`` for a file that is not a readable rung
    journal, or, with ``strict`` (the user named the file), a ``CLIError`` saying why. A
    damaged journal is a ``CLIError`` with exit code 1, with ``strict`` or ``damaged`` (the
    file the study's name points at), whatever the command: one word for one state."""
    from rung.storage import SQLiteJournal
    from rung.storage.sqlite import JournalDamagedError

    try:
        with SQLiteJournal(path, readonly=True) as j:
            return j.list_studies()
    except Exception as e:
        if isinstance(e, JournalDamagedError) and (strict or damaged):
            raise CLIError(str(e), 1) from None
        if strict:
            raise CLIError(str(e).splitlines()[0] if str(e) else
                           f"cannot read the journal {path}", 2) from None
        return []  # not a rung journal


def find_storage(name: str, storage: str | None) -> Path:
    """The SQLite file that holds study ``name``: ``storage`` itself if it is a file, else
    ``<dir>/<name>.db``, else the one ``<dir>/*.db`` holding it (``dir``: ``storage`` or
    ``runs/``; several is a ``CLIError`` naming them). ``storage`` means what it means
    everywhere (``rung.cli.run_checks.storage_path``: ``~``, ``sqlite:///``)."""
    from rung.cli.run_checks import spec_readable, storage_path
    from rung.storage.paths import inspectable

    given = None if storage is None else storage_path(storage)
    if given is not None and not inspectable(given.is_dir):
        path = given
        if not inspectable(path.exists):  # a name too long to look up holds none either
            raise CLIError(f"no journal at {path}", 2)
        names = studies_in(path, strict=True)
        if name not in names:
            from rung.storage.sqlite import no_studies_hint

            known = ", ".join(names) or "none" + no_studies_hint(path)
            raise CLIError(f"no study named {name!r} in {path} (studies: {known})", 2)
        return spec_readable(path, name)
    directory = given if given is not None else DEFAULT_DIR
    preferred = directory / f"{name}.db"
    if preferred.is_file() and name in studies_in(preferred, damaged=True):
        return spec_readable(preferred, name)
    found = [p for p in db_files(directory) if p != preferred and name in studies_in(p)]
    if len(found) == 1:
        return spec_readable(found[0], name)
    if found:
        where = ", ".join(shlex.quote(str(p)) for p in found)
        raise CLIError(f"study {name!r} is in {len(found)} journals under {directory}: "
                       f"{where} (name one with --storage FILE)", 2)
    raise CLIError(
        f"no study named {name!r} in {directory}/*.db (use --storage FILE, or `rung ls`)", 2
    )
