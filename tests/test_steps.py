"""One rule for every report of a run (``rung._steps``): its steps never go backwards. The
worker's ``ctx.report``, define-by-run ``trial.report`` and ``Study.report`` / ``tell`` each
said it in its own words (three messages); they now refuse with one message naming the step
and the step reached, each raising its own error type, and record nothing of the refused
report."""

from __future__ import annotations

from typing import Any

import pytest

import rung
from rung._steps import step_back
from rung.core.events import Launch
from rung.dbr import FixedTrial
from rung.errors import ConfigError
from rung.executors.protocol import ENDED, RESULT, encode_launch
from rung.executors.worker import TrialContext, run_trial

MESSAGE = ("report(step=2) after report(step=3): steps never go backwards (report them in "
           "increasing order; the same step again replaces its result)")


RESUMED = ("report(step=3) after resuming from step 5's checkpoint: steps never go backwards "
           "(the run continues after step 5; report steps in increasing order from there)")


def test_the_rule() -> None:
    assert step_back(2, 3) == MESSAGE
    assert step_back(3, 3) is None  # the same step again: replaces its result
    assert step_back(4, 3) is None
    assert step_back(1, 0) is None  # nothing reported yet


def test_a_run_resumed_from_a_checkpoint_is_told_so() -> None:
    """Step 5 was not reported by this run: it was restored from step 5's checkpoint (the
    message said "after report(step=5)")."""
    assert step_back(3, 5, resumed=True) == RESUMED
    assert step_back(5, 5, resumed=True) is None
    assert step_back(6, 5, resumed=True) is None


class Channel:
    """What a worker sends; it never waits here (the lease is max_step)."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    def send(self, msg: Any) -> None:
        self.sent.append(msg)

    def recv(self) -> Any:
        raise AssertionError("the worker waited for a reply")

    def poll(self) -> bool:
        return False


def test_worker_report_fails_the_trial_with_the_message() -> None:
    def objective(ctx: TrialContext) -> None:
        for step in (1, 3, 2):
            ctx.report(step, loss=1.0)

    ch = Channel()
    msg = encode_launch(Launch(0, {"x": 0.5}, 1, 5, 5, None), 1)
    assert run_trial(objective, msg, ch, None) == "failed"
    assert [m[2] for m in ch.sent if m[0] == RESULT] == [1, 3]
    (end,) = [m for m in ch.sent if m[0] == ENDED]
    assert end[4].rstrip().splitlines()[-1] == f"ValueError: {MESSAGE}"


def test_worker_report_after_a_resume_names_the_checkpoint() -> None:
    """A run restored from step 5's checkpoint (it starts at 6) reporting 3 is told it resumed
    from that checkpoint; once it has reported 6, a report at 3 is after report(step=6)."""
    def objective(ctx: TrialContext) -> None:
        ctx.report(3, loss=1.0)

    def after_a_report(ctx: TrialContext) -> None:
        for step in (6, 3):
            ctx.report(step, loss=1.0)

    for fn, message in ((objective, RESUMED), (after_a_report, (
            "report(step=3) after report(step=6): steps never go backwards (report them in "
            "increasing order; the same step again replaces its result)"))):
        ch = Channel()
        msg = encode_launch(Launch(0, {"x": 0.5}, 6, 9, 9, "0/5"), 1)
        assert run_trial(fn, msg, ch, None) == "failed"
        (end,) = [m for m in ch.sent if m[0] == ENDED]
        assert end[4].rstrip().splitlines()[-1] == f"ValueError: {message}"


def test_define_by_run_report_raises_config_error_with_the_message() -> None:
    trial = FixedTrial({}, max_step=5)
    trial.report(3, 0.1)
    with pytest.raises(ConfigError) as e:
        trial.report(2, 0.2)
    assert (e.value.key, e.value.message) == ("step", MESSAGE)
    assert trial.reports == [(3, {"loss": 0.1})]


def test_ask_tell_report_and_tell_raise_config_error_with_the_message() -> None:
    s = rung.Study.create("s", {"x": rung.Float(0.0, 1.0)}, objective="loss", max_step=5,
                          searcher="random", scheduler="fifo", budget=rung.Budget(n_trials=2))
    t = s.ask()
    assert t is not None
    s.report(t.id, 3, {"loss": 0.5})
    n = len(s.journal.read("s"))
    for call in (lambda: s.report(t.id, 2, {"loss": 0.4}),
                 lambda: s.tell(t.id, "completed", {"loss": 0.4}, step=2)):
        with pytest.raises(ConfigError) as e:
            call()
        assert (e.value.key, e.value.message) == ("step", MESSAGE)
    assert len(s.journal.read("s")) == n  # nothing recorded
    assert s.engine.history.last_step(t.id) == 3


def test_define_by_run_report_after_a_resume_names_the_checkpoint() -> None:
    """A define-by-run trial restored from step 5's checkpoint reporting 3 (it said "after
    report(step=5)", a report this run never made)."""
    from rung.dbr import Trial

    def objective(ctx: TrialContext) -> None:
        Trial(ctx, ("loss",), 0).report(3, 1.0)

    ch = Channel()
    msg = encode_launch(Launch(0, {"x": 0.5}, 6, 9, 9, "0/5"), 1)
    assert run_trial(objective, msg, ch, None) == "failed"
    (end,) = [m for m in ch.sent if m[0] == ENDED]
    assert end[4].rstrip().splitlines()[-1] == f"rung.errors.ConfigError: step: {RESUMED}"
