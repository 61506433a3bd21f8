"""CurveASHA: rank by predicted final value, pause instead of stop (scripted, exact decisions)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sched_script import Script, summary

from rung import ASHA, Action, Budget, ConfigError
from rung.core import DeleteCheckpoint, Launch
from rung.core.records import TrialStatus
from rung.core.registry import build, lookup, to_spec
from rung.core.rng import derive_rng
from rung.schedulers import CurveASHA
from rung.testing import check_scheduler


def tie(tid: int, seed: int = 0) -> float:
    return float(derive_rng(seed, "curve-tie", tid).random())


def test_registered_and_params_round_trip() -> None:
    assert lookup("scheduler", "curve") is CurveASHA
    c = CurveASHA(2, min_step=3, explore=0.5)
    spec = to_spec("scheduler", c)
    assert spec.to_json() == {"name": "curve", "params": c.get_params()}
    assert build("scheduler", spec).get_params() == c.get_params()
    assert CurveASHA.version == 2


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"reduction_factor": 1}, "reduction_factor"),
        ({"min_step": 0}, "min_step"),
        ({"min_fit": 2}, "min_fit"),
        ({"refit_growth": 1.0}, "refit_growth"),
        ({"max_points": 4}, "max_points"),
        ({"explore": -1.0}, "explore"),
    ],
)
def test_bad_params_raise_config_error_naming_the_key(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        Script(CurveASHA(**kwargs))


def test_leases_stop_at_rungs_and_promotion_in_place() -> None:
    s = Script(CurveASHA(3), max_step=9)  # rungs at steps 1 and 3
    assert summary(s.capacity(2)) == [(0, 1, 1, None), (1, 1, 1, None)]
    # alone at its rung: the quota max(1, floor(1/3)) = 1 is free, it goes on to the next rung
    d = s.report(0, 1, 0.5)
    assert d is not None and d.action is Action.CONTINUE and d.until_step == 3
    assert d.reason == "rank 1/1 at rung 0 (step 1), predicted final 0.5: promoted"
    assert s.report(0, 2, 0.45) is None  # streaming below the lease
    d = s.report(0, 3, 0.4)
    assert d is not None and (d.action, d.until_step) == (Action.CONTINUE, 9)
    # the second result at rung 0: quota 1, already used -> paused (never stopped)
    d = s.report(1, 1, 0.3)
    assert d is not None and d.action is Action.PAUSE and d.checkpoint
    assert d.reason.endswith("paused (top 1 of 2, places used)")
    s.assert_replay_matches()


def test_tied_rung_fills_exactly_the_quota_and_retires_the_rest() -> None:
    """Every one of 90 trials reports the same value at the first rung (no model: min_fit is
    never reached). Exactly floor(90 / 3) = 30 leave the rung, chosen by the seeded tie keys
    (not by trial id); once no trial can start, the other 60 are retired: the fraction stopped
    at the first rung is exactly 1 - 1/eta."""
    n = 90
    s = Script(CurveASHA(3, min_fit=1000), max_step=3, budget=Budget(n_trials=n), keep=0)
    s.capacity(n)
    going: list[int] = []
    decisions = []
    for tid in range(n):
        d = s.report(tid, 1, 0.5)
        assert d is not None
        decisions.append(d)
        if d.action is Action.CONTINUE:
            going.append(tid)
        else:
            assert d.action is Action.PAUSE
    resumed: list[int] = []
    for tid in range(n):
        if tid not in going:
            for c in s.pause(tid, 1):
                assert c.checkpoint == f"c/{c.trial_id}/1"
                assert (c.start_step, c.until_step) == (2, 3)
                resumed.append(c.trial_id)
    promoted = going + resumed
    assert len(promoted) == n // 3 == len(set(promoted))
    assert sorted(promoted) != list(range(n // 3))  # not the first ids
    # every trial resumed from the rung was in the top third of the seeded tie keys
    top = {t for _, t in sorted((tie(t), t) for t in range(n))[: n // 3]}
    assert set(resumed) <= top
    # deterministic: the same reports get the same decisions
    again = Script(CurveASHA(3, min_fit=1000), max_step=3, budget=Budget(n_trials=n), keep=0)
    again.capacity(n)
    assert [again.report(t, 1, 0.5) for t in range(n)] == decisions
    h = s.engine.history
    stopped = [t for t in range(n) if h.status(t) is TrialStatus.STOPPED]
    assert len(stopped) == n - n // 3
    assert set(stopped).isdisjoint(promoted)
    deleted = {c.trial_id for c in s.commands if isinstance(c, DeleteCheckpoint)}
    assert deleted == set(stopped)
    s.assert_replay_matches()


def test_the_report_that_makes_a_rung_final_takes_its_place() -> None:
    """3 trials and no more (the budget): after rung 0 the two paused ones are retired, and
    trial 0, alone at rung 1, completes that rung's population with its report; it takes the
    rung's one place and runs on to max_step (before: the places were given out before it was
    counted, so it was paused and retired and no trial reached max_step)."""
    s = Script(CurveASHA(3), max_step=9, budget=Budget(n_trials=3))
    assert [c.trial_id for c in s.capacity(4)] == [0, 1, 2]  # the 4th start is refused
    d = s.report(0, 1, 1.3)
    assert d is not None and (d.action, d.until_step) == (Action.CONTINUE, 3)
    for tid, loss in ((2, 1.7), (1, 1.9)):
        d = s.report(tid, 1, loss)
        assert d is not None and d.action is Action.PAUSE
        assert s.pause(tid, 1) == []
    h = s.engine.history
    assert [h.status(t) for t in (1, 2)] == [TrialStatus.STOPPED] * 2  # retired: rung 0 final
    d = s.report(0, 3, 0.6)
    assert d is not None and (d.action, d.until_step) == (Action.CONTINUE, 9)
    assert d.reason == "rank 1/1 at rung 1 (step 3), predicted final 0.6: promoted"
    assert s.report(0, 9, 0.5) is None
    s.end(0)
    assert h.status(0) is TrialStatus.COMPLETED
    s.assert_replay_matches()


def test_a_trial_re_reporting_after_a_restart_waits_once() -> None:
    """Trial 1 is told to pause at rung 0, its worker dies first, and the resumed run reports
    the same rung again: it waits there once. Before, it was added twice; once it had been
    promoted and its rank value moved, the copy left behind could never be removed, and
    after the trial ended ``next_trial`` looped forever on it (a crashed and resumed
    ``scheduler='curve'`` study hung)."""
    s = Script(CurveASHA(2), max_step=4, budget=Budget(n_trials=4))
    assert [c.trial_id for c in s.capacity(3)] == [0, 1, 2]
    d = s.report(0, 1, 0.3)
    assert d is not None and d.action is Action.CONTINUE
    d = s.report(1, 1, 0.5)
    assert d is not None and d.action is Action.PAUSE
    assert summary(s.end(1, "interrupted")) == [(1, 1, 1, None)]  # resumed from scratch
    d = s.report(1, 1, 0.5)
    assert d is not None and d.reason.endswith("paused (not in the top 1 of 2 yet)")
    assert s.scheduler.state()["rungs"][0]["waiting"] == 1
    assert summary(s.pause(1, 1)) == [(3, 1, 1, None)]  # the 4th and last trial
    d = s.report(2, 1, 0.6)
    assert d is not None and d.action is Action.PAUSE
    assert s.pause(2, 1) == []
    d = s.report(3, 1, 0.7)
    assert d is not None and d.action is Action.PAUSE
    # rung 0 is final with 4 results: quota 2, trial 1 (rank 2) is promoted; 2 and 3 retired
    assert summary(s.pause(3, 1)) == [(1, 2, 2, "c/1/1")]
    h = s.engine.history
    assert (h.status(2), h.status(3)) == (TrialStatus.STOPPED, TrialStatus.STOPPED)
    assert s.scheduler.state()["rungs"][0]["waiting"] == 0
    for step in (2, 3, 4):
        s.report(1, step, 0.5 - step / 10)
    s.end(1)
    assert s.engine.history.status(1) is TrialStatus.COMPLETED
    s.assert_replay_matches()


# --- the late bloomer -----------------------------------------------------------------------
# max_step 3, one rung at step 1. "slow" configurations (x < 0.5) look worse at step 1 (0.55
# against 0.50) but end far better (0.10 against 0.40): plain ASHA stops them at the rung.


def value(x: float, step: int) -> float:
    slow = x < 0.5
    if step < 3:
        return 0.55 if slow else 0.50
    return 0.10 if slow else 0.40


def finish(s: Script, launch: Launch) -> None:
    x = float(launch.params["x"])
    for step in range(launch.start_step, 4):
        s.report(launch.trial_id, step, value(x, step))
    s.end(launch.trial_id)


def test_late_bloomer_is_paused_then_resumed_when_the_model_has_seen_slow_configs_improve() -> None:
    s = Script(CurveASHA(3, min_fit=3), max_step=3)
    first = {c.trial_id: c for c in s.capacity(16)}
    x = {t: float(c.params["x"]) for t, c in first.items()}
    slow = [t for t in sorted(x) if x[t] < 0.5]
    fast = [t for t in sorted(x) if x[t] >= 0.5]
    assert fast[:4] == [0, 1, 2, 6] and slow[:8] == [3, 4, 5, 9, 10, 11, 12, 13]

    def at_rung(tid: int) -> list[Launch]:
        d = s.report(tid, 1, value(x[tid], 1))
        assert d is not None
        if d.action is Action.CONTINUE:
            finish(s, Launch(tid, first[tid].params, 2, 3, 3, None))
            return []
        assert d.action is Action.PAUSE
        out = s.pause(tid, 1)
        for c in out:
            if c.checkpoint is not None:  # a promotion: run it to the end
                finish(s, c)
        return out

    # trial 0 (fast) is alone: promoted, it ends at 0.40
    assert at_rung(0) == []
    # trial 3 is the late bloomer: behind trial 0 and no model yet, it is paused
    d3 = s.report(3, 1, value(x[3], 1))
    assert d3 is not None and d3.action is Action.PAUSE
    assert "not in the top 1 of 2 yet" in d3.reason
    s.pause(3, 1)
    # plain ASHA on the same values stops it
    a = Script(ASHA(3), max_step=3)
    a.capacity(4)
    a.report(0, 1, 0.50)
    assert a.report(3, 1, 0.55).action is Action.STOP  # type: ignore[union-attr]
    # more slow trials arrive; as the rung grows its quota opens places, slow trials get them
    # (only slow ones wait), reach step 3 at 0.10 and teach the model
    resumed = [c.trial_id for t in slow[1:8] for c in at_rung(t) if c.checkpoint is not None]
    tr = s.scheduler.state()["rungs"][0]
    assert tr["fitted_at"] >= 3 and tr["model_rows"] >= 3
    # fast trials now arrive at the rung with the better current value (0.50 < 0.55), yet the
    # model predicts them to end at 0.40 and the waiting slow ones near 0.10: the next place
    # goes to a slow trial, and the late bloomer trial 3 is among those resumed
    for t in fast[1:4]:
        d = s.report(t, 1, 0.50)
        assert d is not None and d.action is Action.PAUSE
        resumed += [c.trial_id for c in s.pause(t, 1) if c.checkpoint is not None]
    assert 3 in resumed
    assert all(x[t] < 0.5 for t in resumed)
    assert s.engine.history.score(3) == pytest.approx(0.10)
    s.assert_replay_matches()


def test_resume_lease_arithmetic_over_two_rungs() -> None:
    s = Script(CurveASHA(2, min_fit=1000), max_step=8)  # rungs 1, 2, 4
    s.capacity(3)
    assert s.report(0, 1, 0.9).action is Action.CONTINUE  # type: ignore[union-attr]
    d = s.report(0, 2, 0.8)
    assert d is not None and (d.action, d.until_step) == (Action.CONTINUE, 4)
    d = s.report(1, 1, 0.1)  # quota max(1, 2 // 2) = 1, used by trial 0
    assert d is not None and d.action is Action.PAUSE
    assert s.report(2, 1, 0.5).action is Action.PAUSE  # type: ignore[union-attr]
    # n = 3 at rung 0: floor(3/2) = 1 place, used; trial 1 waits. The pause frees a slot and
    # a new trial starts
    assert summary(s.pause(1, 1)) == [(3, 1, 1, None)]
    assert s.report(3, 1, 0.7).action is Action.PAUSE  # type: ignore[union-attr]
    # n = 4: two places, one free: trial 1 (best prediction, paused) is resumed from its
    # checkpoint at step 2 with a lease to the next rung (step 2)
    assert summary(s.pause(3, 1)) == [(1, 2, 2, "c/1/1")]
    # trial 1 at rung 1 (step 2): trial 0 holds rung 1's one place, so it pauses there
    assert s.report(1, 2, 0.05).action is Action.PAUSE  # type: ignore[union-attr]
    s.assert_replay_matches()
    json.dumps(s.scheduler.state())


def test_conformance() -> None:
    check_scheduler(lambda: CurveASHA(3, min_fit=4))
