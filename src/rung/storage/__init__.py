"""Journals: append-only storage of events and commands, replayed into the same ``History``."""

from __future__ import annotations

import os
import re
from pathlib import Path

from rung.errors import ConfigError
from rung.storage.base import Journal
from rung.storage.codec import RECORD_VERSION, from_body, to_body
from rung.storage.memory import MemoryJournal
from rung.storage.sqlite import SQLiteJournal

#: A URL's scheme (two letters at least: ``C://`` is a Windows drive).
_URL_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")
_SQLITE = "sqlite:///"


def journal_path(storage: str | os.PathLike[str], directory: bool = False) -> Path:
    """The SQLite file that ``storage`` names: a path, with a leading ``~`` or ``~user``
    expanded as a shell does, or an ``sqlite:///<path>`` URL (three slashes, then the path:
    ``sqlite:////abs/x.db`` is ``/abs/x.db``). This is the one place that decides what a
    storage string means: ``Study.create``/``load``, ``rung run --storage`` and every read
    command's ``--storage`` call it. The journal is then opened by its absolute path
    (``SQLiteJournal``), so no string is ever read as an SQLite URI.

    With ``directory`` (a command's ``--storage FILE|DIR``), a path written as a directory (a
    trailing slash) is accepted and returned without the slash.

    Raises:
        ConfigError: keyed ``storage``, before anything is written: any other URL
            (``postgres://...``: rung's journal is an SQLite file), SQLite's ``:memory:`` or a
            ``file:`` URI (both would be read by SQLite as something other than the file the
            name says: nothing saved, or another file written), an empty path, a path written
            as a directory (a trailing slash, unless ``directory``), or a ``~user`` with no
            home directory.
    """
    s = os.fspath(storage)
    if not isinstance(s, str):
        raise ConfigError(key="storage", message=f"must be a str path, got {s!r}")
    url = _URL_RE.match(s)
    if url and s[:len(_SQLITE)].lower() != _SQLITE:
        sqlite = url.group(1).lower() == "sqlite"
        raise ConfigError(key="storage", message=(
            f"{s!r} is a URL rung cannot open: rung's journal is an SQLite file; give its path"
            + (", or sqlite:/// and the path (three slashes)" if sqlite else "")
            + " (None keeps the study in memory)"))
    if url:
        s = s[len(_SQLITE):]
    if not s:
        raise ConfigError(key="storage", message="is empty: give the path of an SQLite file "
                          "(None keeps the study in memory)")
    from rung.storage.paths import names_directory, sqlite_special

    special = sqlite_special(s)
    if special is not None:
        raise ConfigError(key="storage", message=special + (
            " (None keeps the study in memory)" if s == ":memory:" else ""))
    if names_directory(s):
        if directory:
            s = s.rstrip("/" + os.sep + (os.altsep or "")) or s[:1]
        else:
            raise ConfigError(key="storage", message=f"{s!r} names a directory (it ends with a "
                              "slash): give the path of an SQLite file, such as "
                              f"{s.rstrip('/' + os.sep)}/study.db")
    try:
        return Path(s).expanduser()
    except RuntimeError:  # ~user of no such user, or no home directory
        raise ConfigError(key="storage", message=f"cannot expand {s.split('/', 1)[0]!r}: no "
                          "such user's home directory") from None


def open_journal(
    storage: str | os.PathLike[str] | Journal | None, readonly: bool = False
) -> Journal:
    """``None`` -> in memory; a path (``~`` expanded) or an ``sqlite:///path`` URL -> the
    SQLite journal there (``journal_path``); a ``Journal`` instance -> itself.

    Raises:
        ConfigError: keyed ``storage``: a URL rung cannot open, an empty path, a ``~user``
            with no home, or a value of another type. Nothing is written then.
        JournalError: no journal can be created (or, ``readonly``, found) at the path.
    """
    if storage is None:
        return MemoryJournal()
    if isinstance(storage, str | os.PathLike):
        return SQLiteJournal(journal_path(storage), readonly=readonly)
    if isinstance(storage, Journal):
        return storage
    raise ConfigError(key="storage", message=f"expected None, a path or a Journal, got "
                      f"{storage!r}")


__all__ = [
    "RECORD_VERSION",
    "Journal",
    "MemoryJournal",
    "SQLiteJournal",
    "from_body",
    "journal_path",
    "open_journal",
    "to_body",
]
