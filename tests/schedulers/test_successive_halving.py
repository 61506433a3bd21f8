"""Synchronous successive halving and Hyperband: bracket geometry and scripted decisions."""

from __future__ import annotations

import pytest
from sched_script import Script, launches, summary

import rung
from rung import Action, Budget, ConfigError, Decision
from rung.core import Cancel, DeleteCheckpoint, Reply, TrialEnded
from rung.core.components import BindContext
from rung.core.records import Outcome
from rung.schedulers import Hyperband, SuccessiveHalving
from rung.schedulers.successive_halving import bracket_plan, s_max_for
from rung.testing import default_space

LOSSES = [0.5, 0.9, 0.1, 0.7, 0.3, 0.8, 0.2, 0.6, 0.4]  # rung-0 top 3: trials 2, 6, 4


def test_hyperband_brackets_are_the_papers() -> None:
    """Li et al. 2018, Table 1: R = 81, eta = 3."""
    hb = Hyperband(3, 1)
    hb.bind(BindContext(default_space(), rung.Objective("loss"), 81, 0))
    assert hb.s_max == 4
    assert hb.brackets() == [
        (4, [81, 27, 9, 3, 1], [1, 3, 9, 27, 81]),
        (3, [34, 11, 3, 1], [3, 9, 27, 81]),
        (2, [15, 5, 1], [9, 27, 81]),
        (1, [8, 2], [27, 81]),
        (0, [5], [81]),
    ]


@pytest.mark.parametrize(
    ("r", "eta", "R", "s_max"), [(1, 3, 81, 4), (1, 3, 80, 3), (1, 3, 100, 4), (2, 2, 10, 2),
                                 (3, 3, 3, 0), (1, 2, 1, 0)]
)
def test_s_max_is_floor_log_eta_of_R_over_r(r: int, eta: int, R: int, s_max: int) -> None:
    assert s_max_for(r, eta, R) == s_max


def test_whole_step_rungs_round_down_and_stay_above_min_step() -> None:
    # R = 100, eta = 3: r_i = floor(100 * 3**(i - 4))
    assert bracket_plan(4, 4, 3, 100) == ([81, 27, 9, 3, 1], [1, 3, 11, 33, 100])
    assert bracket_plan(0, 4, 3, 100) == ([5], [100])


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"reduction_factor": 1}, "reduction_factor"),
        ({"min_step": 0}, "min_step"),
        ({"min_step": 10}, "min_step"),
        ({"iterations": 0}, "iterations"),
        ({"n_configs": 0}, "n_configs"),
        ({"guard": 1}, "guard"),
    ],
)
def test_bad_params_name_the_key(kwargs: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"scheduler\.params\.{key}"):
        Script(SuccessiveHalving(**kwargs), max_step=9)


def _fill_rung0(s: Script) -> None:
    """Nine trials, three workers, each paused at step 1; the ninth completes the rung."""
    assert summary(s.capacity(3)) == [(0, 1, 1, None), (1, 1, 1, None), (2, 1, 1, None)]
    assert s.engine.history.tags(0) == {"bracket": 0, "s": 2}
    for t in range(3):
        assert s.report(t, 1, LOSSES[t]) == Decision.pause(
            f"bracket 0 rung 0 (step 1): {t + 1}/9 results in; paused until the rung is complete"
        )
    for t in range(3):
        assert summary(s.pause(t, 1)) == [(t + 3, 1, 1, None)]
    for t in range(3, 6):
        assert s.report(t, 1, LOSSES[t]).action is Action.PAUSE
        assert summary(s.pause(t, 1)) == [(t + 3, 1, 1, None)]
    assert s.report(6, 1, LOSSES[6]).action is Action.PAUSE
    assert s.report(7, 1, LOSSES[7]).action is Action.PAUSE
    assert s.pause(6, 1) == []  # the rung waits for trial 8; the single bracket is open


