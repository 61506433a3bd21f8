"""What a run tells its user while it runs: one line per failed trial, a count of outcomes at
the end.

A ``Reporter`` is handed to ``rung.driver.drive``, which calls ``on_turn(engine, events)``
after every turn (once the turn is journaled) and ``end(engine)`` when the run stops. It reads
the engine and never changes it. Lines go through the ``rung.run`` logger (the library prints
nothing); ``visible()`` makes them reach the terminal when the application configured no
logging at all, which is what ``Study.run`` does, so a failing run is loud by default and a
run inside an application that logs goes where that application's logs go.

Subclass it to show a run differently (the CLI's progress view, a notebook widget, callbacks):
override ``trial_failed`` / ``end``, or ``on_turn`` for everything.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from rung.core.engine import Engine
from rung.core.events import Event, TrialEnded
from rung.core.records import TrialStatus

log = logging.getLogger("rung.run")


class Reporter:
    """Logs one line per failed trial run (``trial 3 failed at step 2: ValueError: boom``) as
    a warning, and the count of trials by status at the end of a run at info level.

    Args:
        logger: where the lines go (default: the ``rung.run`` logger).
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger if logger is not None else log
        self.failures = 0  # failed trial runs reported by this reporter
        self._seen: set[tuple[int, int]] = set()  # (trial id, launch) already reported

    def on_turn(self, engine: Engine, events: Iterable[Event]) -> None:
        """Called by the driver after each turn with the events it handled."""
        h = engine.history
        for ev in events:
            if type(ev) is TrialEnded and ev.trial_id in h:
                tid = ev.trial_id
                if h.status(tid) is TrialStatus.FAILED:
                    key = (tid, h.launches(tid))
                    if key not in self._seen:
                        self._seen.add(key)
                        self.failures += 1
                        self.trial_failed(tid, h.last_step(tid), h.error(tid))

    def trial_failed(self, trial_id: int, step: int, error: str | None) -> None:
        """One trial run failed at ``step`` (0: before its first report)."""
        self.logger.warning("%s", failure_line(trial_id, step, error))

    def end(self, engine: Engine, name: str = "") -> None:
        """The run stopped (budget spent, nothing left to run, or an error)."""
        self.logger.info("%s%s", f"study {name}: " if name else "", outcome_line(engine))


def error_summary(error: str | None) -> str:
    """One line out of a trial's error: the exception line of a traceback
    (``ValueError: boom``), else the first line of the text."""
    if not error:
        return "no reason given"
    lines = [ln.rstrip() for ln in error.strip().splitlines() if ln.strip()]
    if lines and lines[0].startswith("Traceback"):
        for ln in reversed(lines):
            if not ln.startswith((" ", "\t")):  # the last unindented line: "Type: message"
                return ln
    return lines[0] if lines else "no reason given"


def failure_line(trial_id: int, step: int, error: str | None) -> str:
    """``trial 3 failed at step 2: ValueError: boom`` (an error that names its step already,
    as an invalid metric's does, is not given another)."""
    text = error_summary(error)
    if " at step " in text:
        return f"trial {trial_id} failed: {text}"
    where = f"at step {step}" if step > 0 else "before its first report"
    return f"trial {trial_id} failed {where}: {text}"


def outcome_line(engine: Engine) -> str:
    """``12 trials: 9 completed, 2 stopped, 1 failed`` (statuses with no trial left out)."""
    h = engine.history
    parts = [f"{h.count(s)} {s.value}" for s in TrialStatus if h.count(s)]
    n = len(h)
    return f"{n} trial{'s' if n != 1 else ''}" + (f": {', '.join(parts)}" if parts else "")


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (a live terminal view may have
    redirected it), as ``rung: <message>``."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"rung: {self.format(record)}\n")
            sys.stderr.flush()
        except Exception:  # never let a report take the run down
            self.handleError(record)


def visible(logger: logging.Logger = log) -> None:
    """Make ``logger``'s info and warning lines reach stderr when nothing else would: adds a
    handler only while neither it nor any logger above it has a handler of the application's
    (and takes it away again once the application configures logging)."""
    ours = [h for h in logger.handlers if isinstance(h, _StderrHandler)]
    others = False
    lg: logging.Logger | None = logger
    while lg is not None:
        if any(not isinstance(h, _StderrHandler) for h in lg.handlers):
            others = True
            break
        lg = lg.parent if lg.propagate else None
    if others:
        for h in ours:
            logger.removeHandler(h)
        return
    if not ours:
        logger.addHandler(_StderrHandler())
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)


__all__ = ["Reporter", "error_summary", "failure_line", "outcome_line", "visible"]
