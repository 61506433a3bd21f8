"""The worker runtime (``TrialContext``, ``run_trial``) over an in-process channel double.

The double answers each message the worker sends with the replies a script gives for it, so
"the worker blocked for a reply" is observable (``recv`` on an empty queue fails the test
instead of hanging) and "the worker streamed without waiting" is too (nothing was received).
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rung
from rung.core.events import (
    CheckpointSaved,
    Decision,
    Launch,
    Reply,
    ResultReported,
    TrialEnded,
)
from rung.core.records import Outcome
from rung.executors.protocol import (
    ENDED,
    LAUNCH,
    RESULT,
    SAVED,
    decode,
    encode_launch,
    encode_reply,
)
from rung.executors.worker import TrialContext, run_trial, worker_loop

Responder = Callable[[tuple[Any, ...]], list[Any]]


class FakeChannel:
    """Records what the worker sends; queues the replies ``respond(msg)`` returns for it."""

    def __init__(self, respond: Responder | None = None, preload: list[Any] | None = None) -> None:
        self.sent: list[tuple[Any, ...]] = []
        self.inbox: deque[Any] = deque(preload or [])
        self.respond = respond
        self.recv_calls = 0

    def send(self, msg: Any) -> None:
        self.sent.append(msg)
        if self.respond is not None:
            self.inbox.extend(self.respond(msg))

    def recv(self) -> Any:
        self.recv_calls += 1
        if not self.inbox:
            raise AssertionError("the worker waits for a reply that will never come")
        return self.inbox.popleft()

    def poll(self) -> bool:
        return bool(self.inbox)

    def of(self, tag: int) -> list[tuple[Any, ...]]:
        return [m for m in self.sent if m[0] == tag]


TOKEN = 7


def launch(tid: int = 3, start: int = 1, until: int = 9, max_step: int = 9,
           ckpt: str | None = None, params: dict[str, Any] | None = None) -> tuple[Any, ...]:
    return encode_launch(Launch(tid, params or {"x": 0.5}, start, until, max_step, ckpt), TOKEN)


def reply(step: int, decision: Decision, tid: int = 3, token: int = TOKEN) -> tuple[Any, ...]:
    return encode_reply(Reply(tid, step, decision), token)


def at_step(answers: dict[int, Decision], tid: int = 3) -> Responder:
    """Reply ``answers[step]`` to the result at ``step``."""

    def respond(msg: tuple[Any, ...]) -> list[Any]:
        if msg[0] == RESULT and msg[2] in answers:
            return [reply(msg[2], answers[msg[2]], tid)]
        return []

    return respond


def loop_objective(ctx: TrialContext) -> None:
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=1.0 / step)


def ended(ch: FakeChannel) -> tuple[Any, ...]:
    ends = ch.of(ENDED)
    assert len(ends) == 1, ch.sent
    return ends[0]


def test_streams_below_the_lease_without_waiting() -> None:
    ch = FakeChannel()
    assert run_trial(loop_objective, launch(until=9), ch, None) == "completed"
    assert ch.recv_calls == 0  # nothing to wait for: max_step is the lease and is never waited at
    assert [m[2] for m in ch.of(RESULT)] == list(range(1, 10))
    assert ended(ch)[2] == "completed" and ended(ch)[4] is None


def test_blocks_at_the_lease_and_the_reply_extends_it() -> None:
    ch = FakeChannel(at_step({3: Decision.proceed(6), 6: Decision.proceed(9)}))
    run_trial(loop_objective, launch(until=3), ch, None)
    assert ch.recv_calls == 2  # at 3 and at 6, nowhere else
    assert ended(ch)[2] == "completed"


def test_stop_at_the_lease_unwinds_with_stop_trial() -> None:
    seen: list[int] = []

    def objective(ctx: TrialContext) -> None:
        for step in range(1, ctx.max_step + 1):
            seen.append(step)
            ctx.report(step, loss=1.0)

    ch = FakeChannel(at_step({1: Decision.stop("below the rung-0 cutoff")}))
    assert run_trial(objective, launch(until=1), ch, None) == "stopped"
    assert seen == [1]
    assert ended(ch)[4] is None  # the reason is journaled with the Reply, not repeated


def test_async_stop_is_honoured_at_the_next_report() -> None:
    # the STOP for step 2 arrives while the worker is already past it
    ch = FakeChannel(at_step({2: Decision.stop("budget exhausted")}))
    seen: list[int] = []

    def objective(ctx: TrialContext) -> None:
        for step in range(1, ctx.max_step + 1):
            seen.append(step)
            ctx.report(step, loss=1.0)

    run_trial(objective, launch(until=9), ch, None)
    # with an instant channel the reply is there when report(2) polls: honoured at once
    assert seen == [1, 2] and ended(ch)[2] == "stopped"


def test_stop_for_an_earlier_step_ends_the_wait_at_the_lease() -> None:
    # the engine sends nothing for step 3 after it stopped the trial at step 2
    ch = FakeChannel(preload=[])
    calls = {"n": 0}

    def respond(msg: tuple[Any, ...]) -> list[Any]:
        if msg[0] == RESULT and msg[2] == 3:
            calls["n"] += 1
            return [reply(2, Decision.stop("late"))]
        return []

    ch.respond = respond
    run_trial(loop_objective, launch(until=3), ch, None)
    assert calls["n"] == 1 and ended(ch)[2] == "stopped"
    assert [m[2] for m in ch.of(RESULT)] == [1, 2, 3]


def test_stale_reply_of_another_run_is_ignored() -> None:
    ch = FakeChannel(at_step({3: Decision.proceed(9)}))
    ch.inbox.append(reply(1, Decision.stop("from an earlier run"), token=TOKEN - 1))
    assert run_trial(loop_objective, launch(until=3), ch, None) == "completed"


def test_user_stop_trial_keeps_its_reason() -> None:
    def objective(ctx: TrialContext) -> None:
        ctx.report(1, loss=math.nan)
        raise rung.StopTrial("diverged")

    ch = FakeChannel()
    assert run_trial(objective, launch(), ch, None) == "stopped"
    assert ended(ch)[4] == "diverged"


def test_exception_fails_the_trial_with_its_traceback() -> None:
    def objective(ctx: TrialContext) -> None:
        ctx.report(1, loss=1.0)
        raise ValueError("bad batch")

    ch = FakeChannel()
    assert run_trial(objective, launch(), ch, None) == "failed"
    err = ended(ch)[4]
    assert "Traceback" in err and "ValueError: bad batch" in err and "objective" in err


def test_system_exit_in_the_objective_fails_the_trial() -> None:
    def objective(ctx: TrialContext) -> None:
        raise SystemExit(2)

    ch = FakeChannel()
    assert run_trial(objective, launch(), ch, None) == "failed"


def test_returned_metrics_become_the_final_result() -> None:
    ch = FakeChannel()
    run_trial(lambda ctx: {"loss": 0.25}, launch(max_step=5), ch, None)
    assert [(m[2], m[3]) for m in ch.of(RESULT)] == [(5, {"loss": 0.25})]  # at max_step

    def partial(ctx: TrialContext) -> dict[str, float]:
        ctx.report(1, loss=2.0)
        ctx.report(2, loss=1.0)
        return {"loss": 0.5, "acc": 0.9}

    ch = FakeChannel()
    run_trial(partial, launch(max_step=5), ch, None)
    assert [(m[2], m[3]) for m in ch.of(RESULT)][-1] == (2, {"loss": 0.5, "acc": 0.9})


@pytest.mark.parametrize("returned, final", [
    # a test score returned after a loop that reported the loss: the loss is kept (it was
    # replaced, and the trial failed with "metric 'loss' was not reported")
    ({"acc": 0.9}, [(2, {"loss": 1.0, "acc": 0.9})]),
    ({"loss": 0.5}, [(2, {"loss": 0.5})]),  # a returned metric replaces the reported one
    ({"loss": 1.0}, []),  # what was reported already (Optuna's idiom): not recorded twice
    ({}, []),
])
def test_a_mapping_returned_after_reports_completes_the_last_result(
        returned: dict[str, float], final: list[tuple[int, dict[str, float]]]) -> None:
    def objective(ctx: TrialContext) -> dict[str, float]:
        ctx.report(1, loss=2.0)
        ctx.report(2, loss=1.0)
        return returned

    ch = FakeChannel()
    assert run_trial(objective, launch(max_step=5), ch, None) == "completed"
    got = [(m[2], m[3]) for m in ch.of(RESULT)]
    assert got == [(1, {"loss": 2.0}), (2, {"loss": 1.0}), *final]


def test_nan_inf_and_numpy_metrics_are_recorded_as_given() -> None:
    def objective(ctx: TrialContext) -> None:
        ctx.report(1, loss=math.nan, acc=np.float32(0.5), n=np.int64(3), v=np.array(2.0))
        ctx.report(2, loss=math.inf)

    ch = FakeChannel()
    run_trial(objective, launch(), ch, None)
    m1, m2 = (m[3] for m in ch.of(RESULT))
    assert math.isnan(m1["loss"]) and m1["acc"] == 0.5 and m1["n"] == 3 and m1["v"] == 2.0
    assert {type(v) for v in m1.values()} <= {float, int}
    assert m2 == {"loss": math.inf}
    assert rung.Objective("loss").score(m1) == math.inf  # scored as the worst


def saver(payload: dict[str, Any]) -> Callable[[str], None]:
    def save(d: str) -> None:
        Path(d, "state.json").write_text(json.dumps(payload))

    return save


def test_checkpoint_requested_by_the_scheduler(tmp_path: Path) -> None:
    ask = Decision(rung.Action.CONTINUE, 9, True, "checkpoint for a fork")
    ch = FakeChannel(at_step({3: ask}))

    def objective(ctx: TrialContext) -> None:
        for step in range(1, ctx.max_step + 1):
            ctx.report(step, loss=1.0, save=saver({"step": step}))

    run_trial(objective, launch(until=3), ch, tmp_path)
    (saved,) = ch.of(SAVED)
    _, tid, step, path, _, size = saved
    assert (tid, step, path) == (3, 3, "3/3")
    state = tmp_path / "3" / "3" / "state.json"
    assert json.loads(state.read_text()) == {"step": 3}
    assert size == state.stat().st_size
    assert sorted(p.name for p in (tmp_path / "3").iterdir()) == ["3"]  # no temporary left


def test_pause_saves_then_unwinds_and_resume_sees_the_checkpoint(tmp_path: Path) -> None:
    ch = FakeChannel(at_step({3: Decision.pause("promotion variant")}))

    def objective(ctx: TrialContext) -> None:
        state = {"step": 0}
        if ctx.checkpoint is not None:
            state = json.loads(Path(ctx.checkpoint, "state.json").read_text())
        assert state["step"] == ctx.start_step - 1
        for step in range(ctx.start_step, ctx.max_step + 1):
            ctx.report(step, loss=1.0, save=saver({"step": step}))

    assert run_trial(objective, launch(until=3), ch, tmp_path) == "paused"
    kinds = [m[0] for m in ch.sent]
    assert kinds[-2:] == [SAVED, ENDED]  # the checkpoint is announced before the end
    assert ch.of(SAVED)[0][3] == "3/3"
    # resume: the runtime resolves the relative path against the checkpoint directory
    ch2 = FakeChannel()
    assert run_trial(objective, launch(start=4, until=9, ckpt="3/3"), ch2, tmp_path) == "completed"
    assert [m[2] for m in ch2.of(RESULT)] == list(range(4, 10))


def test_checkpoint_every(tmp_path: Path) -> None:
    def objective(ctx: TrialContext) -> None:
        for step in range(ctx.start_step, ctx.max_step + 1):
            ctx.report(step, loss=1.0, save=saver({"step": step}))

    ch = FakeChannel()
    run_trial(objective, launch(max_step=8), ch, tmp_path, checkpoint_every=3)
    assert [m[2] for m in ch.of(SAVED)] == [3, 6, 8]  # every 3 steps, and the last step


def test_context_attributes(tmp_path: Path) -> None:
    got: dict[str, Any] = {}

    def objective(ctx: TrialContext) -> None:
        got.update(params=ctx.params, trial_id=ctx.trial_id, start_step=ctx.start_step,
                   max_step=ctx.max_step, checkpoint=ctx.checkpoint)

    run_trial(objective, launch(tid=4, start=3, max_step=7, ckpt="4/2", params={"lr": 0.1}),
              FakeChannel(), tmp_path)
    assert got == {"params": {"lr": 0.1}, "trial_id": 4, "start_step": 3, "max_step": 7,
                   "checkpoint": str(tmp_path / "4" / "2")}
    assert rung.TrialContext is TrialContext


def test_worker_loop_serves_trials_and_drops_stale_replies() -> None:
    def respond(msg: tuple[Any, ...]) -> list[Any]:
        if msg[0] == ENDED and msg[1] == 1:  # a reply that crossed the end, then more work
            return [reply(4, Decision.stop("stale"), tid=1), launch(tid=2)]
        if msg[0] == ENDED:
            return [None]  # the driver asks the idle worker to exit
        return []

    ch = FakeChannel(respond, preload=[launch(tid=1)])
    worker_loop(ch, loop_objective, None)
    assert [m[1] for m in ch.of(ENDED)] == [1, 2]
    assert all(m[2] == "completed" for m in ch.of(ENDED))


def test_messages_decode_to_engine_events() -> None:
    assert decode((RESULT, 1, 2, {"loss": 0.5}, 10.0)) == ResultReported(1, 2, {"loss": 0.5}, 10.0)
    assert decode((SAVED, 1, 2, "1/2", 10.0, 42)) == CheckpointSaved(1, 2, "1/2", 10.0, 42)
    assert decode((ENDED, 1, "failed", 10.0, "tb"), 11.0) == TrialEnded(1, Outcome.FAILED, 11.0,
                                                                         "tb")
    assert launch()[0] == LAUNCH
    with pytest.raises(ValueError):
        decode((LAUNCH,))


def test_report_rejects_a_non_integer_step() -> None:
    def objective(ctx: TrialContext) -> None:
        ctx.report(1.5, loss=1.0)  # type: ignore[arg-type]

    ch = FakeChannel()
    run_trial(objective, launch(), ch, None)
    assert "expected an integer step" in ended(ch)[4]


@pytest.mark.parametrize("save, message", [
    ({"loss": 0.5, "acc": 0.9}, "report(step, save=None, **metrics): metrics are keyword "
     "arguments, e.g. ctx.report(step, loss=0.5, acc=0.9), or ctx.report(step, **metrics) for "
     "a dict; got a dict as save"),
    (0.5, "report: save must be callable (save(directory)), got float"),
])
def test_metrics_passed_as_save_fail_the_trial_recording_nothing(save: Any, message: str) -> None:
    """``ctx.report(1, {"loss": 0.5})`` (Ray Tune's and Optuna's habit) put the dict in
    ``save`` and reported no metric: the trial failed later with "metric 'loss' was not
    reported (reported: none)"."""
    def objective(ctx: TrialContext) -> None:
        ctx.report(1, save)

    ch = FakeChannel()
    run_trial(objective, launch(), ch, None)
    assert ch.of(RESULT) == []
    assert message in ended(ch)[4]