def test_successive_halving_pauses_then_resumes_the_top_third() -> None:
    s = Script(SuccessiveHalving(3, iterations=1), max_step=9)  # n = 9, rungs 1, 3, 9
    _fill_rung0(s)
    # the last report completes rung 0: the reporter (rank 4) learns it is out at once
    assert s.report(8, 1, LOSSES[8]) == Decision.stop(
        "bracket 0 rung 0 (step 1): rank 4/9, not in the top 3"
    )
    # promoted trials resume from their own checkpoints, best first, as slots free
    assert summary(s.pause(7, 1)) == [(2, 2, 3, "c/2/1"), (6, 2, 3, "c/6/1")]
    assert summary(s.end(8, "stopped")) == [(4, 2, 3, "c/4/1")]
    # rung 1: three members, one goes on
    assert s.run(2, [2, 3], 0.35).action is Action.PAUSE
    assert s.run(6, [2, 3], 0.15).action is Action.PAUSE
    assert s.run(4, [2, 3], 0.25) == Decision.stop(
        "bracket 0 rung 1 (step 3): rank 2/3, not in the top 1"
    )
    assert s.pause(2, 3) == []  # trial 6 is promoted but still pausing
    assert summary(s.pause(6, 3)) == [(6, 4, 9, "c/6/3")]
    assert s.end(4, "stopped") == []
    for step in range(4, 10):
        s.report(6, step, 0.1)
    assert s.end(6) == []
    assert s.engine.done
    st = s.scheduler.state()
    assert st["open"] == [] and st["brackets_finished"] == 1 and st["promotions"] == 4
    assert [(r["planned"], r["members"], r["promoted"]) for r in st["finished"][0]["rungs"]] == [
        (9, 9, 3),
        (3, 3, 1),
        (1, 1, 0),
    ]
    # the losers were retired: nothing is left paused, and only the best finished trial's
    # checkpoint is kept (keep_checkpoints=1)
    h = s.engine.history
    assert h.count(rung.TrialStatus.PAUSED) == 0
    assert h.status(0) is rung.TrialStatus.STOPPED
    assert s.engine.summary()["checkpoints"] == 1
    s.assert_replay_matches()


def _deleted(cmds: list) -> list[int]:
    return [c.trial_id for c in cmds if isinstance(c, DeleteCheckpoint)]


def test_losers_of_a_completed_rung_are_retired_and_release_their_checkpoints() -> None:
    s = Script(SuccessiveHalving(3, iterations=1), max_step=9, keep=0)
    _fill_rung0(s)
    # seven checkpoints of 10 bytes on disk: trials 0-6 paused at step 1
    assert s.engine.summary()["checkpoint_bytes"] == 70
    mark = len(s.commands)
    assert s.report(8, 1, LOSSES[8]).action is Action.STOP
    # rung 0 completes: top 3 = trials 2, 6, 4; the paused losers 0, 1, 3, 5 end stopped (the
    # engine journals each one's reason in a Cancel) and their checkpoints go at once (trial 7
    # is still saving, trial 8 is being stopped)
    here = "bracket 0 rung 0 (step 1)"
    assert s.commands[mark:] == [
        Cancel(0, f"{here}: rank 5/9, not in the top 3"),
        DeleteCheckpoint(0, "c/0/1"),
        Cancel(1, f"{here}: rank 9/9, not in the top 3"),
        DeleteCheckpoint(1, "c/1/1"),
        Cancel(3, f"{here}: rank 7/9, not in the top 3"),
        DeleteCheckpoint(3, "c/3/1"),
        Cancel(5, f"{here}: rank 8/9, not in the top 3"),
        DeleteCheckpoint(5, "c/5/1"),
        Reply(8, 1, Decision.stop(f"{here}: rank 4/9, not in the top 3")),
    ]
    h = s.engine.history
    assert [h.status(t).value for t in range(9)] == [
        "stopped", "stopped", "paused", "stopped", "paused", "stopped", "paused", "launched",
        "launched",
    ]  # (the script sends no TrialStarted: active trials stay "launched")
    assert s.engine.summary()["checkpoint_bytes"] == 30
    # trial 7's pause arrives after the rung completed without it: retired in the same turn,
    # and its slot resumes the best promoted trial
    s.checkpoint(7, 1)
    assert s.engine.summary()["checkpoint_bytes"] == 40
    cmds = s.feed(TrialEnded(7, Outcome.PAUSED, s.tick()))
    assert _deleted(cmds) == [7]
    assert summary(launches(cmds)) == [(2, 2, 3, "c/2/1"), (6, 2, 3, "c/6/1")]
    assert h.status(7) is rung.TrialStatus.STOPPED
    # trial 8 (stopped, never saved) frees its slot for the third promoted trial
    assert summary(s.end(8, "stopped")) == [(4, 2, 3, "c/4/1")]
    assert s.engine.summary()["checkpoint_bytes"] == 30  # trials 2, 4, 6
    assert s.engine.summary()["by_status"]["stopped"] == 6
    s.assert_replay_matches()
    again = s.replayed()
    assert again.checkpoint_bytes == 30 and again.history.status(7) is rung.TrialStatus.STOPPED


