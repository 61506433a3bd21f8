"""Progress output: plain lines end with the final progress line and then the summary (no
progress line repeats the counts after it), a run stopped before its end still shows where it
stood, failure lines carry no terminal control sequences, and the live view's counts stay
whole on a narrow terminal."""

from __future__ import annotations

import io
import logging
import math
import re
import sys
from collections.abc import Mapping
from typing import Any

import pytest

from rung import Float, Study
from rung.progress import Progress, status_renderable
from rung.reporter import failure_line


class NanAbove:
    """Loss ``x`` at every step; NaN (a failed trial) for ``x > 0.5``."""

    max_step = 3

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        x = float(params["x"])
        return {"loss": math.nan if x > 0.5 else x}, 1.0


def _make() -> Study:
    # seed 1 draws x > 0.5 for trials 2, 3, 4 and 5
    return Study.create("p", {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                        scheduler="fifo", max_step=3, budget={"n_trials": 6}, seed=1)


def _quiet_logger() -> logging.Logger:
    """A logger no handler hears: the reporter writes its lines to ``sys.stderr``."""
    lg = logging.getLogger("rung.run.lines")
    lg.propagate = False
    lg.handlers.clear()
    lg.setLevel(logging.NOTSET)
    return lg


def test_plain_lines_end_with_the_final_progress_line_then_the_summary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    study = _make()
    with Progress(study, stream=sys.stderr, live=False, interval=1e9,
                  logger=_quiet_logger()) as view:
        study.simulate(NanAbove(), n_workers=2, reporter=view)
    lines = err.getvalue().splitlines()
    progress = [ln for ln in lines if ln.startswith("rung: [")]
    assert len(progress) == 2  # the first turn's, the final one: once
    assert "trials 6/6" in progress[1] and "completed 2 failed 4" in progress[1]
    assert lines[-2:] == [progress[1], "rung: study p: 6 trials: 2 completed, 4 failed"]
    # one line each, nothing a log file would show as garbage
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", err.getvalue())
    assert lines[:-2] == [progress[0], *(f"rung: trial {i} failed: metric 'loss' is nan at "
                                         "step 1" for i in (2, 3, 4, 5))]


def test_a_run_stopped_before_its_end_shows_where_it_stood() -> None:
    study = _make()
    buf = io.StringIO()
    with Progress(study, stream=buf, live=False, interval=1e9, logger=_quiet_logger()):
        pass  # no end(): Ctrl-C, an error
    (line,) = buf.getvalue().splitlines()
    assert line.startswith("rung: [") and "p: trials 0/6" in line


def test_failure_lines_leave_out_terminal_control_sequences() -> None:
    assert failure_line(3, 2, "ValueError: \x1b[1;31mbad\x1b[0m\x07 \tthing") == (
        "trial 3 failed after step 2: ValueError: bad  thing")
    tb = "Traceback (most recent call last):\n  File x\nValueError: \x1b[31mboom\x1b[0m"
    assert failure_line(3, 0, tb) == "trial 3 failed before its first report: ValueError: boom"


def _render(renderable: Any, width: int) -> str:
    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, force_terminal=False).print(renderable)
    return buf.getvalue()


CELLS = [("trials", "20000/20000"), ("running", "64"), ("paused", "0"), ("stopped", "19142"),
         ("completed", "858"), ("failed", "0"), ("interrupted", "0"), ("trials/s", "594.88"),
         ("results/s", "1886.6")]


def test_the_live_counts_stay_whole_on_a_narrow_terminal() -> None:
    pytest.importorskip("rich")
    text = _render(status_renderable(CELLS, 40), 40)
    assert "…" not in text
    assert all(len(ln) <= 40 for ln in text.splitlines())
    assert text.splitlines() == [
        "trials 20000/20000  running 64  paused 0",
        "stopped 19142  completed 858  failed 0",
        "interrupted 0  trials/s 594.88",
        "results/s 1886.6",
    ]
    wide = _render(status_renderable(CELLS, 120), 120).splitlines()
    assert wide[0].split() == [k for k, _ in CELLS]  # a header over each value
    assert wide[1].split() == [v for _, v in CELLS]
    assert math.isclose(float(wide[1].split()[-1]), 1886.6)


