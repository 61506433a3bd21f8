"""Issue 15 on real worker processes: failures are loud and counted, a run that produced no
objective metric raises ``RunFailed``, ``max_failures`` stops a run early, and a trial
interrupted too often fails visibly and can be retried."""

from __future__ import annotations

import json
import logging
import math
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import objectives
import pytest

import rung
from rung import Budget, Float, Objective, Study, TrialStatus
from rung.errors import ConfigError, RunFailed
from rung.reporter import Reporter, error_summary, failure_line, visible

FAST = "fork"  # start method of the tests that are not about spawn itself


def make(tmp_path: Path, n: int, max_step: int = 3, **kw: Any) -> Study:
    space: dict[str, Any] = {"x": Float(0.0, 1.0), "log": rung.Fixed(str(tmp_path))}
    return Study.create("f", space, Objective("loss"), searcher="random", scheduler="fifo",
                        max_step=max_step, budget=Budget(n_trials=n), seed=1,
                        storage=tmp_path / "f.db", **kw)


@pytest.fixture(autouse=True)
def _rung_run_logger_enabled() -> Iterator[None]:
    # earlier tests may have silenced logging (a benchmark script's logging.disable, a
    # logging.config that disables existing loggers): these tests read the log
    lg = logging.getLogger("rung.run")
    disabled, level = lg.disabled, logging.root.manager.disable
    lg.disabled = False
    logging.disable(logging.NOTSET)
    yield
    lg.disabled = disabled
    logging.disable(level)


def failure_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "rung.run" and r.levelno == logging.WARNING]


def test_every_failure_is_one_line_and_no_metric_raises_run_failed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rung.run")
    study = make(tmp_path, 4)
    with pytest.raises(RunFailed) as info:
        study.run(objectives.always_fails, n_workers=2, start_method=FAST)
    assert str(info.value) == ("no trial produced the objective metric 'loss'; 4 of 4 trials "
                               "failed (first: ValueError: boom in trial 0)")
    assert info.value.counts == {"failed": 4}
    assert isinstance(info.value, rung.RungError)
    assert sorted(failure_lines(caplog)) == [
        f"trial {i} failed before its first report: ValueError: boom in trial {i}"
        for i in range(4)
    ]
    ends = [r.getMessage() for r in caplog.records
            if r.name == "rung.run" and r.levelno == logging.INFO]
    assert ends == ["study f: 4 trials: 4 failed"]


def test_every_trial_failing_after_reporting_raises_run_failed(tmp_path: Path) -> None:
    space: dict[str, Any] = {"x": Float(0.6, 1.0)}  # objectives.failing raises for x > 0.5
    study = Study.create("a", space, "loss", searcher="random", scheduler="fifo", max_step=3,
                         budget=Budget(n_trials=3), storage=tmp_path / "a.db")
    with pytest.raises(RunFailed, match=r"^all 3 trials failed \(first: ValueError: diverged "):
        study.run(objectives.failing, n_workers=2, start_method=FAST)
    assert all(t.results for t in study.trials())  # each reported step 1 first


