"""What a run tells its user while it runs: one line per failed trial, a count of outcomes at
the end.

A ``Reporter`` is handed to ``rung.driver.drive``, which calls ``on_turn(engine, events)``
after every turn (once the turn is journaled) and ``end(engine)`` when the run stops. It reads
the engine and never changes it. ``rung.progress.Progress`` (the live view of the CLI and of
``Study.run(progress=True)``) is a ``Reporter`` too, so failures and the summary are reported the
same way whichever shows the run.

**Where the lines go.** Each line is a record on the ``rung.run`` logger (failures at WARNING,
the summary at INFO), and it is shown exactly once:

- when a handler of the logging configuration (the application's, pytest's, ``visible()``'s)
  emits it, that is where it appears, formatted as that handler formats it;
- otherwise (no logging configured, or the configured handlers and levels would drop it, e.g.
  ``logging.basicConfig()`` leaves INFO out) it is written to ``sys.stderr`` as
  ``rung: <line>``: a failure is never lost because logging was configured for something else;
- except when the user silenced it on purpose: a level set on the ``rung`` or ``rung.run``
  logger above the line's level, or ``logging.disable`` at or above it. Nothing is shown then.

Subclass it to show a run differently (a notebook widget, a tracker): override
``trial_failed`` / ``end``, or ``on_turn`` for everything.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

from rung.core.engine import DRIVER_STOPPED, TOO_MANY_INTERRUPTIONS, Engine
from rung.core.error_line import error_summary
from rung.core.events import Event, TrialEnded
from rung.core.records import Outcome, TrialStatus

log = logging.getLogger("rung.run")

#: Failure lines a run shows for one kind of failure (``failure_kind``); the later ones are
#: counted in the run's last line and listed by ``rung show``, not shown one by one.
SHOWN_PER_KIND = 10


class Reporter:
    """Logs one line per failed trial run (``trial 3 failed after step 2: ValueError: boom``) as
    a warning, one line the first time in a run a trial's run is interrupted by something
    other than its driver stopping (``trial 3 interrupted after step 2, to be resumed: worker
    process 812 died (killed by signal 9)``; a later interruption of it is told by its failure
    line if there are too many; after ``SHOWN_PER_KIND`` of a kind, counted at the end), and
    the count of trials by status at the end of a run at info level.

    Args:
        logger: where the lines go (default: the ``rung.run`` logger).
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger if logger is not None else log
        self.lines: list[str] = []  # every line this reporter showed or logged, in order
        self.failures = 0  # failed trial runs reported by this reporter
        self._seen: set[tuple[int, int]] = set()  # (trial id, launch) already reported
        self._interrupted: set[int] = set()  # trials whose interruption was reported
        self._kinds: dict[str, int] = {}  # failure kind -> failure lines shown in this run
        self.interruptions = 0  # trials whose first interruption in this run was reported
        self._interrupt_kinds: dict[str, int] = {}  # kind -> interruption lines shown

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
                elif (ev.outcome is Outcome.INTERRUPTED and ev.error is not None
                      and ev.error != DRIVER_STOPPED and tid not in self._interrupted
                      and h.status(tid) is not TrialStatus.FAILED):  # resumed at once, maybe
                    self._interrupted.add(tid)
                    self.trial_interrupted(tid, h.last_step(tid), ev.error)

    def trial_failed(self, trial_id: int, step: int, error: str | None) -> None:
        """One trial run failed at ``step`` (0: before its first report): its line, for the
        first ``SHOWN_PER_KIND`` failures of a kind in a run, the last of them saying that
        more such are only counted (a broken objective fails every trial the same way: one
        line each flooded a run of thousands)."""
        kind = failure_kind(_plain(error))
        shown = self._kinds.get(kind, 0)
        if shown >= SHOWN_PER_KIND:
            return
        self._kinds[kind] = shown + 1
        line = failure_line(trial_id, step, error)
        if shown + 1 == SHOWN_PER_KIND:
            line += (f" ({SHOWN_PER_KIND} trials failed this way: more such failures are "
                     "counted at the end, not shown; rung show lists them)")
        self.emit(logging.WARNING, line)

    def trial_interrupted(self, trial_id: int, step: int, error: str) -> None:
        """A trial's run was interrupted at ``step`` (its worker died, its node left) for the
        first time in this run; the scheduler resumes it. Its line is shown for the first
        ``SHOWN_PER_KIND`` interruptions of a kind (``failure_kind``: workers dying of one
        cause interrupt trial after trial), the last of them saying that more are counted at
        the end (``end``)."""
        self.interruptions += 1
        kind = failure_kind(_plain(error))
        shown = self._interrupt_kinds.get(kind, 0)
        if shown >= SHOWN_PER_KIND:
            return
        self._interrupt_kinds[kind] = shown + 1
        line = f"trial {trial_id} interrupted {_where(step)}, to be resumed: {_plain(error)}"
        if shown + 1 == SHOWN_PER_KIND:
            line += (f" ({SHOWN_PER_KIND} trials interrupted this way: more such are counted "
                     "at the end, not shown)")
        self.emit(logging.WARNING, line)

    def end(self, engine: Engine, name: str = "") -> None:
        """The run stopped (budget spent, nothing left to run, or an error): the count of
        trials by status, the count of interrupted trials when not every one had its line,
        then, for a budget in money or GPU-hours, what was spent of it
        (``rung.core.budget.spend_text``: the overshoot, and the limit that was reached)."""
        from rung.core.budget import Usage, spend_text

        text = outcome_line(engine)
        self.emit(logging.INFO, study_line(name, text) if name else text)
        shown = sum(self._interrupt_kinds.values())
        if self.interruptions > shown:
            n = self.interruptions
            text = (f"{n} trials were interrupted in this run and resumed ({shown} shown "
                    "above)")
            self.emit(logging.WARNING, study_line(name, text) if name else text)
        spent = spend_text(engine.spec.budget, Usage.of(engine))
        if spent is not None:
            text = f"budget: {spent}"
            self.emit(logging.INFO, study_line(name, text) if name else text)

    # --- a Reporter is also a context manager (a live view starts and stops there) ----------
    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def emit(self, level: int, text: str) -> None:
        """Show ``text`` once: through logging when a handler emits it, else on stderr,
        unless the ``rung`` loggers or ``logging.disable`` silence ``level`` (see the module's
        docstring)."""
        lg = self.logger
        if silenced(lg, level):
            return
        self.lines.append(text)
        handlers = _handlers(lg)
        if handlers and lg.isEnabledFor(level):
            lg.log(level, "%s", text)
            if not lg.disabled and any(level >= h.level for h in handlers):
                return  # a handler of the configuration shows it
        self.write(f"rung: {text}")

    def write(self, line: str) -> None:
        """Write one line to ``sys.stderr`` as it is now (a live view may have redirected it);
        a character its encoding cannot express is written as a backslash escape rather than
        losing the line; a closed stream never takes the run down."""
        err = sys.stderr
        try:
            try:
                err.write(line + "\n")
            except UnicodeEncodeError:
                err.write(escaped(line, err) + "\n")
            err.flush()
        except (OSError, ValueError, AttributeError):  # (no sys.stderr at all: None)
            pass