def test_the_live_view_on_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("rich")
    from rich.console import Console

    study = _make()
    study.simulate(NanAbove(), n_workers=2, progress=False)
    view = Progress(study, stream=io.StringIO(), live=False)
    view._console = Console(file=io.StringIO(), width=40)
    text = _render(view._renderable(study.engine, final=True), 40)
    assert "trials 6/6" in text and "completed 2" in text and "failed 4" in text
    assert "…" not in text


def test_the_final_line_is_left_out_when_the_last_one_showed_the_same() -> None:
    study = _make()
    study.simulate(NanAbove(), n_workers=2, progress=False)  # a finished study
    buf = io.StringIO()
    with Progress(study, stream=buf, live=False, interval=1e9,
                  logger=_quiet_logger()) as view:
        view.on_turn(study.engine)
        view.end(study.engine, study.name)
    progress = [ln for ln in buf.getvalue().splitlines() if ln.startswith("rung: [")]
    assert len(progress) == 1 and "trials 6/6" in progress[0]


def test_the_live_view_names_every_objective_and_constraint() -> None:
    pytest.importorskip("rich")
    from rung import Categorical, Constraint, Objective

    study = Study.create("mo", {"x": Float(0.0, 1.0), "c": Categorical(["a\nb"])},
                        [Objective("loss", "min"), Objective("acc", "max")], searcher="random",
                        scheduler="fifo", constraints=[Constraint("lat", "<=", 0.5)],
                        max_step=1, budget={"n_trials": 2}, seed=0)
    while (t := study.ask()) is not None:
        study.tell(t.id, "completed", {"loss": 0.5, "acc": 0.25, "lat": 0.1})
    view = Progress(study, stream=io.StringIO(), live=False)
    lines = _render(view._renderable(study.engine, final=True), 120).splitlines()
    assert lines[0].startswith(
        "rung study mo  random + fifo, loss (min), acc (max), lat <= 0.5, max_step 1   elapsed ")
    (params,) = [ln for ln in lines if "c=" in ln]
    assert params.endswith("c=a\\nb")  # the value's line break shown, on one line


def test_plain_lines_slow_down_while_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A trial that hangs printed the same line every 5 s (120 lines in 10 minutes): while
    nothing changes the interval doubles, up to QUIET_MAX; a change brings it back. Found by
    an audit."""
    import rung.progress as progress

    clock = [1000.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    study = _make()
    buf = io.StringIO()
    view = Progress(study, stream=buf, live=False, interval=5.0, logger=_quiet_logger())
    printed = []
    for t in range(0, 1300):  # a turn every second, nothing happening
        clock[0] = 1000.0 + t
        before = buf.getvalue().count("\n")
        view.on_turn(study.engine)
        if buf.getvalue().count("\n") > before:
            printed.append(t)
    assert printed == [0, 5, 15, 35, 75, 155, 315, 615, 915, 1215]
    t = study.ask()  # something changes: shown, then 5 s later, then doubling again
    assert t is not None
    again = []
    for dt in range(300, 320):
        clock[0] = 1000.0 + 1215 + dt
        before = buf.getvalue().count("\n")
        view.on_turn(study.engine)
        if buf.getvalue().count("\n") > before:
            again.append(dt)
    assert again == [300, 305, 315]


def test_a_kind_of_failure_is_shown_at_most_shown_per_kind_times() -> None:
    """A broken objective failing every one of 3,000 trials printed 3,000 lines: the first
    SHOWN_PER_KIND of a kind are shown, the last of them saying more are only counted; another
    kind is shown on its own count. Found by an audit."""
    from rung.reporter import SHOWN_PER_KIND, Reporter

    rep = Reporter(_quiet_logger())
    lines: list[str] = []
    rep.write = lines.append  # type: ignore[method-assign]
    for tid in range(SHOWN_PER_KIND + 5):
        rep.trial_failed(tid, 0, f"KeyError: 'lr' in trial {tid}")
    rep.trial_failed(99, 1, "ValueError: boom")
    assert len(lines) == SHOWN_PER_KIND + 1
    assert lines[SHOWN_PER_KIND - 1] == (
        f"rung: trial {SHOWN_PER_KIND - 1} failed before its first report: KeyError: 'lr' in "
        f"trial {SHOWN_PER_KIND - 1} ({SHOWN_PER_KIND} trials failed this way: more such "
        "failures are counted at the end, not shown; rung show lists them)")
    assert lines[-1] == "rung: trial 99 failed after step 1: ValueError: boom"
