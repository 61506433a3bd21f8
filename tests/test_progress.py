"""Progress from Python and the one reporter behind it (issue 16 item 4, issue 15 item 1):
``Study.run/simulate(progress=...)``, failures shown once whatever the logging configuration,
the summary at the end."""

from __future__ import annotations

import io
import logging
import math
import re
import sys
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import rung
from rung import Float, Study
from rung.progress import Progress, in_notebook, wants_progress
from rung.reporter import Reporter, silenced

FAILURES = [f"trial {i} failed: metric 'loss' is nan at step 1" for i in (2, 3, 4, 5)]
SUMMARY = "study p: 6 trials: 2 completed, 4 failed"


class NanAbove:
    """Loss ``x`` at every step; NaN (a failed trial) for ``x > 0.5``."""

    max_step = 3

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        x = float(params["x"])
        return {"loss": math.nan if x > 0.5 else x}, 1.0


def make(name: str = "p") -> Study:
    # seed 1 draws x > 0.5 for trials 2, 3, 4 and 5
    return Study.create(name, {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                        scheduler="fifo", max_step=3, budget={"n_trials": 6}, seed=1)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def hide_pytest_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest adds its capture handlers to the loggers during the test: the reporter must not
    count them as the application's configuration."""
    import rung.reporter

    real = rung.reporter._handlers

    def handlers(logger: logging.Logger) -> list[logging.Handler]:
        return [h for h in real(logger) if not type(h).__module__.startswith("_pytest")]

    monkeypatch.setattr(rung.reporter, "_handlers", handlers)


@pytest.fixture
def no_logging(hide_pytest_handlers: None) -> Iterator[None]:
    """As if the application configured no logging: ``rung.run`` records reach no handler."""
    lg = logging.getLogger("rung.run")
    state = lg.propagate, lg.level, list(lg.handlers), lg.disabled, logging.root.manager.disable
    lg.propagate, lg.disabled = False, False
    lg.setLevel(logging.NOTSET)
    for h in state[2]:
        lg.removeHandler(h)
    logging.disable(logging.NOTSET)
    yield
    lg.propagate, _, _, lg.disabled, disable = state
    lg.setLevel(state[1])
    for h in state[2]:
        lg.addHandler(h)
    logging.disable(disable)


@pytest.fixture
def app_logging(hide_pytest_handlers: None) -> Iterator[io.StringIO]:
    """As if the application called ``logging.basicConfig()``: a root handler, root at
    WARNING (so INFO lines are dropped by the configuration)."""
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter("APP %(name)s %(levelname)s %(message)s"))
    root, lg = logging.getLogger(), logging.getLogger("rung.run")
    old = root.level, list(root.handlers), lg.propagate, lg.level, logging.root.manager.disable
    for h in old[1]:
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    lg.propagate = True
    lg.setLevel(logging.NOTSET)
    logging.disable(logging.NOTSET)
    yield buf
    root.removeHandler(handler)
    for h in old[1]:
        root.addHandler(h)
    root.setLevel(old[0])
    lg.propagate = old[2]
    lg.setLevel(old[3])
    logging.disable(old[4])