@pytest.mark.parametrize("steps, bad, message", [
    ((0, 1), 0, "report(step=0): steps count from 1 (in a loop over range(n), report epoch + 1)"),
    ((-2,), -2, "report(step=-2): steps count from 1 (in a loop over range(n), report epoch + 1)"),
    ((1, 2, 3, 4), 4, "report(step=4): above the study's max_step (3); loop up to ctx.max_step"),
    ((1, 3, 2), 2, "report(step=2) after report(step=3): steps never go backwards (report "
     "them in increasing order; the same step again replaces its result)"),
])
def test_a_step_outside_1_to_max_step_fails_the_trial_recording_nothing_of_it(
    steps: tuple[int, ...], bad: int, message: str
) -> None:
    def objective(ctx: TrialContext) -> None:
        for step in steps:
            ctx.report(step, loss=1.0)

    ch = FakeChannel()
    assert run_trial(objective, launch(until=3, max_step=3), ch, None) == "failed"
    assert [m[2] for m in ch.of(RESULT)] == list(steps[: steps.index(bad)])
    assert ended(ch)[4].rstrip().endswith(f"ValueError: {message}")


def test_the_same_step_twice_is_recorded_twice() -> None:
    """A framework that validates twice at one epoch reports it twice: not a step backwards
    (the engine keeps the later result)."""
    def objective(ctx: TrialContext) -> None:
        ctx.report(1, loss=2.0)
        ctx.report(1, loss=1.0)
        ctx.report(2, loss=0.5)

    ch = FakeChannel()
    assert run_trial(objective, launch(until=3, max_step=3), ch, None) == "completed"
    assert [(m[2], m[3]["loss"]) for m in ch.of(RESULT)] == [(1, 2.0), (1, 1.0), (2, 0.5)]


