"""rung's last resort for its loggers' warnings: ``rung: <message>`` on stderr.

Python writes a warning that no handler would take (the application configured no logging:
a script, a notebook) through ``logging.lastResort``, bare: ``objective f: spawn workers
cannot import it ...`` beside rung's own ``rung: ...`` lines. ``LastResort``, on the ``rung``
logger from ``import rung`` on, takes its place for rung's loggers:

- a record at WARNING or above, of a ``rung`` logger whose records reach no other handler (its
  own and its ancestors' while it propagates), is written to ``sys.stderr`` as it is at the
  time (a live view may have redirected it) as ``rung: <message>``, one line per line of the
  message;
- once the application configures any handler on the way (``logging.basicConfig``, a
  framework's, pytest's), it writes nothing: the record is the application's to show, as
  Python's last resort would have left it;
- a level set on a ``rung`` logger, ``propagate = False`` with a handler of its own, or
  ``logging.disable`` silence it as they silence any handler.

It never raises (a closed stream loses the line).
"""

from __future__ import annotations

import logging
import sys


class LastResort(logging.Handler):
    """The handler of the module docstring (one instance, on the ``rung`` logger)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        if others(logging.getLogger(record.name)):
            return
        try:
            text = self.format(record)
            sys.stderr.write("".join(f"rung: {line}\n" for line in text.splitlines() or [""]))
            sys.stderr.flush()
        except Exception:  # never let a warning take the run down
            pass


def others(logger: logging.Logger) -> bool:
    """Whether a record of ``logger`` reaches a handler that is not ``LastResort``."""
    lg: logging.Logger | None = logger
    while lg is not None:
        if any(not isinstance(h, LastResort) for h in lg.handlers):
            return True
        lg = lg.parent if lg.propagate else None
    return False


def install() -> None:
    """Put one ``LastResort`` on the ``rung`` logger (again: nothing)."""
    root = logging.getLogger("rung")
    if not any(isinstance(h, LastResort) for h in root.handlers):
        root.addHandler(LastResort())


__all__ = ["LastResort", "install", "others"]
