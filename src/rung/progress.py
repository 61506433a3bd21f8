"""Progress of a running study: a live terminal view (rich) or plain lines, plus the failures
and the summary of every ``Reporter``.

One view serves ``rung run`` and ``Study.run(progress=True)`` (DESIGN §7b): ``Progress`` is a
``rung.reporter.Reporter``, handed to the driver, which calls ``on_turn(engine, events)`` after
every turn, which may be thousands of times a second, so past the failure check it only reads
the clock until a render is due. It reads the engine and never changes it.

The live view needs ``rich`` (``pip install 'rung[cli]'``); without it the view falls back to a
plain line every ``interval`` seconds and says once how to get the live one. Plain lines
(also when the output is not a terminal) come every ``interval`` seconds while the run moves,
and at doubling intervals up to ``QUIET_MAX`` while nothing changes (a trial that hangs).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from rung.cli.report import (
    STATUS_COLUMNS,
    best_line,
    counts,
    fmt_duration,
    fmt_num,
    fmt_params,
    is_records,
    no_best,
    records_table,
    state_sections,
)
from rung.core.engine import Engine
from rung.core.events import Event
from rung.core.records import TrialStatus
from rung.reporter import Reporter, escaped, study_line
from rung.study import Study

_FINISHED = (TrialStatus.COMPLETED, TrialStatus.STOPPED, TrialStatus.FAILED)
#: Seconds between two plain progress lines, at most, while nothing changes (the interval
#: doubles from ``interval`` while the lines would be the same but for the elapsed time).
QUIET_MAX = 300.0


class Progress(Reporter):
    """The live view (or plain progress lines) of a run, and a ``Reporter``'s failure lines
    and summary.

    Args:
        study: the study being run (read only).
        stream: where plain lines go (default ``sys.stdout``).
        live: ``True`` for the rich live view, ``False`` for plain lines, ``None`` to decide
            by whether ``stream`` is a terminal (and rich is installed), and not a dumb one
            (``dumb_terminal``: there a live view draws only its last frame, so plain lines
            every ``interval`` seconds show the run instead).
        interval: seconds between plain lines.
        refresh: seconds between live-view redraws.
        logger: the ``Reporter``'s logger (default ``rung.run``).
        announce: when the view starts, print the study's automatic choice of components and
            its reason (``study.auto_reason``, worded as ``rung run`` words it) as one line,
            ``rung: study <name>: auto: ...``, to ``stream``; nothing when the study named its
            components.
        final_best: the live view's last frame shows the best trial and its parameters
            (``False``: when the run ends without an exception, it leaves them to the lines
            its owner prints after the run, as ``rung run`` and ``rung demo`` do, so that
            they are shown once).
    """

    def __init__(
        self,
        study: Study,
        stream: IO[str] | None = None,
        live: bool | None = None,
        interval: float = 5.0,
        refresh: float = 0.25,
        logger: logging.Logger | None = None,
        announce: bool = False,
        final_best: bool = True,
    ) -> None:
        super().__init__(logger)
        self.study = study
        self.announce = announce
        self.final_best = final_best
        self.stream = stream if stream is not None else sys.stdout
        self.interval = interval
        self.refresh = refresh
        self.note: str | None = None
        # a notebook's view is a display of the cell (``rung.progress_notebook``)
        self._notebook = in_notebook()
        if live is None:
            live = (_isatty(self.stream) and not dumb_terminal()) or self._notebook
        self._live: Any = None
        if live:
            try:
                import rich  # noqa: F401
            except ImportError:  # plain lines instead, and the way to the live view once
                self.note = "for a live view: pip install 'rung[cli]'"
                live = False
        if live and self._notebook:
            from rung.progress_notebook import notebook_display

            # drawn into a display of the cell (``rung.progress_notebook``), else plain lines
            live = notebook_display()
        self.live = live
        self.started = time.monotonic()
        self._next = 0.0
        self._samples: deque[tuple[float, int, int]] = deque()  # (t, results, finished)
        self._base = self._totals(study.engine)
        self._ended = False  # ``end`` printed the final line (plain lines)
        self._shown: tuple[Any, ...] | None = None  # what the last plain line showed
        self._quiet = interval  # seconds to the next plain line (doubles while nothing changes)
        self._console: Any = None  # the live view's (its width follows the terminal's)

    # --- context manager: starts and stops the live view --------------------------------------
    def __enter__(self) -> Progress:
        if self.announce and self.study.auto_reason is not None:  # above the live view
            self._print(f"rung: {study_line(self.study.name, self.study.auto_reason)}")
        if self.live and self._notebook:
            from rung.progress_notebook import NotebookLive

            self._live = NotebookLive(self._renderable(self.study.engine))
            self._live.__enter__()
        elif self.live:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.stream)
            self._console = console
            # what is printed to stdout / stderr while the view runs is drawn above it when it
            # goes to the same screen; a stream sent elsewhere (`2> errors.log`) keeps its lines
            self._live = Live(self._renderable(self.study.engine), console=console,
                              refresh_per_second=1.0 / max(self.refresh, 0.05), transient=False,
                              redirect_stdout=self._on_screen(sys.stdout),
                              redirect_stderr=self._on_screen(sys.stderr))
            self._live.__enter__()
        elif self.note:
            self._print(f"rung: note: {self.note}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            best = self.final_best or exc[0] is not None  # stopped short: nobody else says it
            try:
                self._live.update(self._renderable(self.study.engine, final=True, best=best),
                                  refresh=True)
            finally:
                self._live.__exit__(None, None, None)
                self._live = None
        elif not self._ended:  # stopped before its end (Ctrl-C, an error): where it stood
            self._print_line(self.study.engine)

    def end(self, engine: Engine, name: str = "") -> None:
        """The run ended: plain lines print the final progress line (unless the last one
        showed the same counts and best value already), then the ``Reporter``'s summary (the
        live view shows its final state when it stops)."""
        if self._live is None and not self._ended:
            self._ended = True
            self._print_line(engine, final=True)
        super().end(engine, name)

    # --- the reporter's hook --------------------------------------------------------------------
    def on_turn(self, engine: Engine, events: Iterable[Event] = ()) -> None:
        """After every turn: report its failed trials, redraw when a redraw is due."""
        super().on_turn(engine, events)
        now = time.monotonic()
        if now < self._next:
            return
        if self._live is not None:
            self._next = now + self.refresh
            self._live.update(self._renderable(engine))
            return
        # plain lines: every ``interval`` seconds while the run moves; while nothing changes
        # (a trial that hangs) at doubling intervals, up to QUIET_MAX, so a log is not filled
        # with the same line every 5 s
        changed = self._print_line(engine)
        self._quiet = self.interval if changed else min(2 * self._quiet, max(QUIET_MAX,
                                                                             self.interval))
        self._next = now + self._quiet

    def _print_line(self, engine: Engine, final: bool = False) -> bool:
        """Print ``line(engine)``; a final one only if it shows something the last did not.
        Whether it shows something the last did not (trials, their counts, the best, the
        results reported)."""
        h = engine.history
        best = self.study.best_trial
        shown = (h.n_suggested, len(h), tuple(sorted(counts(h).items())),
                 None if best is None else (best.id, best.score), h.n_results)
        changed = shown != self._shown
        if final and not changed:
            return False
        self._shown = shown
        self._print(self.line(engine))
        return changed

    # --- what is shown ------------------------------------------------------------------------
    def _totals(self, engine: Engine) -> tuple[int, int]:
        h = engine.history
        return h.n_results, sum(h.count(s) for s in _FINISHED)

    def throughput(self, engine: Engine, window: float = 10.0) -> tuple[float, float]:
        """(trials finished per second, results reported per second) over the last
        ``window`` seconds of wall time (since the start, for a shorter run)."""
        now = time.monotonic()
        results, finished = self._totals(engine)
        self._samples.append((now, results, finished))
        while len(self._samples) > 2 and now - self._samples[1][0] >= window:
            self._samples.popleft()
        t0, r0, f0 = self._samples[0]
        if now - t0 < 0.5:  # not enough history yet: use the whole session
            t0, r0, f0 = self.started, *self._base
        dt = max(now - t0, 1e-9)
        return (finished - f0) / dt, (results - r0) / dt

    def line(self, engine: Engine) -> str:
        """One plain progress line: ``rung: [  4.2s] study <name>: trials 12/60 | ...``."""
        h = engine.history
        c = counts(h)
        tps, rps = self.throughput(engine)
        n = self.study.spec.budget.n_trials
        trials = f"{h.n_suggested}/{n}" if n is not None else f"{len(h)}"
        status = " ".join(f"{k} {c[k]}" for k in STATUS_COLUMNS if c[k] or k != "interrupted")
        shown = (f"trials {trials} | {status} | {best_line(self.study)} | "
                 f"{tps:.2f} trials/s, {rps:.1f} results/s")
        elapsed = fmt_duration(time.monotonic() - self.started)
        return f"rung: [{elapsed:>6}] {study_line(self.study.name, shown)}"

    def _renderable(self, engine: Engine, final: bool = False, best: bool = True) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        h = engine.history
        spec = self.study.spec
        c = counts(h)
        tps, rps = self.throughput(engine)
        n = spec.budget.n_trials
        head = Text.assemble(
            ("rung ", "bold cyan"), "study ", (self.study.name, "bold"),
            f"  {spec.searcher.name} + {spec.scheduler.name}, "
            + ", ".join(f"{o.metric} ({o.mode})" for o in spec.objectives or (spec.objective,))
            + "".join(f", {c.metric} {c.op} {fmt_num(c.bound)}" for c in spec.constraints)
            + f", max_step {spec.max_step}   "
            f"elapsed {fmt_duration(time.monotonic() - self.started)}",
        )
        cells = [("trials", f"{h.n_suggested}/{n}" if n is not None else str(len(h))),
                 *[(k, str(c[k])) for k in STATUS_COLUMNS],
                 ("trials/s", f"{tps:.2f}"), ("results/s", f"{rps:.1f}")]
        parts: list[Any] = [head, status_renderable(
            cells, self._console.width if self._console is not None else None)]
        top = self.study.best_trial
        if not best:
            pass  # the owner's closing lines say it
        elif top is not None and math.isfinite(top.score):
            parts.append(Text.assemble(("best ", "bold green"), best_line(self.study)[5:]))
            # one line: a value's own line breaks shown as \n
            parts.append(Text("  " + fmt_params(top.params).replace("\n", "\\n"),
                              style="dim"))
        else:
            parts.append(Text(no_best(self.study), style="dim"))
        try:
            state = engine.scheduler.state()
        except Exception:
            state = {}
        scalars, _ = state_sections(state)
        for key, value in state.items():
            if not is_records(value):
                continue
            headers: list[str] = []
            for row in value:
                headers.extend(k for k in row if k not in headers)
            if any(is_records(row.get(hd)) for row in value for hd in headers):
                # nested (brackets of rungs): the plain rendering reads better than a grid
                parts.append(Text(f"{spec.scheduler.name} {key}", style="italic"))
                parts.append(Text(records_table(value, indent="  ", limit=2)))
                continue
            t = Table(title=f"{spec.scheduler.name} {key}", title_justify="left", box=None)
            for hd in headers:  # a narrow terminal wraps a cell rather than cut its digits
                t.add_column(hd, justify="right", overflow="fold")
            for row in value:
                t.add_row(*[fmt_num(row.get(hd, "")) for hd in headers])
            parts.append(t)
        if scalars:
            parts.append(Text(" ".join(scalars), style="dim"))
        if not final:
            parts.append(Text("Ctrl-C stops cleanly; the study can be resumed", style="dim"))
        return Group(*parts)

    def _on_screen(self, stream: Any) -> bool:
        """Whether ``stream`` must be drawn above rich's live view (its ``redirect_stdout`` /
        ``redirect_stderr``; never in a notebook, whose view redirects nothing): it shows on
        the view's screen, being the view's stream or a terminal too. One sent to a file or a
        pipe (``2> errors.log``) writes there as it would without the view."""
        return stream is self.stream or _isatty(stream)

    def _print(self, text: str) -> None:
        write_line(self.stream, text)


def write_line(stream: IO[str], text: str) -> None:
    """Write ``text`` and a newline to ``stream`` and flush it; a character its encoding cannot
    express is written as a backslash escape (``\\u2264``) rather than losing the line, and a
    closed or failing stream never takes the run down (the line is lost then)."""
    try:
        try:
            stream.write(text + "\n")
        except UnicodeEncodeError:
            stream.write(escaped(text, stream) + "\n")
        stream.flush()
    except (OSError, ValueError, AttributeError):  # (no stream at all: a None sys.stdout)
        pass


def dumb_terminal() -> bool:
    """Whether ``TERM`` names a terminal without cursor movement (``dumb``: Emacs' shell, some
    CI ptys; ``unknown``), as rich tells one (``Console.is_dumb_terminal``)."""
    return os.environ.get("TERM", "").lower() in ("dumb", "unknown")


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def status_renderable(cells: list[tuple[str, str]], width: int | None) -> Any:
    """The live view's counts: a table (a header over each value) when it fits in ``width``
    columns (``None``: any width), else ``label value`` pairs packed into lines of at most
    ``width`` characters, so that no value is cut short on a narrow terminal."""
    from rich.table import Table
    from rich.text import Text

    natural = sum(max(len(k), len(v)) for k, v in cells) + 2 * (len(cells) - 1)
    if width is None or natural <= width:
        table = Table(box=None, pad_edge=False, show_edge=False)
        for k, _ in cells:
            table.add_column(k, justify="right", no_wrap=True)
        table.add_row(*[v for _, v in cells])
        return table
    lines: list[str] = []
    for k, v in cells:
        pair = f"{k} {v}"
        if lines and len(lines[-1]) + 2 + len(pair) <= width:
            lines[-1] += "  " + pair
        else:
            lines.append(pair)
    return Text("\n".join(lines), no_wrap=True, overflow="ignore")


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython's ZMQ shell)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def wants_progress(progress: bool | None, stream: IO[str] | None = None) -> bool:
    """``progress`` as given, or (``None``) whether ``stream`` (default ``sys.stderr``) is a
    terminal or this is a notebook."""
    if progress is not None:
        return bool(progress)
    stream = stream if stream is not None else sys.stderr
    try:
        tty = bool(stream.isatty())
    except (AttributeError, ValueError):
        tty = False
    return tty or in_notebook()


@contextmanager
def reporting(study: Study, progress: bool | None, reporter: Reporter | None) -> Iterator[Reporter]:
    """The reporter of one ``Study.run`` / ``simulate`` session: ``reporter`` when given (its
    owner starts and stops it), else a ``Progress`` on stderr when ``wants_progress(progress)``
    (started and stopped here; it first prints the automatic choice of components, if ``auto``
    made one, see ``Progress``'s ``announce``), else a plain ``Reporter`` (failures and the
    summary only)."""
    if reporter is not None:
        yield reporter
        return
    if not wants_progress(progress):
        yield Reporter()
        return
    # live on a terminal or in a notebook
    with Progress(study, stream=sys.stderr, announce=True) as view:
        yield view


__all__ = ["Progress", "dumb_terminal", "in_notebook", "reporting", "status_renderable",
           "wants_progress", "write_line"]
