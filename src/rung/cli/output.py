"""The ``-o FILE`` of the commands that write a file (``rung export``, ``rung plot``): checked
before anything is written, and replaced whole once written.

Checks, in the order a command makes them (each failure a ``CLIError`` naming ``-o``, exit
code 2, nothing written):

1. ``output_path``: before the study is read; the file can be written where it is named.
2. ``check_suffix`` (``rung export``): a suffix that names a format names the one written.
3. ``refuse_journal_files``: once the journal is found; ``-o`` is none of the files a journal
   lives in, the one being read or any other: the database, its ``-wal``, ``-shm`` and
   ``-journal`` files, a study's writer lock, its checkpoint directory. ``os.replace`` would
   put an export where the study was (``rung show``: "not a rung journal") and leave a run
   that is writing it appending to an unlinked file.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

#: the first 16 bytes of every SQLite 3 database file
SQLITE_HEADER = b"SQLite format 3\x00"

#: the files SQLite keeps beside a database ``x.db``: ``x.db-wal`` ...
_SIDECARS = {"-wal": "write-ahead log", "-shm": "shared-memory index",
             "-journal": "rollback journal"}

#: suffixes of SQLite files (a journal's name): refused as an export's name in any format
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")

#: a writer lock whose ``<db>.<study>.lock`` name would be too long (``lock_file_name``)
_HASHED_LOCK = re.compile(r"\.rung-[0-9a-f]{32}\.lock")


def _error(value: str, why: str) -> Exception:
    from rung.cli.main import CLIError

    return CLIError(f"-o {value}: {why}", 2)


def output_path(value: str) -> Path:
    """``-o FILE`` of ``rung export`` and ``rung plot``, checked before the study is read: a
    file that can be written where it is named (its directory exists; it is not itself a
    directory).

    Raises:
        CLIError: naming ``-o`` and what is wrong (exit code 2).
    """
    out = Path(value)
    try:
        is_dir = out.is_dir()
    except OSError as e:  # a name too long for the file system, ...
        raise _error(value, os_reason(e)) from None
    if is_dir:
        raise _error(value, "is a directory (name a file)")
    parent = out.parent
    if not parent.is_dir():
        raise _error(value, f"no such directory: {parent}")
    return out


def suffix_of(out: Path) -> str:
    """``out``'s suffix, lower-case, with its dot (``""`` for none); a name that is only a
    suffix (``.csv``) has one here, unlike for ``pathlib``."""
    dot = out.name.rfind(".")
    return out.name[dot:].lower() if dot >= 0 else ""


def check_suffix(out: Path, value: str, fmt: str, suffixes: dict[str, str]) -> None:
    """Refuse ``-o`` whose suffix names another format than ``fmt`` (the one ``--format``
    gave): a key of ``suffixes`` (suffix -> format) naming another, or an SQLite suffix
    (``.db``: ``rung ls`` and ``--storage DIR`` read such a file as a journal). Unknown
    suffixes and none are the user's choice and pass.

    Raises:
        CLIError: naming ``-o``, the format its suffix names and what to do (exit code 2).
    """
    suffix = suffix_of(out)
    if suffix in SQLITE_SUFFIXES:
        raise _error(value, f"a {suffix} file is taken for an SQLite journal (rung ls, "
                            f"--storage DIR); name a {_own(fmt, suffixes)} file")
    named = suffixes.get(suffix)
    if named is not None and named != fmt:
        raise _error(value, f"the suffix {suffix} names {_NAMES.get(named, named)}, not "
                            f"--format {fmt} (name a "
                            f"{_own(fmt, suffixes)} file, or drop --format)")


_NAMES = {"csv": "CSV", "json": "JSON", "parquet": "Parquet"}


def _own(fmt: str, suffixes: dict[str, str]) -> str:
    return " or ".join(s for s, f in suffixes.items() if f == fmt) or fmt


def refuse_journal_files(out: Path, value: str, journal: Path, study: str) -> None:
    """Refuse ``-o`` that names a file a journal lives in, so that writing it destroys no
    study: the journal ``study`` is read from (the same file, by any name: a symbolic or hard
    link), any existing SQLite database (``SQLITE_HEADER``), the ``-wal``/``-shm``/``-journal``
    file of one (existing or not), a study's writer lock beside one (``<db>.<study>.lock``),
    or a path inside the checkpoint directory of one (``<stem>-checkpoints/``). Reads at
    most 16 bytes of a regular file; never opens a device or a pipe.

    Raises:
        CLIError: naming ``-o`` and what the file is (exit code 2).
    """
    if _same(out, journal):
        raise _error(value, f"is the journal of study {study!r}, which writing it would "
                            "destroy (name another file)")
    if _is_sqlite(out):
        raise _error(value, "is an SQLite database (a rung journal?), which rung does not "
                            "overwrite (name another file)")
    target = _resolved(out)
    for suffix, what in _SIDECARS.items():
        if target.name.endswith(suffix):
            db = target.with_name(target.name[:-len(suffix)])
            if _same(db, journal) or _is_sqlite(db):
                raise _error(value, f"is the {what} of the SQLite database {_shown(db)}, which "
                                    "writing it would corrupt (name another file)")
    if target.name.endswith(".lock"):
        if _HASHED_LOCK.fullmatch(target.name):
            raise _error(value, "is a rung journal's writer lock (name another file)")
        stem = target.name[:-len(".lock")]
        for i, c in enumerate(stem):
            if c != "." or i == 0:
                continue
            db = target.with_name(stem[:i])
            if _same(db, journal) or _is_sqlite(db):
                raise _error(value, f"is a writer lock of the journal {_shown(db)}, which writing "
                                    "it would break (name another file)")
    own = _resolved(journal.parent) / f"{journal.stem}-checkpoints"
    for d in target.parents:
        if not d.name.endswith("-checkpoints"):
            continue
        stem = d.name[:-len("-checkpoints")]
        dbs = [journal] if d == own else []
        with contextlib.suppress(OSError):
            dbs += [p for p in d.parent.iterdir() if p.stem == stem and _is_sqlite(p)]
        if dbs:
            raise _error(value, f"is inside {_shown(d)}, the checkpoint directory of the "
                                f"journal {_shown(dbs[0])} (name a file outside it)")


def _shown(p: Path) -> Path:
    """``p`` as the message names it: relative to the working directory when inside it."""
    try:
        return _resolved(p).relative_to(_resolved(Path.cwd()))
    except ValueError:
        return p


def _resolved(p: Path) -> Path:
    try:
        return p.resolve()
    except (OSError, RuntimeError):  # a loop of symbolic links, ...
        return p.absolute()


def _same(a: Path, b: Path) -> bool:
    """``a`` and ``b`` are one file (``samefile``), or would be once created (one resolved
    path)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return _resolved(a) == _resolved(b)