def test_a_resumed_run_may_not_report_below_the_step_it_resumed_after() -> None:
    """A run restored from the checkpoint at step 5 starts at 6: a report of step 3 is a step
    backwards, refused as ask/tell's ``Study.report`` refuses it (the engine's position of the
    run is 5, not 0), and nothing of it is recorded. The message names the checkpoint: the
    run reported no step 5 (it said "after report(step=5)")."""
    def objective(ctx: TrialContext) -> None:
        ctx.report(3, loss=1.0)

    ch = FakeChannel()
    assert run_trial(objective, launch(start=6, ckpt="3/5"), ch, None) == "failed"
    assert ch.of(RESULT) == []
    assert ended(ch)[4].rstrip().endswith(
        "ValueError: report(step=3) after resuming from step 5's checkpoint: steps never go "
        "backwards (the run continues after step 5; report steps in increasing order from "
        "there)")


def test_a_resumed_run_reports_from_its_start_step_or_its_checkpoints_step_again() -> None:
    """The first report of a resumed run is ``start_step`` (the documented loop); the
    checkpoint's own step again is the same step twice, allowed as everywhere."""
    def objective(ctx: TrialContext) -> None:
        assert ctx.last_step == 5
        ctx.report(5, loss=2.0)
        for step in range(ctx.start_step, ctx.max_step + 1):
            ctx.report(step, loss=1.0 / step)

    ch = FakeChannel()
    assert run_trial(objective, launch(start=6, ckpt="3/5"), ch, None) == "completed"
    assert [m[2] for m in ch.of(RESULT)] == [5, 6, 7, 8, 9]