def test_the_last_reporter_of_a_rung_is_promoted_in_place() -> None:
    s = Script(SuccessiveHalving(3, iterations=1), max_step=9)
    _fill_rung0(s)
    s.report(8, 1, LOSSES[8])
    s.pause(7, 1)
    s.end(8, "stopped")
    s.run(2, [2, 3], 0.35)
    s.run(4, [2, 3], 0.25)
    assert s.run(6, [2, 3], 0.15) == Decision(
        Action.CONTINUE, 9, False, "bracket 0 rung 1 (step 3): rank 1/3, promoted (top 1)"
    )
    assert s.pause(2, 3) == [] and s.pause(4, 3) == []  # nothing left to resume


def test_failed_and_interrupted_members() -> None:
    s = Script(SuccessiveHalving(3, iterations=1), max_step=9)
    s.capacity(9)
    for t in range(7):
        s.report(t, 1, LOSSES[t])
        s.pause(t, 1)
    # trial 7 dies: its rung no longer waits for it
    assert s.end(7, "failed") == []
    # trial 8 is interrupted (its worker vanished): it is resumed towards its rung
    assert summary(s.end(8, "interrupted")) == [(8, 1, 1, None)]
    assert s.report(8, 1, 0.05) == Decision(
        Action.CONTINUE, 3, False, "bracket 0 rung 0 (step 1): rank 1/8, promoted (top 3)"
    )
    st = s.scheduler.state()["open"][0]["rungs"][0]
    assert (st["members"], st["results"], st["dead"], st["promoted"]) == (9, 8, 1, 3)


def test_trial_budget_closes_the_first_rung_instead_of_waiting_forever() -> None:
    # n_trials=5 < n = 9: once the engine refuses a sixth trial, rung 0 closes with five
    s = Script(SuccessiveHalving(3), max_step=9, budget=Budget(n_trials=5))
    assert len(s.capacity(1)) == 1
    for t in range(4):
        s.report(t, 1, LOSSES[t])
        assert summary(s.pause(t, 1)) == [(t + 1, 1, 1, None)]
    assert s.report(4, 1, LOSSES[4]).action is Action.PAUSE
    # the freed slot: no sixth trial -> rung 0 closes -> the best (trial 2) resumes
    assert summary(s.pause(4, 1)) == [(2, 2, 3, "c/2/1")]
    st = s.scheduler.state()
    assert st["starved"] is True
    assert st["open"][0]["rungs"][0]["promoted"] == 1  # max(1, floor(5/3))
    s.assert_replay_matches()


def test_hyperband_opens_brackets_in_order_and_overlaps_them() -> None:
    s = Script(Hyperband(3, iterations=1), max_step=9)  # brackets s=2 (9), s=1 (5), s=0 (3)
    ls = s.capacity(12)
    assert [(c.trial_id, c.until_step) for c in ls] == [(t, 1) for t in range(9)] + [
        (9, 3), (10, 3), (11, 3)
    ]
    assert [s.engine.history.tags(t)["s"] for t in (0, 8, 9, 11)] == [2, 2, 1, 1]
    st = s.scheduler.state()
    assert st["brackets_opened"] == 2 and st["iteration"] == 0


def test_hyperband_iterations_repeat_the_sequence() -> None:
    hb = Hyperband(3, iterations=2)
    s = Script(hb, max_step=9)
    s.capacity(100)  # 2 x (9 + 5 + 3) trials
    assert len(s.engine.history) == 34
    assert [s.engine.history.tags(t)["s"] for t in (0, 9, 14, 17, 26, 31)] == [2, 1, 0, 2, 1, 0]
