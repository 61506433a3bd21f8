"""``Study.ask`` / ``report`` / ``checkpoint`` / ``tell`` driven the ways a user coming from
Optuna gets wrong: every bad argument is one ``ConfigError`` naming it with nothing journaled
(and the study still usable), NumPy values are journaled as numbers, a study whose journal
refused a call holds what the journal holds, and a decision survives a reload."""

from __future__ import annotations

import enum
import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rung
from rung.errors import ConfigError, JournalError, RungError


def make(storage: Any = None, name: str = "a", **kw: Any) -> rung.Study:
    args: dict[str, Any] = dict(objective="loss", max_step=3, scheduler="fifo",
                                searcher="random", budget=rung.Budget(n_trials=5), seed=0)
    args.update(kw)
    return rung.Study.create(name, {"x": rung.Float(0.0, 1.0)}, storage=storage, **args)


def asked(s: rung.Study) -> int:
    t = s.ask()
    assert t is not None
    return t.id


class TrialState(enum.IntEnum):  # Optuna's, as far as tell's status sees it
    COMPLETE = 1
    PRUNED = 2


@pytest.mark.parametrize(("call", "message"), [
    (lambda s, t: s.report(str(t), 1, {"loss": 0.5}),
     "trial_id: must be an integer (the id of a trial ask returned: trial.id), got '0' (str)"),
    (lambda s, t: s.report(t, 1, {1: 0.5}), "metrics: metric names are strings, got 1 (int)"),
    (lambda s, t: s.report(t, 1, {"loss": "0.5"}),
     "metrics['loss']: must be a real number (the objective's metric), got '0.5' (str)"),
    (lambda s, t: s.report(t, 1, {"loss": None}),
     "metrics['loss']: must be a real number (the objective's metric), got None (NoneType)"),
    (lambda s, t: s.report(t, 1, {"loss": True}),
     "metrics['loss']: must be a real number (the objective's metric), got True (bool)"),
    (lambda s, t: s.report(t, 1, {"val_loss": 0.5}),
     "metrics: no 'loss' (the objective's metric): got 'val_loss'"),
    (lambda s, t: s.tell(t, "completed", {"acc": 0.5}),
     "metrics: no 'loss' (the objective's metric): got 'acc'"),
    (lambda s, t: s.tell(t, "COMPLETED", {"loss": 0.5}),
     "status: 'COMPLETED' is not one of ['completed', 'stopped', 'paused', 'failed', "
     "'interrupted'] (did you mean 'completed'?)"),
    (lambda s, t: s.tell(t, TrialState.COMPLETE, {"loss": 0.5}),
     "status: <TrialState.COMPLETE: 1> is not one of ['completed', 'stopped', 'paused', "
     "'failed', 'interrupted'] (Optuna's TrialState.COMPLETE is 'completed' here)"),
    (lambda s, t: s.tell(t, TrialState.PRUNED),
     "status: <TrialState.PRUNED: 2> is not one of ['completed', 'stopped', 'paused', "
     "'failed', 'interrupted'] (Optuna's TrialState.PRUNED is 'stopped' here)"),
    (lambda s, t: s.tell(t, "completed", step=3),
     "step: is the step of the final result: give it with metrics, got step=3 without "
     "metrics"),
    (lambda s, t: s.tell(t, "failed", error=404),
     "error: a string or an exception, got 404 (int)"),
    (lambda s, t: s.checkpoint(t, 1, "ckpt/0"),
     "step: must be one trial 0 reported (none yet), got 1"),
    (lambda s, t: s.checkpoint(t, 1, ""), "path: must be a non-empty string or path, got ''"),
    (lambda s, t: s.checkpoint(t, 1, "ckpt/0", -5),
     "size: must be an integer >= 0 (bytes), got -5"),
])
def test_a_bad_argument_is_one_line_naming_it_and_nothing_is_written(call: Any,
                                                                       message: str) -> None:
    """Before: a string metric, a missing objective metric or a bool was journaled and
    failed (or silently scored) the trial; '0' as the id said 'trial 0 does not exist';
    Optuna's TrialState was told 'metrics go in metrics=...'; a checkpoint at any step, of
    any size, was recorded; step without metrics was ignored."""
    s = make()
    tid = asked(s)
    n = len(s.journal.read("a"))
    with pytest.raises(ConfigError) as e:
        call(s, tid)
    assert str(e.value) == message
    assert len(s.journal.read("a")) == n
    assert s.trial(tid).status is rung.TrialStatus.RUNNING and s.trial(tid).results == ()
    assert s.tell(tid, "completed", {"loss": 0.5}).value == 0.5