def test_a_run_restarted_from_scratch_checks_from_step_0() -> None:
    """A trial resumed without a checkpoint (a fidelity's rung: start_step 4, no checkpoint)
    trains from scratch: the engine counts its steps from 0, so a lower step is no step
    backwards; and a returned mapping without a report is recorded at max_step."""
    def objective(ctx: TrialContext) -> dict[str, float]:
        assert ctx.last_step == 0
        return {"loss": 0.25}

    ch = FakeChannel()
    assert run_trial(objective, launch(start=4), ch, None) == "completed"
    assert [(m[2], m[3]) for m in ch.of(RESULT)] == [(9, {"loss": 0.25})]

    def low(ctx: TrialContext) -> None:
        ctx.report(2, loss=1.0)

    ch = FakeChannel()
    assert run_trial(low, launch(start=4), ch, None) == "completed"
    assert [m[2] for m in ch.of(RESULT)] == [2]


def test_a_resumed_run_that_returns_metrics_without_reporting_records_them_at_max_step() -> None:
    def objective(ctx: TrialContext) -> dict[str, float]:
        return {"loss": 0.5}

    ch = FakeChannel()
    assert run_trial(objective, launch(start=6, ckpt="3/5"), ch, None) == "completed"
    assert [(m[2], m[3]) for m in ch.of(RESULT)] == [(9, {"loss": 0.5})]