def test_failure_line_names_the_step(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    study = make(tmp_path, 2)
    with pytest.raises(RunFailed):
        study.run(objectives.fails_at_2, n_workers=2, start_method=FAST)
    assert sorted(failure_lines(caplog)) == [
        "trial 0 failed: metric 'loss' was not reported (reported: 'acc') at step 1",
        "trial 1 failed: metric 'loss' was not reported (reported: 'acc') at step 1",
    ]


@pytest.mark.parametrize(
    ("objective", "error", "why"),
    [
        # 3 trials reported and failed without it: the run stops (ObjectiveWatch)
        (objectives.typo_metric, "metric 'loss' was not reported (reported: 'los') at step 1",
         r"^metric: 3 trials reported results in this run and failed, none with the metric "
         r"'loss' \(reported: 'los'\)"),
        # refused by ctx.report itself, as a returned string is (rung.core.metric_value)
        (objectives.string_metric, "rung.errors.ConfigError: report: metric 'loss' must be a "
                                   "real number (an objective's metric), got str: '0.5'",
         "no trial produced the objective metric 'loss'"),
    ],
)
def test_a_wrong_metric_fails_every_trial_loudly(tmp_path: Path, objective: Any,
                                                 error: str, why: str) -> None:
    study = make(tmp_path, 3)
    with pytest.raises(RunFailed, match=why):
        study.run(objective, n_workers=2, start_method=FAST)
    for t in study.trials():  # the error's last line: a raised one holds the traceback
        assert t.status is TrialStatus.FAILED and t.error is not None
        assert t.error.rstrip().splitlines()[-1] == error


def test_max_failures_stops_the_run_early(tmp_path: Path) -> None:
    study = make(tmp_path, 40, max_failures=3)
    with pytest.raises(RunFailed, match=r"trials failed in this run \(max_failures=3\): the "
                                        "run was stopped early"):
        study.run(objectives.always_fails, n_workers=2, start_method=FAST)
    failed = study.history.count(TrialStatus.FAILED)
    assert 3 <= failed <= 4 and len(study.trials()) < 40  # a turn may end two at once
    # the journal is intact (resuming is test_failures_resume.py's)
    study.close()
    again = Study.load("f", tmp_path / "f.db")
    assert again.history.count(TrialStatus.FAILED) == failed
    again.close()


def test_max_failures_fraction(tmp_path: Path) -> None:
    study = make(tmp_path, 40, max_failures=0.5)
    with pytest.raises(RunFailed, match="max_failures=0.5 of the"):
        study.run(objectives.failing, n_workers=2, start_method=FAST)
    h = study.history
    ended = sum(h.count(s) for s in (TrialStatus.COMPLETED, TrialStatus.STOPPED,
                                     TrialStatus.FAILED))
    assert ended >= 5 and h.count(TrialStatus.FAILED) >= 0.5 * ended


@pytest.mark.parametrize("bad", [0, -1, 1.5, 0.0, 1.0, "3", True, math.nan])
def test_max_failures_is_validated(tmp_path: Path, bad: Any) -> None:
    with pytest.raises(ConfigError) as info:
        make(tmp_path, 2, max_failures=bad)
    assert info.value.key == "max_failures"
    assert not (tmp_path / "f.db").exists() or "f" not in Study.load.__name__


def test_too_many_interruptions_fail_visibly_and_retry_failed_resumes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    study = make(tmp_path, 1, max_step=4)
    with pytest.raises(RunFailed, match=r"^all 1 trials failed \(first: too many interr"):
        study.run(objectives.dies_until_allowed, n_workers=1, start_method=FAST,
                  checkpoint_every=1)
    (t,) = study.trials()
    assert t.status is TrialStatus.FAILED
    assert t.error is not None and t.error.startswith("too many interruptions (4; last: worker")
    assert [r.step for r in t.results] == [1]
    lines = failure_lines(caplog)  # the first interruption, then the failure: two lines
    assert len(lines) == 2 and lines[1] == f"trial 0 failed after step 1: {error_summary(t.error)}"
    assert lines[0].startswith("trial 0 interrupted after step 1, to be resumed: worker process ")
    (tmp_path / "allowed").write_text("")
    study.close()
    again = Study.load("f", tmp_path / "f.db")
    again.run(objectives.dies_until_allowed, n_workers=1, start_method=FAST, checkpoint_every=1,
              retry_failed=True)
    (t,) = again.trials()
    assert t.status is TrialStatus.COMPLETED
    assert [r.step for r in t.results] == [1, 2, 3, 4]
    runs = [json.loads(x) for x in (tmp_path / "0.runs").read_text().splitlines()]
    assert [r["start_step"] for r in runs] == [1, 2, 2, 2, 2]  # then resumed from step 1's


def test_study_report_rejects_steps_that_are_not_positive_integers() -> None:
    study = Study.create("r", {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                         scheduler="fifo", max_step=3, budget=Budget(n_trials=2))
    t = study.ask()
    assert t is not None
    for bad in (0.5, 1.5, 0, -1, "2", None, True):
        with pytest.raises(ConfigError) as info:
            study.report(t.id, bad, {"loss": 1.0})  # type: ignore[arg-type]
        assert info.value.key == "step"
    assert study.history.n_results == 0
    study.report(t.id, 2.0, {"loss": 1.0})  # type: ignore[arg-type]
    assert [r.step for r in study.trial(t.id).results] == [2]


def test_rung_run_accepts_budget(tmp_path: Path) -> None:
    study = rung.run(objectives.noop, {"x": Float(0.0, 1.0)}, searcher="random",
                     scheduler="fifo", budget=Budget(n_trials=3), max_step=2,
                     n_workers=1, executor=rung.SimulatedExecutor(_Bench(), 1))
    assert len(study.trials()) == 3
    with pytest.raises(ConfigError, match="budget"):
        rung.run(objectives.noop, {"x": Float(0.0, 1.0)}, budget={"n_trials": 3}, n_trials=3)


class _Bench:
    max_step = 2

    def evaluate(self, params: Any, step: int) -> tuple[dict[str, float], float]:
        return {"loss": float(params["x"])}, 1.0


def test_best_value_is_in_the_users_terms(tmp_path: Path) -> None:
    study = Study.create("v", {"x": Float(0.0, 1.0)}, Objective("acc", "max"),
                         searcher="random", scheduler="fifo", budget=Budget(n_trials=2))
    t = study.ask()
    assert t is not None
    study.tell(t.id, "completed", {"acc": 0.939})
    best = study.best_trial
    assert best is not None and best.value == 0.939 and best.score == -0.939


def test_reporter_lines_and_visibility() -> None:
    assert error_summary('Traceback (most recent call last):\n  File "x", line 1\n'
                         '    raise ValueError("a")\nValueError: a\n') == "ValueError: a"
    assert error_summary("timeout: trial_timeout of 2 s reached") == (
        "timeout: trial_timeout of 2 s reached")
    # a message of several lines: its first, with the exception's type (an audit found the
    # type gone: "trial 5 failed after step 1: second line of detail"); a chained exception:
    # the last one raised
    def fail() -> None:
        raise RuntimeError("diverged\nsecond line of detail")

    try:
        fail()
    except RuntimeError:
        assert error_summary(traceback.format_exc()) == "RuntimeError: diverged ..."
    try:
        try:
            fail()
        except RuntimeError as e:
            raise ValueError("outer") from e
    except ValueError:
        assert error_summary(traceback.format_exc()) == "ValueError: outer"
    assert failure_line(3, 2, "KeyError: 'k'") == "trial 3 failed after step 2: KeyError: 'k'"
    lg = logging.Logger("standalone")  # no parent: nothing configured
    visible(lg)
    visible(lg)
    assert len(lg.handlers) == 1 and lg.level == logging.INFO
    lg.addHandler(logging.NullHandler())  # the application configures logging: ours goes
    visible(lg)
    assert [type(h) for h in lg.handlers] == [logging.NullHandler]
    assert isinstance(Reporter().logger, logging.Logger)