def stderr_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_simulate_goes_through_the_reporter_failures_then_summary(
    no_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    make().simulate(NanAbove(), n_workers=2)
    assert stderr_lines(capsys) == [f"rung: {line}" for line in [*FAILURES, SUMMARY]]


def test_failures_reach_the_applications_logging_once_and_the_summary_stderr(
    app_logging: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    make().simulate(NanAbove(), n_workers=2)
    # the application's handler shows the warnings; the INFO summary it would drop: stderr
    assert app_logging.getvalue().splitlines() == [f"APP rung.run WARNING {f}" for f in FAILURES]
    assert stderr_lines(capsys) == [f"rung: {SUMMARY}"]


def test_a_handler_that_drops_warnings_does_not_hide_failures(
    app_logging: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    ours = [h for h in logging.getLogger().handlers if getattr(h, "stream", None) is app_logging]
    ours[0].setLevel(logging.ERROR)  # the application's handler shows errors only
    make().simulate(NanAbove(), n_workers=2)
    assert app_logging.getvalue() == ""
    assert stderr_lines(capsys) == [f"rung: {line}" for line in [*FAILURES, SUMMARY]]


def test_loggers_disabled_by_a_dict_config_do_not_hide_failures(
    app_logging: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    lg = logging.getLogger("rung.run")
    lg.disabled = True  # what logging.config.dictConfig does to loggers it does not name
    try:
        make().simulate(NanAbove(), n_workers=2)
    finally:
        lg.disabled = False
    assert app_logging.getvalue() == ""
    assert len(stderr_lines(capsys)) == 5


def test_silencing_the_rung_logger_on_purpose_is_respected(
    app_logging: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    rung_logger = logging.getLogger("rung")
    rung_logger.setLevel(logging.ERROR)
    try:
        make().simulate(NanAbove(), n_workers=2)
    finally:
        rung_logger.setLevel(logging.NOTSET)
    assert app_logging.getvalue() == "" and capsys.readouterr().err == ""
    logging.disable(logging.WARNING)  # disables WARNING and INFO: nothing
    make("q").simulate(NanAbove(), n_workers=2)
    assert capsys.readouterr().err == ""
    logging.disable(logging.INFO)  # the summary is silenced, failures are not
    make("r").simulate(NanAbove(), n_workers=2)
    assert app_logging.getvalue().count("WARNING") == 4 and capsys.readouterr().err == ""


def test_silenced_reads_only_the_rung_loggers_and_disable(no_logging: None) -> None:
    lg = logging.getLogger("rung.run")
    assert not silenced(lg, logging.INFO)
    logging.getLogger().setLevel(logging.CRITICAL)  # the root's level is not a rung choice
    try:
        assert not silenced(lg, logging.WARNING)
    finally:
        logging.getLogger().setLevel(logging.WARNING)
    lg.setLevel(logging.WARNING)
    assert silenced(lg, logging.INFO) and not silenced(lg, logging.WARNING)


def test_progress_false_is_quiet_but_for_failures_and_the_summary(
    no_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    make().simulate(NanAbove(), n_workers=2, progress=False)
    assert stderr_lines(capsys) == [f"rung: {line}" for line in [*FAILURES, SUMMARY]]


def test_progress_true_off_a_terminal_prints_plain_progress_lines(
    no_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    make().simulate(NanAbove(), n_workers=2, progress=True)
    lines = stderr_lines(capsys)
    views = [ln for ln in lines if ln.startswith("rung: [")]
    assert len(views) == 2  # the first turn, and the final line
    assert "p: trials 2/6" in views[0] and "best: none yet" in views[0]
    assert "trials 6/6" in views[1] and "completed 2 failed 4" in views[1]
    assert lines[-2:] == [views[1], f"rung: {SUMMARY}"]  # the summary comes last
    assert [ln for ln in lines if ln not in views] == [f"rung: {x}" for x in [*FAILURES, SUMMARY]]


def test_progress_on_a_terminal_is_the_live_view(
    no_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("rich")
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    make().simulate(NanAbove(), n_workers=2, progress=True)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", tty.getvalue())  # no terminal codes
    assert "rung study p " in text and "random + fifo" in text and "trials/s" in text
    assert "best loss=" in text
    for line in [*FAILURES, SUMMARY]:
        assert f"rung: {line}" in text  # failures shown above the live view


def test_run_default_progress_follows_the_terminal(
    no_logging: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rung.testing.executors import scripted_objective

    study = Study.create("r", {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                         scheduler="fifo", max_step=3, budget={"n_trials": 3}, seed=1,
                         storage=tmp_path / "r.db")
    study.run(scripted_objective, n_workers=2, start_method="fork")  # stderr is not a tty
    assert stderr_lines(capsys) == ["rung: study r: 3 trials: 3 completed"]
    study.close()


def test_wants_progress_and_notebook_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    assert wants_progress(True, io.StringIO()) and not wants_progress(False, Tty())
    assert wants_progress(None, Tty()) and not wants_progress(None, io.StringIO())
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not in_notebook()

    class ZMQInteractiveShell:
        pass

    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: ZMQInteractiveShell()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert in_notebook() and wants_progress(None, io.StringIO())
    fake.get_ipython = lambda: None  # type: ignore[attr-defined]  # plain python + IPython
    assert not in_notebook()


def test_an_explicit_reporter_replaces_the_default(
    no_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    class Collect(Reporter):
        def __init__(self) -> None:
            super().__init__()
            self.failed: list[int] = []
            self.ended = 0

        def trial_failed(self, trial_id: int, step: int, error: str | None) -> None:
            self.failed.append(trial_id)

        def end(self, engine: Any, name: str = "") -> None:
            self.ended += 1

    rep = Collect()
    make().simulate(NanAbove(), n_workers=2, reporter=rep, progress=True)
    assert rep.failed == [2, 3, 4, 5] and rep.ended == 1
    assert capsys.readouterr().err == ""


def test_the_cli_view_is_the_shared_reporter() -> None:
    from rung.cli.progress import Progress as CliProgress

    assert CliProgress is Progress and issubclass(Progress, Reporter)
    assert rung.Reporter is Reporter


def test_without_rich_the_view_is_plain_lines_and_says_how_to_get_it(
    no_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)  # import rich -> ImportError
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    make().simulate(NanAbove(), n_workers=2, progress=True)
    lines = tty.getvalue().splitlines()
    assert lines[0] == "rung: note: for a live view: pip install 'rung[cli]'"
    assert lines[1].startswith("rung: [") and "p: trials 2/6" in lines[1]
    # the final progress line, then the summary: nothing repeats the counts after it
    assert lines[-2].startswith("rung: [") and "trials 6/6" in lines[-2]
    assert lines[2:-2] == [f"rung: {x}" for x in FAILURES]
    assert lines[-1] == f"rung: {SUMMARY}"


AUTO_REASON = ("auto: searcher gp (1 dimension, 0 categorical, unconditional: gp, with 3 "
               "trials only its Sobol' initial design runs); scheduler fifo (max_step 3, 3 trials "
               "(<= 8): fifo (asha with its first rung chosen from data runs its first 8 trials "
               "to max_step as probes: every trial would be a probe, nothing can be stopped "
               "early))")


def run_tiny(progress: bool, searcher: str = "auto", scheduler: str = "auto") -> rung.Study:
    from rung.executors.local import LocalExecutor
    from rung.testing.executors import scripted_objective

    return rung.run(scripted_objective, {"x": Float(0.0, 1.0)}, max_step=3, n_trials=3,
                    name="tiny", progress=progress, n_workers=2,
                    executor=LocalExecutor(n_workers=2, start_method="fork"),
                    searcher=searcher, scheduler=scheduler)


def test_rung_run_with_progress_prints_the_auto_choice_once_as_rung_run_does(
    no_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    study = run_tiny(progress=True)
    assert study.auto_reason == AUTO_REASON
    lines = stderr_lines(capsys)
    assert lines[0] == f"rung: study tiny: {AUTO_REASON}"  # before the first progress line
    assert sum("auto:" in ln for ln in lines) == 1
    # rung.run's docstring shows this line's shape (it showed ``rung: <name>: auto: ...``)
    doc = " ".join((rung.run.__doc__ or "").split())
    shown = re.search(r"``(rung: [^`]*: auto: [^`]*)``", doc)
    assert shown is not None
    pattern = (re.escape(shown.group(1)).replace("<name>", "tiny")
               .replace(re.escape("(...)"), r"\(.*\)"))
    assert re.fullmatch(pattern, lines[0]), (shown.group(1), lines[0])
    assert [ln for ln in lines if not ln.startswith("rung: [")] == [
        f"rung: study tiny: {AUTO_REASON}", "rung: study tiny: 3 trials: 3 completed"]


def test_rung_run_without_progress_prints_no_auto_choice(
    no_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    study = run_tiny(progress=False)
    assert study.auto_reason == AUTO_REASON  # still held (and journaled)
    assert stderr_lines(capsys) == ["rung: study tiny: 3 trials: 3 completed"]


def test_named_components_print_no_auto_line(
    no_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    study = run_tiny(progress=True, searcher="random", scheduler="fifo")
    assert study.auto_reason is None
    lines = stderr_lines(capsys)
    assert not any("auto" in ln for ln in lines)
    assert any(ln.startswith("rung: [") for ln in lines)  # progress was on
    assert [ln for ln in lines if not ln.startswith("rung: [")] == [
        "rung: study tiny: 3 trials: 3 completed"]


def test_the_live_view_shows_the_auto_choice_above_it_once(
    no_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("rich")
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    study = Study.create("p", {"x": Float(0.0, 1.0)}, "loss", max_step=3,
                         budget={"n_trials": 6}, seed=1)
    study.simulate(NanAbove(), n_workers=2, progress=True)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", tty.getvalue())
    assert text.startswith(f"rung: study p: {study.auto_reason}\n")
    assert text.count("auto:") == 1


def test_a_reporter_given_prints_no_auto_line_its_owner_decides() -> None:
    # the CLI hands its own Progress to the run (and prints the choice itself on `rung run`)
    study = Study.create("p", {"x": Float(0.0, 1.0)}, "loss", max_step=3,
                         budget={"n_trials": 6}, seed=1)
    buf = io.StringIO()
    with Progress(study, stream=buf, live=False, interval=1e9) as view:
        study.simulate(NanAbove(), n_workers=2, reporter=view)
    assert "auto:" not in buf.getvalue()
    buf = io.StringIO()
    with Progress(study, stream=buf, live=False, interval=1e9, announce=True):
        pass
    assert buf.getvalue().splitlines()[0] == f"rung: study p: {study.auto_reason}"


def test_the_default_study_name_reads_as_a_study_not_a_second_prefix(
    no_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # rung.run names its study "rung": every line about it said "rung: rung: ..."
    from rung.executors.local import LocalExecutor
    from rung.testing.executors import scripted_objective

    study = rung.run(scripted_objective, {"x": Float(0.0, 1.0)}, max_step=3, n_trials=3,
                     progress=True, executor=LocalExecutor(n_workers=2, start_method="fork"))
    assert study.name == "rung"
    lines = stderr_lines(capsys)
    assert lines[0] == f"rung: study rung: {AUTO_REASON}"
    views = [ln for ln in lines if ln.startswith("rung: [")]
    assert views and all(re.match(r"rung: \[ *[0-9.]+s\] study rung: trials [0-3]/3 \| ", ln)
                         for ln in views)
    assert lines[-1] == "rung: study rung: 3 trials: 3 completed"
    assert not any(ln.startswith("rung: rung") or "] rung:" in ln for ln in lines)


def final_frame(final_best: bool, fail: bool) -> str:
    """The text of a live view's last frame (a simulated run of ``make()``), ended by an
    exception when ``fail``."""
    pytest.importorskip("rich")
    study = make()
    tty = Tty()
    try:
        with Progress(study, stream=tty, live=True, final_best=final_best) as view:
            study.simulate(NanAbove(), n_workers=2, reporter=view)
            if fail:
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", tty.getvalue())
    return text[text.rindex("rung study p"):]


def test_the_live_views_last_frame_leaves_the_best_to_the_closing_lines_when_asked() -> None:
    # rung run / rung demo print the best trial after the run: the last frame did too, so a
    # terminal showed the best configuration twice
    shown = final_frame(final_best=True, fail=False)
    assert "best loss=" in shown and "x=" in shown
    frame = final_frame(final_best=False, fail=False)
    assert "best" not in frame and "x=" not in frame
    assert "trials 6/6" in frame.replace("  ", " ") or "6/6" in frame
    # stopped short (Ctrl-C, an error): no closing lines follow, so the frame keeps the best
    cut = final_frame(final_best=False, fail=True)
    assert "best loss=" in cut and "x=" in cut