def _is_sqlite(p: Path) -> bool:
    """``p`` is a regular file that starts as an SQLite database does."""
    try:
        if not p.is_file():
            return False
        with p.open("rb") as f:
            return f.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def os_reason(e: OSError) -> str:
    """What the system said of a failed write, without the file it was about (the caller
    names the user's path; a hidden temporary file's is no concern of theirs): the text of
    the ``errno`` a library's message quotes (pyarrow's ``... Detail: [errno 28] No space
    left on device``), else ``strerror`` (``Permission denied``), else the text of
    ``errno``, else the message's first line with any quoted name left out."""
    m = re.search(r"\[errno (\d+)\]", str(e), re.IGNORECASE)
    if m:
        return os.strerror(int(m.group(1)))
    if e.strerror:
        return e.strerror
    if e.errno:
        return os.strerror(e.errno)
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    return re.sub(r"'[^']*'", "the file", text)


@contextlib.contextmanager
def replace(out: Path) -> Iterator[Path]:
    """A path to write ``out``'s new content to: a temporary file beside it that replaces it
    once written, so that a write that fails (a full disk, a value Parquet refuses) leaves
    what was there before; a device or pipe (``/dev/stdout``) is written in place, and a
    symbolic link's target is what is replaced (the link stays)."""
    if out.exists() and not out.is_file():
        yield out
        return
    out = out.resolve() if out.is_symlink() else out
    # the same suffix: matplotlib and pandas tell a format by it (a name that is only a
    # suffix, ".svg", has none for pathlib)
    dot = out.name.rfind(".")
    stem, suffix = (out.name[:dot], out.name[dot:]) if dot >= 0 else (out.name, "")
    tmp = out.with_name(f".{stem}.{os.getpid()}.tmp{suffix}")
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
