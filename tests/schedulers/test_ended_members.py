"""Synchronous successive halving and Hyperband never promote a member of a rung that ended
for good after reporting its result there (its pause checkpoint's save failed, its objective
returned early): its place goes to the next best member that can go on, and the bracket goes
on to ``max_step`` (``rung.schedulers.successive_halving``, "Members that ended")."""

from __future__ import annotations

from pathlib import Path

import pytest
from sched_script import Script, launches, summary

import rung
from rung import Action, Decision
from rung.core import Cancel, DeleteCheckpoint, Launch, Reply, Tick
from rung.schedulers import Hyperband, SuccessiveHalving

LOSSES = [0.5, 0.9, 0.1, 0.7, 0.3, 0.8, 0.2, 0.6, 0.4]  # best: 2, 6, 4, 8, 0, 7, 3, 5, 1
R0, R1, R2 = ("bracket 0 rung 0 (step 1)", "bracket 0 rung 1 (step 3)",
              "bracket 0 rung 2 (step 9)")
CAN = "of those that can go on"


def paused(rung: str, results: int, of: int) -> Decision:
    return Decision.pause(f"{rung}: {results}/{of} results in; paused until the rung is complete")


def test_a_member_failed_after_its_rung_result_passes_its_place_to_the_next_best() -> None:
    s = Script(SuccessiveHalving(3, iterations=1), max_step=9)
    assert summary(s.capacity(3)) == [(0, 1, 1, None), (1, 1, 1, None), (2, 1, 1, None)]
    for t in range(3):
        assert s.report(t, 1, LOSSES[t]) == paused(R0, t + 1, 9)
    assert summary(s.pause(0, 1)) == [(3, 1, 1, None)]
    assert summary(s.pause(1, 1)) == [(4, 1, 1, None)]
    # trial 2, the best, reported its rung result; saving its pause checkpoint then raised
    assert summary(s.end(2, "failed")) == [(5, 1, 1, None)]
    for t in (3, 4, 5):
        assert s.report(t, 1, LOSSES[t]) == paused(R0, t + 1, 9)  # trial 2's result counts
        assert summary(s.pause(t, 1)) == [(t + 3, 1, 1, None)]
    for t in (6, 7):
        assert s.report(t, 1, LOSSES[t]) == paused(R0, t + 1, 9)
        s.pause(t, 1)
    mark = len(s.commands)
    # the ninth result completes rung 0: its top 3 that can go on are 6, 4 and 8 (trial 2,
    # first, has failed); the reporter, trial 8, is promoted in place
    assert s.report(8, 1, LOSSES[8]) == Decision(
        Action.CONTINUE, 3, False,
        f"{R0}: rank 4/9, promoted (top 3 {CAN}; passed over: trial 2, failed)")
    out = f"not in the top 3 {CAN} (passed over: trial 2, failed)"
    # the paused losers are retired with their ranks (DeleteCheckpoint housekeeping left out)
    assert [c for c in s.commands[mark:] if not isinstance(c, DeleteCheckpoint)] == [
        Cancel(0, f"{R0}: rank 5/9, {out}"),
        Cancel(1, f"{R0}: rank 9/9, {out}"),
        Cancel(3, f"{R0}: rank 7/9, {out}"),
        Cancel(5, f"{R0}: rank 8/9, {out}"),
        Cancel(7, f"{R0}: rank 6/9, {out}"),
        Reply(8, 1, Decision(Action.CONTINUE, 3, False,
                             f"{R0}: rank 4/9, promoted (top 3 {CAN}; passed over: trial 2, "
                             "failed)")),
    ]
    # the next turn resumes the paused winners, best first, each with its promotion's reason
    h = s.engine.history
    assert s.feed(Tick(s.tick())) == [
        Launch(6, h.params(6), 2, 3, 9, "c/6/1"),
        Reply(6, 1, Decision(Action.CONTINUE, 3, False,
                             f"{R0}: rank 2/9, promoted (top 3 {CAN}; passed over: trial 2, "
                             "failed)")),
        Launch(4, h.params(4), 2, 3, 9, "c/4/1"),
        Reply(4, 1, Decision(Action.CONTINUE, 3, False,
                             f"{R0}: rank 3/9, promoted (top 3 {CAN}; passed over: trial 2, "
                             "failed)")),
    ]
    # rung 1: trials 6, 4, 8; one goes on, and reaches max_step
    assert s.run(6, [2, 3], 0.15) == paused(R1, 1, 3)
    assert s.run(4, [2, 3], 0.25) == paused(R1, 2, 3)
    assert s.run(8, [2, 3], 0.35) == Decision.stop(f"{R1}: rank 3/3, not in the top 1")
    s.pause(4, 3)
    assert summary(s.pause(6, 3)) == [(6, 4, 9, "c/6/3")]
    s.end(8, "stopped")
    assert s.run(6, range(4, 10), 0.1) is None
    s.end(6)
    assert s.engine.done
    assert [h.status(t).value for t in range(9)] == [
        "stopped", "stopped", "failed", "stopped", "stopped", "stopped", "completed", "stopped",
        "stopped"]
    st = s.scheduler.state()
    assert st["open"] == [] and st["brackets_finished"] == 1
    assert [(r["members"], r["results"], r["promoted"]) for r in st["finished"][0]["rungs"]] == [
        (9, 9, 3), (3, 3, 1), (1, 1, 0)]
    s.assert_replay_matches()