def test_constraint_metrics_are_numbers_and_a_completed_trial_has_them() -> None:
    s = make(constraints=["lat <= 1"])
    tid = asked(s)
    with pytest.raises(ConfigError) as e:
        s.report(tid, 1, {"loss": 0.5, "lat": "fast"})
    assert str(e.value) == ("metrics['lat']: must be a real number (the metric of constraint "
                            "'lat <= 1'), got 'fast' (str)")
    s.report(tid, 1, {"loss": 0.5})  # an intermediate result may lack it
    with pytest.raises(ConfigError) as e:
        s.tell(tid, "completed", {"loss": 0.4})
    assert str(e.value) == "metrics: no 'lat' (the metric of constraint 'lat <= 1'): got 'loss'"
    assert s.tell(tid, "completed", {"loss": 0.4, "lat": 0.5}).status.value == "completed"
    assert s.best_trial is not None and s.best_trial.id == tid


def test_a_failed_trial_keeps_the_exception_it_is_told_with() -> None:
    """Before: an exception as error= raised TypeError from the journal's JSON encoder after
    the engine had ended the trial."""
    s = make()
    tid = asked(s)
    t = s.tell(tid, "failed", {"loss": 0.9, "note": np.str_("diverged")},
               error=ValueError("boom"))
    assert t.status is rung.TrialStatus.FAILED and t.error == "ValueError: boom"
    assert t.results[-1].metrics == {"loss": 0.9, "note": "diverged"}


def test_numpy_values_are_journaled_as_numbers(tmp_path: Path) -> None:
    """Before: np.float32 (or a 0-d array, np.int64) raised TypeError from the journal's
    JSON encoder after the engine had handled the result, so the study held a result its
    journal did not (a reload lost it)."""
    db = tmp_path / "s.db"
    s = make(db)
    tid = asked(s)
    np_id: Any = np.int64(tid)
    np_step: Any = np.int64(1)
    s.report(np_id, np_step, {"loss": np.float32(0.5), "n": np.int64(3), "a": np.array(0.25)})
    s.tell(tid, "completed", {"loss": np.float64(0.125)})
    s.close()
    r = rung.Study.load("a", db).trial(tid).results
    assert [(x.step, x.metrics) for x in r] == [(1, {"loss": 0.5, "n": 3, "a": 0.25}),
                                                (3, {"loss": 0.125})]
    assert type(r[0].metrics["n"]) is int


def test_the_trial_ask_returned_is_taken_as_its_id() -> None:
    s = make()
    t = s.ask()
    assert t is not None
    assert s.report(t, 1, {"loss": 0.5}).action is rung.Action.CONTINUE
    assert s.tell(t, "completed", {"loss": 0.4}).value == 0.4


def test_a_run_never_reports_backwards_but_a_resumed_run_restarts_at_its_checkpoint() -> None:
    """Before: results at steps 2 then 1 were both recorded (TrialContext.report refuses
    it), and tell(step=1) after step 3 too."""
    s = make(scheduler="asha", max_step=9, budget=rung.Budget(n_trials=2))
    tid = asked(s)
    s.report(tid, 1, {"loss": 0.5})
    s.report(tid, 2, {"loss": 0.4})
    s.report(tid, 2, {"loss": 0.45})  # the same step again: allowed, replaces
    for call in (lambda: s.report(tid, 1, {"loss": 0.3}),
                 lambda: s.tell(tid, "stopped", {"loss": 0.3}, step=1)):
        with pytest.raises(ConfigError) as e:
            call()
        assert str(e.value) == ("step: report(step=1) after report(step=2): steps never go "
                                "backwards (report them in increasing order; the same step "
                                "again replaces its result)")
    s.checkpoint(tid, 1, "ckpt/0/1")
    s.tell(tid, "interrupted")
    again = s.ask()  # ASHA resumes the interrupted trial from its checkpoint
    assert again is not None and again.id == tid and again.checkpoint is not None
    assert again.checkpoint.step == 1
    assert s.report(tid, 2, {"loss": 0.35}).action is rung.Action.CONTINUE  # its run's step 2


def test_a_stop_decision_is_the_answer_to_later_reports_also_after_a_reload(
        tmp_path: Path) -> None:
    """Before: a study loaded again answered CONTINUE (until step 1) to a trial told STOP."""
    db = tmp_path / "s.db"
    s = make(db, scheduler=rung.ASHA(reduction_factor=3), max_step=9,
             budget=rung.Budget(n_trials=4))
    a, b = asked(s), asked(s)
    s.report(a, 1, {"loss": 0.1})
    stop = s.report(b, 1, {"loss": 0.9})
    assert stop.action is rung.Action.STOP
    s.close()
    s = rung.Study.load("a", db)
    assert s.report(b, 2, {"loss": 0.8}) == stop
    assert s.trial(b).last_step == 2  # recorded all the same