def escaped(text: str, stream: object) -> str:
    """``text`` with every character the encoding of ``stream`` cannot express written as a
    backslash escape (``\\u2264``; an unknown or missing encoding: UTF-8)."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        return text.encode("ascii", "backslashreplace").decode("ascii")


def silenced(logger: logging.Logger, level: int) -> bool:
    """Whether the user silenced ``level`` on purpose: ``logging.disable`` at or above it, or a
    level set on ``logger`` or one of its ``rung`` ancestors above it."""
    if logging.root.manager.disable >= level:
        return True
    lg: logging.Logger | None = logger
    while lg is not None and (lg.name == "rung" or lg.name.startswith("rung.")
                              or lg is logger):
        if lg.level != logging.NOTSET:
            return lg.level > level
        lg = lg.parent
    return False


def _handlers(logger: logging.Logger) -> list[logging.Handler]:
    """The handlers a record of ``logger`` reaches (its own and, while it propagates, its
    ancestors'), rung's last resort left out (a line ``emit`` writes itself)."""
    from rung._last_resort import LastResort

    found: list[logging.Handler] = []
    lg: logging.Logger | None = logger
    while lg is not None:
        found.extend(h for h in lg.handlers if not isinstance(h, LastResort))
        lg = lg.parent if lg.propagate else None
    return found


def failure_kind(line: str) -> str:
    """The kind of failure a summary line (``error_summary``) names: ``ValueError`` for
    ``ValueError: boom``; ``too many interruptions`` for a trial failed that way (whatever
    ended its runs); else the line with every number written ``N`` (a worker's process id, an
    exit code: ``worker process N died (exited with code N)``)."""
    head = line.split(":", 1)[0]
    if ":" in line and head.replace(".", "").isidentifier():
        return head
    if line.startswith(TOO_MANY_INTERRUPTIONS):
        return TOO_MANY_INTERRUPTIONS
    return re.sub(r"\d+", "N", line)


#: terminal control sequences (colours, cursor moves) and the other control characters an
#: error's text may carry: a failure line is one plain line, in a log file as on a terminal
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]|[\x00-\x08\x0b-\x1f\x7f]")


def failure_line(trial_id: int, step: int, error: str | None) -> str:
    """``trial 3 failed after step 2: ValueError: boom`` (``step``: the last step it reported;
    an error that names its step already, as an invalid metric's does, is not given another;
    terminal control sequences in the error, such as colours, are left out, and a tab is
    a space)."""
    text = _plain(error)
    if " at step " in text:
        return f"trial {trial_id} failed: {text}"
    return f"trial {trial_id} failed {_where(step)}: {text}"


def _plain(error: str | None) -> str:
    """``error_summary(error)`` as one plain line: control sequences left out, a tab a space."""
    return _CONTROL.sub("", error_summary(error).replace("\t", " "))


def _where(step: int) -> str:
    """Where a trial's run ended: ``after step 2``, or ``before its first report`` (0)."""
    return f"after step {step}" if step > 0 else "before its first report"


def study_line(name: str, text: str) -> str:
    """``study <name>: <text>``: how a line about one study names it, after the ``rung: ``
    prefix of the CLI and of progress lines. The word keeps the name from reading as another
    prefix: ``rung.run``'s default study is named ``rung`` (``rung: study rung: auto: ...``,
    not ``rung: rung: auto: ...``)."""
    return f"study {name}: {text}"


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
    from rung._last_resort import LastResort

    ours = [h for h in logger.handlers if isinstance(h, _StderrHandler)]
    others = False
    lg: logging.Logger | None = logger
    while lg is not None:
        if any(not isinstance(h, _StderrHandler | LastResort) for h in lg.handlers):
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


__all__ = ["SHOWN_PER_KIND", "Reporter", "error_summary", "escaped", "failure_kind",
           "failure_line", "outcome_line", "silenced", "study_line", "visible"]
