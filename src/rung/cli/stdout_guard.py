"""The ``rung`` command's standard output: written through a guard, so that a failed write ends
the command in one defined way, whatever the size of the output and wherever it failed.

Contract (``guard_stdout``, installed by ``rung.cli.main.main`` for the length of a command):

- while the command runs, ``sys.stdout`` is a ``GuardedOutput`` over the stream it was
  (``isatty``, ``fileno``, ``encoding``, ``reconfigure``... are that stream's);
- a character the stream's encoding cannot express (``PYTHONIOENCODING=ascii``, a Latin-1
  locale) is written as a backslash escape (``≤`` as ``\\u2264``): never an exception, never a
  line left out;
- the first write or flush that fails (an ``OSError``: the reader of a pipe gone, a full disk,
  an I/O error) is recorded, and that output and all later output is discarded: the command goes
  on as if it had been written (a run keeps running: its journal is the product, standard
  output only a view of it). The file descriptor is then pointed at ``/dev/null``, so that
  neither a later flush nor Python's own at exit fails again (which printed "Exception ignored"
  and exited 120), and a worker started later does not inherit the broken pipe;
- a process started with its standard output closed (``rung ls >&-``) writes as to a closed
  descriptor: the first write fails with ``EBADF``, an error like any other (below);
- ``finish(code)`` flushes and says what the command's exit code is: ``code`` when every write
  succeeded, and also, quietly, when the reader went away (``EPIPE``: ``rung ls | head -1``);
  after another error, one line on stderr, ``rung: error: standard output: <the system's
  reason>``, and ``code`` if it is not 0, else 2 (as ``-o FILE`` reports a failed write).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Iterator
from typing import IO, Any, cast

#: the exit code of a command whose output could not be written (as ``-o FILE``'s)
OUTPUT_FAILED = 2


class GuardedOutput:
    """A text stream over ``inner`` that never raises on a write or a flush: see the module's
    contract. ``error`` is the first ``OSError`` a write or flush met (``None``: none)."""

    def __init__(self, inner: IO[str]) -> None:
        self._inner = inner
        self.error: OSError | None = None

    def write(self, text: str) -> int:
        """Write ``text`` (escaping what the encoding cannot express); its length, always."""
        if self.error is None:
            try:
                self._inner.write(text)
            except UnicodeEncodeError:
                from rung.reporter import escaped

                self._call(self._inner.write, escaped(text, self._inner))
            except OSError as e:
                self._failed(e)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self.error is None:
            self._call(self._inner.flush)

    def _call(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except OSError as e:
            self._failed(e)

    def _failed(self, e: OSError) -> None:
        """Record ``e``; point the descriptor at ``/dev/null`` (module docstring)."""
        self.error = e
        with contextlib.suppress(OSError, ValueError, AttributeError):
            fd = self._inner.fileno()
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, fd)
            finally:
                os.close(null)

    def isatty(self) -> bool:
        return bool(self._inner.isatty())

    def fileno(self) -> int:
        return self._inner.fileno()

    def __getattr__(self, name: str) -> Any:  # encoding, errors, buffer, reconfigure, ...
        if name == "_inner":  # not set yet (a copy being made): no recursion
            raise AttributeError(name)
        return getattr(self._inner, name)

    @property
    def reader_gone(self) -> bool:
        """The write failed because the reader of the pipe went away (``EPIPE``)."""
        return isinstance(self.error, BrokenPipeError) or (
            self.error is not None and self.error.errno == errno.EPIPE)

    def finish(self, code: int) -> int:
        """Flush, then the command's exit code given that it returned ``code`` (module
        docstring); prints the one error line when standard output failed."""
        self.flush()
        if self.error is None or self.reader_gone:
            return code
        from rung.cli.output import os_reason

        print(f"rung: error: standard output: {os_reason(self.error)}", file=sys.stderr,
              flush=True)
        return code if code != 0 else OUTPUT_FAILED


class _Unguarded:
    """What ``guard_stdout`` gives when it guards nothing (not the main thread): ``finish``
    returns the code as given."""

    error = None

    def finish(self, code: int) -> int:
        return code


class _Closed:
    """The standard output of a process started without one (``rung ls >&-``: Python's
    ``sys.stdout`` is ``None``): a write fails as a write to a closed descriptor does
    (``EBADF``); a flush with nothing written succeeds."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))


def _hold_fd_1() -> None:
    """Put ``/dev/null`` on descriptor 1 when it is closed, so that no file the command opens
    (the journal) takes that number: a worker process inherits descriptor 1 as its standard
    output and would print into that file."""
    try:
        os.fstat(1)
    except OSError:
        null = os.open(os.devnull, os.O_WRONLY)
        if null != 1:
            os.dup2(null, 1)
            os.close(null)


@contextlib.contextmanager
def guard_stdout() -> Iterator[GuardedOutput | _Unguarded]:
    """``sys.stdout`` guarded (``GuardedOutput``) for the length of the ``with`` block, and
    ``sys.stderr`` told to escape what its encoding cannot express (both restored after);
    yields the guard, whose ``finish(code)`` gives the command's exit code. A process started
    with its standard output closed (``sys.stdout`` is ``None``) gets a guard whose first
    write fails with ``EBADF`` (``rung: error: standard output: Bad file descriptor``, exit
    code 2, as for any write error), and ``/dev/null`` on descriptor 1 (``_hold_fd_1``).
    Guards nothing outside the main thread: ``sys.stdout`` is the process's, and a command
    run from another thread leaves it alone."""
    import threading

    inner = sys.stdout
    if threading.current_thread() is not threading.main_thread():
        yield _Unguarded()
        return
    if inner is None:
        _hold_fd_1()
    base: Any = _Closed() if inner is None else inner
    guard = base if isinstance(base, GuardedOutput) else GuardedOutput(base)
    err = sys.stderr
    strict = getattr(err, "errors", None) == "strict" and hasattr(err, "reconfigure")
    if strict:
        with contextlib.suppress(Exception):
            err.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    sys.stdout = cast(Any, guard)
    try:
        yield guard
    finally:
        if sys.stdout is guard:
            sys.stdout = inner
        if strict:
            with contextlib.suppress(Exception):
                err.reconfigure(errors="strict")  # type: ignore[union-attr]


__all__ = ["OUTPUT_FAILED", "GuardedOutput", "guard_stdout"]