def test_a_result_that_fails_the_trial_at_max_step_says_so() -> None:
    """Before: a NaN objective at max_step got CONTINUE although the trial had failed."""
    s = make()
    tid = asked(s)
    d = s.report(tid, 3, {"loss": math.nan})
    assert (d.action, d.reason) == (rung.Action.STOP, "failed: metric 'loss' is nan at step 3")
    assert s.report(tid, 3, {"loss": 0.5}) == d
    assert s.tell(tid, "completed").status is rung.TrialStatus.FAILED


def test_a_second_writer_is_refused_and_its_study_stays_as_the_journal_has_it(
        tmp_path: Path) -> None:
    """Before: the refused ask left a trial active in the second object's engine (the
    journal had none), so its later calls decided on a state the journal never had."""
    db = tmp_path / "s.db"
    first = make(db, max_step=1)
    tid = asked(first)
    second = rung.Study.load("a", db)
    n = len(second.journal.read("a"))
    with pytest.raises(JournalError, match="is being written by another Study object in this "
                                           "process"):
        second.ask()
    assert list(second.engine.active) == [tid] and len(second.journal.read("a")) == n
    first.tell(tid, "completed", {"loss": 0.5})
    first.close()
    with pytest.raises(JournalError, match="was written by another driver after this one "
                                           "read it"):
        second.ask()  # it read the journal when its first ask was refused: loaded again
    t = second.ask()  # the first writer is gone: the second goes on from the journal
    assert t is not None and t.id == tid + 1
    assert second.trial(tid).status is rung.TrialStatus.COMPLETED


def test_a_trial_asked_before_a_crash_stays_running_and_can_be_continued(
        tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    make(db, scheduler="asha", max_step=3, budget=rung.Budget(n_trials=2)).close()
    code = textwrap.dedent(f"""
        import os, signal, rung
        s = rung.Study.load("a", {str(db)!r})
        t = s.ask()
        s.report(t.id, 1, {{"loss": 0.5}})
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == -9
    s = rung.Study.load("a", db)
    assert [(t.id, t.status.value, t.last_step) for t in s.trials()] == [(0, "running", 1)]
    assert asked(s) == 1  # a new trial: the asked one is neither lost nor repeated
    assert s.report(0, 2, {"loss": 0.4}).action is rung.Action.CONTINUE
    s.tell(0, "completed", {"loss": 0.3})
    s.tell(1, "completed", {"loss": 0.6})
    assert s.ask() is None and s.best_trial is not None and s.best_trial.id == 0


def test_unknown_and_ended_trials_are_refused_naming_them() -> None:
    s = make()
    tid = asked(s)
    s.tell(tid, "completed", {"loss": 0.5})
    for call, message in ((lambda: s.tell(tid, "completed", {"loss": 0.1}),
                           "trial 0 is completed, not running"),
                          (lambda: s.report(tid, 1, {"loss": 0.1}),
                           "trial 0 is completed, not running"),
                          (lambda: s.checkpoint(tid, 1, "x"),
                           "trial 0 is completed, not running"),
                          (lambda: s.tell(7), "trial 7 does not exist in study 'a'")):
        with pytest.raises(RungError) as e:
            call()
        assert str(e.value) == message


def test_a_resumed_run_reporting_below_its_checkpoint_is_told_about_the_checkpoint() -> None:
    """Before: the message said "after report(step=2)" for a run that had reported nothing
    (it resumed from step 2's checkpoint); once it reports, the message names its report."""
    s = make(scheduler="asha", max_step=9, budget=rung.Budget(n_trials=2))
    tid = asked(s)
    s.report(tid, 1, {"loss": 0.5})
    s.report(tid, 2, {"loss": 0.4})
    s.checkpoint(tid, 2, "ckpt/0/2")
    s.tell(tid, "interrupted")
    again = s.ask()
    assert again is not None and again.id == tid and again.checkpoint is not None
    assert again.checkpoint.step == 2
    with pytest.raises(ConfigError) as e:
        s.report(tid, 1, {"loss": 0.3})
    assert str(e.value) == (
        "step: report(step=1) after resuming from step 2's checkpoint: steps never go "
        "backwards (the run continues after step 2; report steps in increasing order from "
        "there)")
    s.report(tid, 3, {"loss": 0.3})
    with pytest.raises(ConfigError) as e:
        s.tell(tid, "stopped", {"loss": 0.3}, step=2)
    assert str(e.value).startswith("step: report(step=2) after report(step=3): ")
