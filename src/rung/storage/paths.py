"""Checking a journal's file path before anything is written.

``storage_problem`` says why an SQLite journal could not be created or opened at a path (a
parent that is a file, a directory without write permission, a name too long for the file
system, a NUL byte), or returns ``None``. ``rung run`` calls it while it validates the spec, so
a bad ``storage`` is a one-line error with exit code 2 and nothing on disk, instead of a
``FileNotFoundError`` from deep inside ``sqlite3``; ``SQLiteJournal`` turns the same failures,
should they still happen (a race), into ``JournalError``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

#: Longest file name (bytes) most file systems accept.
NAME_MAX = 255


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def safe_component(study: str) -> str:
    """``study`` as one file name: itself when it is one already (letters, digits, ``-_.``,
    not starting with ``.``), else its characters outside those as ``_`` followed by ``-`` and
    8 hex digits of its hash, so that two names never share one (``a b`` and ``a_b`` did)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in study)
    if safe == study and not study.startswith("."):
        return study
    return f"{safe.lstrip('.') or '_'}-{_digest(study)[:8]}"


def lock_file_name(db_name: str, study: str) -> str:
    """The name of the sidecar file whose ``flock`` marks a study's one writer: ``<db file
    name>.<safe_component(study)>.lock``, or a hashed name when that would be too long."""
    name = f"{db_name}.{safe_component(study)}.lock"
    if len(os.fsencode(name)) <= NAME_MAX:
        return name
    return f".rung-{_digest(db_name, study)[:32]}.lock"


def study_subdir(root: Path, study: str) -> Path:
    """Where study ``study``'s files go under a directory ``root`` that holds several
    studies' (a journal's checkpoint directory, a TensorBoard logdir): ``root/<study>`` for a
    name that is one path component (spaces and any letters included), else
    ``root/<safe_component(study)>``, so that no name reaches outside ``root`` (``/home/me``,
    ``a/../../x``) or into another study's directory (``a/1``: study ``a``'s trial 1). A name
    with ``/`` keeps the nested directory an earlier version gave it, if that exists inside
    ``root`` (its files are still found). A component over ``NAME_MAX`` bytes is shortened
    and keeps a hash of the whole name (as ``lock_file_name`` does)."""
    if "/" not in study and "\\" not in study and study not in (".", ".."):
        return root / _fitting(study, study)
    legacy = root / study
    segments = study.split("/")  # as written: pathlib would drop '.' and empty ones
    if "\\" not in study and all(s not in ("", ".", "..") for s in segments) \
            and inspectable(legacy.is_dir):
        return legacy
    return root / _fitting(safe_component(study), study)


def _fitting(component: str, study: str) -> str:
    """``component`` if it fits a file name (``NAME_MAX`` bytes), else its first 200 bytes
    (whole characters) followed by ``-`` and 16 hex digits of ``study``'s hash: a name too
    long for the file system still has a directory of its own."""
    data = component.encode("utf-8", "surrogatepass")
    if len(data) <= NAME_MAX:
        return component
    head = data[:200].decode("utf-8", "ignore")
    return f"{head}-{_digest(study)[:16]}"


def inspectable(test: Callable[[], bool]) -> bool:
    """``test()`` (a user-given path's ``is_dir``, ``exists``, ...), ``False`` where the path
    cannot be inspected at all (a name too long for the file system, ...; ``pathlib`` answers
    ``False`` only for a missing path): the caller then says what is wrong in one line
    (``storage_problem``, or that no journal is there)."""
    try:
        return test()
    except OSError:
        return False


def names_directory(text: str) -> bool:
    """``text`` ends with a path separator, so it names a directory whether or not one exists
    (``Path`` drops the separator: ``Path("out/")`` is ``out``, which a journal would create
    as a file)."""
    return text.endswith(("/", os.sep)) or (os.altsep is not None and text.endswith(os.altsep))


def sqlite_special(text: str) -> str | None:
    """Why ``text`` (a storage path as written) is not a file name to SQLite (one line naming
    it), or ``None``: ``:memory:`` (a database in RAM: nothing would be saved) and a ``file:``
    URI (SQLite would open the file the URI names, not one named ``file:...``). rung opens
    its journals by absolute path, so neither means anything to rung: both are refused."""
    if text == ":memory:":
        return (f"{text!r} is SQLite's in-memory database, which rung refuses: nothing would "
                "be saved; give the path of an SQLite file")
    if text[:5].lower() == "file:":
        return (f"{text!r} is an SQLite URI, which rung does not read: give the path of an "
                "SQLite file (or sqlite:/// and the path)")
    return None


def storage_problem(path: str | os.PathLike[str]) -> str | None:
    """Why no SQLite journal can be created or opened at ``path`` (one line), or ``None``.

    Checks, without writing anything: not SQLite's ``:memory:`` or a ``file:`` URI
    (``sqlite_special``); no NUL byte; not written as a directory (a trailing
    slash: ``names_directory``); every component fits a file name; if the
    file exists it is a regular, readable and writable file; else its nearest existing ancestor
    is a directory in which this process may create entries (missing directories in between
    are created later, by the journal).
    """
    text = os.fspath(path)
    special = sqlite_special(text)
    if special is not None:
        return special
    if "\0" in text:
        return "contains a NUL character"
    if not text.strip():
        return "is empty"
    if names_directory(text):
        return f"{text} names a directory (it ends with a slash); give a .db file path"
    p = Path(text)
    for part in p.parts:
        try:
            n = len(os.fsencode(part))
        except UnicodeError:
            return f"{part!r} cannot be encoded as a file name on this system"
        if n > NAME_MAX:
            return f"the name {part[:40]!r}... is {n} bytes long (at most {NAME_MAX})"
    try:
        if p.exists():
            if p.is_dir():
                return f"{p} is a directory; give a .db file path"
            if not p.is_file():
                return f"{p} is not a regular file"
            if not os.access(p, os.R_OK | os.W_OK):
                return f"{p} is not readable and writable by this user"
            return None
        ancestor = p.absolute().parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            return f"cannot create a directory under {ancestor}: it is a file"
        if not os.access(ancestor, os.W_OK | os.X_OK):
            return f"cannot create files under {ancestor}: permission denied"
    except OSError as e:  # a component that cannot be inspected
        return f"cannot use {p}: {e.strerror or e}"
    return None


__all__ = [
    "NAME_MAX", "inspectable", "lock_file_name", "safe_component", "sqlite_special",
    "storage_problem",
    "study_subdir",
]
