"""Which studies the dashboard serves: the journals under its storage (an SQLite journal, or a
directory of ``*.db`` files) and the studies each holds, each under the key the pages and the
API call it (``entries``), with a line for each journal that cannot be read (``listing``).

``StudyListing`` is a part of ``rung.dashboard.data.Catalog``, split out to keep one idea per
file: it reads the catalog's ``storage`` and ``only`` and keeps each journal's studies in its
``_names_at`` (all set by ``Catalog.__init__``). Journals are opened read-only.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from rung.dashboard.guard import stamp
from rung.errors import RungError
from rung.storage import SQLiteJournal


class StudyListing:
    """The studies under ``storage``, or just ``only`` if given (``Catalog``'s listing)."""

    # ``Catalog``'s state (``Catalog.__init__``), as these methods use it
    storage: Path
    only: str | None
    _names_at: dict[Path, tuple[tuple[Any, ...], tuple[list[str], str | None]]]

    def files(self) -> list[Path]:
        if self.storage.is_dir():
            return sorted(p for p in self.storage.glob("*.db") if p.is_file())
        return [self.storage] if self.storage.exists() else []

    def entries(self) -> list[tuple[str, str, Path]]:
        """``(key, name, path)`` of every study: its ``key`` (what the pages and the API call
        it) is its name, or ``NAME@FILE`` (``FILE`` its journal's file name) for a name that
        several journals of a directory hold, so that each of them can be shown."""
        return [(k, n, p) for k, n, p in self.listing() if k is not None]

    def listing(self) -> list[tuple[str | None, str, Path]]:
        """``entries``, in file order, with a ``(None, why, path)`` for each journal that
        cannot be read (``why``: its error's first line, as ``rung ls`` says it: ``runs/x.db
        is not a rung journal: file is not a database``). With ``only``, an unreadable
        journal is left out when ``storage`` is a directory (it may not hold that study)."""
        found: list[tuple[str | None, str, Path]] = []
        for path in self.files():
            names, why = self._names(path)
            if why is not None:
                if self.only is None or not self.storage.is_dir():
                    found.append((None, why, path))
                continue
            found += [(n, n, path) for n in names if self.only is None or n == self.only]
        count = Counter(n for k, n, _ in found if k is not None)
        return [(k if k is None or count[n] == 1 else f"{n}@{p.name}", n, p)
                for k, n, p in found]

    def _names(self, path: Path) -> tuple[list[str], str | None]:
        """The studies of the journal ``path``, and why it cannot be read (``None`` if it
        can: then the names), read again only when the file or its write-ahead log changed:
        every request names its study, and opening each journal of a directory for each took
        1 ms a file, 0.3 s a poll of the studies page over 14 journals. The names are kept
        only if the journal did not change while they were read (the first reader of a
        closed journal creates its empty log: that journal is read twice)."""
        key = stamp(path)
        hit = self._names_at.get(path)
        if hit is not None and hit[0] == key:
            return hit[1]
        why: str | None = None
        try:
            with SQLiteJournal(path, readonly=True) as j:
                names = list(j.list_studies())
        except Exception as e:  # not a journal, a damaged or a locked one: its row says so
            names = []
            why = str(e).splitlines()[0] if str(e).strip() else f"{path}: {type(e).__name__}"
            if isinstance(e, RungError) and "locked by another process" in why:
                # not kept: it may be readable at the next look; a journal listed before stays
                # listed (its studies' pages say it is locked)
                return (hit[1][0], None) if hit is not None and hit[1][1] is None else (names,
                                                                                        why)
        if stamp(path) == key:
            self._names_at[path] = (key, (names, why))
        else:
            self._names_at.pop(path, None)
        return names, why

    def studies(self) -> list[tuple[str, Path]]:
        """``(key, path)`` of every study (see ``entries``)."""
        return [(k, p) for k, _, p in self.entries()]

    def resolve(self, key: str) -> tuple[str, Path]:
        """The name and journal of the study ``key`` (see ``entries``); ``KeyError`` if none."""
        for k, n, p in self.entries():
            if k == key:
                return n, p
        raise KeyError(key)

    def locate(self, key: str) -> Path:
        return self.resolve(key)[1]
