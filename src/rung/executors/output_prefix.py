"""Which trial printed a line: a local worker's ``sys.stdout`` and ``sys.stderr`` start every
line a trial writes with ``[trial <id>] `` (``LocalExecutor(prefix_output=True)``, the
default), so the lines of several workers sharing a terminal or a log can be told apart.

Contract:
- a line is what follows a ``\\n``, or a ``\\r`` (a progress bar redrawing its line, as tqdm
  does), so a redrawn bar keeps its prefix; ``\\r\\n`` ends one line;
- text written while no trial runs on the worker (while the objective's module loads, between
  trials) is written as it is;
- each line reaches the wrapped stream in one ``write``, its prefix, text and end together
  (``print`` writes its text and its newline apart: two workers sharing an unbuffered stream,
  a notebook's, would glue their lines together); a line not ended yet waits for its end, a
  ``flush`` or the end of the trial (``end_trial``);
- only what goes through the Python streams is prefixed: output of C code or of child
  processes writing to the file descriptors directly is not;
- everything else (``fileno``, ``isatty``, ``encoding``, ``flush``, ``reconfigure``...) is the
  wrapped stream's.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterable
from typing import Any, TextIO

#: a line ends after ``\n``, or after a ``\r`` not followed by ``\n``
_LINE_END = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")

_trial: list[int | None] = [None]  # the trial this worker runs now


def set_trial(trial_id: int | None) -> None:
    """The trial whose lines are prefixed from now on (``None``: none runs)."""
    _trial[0] = trial_id


def end_trial() -> None:
    """The trial ended: what it printed and did not end with a newline is written now."""
    _trial[0] = None
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, PrefixedStream):
            with contextlib.suppress(OSError, ValueError):  # (a closed or broken stream)
                stream.flush()


class PrefixedStream:
    """``stream``, each line written while a trial runs starting with ``[trial <id>] ``."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._at_line_start = True
        self._pending = ""  # the line begun and not ended yet, prefixed

    def write(self, s: str) -> int:
        if not s:
            return 0
        tid = _trial[0]
        prefix = "" if tid is None else f"[trial {tid}] "
        done: list[str] = []
        for piece in _LINE_END.split(s):
            if not piece:
                continue
            if self._at_line_start and prefix and piece != "\n":
                piece = prefix + piece
            self._at_line_start = piece[-1] in "\r\n"
            if self._at_line_start:
                done.append(self._pending + piece)
                self._pending = ""
            else:
                self._pending += piece
        if done:
            self._stream.write("".join(done))
        return len(s)

    def flush(self) -> None:
        """Write the line begun, if any (it goes on from there), and flush the stream."""
        if self._pending:
            pending, self._pending = self._pending, ""
            self._stream.write(pending)
        self._stream.flush()

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def prefix_output() -> None:
    """Wrap this process's ``sys.stdout`` and ``sys.stderr`` (once: a wrapped stream is left
    as it is)."""
    if not isinstance(sys.stdout, PrefixedStream):
        sys.stdout = PrefixedStream(sys.stdout)
    if not isinstance(sys.stderr, PrefixedStream):
        sys.stderr = PrefixedStream(sys.stderr)


__all__ = ["PrefixedStream", "end_trial", "prefix_output", "set_trial"]