def eight_in_trial_2_unpaused() -> Script:
    """SH (eta 3, one bracket of 9): eight members reported at rung 0 and paused there, but
    trial 2, which reported and has not paused yet; trial 8 yet to report."""
    s = Script(SuccessiveHalving(3, iterations=1), max_step=9)
    s.capacity(9)
    for t in range(8):
        s.report(t, 1, LOSSES[t])
    for t in range(8):
        if t != 2:
            s.pause(t, 1)
    return s

def test_the_reasons_of_a_rung_completed_with_a_failed_member_name_it() -> None:
    s = eight_in_trial_2_unpaused()
    s.end(2, "failed")
    mark = len(s.commands)
    s.report(8, 1, LOSSES[8])
    cancels = {c.trial_id: c.reason for c in s.commands[mark:] if isinstance(c, Cancel)}
    out = f"not in the top 3 {CAN} (passed over: trial 2, failed)"
    assert cancels == {0: f"{R0}: rank 5/9, {out}", 1: f"{R0}: rank 9/9, {out}",
                       3: f"{R0}: rank 7/9, {out}", 5: f"{R0}: rank 8/9, {out}",
                       7: f"{R0}: rank 6/9, {out}"}
    # six slots free: the two paused winners resume (trial 8 goes on in place)
    assert summary(launches(s.feed(Tick(s.tick())))) == [(6, 2, 3, "c/6/1"),
                                                         (4, 2, 3, "c/4/1")]
    s.assert_replay_matches()


def test_a_member_whose_objective_returned_early_is_passed_over_as_completed() -> None:
    s = eight_in_trial_2_unpaused()
    s.end(2, "completed")  # its objective returned after step 1
    assert s.report(8, 1, LOSSES[8]) == Decision(
        Action.CONTINUE, 3, False,
        f"{R0}: rank 4/9, promoted (top 3 {CAN}; passed over: trial 2, completed)")
    assert s.engine.history.status(2) is rung.TrialStatus.COMPLETED
    s.assert_replay_matches()


def test_hyperband_passes_a_failed_member_over_and_finishes_its_bracket() -> None:
    s = Script(Hyperband(3, iterations=1), max_step=3)  # bracket 0: 3 trials, steps 1 and 3
    assert summary(s.capacity(1)) == [(0, 1, 1, None)]
    assert s.report(0, 1, 0.5) == paused(R0, 1, 3)
    assert summary(s.pause(0, 1)) == [(1, 1, 1, None)]
    assert s.report(1, 1, 0.2) == paused(R0, 2, 3)  # the best
    assert summary(s.end(1, "failed")) == [(2, 1, 1, None)]
    assert s.report(2, 1, 0.9) == Decision.stop(
        f"{R0}: rank 3/3, not in the top 1 {CAN} (passed over: trial 1, failed)")
    assert summary(s.end(2, "stopped")) == [(0, 2, 3, "c/0/1")]
    assert s.report(0, 2, 0.4) is None
    s.report(0, 3, 0.3)
    # bracket 1 (s = 0): two new trials trained to max_step
    assert summary(s.end(0)) == [(3, 1, 3, None)]
    h = s.engine.history
    assert h.status(0) is rung.TrialStatus.COMPLETED
    s.assert_replay_matches()


def _save_fails_for_trial_0(ctx: rung.TrialContext) -> None:
    for step in range(ctx.start_step, ctx.max_step + 1):
        def save(d: str, step: int = step) -> None:
            if ctx.trial_id == 0:
                raise OSError(28, "No space left on device")  # a full disk
            Path(d, "s").write_text(str(step))
        ctx.report(step, loss=ctx.params["x"] + 1 / step, save=save)


@pytest.mark.parametrize("scheduler", ["successive_halving", "hyperband"])
def test_a_real_run_whose_best_trial_fails_saving_its_pause_ends_with_a_completed_trial(
        scheduler: str, tmp_path: Path) -> None:
    s = rung.Study.create("f1", {"x": rung.Float(0, 1)}, objective="loss", searcher="random",
                          scheduler=scheduler, max_step=9, budget=rung.Budget(n_trials=9),
                          points_to_evaluate=[{"x": 0.0}], storage=str(tmp_path / "f1.db"))
    s.run(_save_fails_for_trial_0, n_workers=2, progress=False)
    assert s.trial(0).status is rung.TrialStatus.FAILED
    assert "No space left on device" in (s.trial(0).error or "")
    assert [t.id for t in s.trials("paused")] == []
    assert len(s.trials("completed")) == 1
    assert s.best_trial is not None and s.best_trial.status is rung.TrialStatus.COMPLETED
    assert s.best_trial.last_step == 9
