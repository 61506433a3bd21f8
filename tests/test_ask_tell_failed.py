"""``Study.tell(trial, "failed", metrics, error=...)`` records the caller's error, also when
``metrics`` lack the objective's metric (or it is NaN): before, the engine's invalid-metric
failure replaced it ("metric 'loss' was not reported (reported: 'acc') at step 3"), in the
trial, ``summary``, ``rung show`` and its failure counts. A worker that reports an invalid
metric and then raises still fails with the metric's error (``tests/executors``)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import rung
from rung.cli.main import main
from rung.core.events import TrialEnded
from rung.storage.codec import to_body

MISSING = "metric 'loss' was not reported (reported: 'acc') at step 3"


def make(storage: Path | None = None) -> rung.Study:
    return rung.Study.create("f", {"x": rung.Float(0.0, 1.0)}, objective="loss", max_step=3,
                             searcher="random", scheduler="fifo", seed=0,
                             budget=rung.Budget(n_trials=3), storage=storage)


def asked(s: rung.Study) -> int:
    t = s.ask()
    assert t is not None
    return t.id


def test_the_callers_error_is_recorded_shown_and_counted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "f.db"
    s = make(db)
    tid = asked(s)
    t = s.tell(tid, "failed", {"acc": 0.3}, error="my message")
    assert (t.status, t.error) == (rung.TrialStatus.FAILED, "my message")
    assert t.results[-1].metrics == {"acc": 0.3}  # the final metrics are kept
    assert s.summary()["by_status"] == {"failed": 1}
    s.close()
    loaded = rung.Study.load("f", storage=db)  # replayed from the journal: the same
    assert [(x.id, x.status.value, x.error) for x in loaded.trials()] == [
        (0, "failed", "my message")]
    loaded.close()
    capsys.readouterr()
    assert main(["show", "f", "--storage", str(db)]) == 0
    out = capsys.readouterr().out
    assert "last failure  trial #0: my message" in out
    assert "failures   1 x my message  (trials #0)" in out
    assert "not reported" not in out


@pytest.mark.parametrize("final", [{"acc": 0.3}, {"loss": math.nan}])
def test_a_failed_tell_without_an_error_keeps_the_metrics_error(final: dict[str, float]) -> None:
    s = make()
    tid = asked(s)
    t = s.tell(tid, "failed", final)
    expected = MISSING if "acc" in final else "metric 'loss' is nan at step 3"
    assert (t.status, t.error) == (rung.TrialStatus.FAILED, expected)


def test_an_exception_told_after_a_nan_report_is_the_error() -> None:
    s = make()
    tid = asked(s)
    assert s.report(tid, 1, {"loss": math.nan}).action is rung.Action.STOP
    t = s.tell(tid, "failed", error=FloatingPointError("diverged"))
    assert t.error == "FloatingPointError: diverged"


def test_a_run_told_completed_after_a_nan_report_still_fails_with_the_metrics_error() -> None:
    s = make()
    tid = asked(s)
    s.report(tid, 1, {"loss": math.nan})
    t = s.tell(tid, "completed", {"loss": 0.5})
    assert (t.status, t.error) == (rung.TrialStatus.FAILED, "metric 'loss' is nan at step 1")


def test_told_is_journaled_only_by_tell() -> None:
    s = make()
    tid = asked(s)
    s.tell(tid, "failed", {"acc": 0.3}, error="my message")
    (body,) = [to_body(r)[1] for r in s.journal.read("f") if type(r) is TrialEnded]
    assert body["told"] is True and body["error"] == "my message"
    # an executor's end is written as before: no 'told'
    assert to_body(TrialEnded(1, rung.Outcome.FAILED, 2.0, "boom")) == (
        "TrialEnded", {"v": 1, "trial_id": 1, "outcome": "failed", "time": 2.0,
                       "error": "boom"})