@pytest.mark.parametrize("decision, outcome", [
    (Decision.stop("below the rung-0 cutoff"), "stopped"),
    (Decision.pause("waits for promotion"), "paused"),
])
def test_an_objective_that_swallows_the_decision_still_ends_as_decided(
    decision: Decision, outcome: str, caplog: pytest.LogCaptureFixture
) -> None:
    """``except BaseException`` (or a ``return`` in ``finally``) around ``report`` swallows
    the StopTrial / PauseTrial it raised: the run ends as the scheduler decided, not
    ``completed`` (ASHA's stopped trials were counted completed); what it returned is still
    recorded, and a warning says what happened."""
    def objective(ctx: TrialContext) -> dict[str, float]:
        try:
            ctx.report(1, loss=2.0)
        except BaseException:
            return {"loss": 1.0}
        return {"loss": 0.0}

    ch = FakeChannel(at_step({1: decision}))
    with caplog.at_level("WARNING", logger="rung.runtime"):
        assert run_trial(objective, launch(until=1), ch, None) == outcome
    assert [(m[2], m[3]) for m in ch.of(RESULT)] == [(1, {"loss": 2.0}), (1, {"loss": 1.0})]
    assert ended(ch)[2] == outcome and ended(ch)[4] is None
    assert caplog.messages[-1:] == [
        f"trial 3: the objective returned after report() raised "
        f"{'StopTrial' if outcome == 'stopped' else 'PauseTrial'} (the scheduler's "
        f"decision): the trial ends {outcome}; let StopTrial and PauseTrial propagate"]
