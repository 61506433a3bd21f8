"""A study's one writer: the ``flock`` on a sidecar file beside a SQLite journal that a driver
holds while it may append to the study (``SQLiteJournal`` takes it at its first write, or at
``claim``; the kernel drops it when its holder dies, so a killed driver never blocks the next).

Taking it checks that nobody appended since this journal object's engine was replayed
(``note_replayed``): a driver never appends from a stale state. ``release`` gives it back at the
end of a session (``Study.run``), so another ``Study`` object, in this process or another, may
drive the study next, while this one, should it write again, takes it again under the same
check (its own records counted as seen).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rung.errors import JournalError
from rung.storage.paths import lock_file_name

#: the writer-lock files held by journals of this process: a second journal object that
#: meets the lock is told it is its own process (a Study still open), not another one
_HELD_HERE: set[Path] = set()


class StudyBusyError(JournalError):
    """Another driver holds the study's writer lock: this one may not write it (nothing was
    written; the other driver's run goes on)."""


class WriterLock:
    """The writer-lock half of ``SQLiteJournal`` (see the module docstring); the attributes
    are the journal's."""

    path: Path
    _real: Path
    _locks: dict[str, int]
    _seen: dict[str, int]
    _seq: dict[str, int]

    if TYPE_CHECKING:  # the journal's own

        def load_study(self, name: str) -> dict[str, Any]: ...

        def _max_seq(self, name: str) -> int: ...

        def _writable(self) -> None: ...

        def _check_file(self) -> None: ...


    def claim(self, name: str) -> None:
        """Take the study's writer lock now, as the first ``append`` would: a driver calls it
        before it starts workers, so a second driver of the same study is refused before it
        runs anything (``JournalError``: being written by another process), not at its
        first record, seconds later, with its workers already training."""
        self._writable()
        self._check_file()
        self._lock(name)

    def is_being_written(self, name: str) -> bool:
        """True while a live driver holds the study's writer lock (this journal, or another
        process: the kernel drops the lock when its holder dies, so a killed driver never looks
        alive). Never blocks and never takes the lock."""
        if name in self._locks:
            return True
        import fcntl

        try:
            fd = os.open(self._lock_path(name), os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        finally:
            os.close(fd)  # closing releases the probe lock
        return False

    def holds(self, name: str) -> bool:
        """Whether this journal holds study ``name``'s writer lock."""
        return name in self._locks

    def release(self, name: str) -> None:
        """Give back study ``name``'s writer lock, if held (a session's end: ``Study.run``).
        What this journal wrote counts as seen, so its own next write takes the lock again
        unless another driver appended meanwhile (then ``JournalError``: load it again)."""
        fd = self._locks.pop(name, None)
        if fd is None:
            return
        _HELD_HERE.discard(self._lock_path(name).resolve())
        if name in self._seq:
            self._seen[name] = self._seq[name]
        with contextlib.suppress(OSError):
            os.close(fd)  # closing releases the flock

    def _release_all(self) -> None:
        for name in list(self._locks):
            self.release(name)

    def _lock(self, name: str) -> None:
        if name in self._locks:
            return
        self.load_study(name)  # an unknown study is an error, not a silent new one
        import fcntl

        fd = os.open(self._lock_path(name), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            here = self._lock_path(name).resolve() in _HELD_HERE
            raise StudyBusyError(
                f"study {name!r} in {self.path} is being written by "
                + ("another Study object in this process (close it, or use that one)" if here
                   else "another process")
            ) from None
        n = self._max_seq(name)  # taken under the lock: nobody else appends
        seen = self._seen.get(name)
        if seen is not None and n > seen:
            os.close(fd)
            raise JournalError(
                f"study {name!r} in {self.path} was written by another driver after this one "
                f"read it ({n - seen} new records): load it again (Study.load, rung resume)"
            )
        self._locks[name] = fd
        _HELD_HERE.add(self._lock_path(name).resolve())
        self._seq[name] = n

    def _lock_path(self, name: str) -> Path:
        """The sidecar file whose ``flock`` marks the study's one writer."""
        return self._real.with_name(lock_file_name(self._real.name, name))


__all__ = ["StudyBusyError", "WriterLock"]
