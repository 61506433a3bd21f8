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
    assert CurveASHA.version == 6


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
    assert summary(s.capacity(3)) == [(0, 1, 1, None), (1, 1, 1, None), (2, 1, 1, None)]
    s.start(0, 1, 2)
    # fewer than eta results at the rung: floor(n / 3) = 0 places, the first ones wait
    for tid, v in ((0, 0.5), (1, 0.4)):
        d = s.report(tid, 1, v)
        assert d is not None and d.action is Action.PAUSE and d.checkpoint
        assert d.reason.endswith("paused (fewer than 3 results at the rung)")
    # the third result makes one place; the best is the reporter: promoted in place
    d = s.report(2, 1, 0.3)
    assert d is not None and d.action is Action.CONTINUE and d.until_step == 3
    assert d.reason == "rank 1/3 at rung 0 (step 1), predicted final loss=0.3: promoted"
    assert s.report(2, 2, 0.25) is None  # streaming below the lease
    d = s.report(2, 3, 0.2)
    assert d is not None and d.action is Action.PAUSE
    assert d.reason.endswith("paused (fewer than 3 results at the rung)")
    # trial 0 frees its slot: the rung's one place is used, so a new trial starts
    assert summary(s.pause(0, 1)) == [(3, 1, 1, None)]
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
    """3 trials and no more (the budget). At rung 0 the first two wait (fewer than eta
    results); the third result makes the rung final: its one place goes to the best, trial 0,
    the others are retired. Trial 0, alone at rung 1, completes that rung's population with its
    report; it takes the rung's one place and runs on to max_step (a final rung promotes
    max(1, floor(n / eta)), so a small study still carries its best trial to the top)."""
    s = Script(CurveASHA(3), max_step=9, budget=Budget(n_trials=3))
    assert [c.trial_id for c in s.capacity(4)] == [0, 1, 2]  # the 4th start is refused
    for tid, loss in ((0, 1.3), (2, 1.7)):
        d = s.report(tid, 1, loss)
        assert d is not None and d.action is Action.PAUSE
        assert d.reason.endswith("paused (fewer than 3 results at the rung)")
        assert s.pause(tid, 1) == []
    d = s.report(1, 1, 1.9)
    assert d is not None and d.action is Action.PAUSE
    h = s.engine.history
    assert h.status(2) is TrialStatus.STOPPED  # retired: rung 0 is final, its place is 0's
    assert summary(s.pause(1, 1)) == [(0, 2, 3, "c/0/1")]
    assert h.status(1) is TrialStatus.STOPPED  # retired when its pause arrived
    d = s.report(0, 3, 0.6)
    assert d is not None and (d.action, d.until_step) == (Action.CONTINUE, 9)
    assert d.reason == "rank 1/1 at rung 1 (step 3), predicted final loss=0.6: promoted"
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
    assert d is not None and d.reason.endswith("paused (fewer than 2 results at the rung)")
    d = s.report(1, 1, 0.5)
    assert d is not None and d.action is Action.PAUSE
    assert summary(s.end(1, "interrupted")) == [(1, 1, 1, None)]  # resumed from scratch
    d = s.report(1, 1, 0.5)
    assert d is not None and d.reason.endswith("paused (not in the top 1 of 2 yet)")
    assert s.scheduler.state()["rungs"][0]["waiting"] == 2  # trials 0 and 1, once each
    assert summary(s.pause(0, 1)) == [(0, 2, 2, "c/0/1")]  # the rung's one place
    assert summary(s.pause(1, 1)) == [(3, 1, 1, None)]  # the 4th and last trial
    d = s.report(2, 1, 0.6)
    assert d is not None and d.action is Action.PAUSE
    assert s.pause(2, 1) == []
    d = s.report(3, 1, 0.7)
    assert d is not None and d.reason.endswith("paused (not in the top 2 of 4 yet)")
    # rung 0 is final with 4 results: quota 2, trial 1 (rank 2) is promoted; 2 and 3 retired
    assert summary(s.pause(3, 1)) == [(1, 2, 2, "c/1/1")]
    h = s.engine.history
    assert (h.status(2), h.status(3)) == (TrialStatus.STOPPED, TrialStatus.STOPPED)
    assert s.scheduler.state()["rungs"][0]["waiting"] == 0
    # rung 1 (step 2): 0 waits alone; 1's report makes the rung final, its place is 0's
    d = s.report(0, 2, 0.2)
    assert d is not None and d.action is Action.PAUSE
    assert s.pause(0, 2) == []
    d = s.report(1, 2, 0.35)
    assert d is not None and d.action is Action.PAUSE
    assert summary(s.pause(1, 2)) == [(0, 3, 4, "c/0/2")]
    assert h.status(1) is TrialStatus.STOPPED
    for step in (3, 4):
        s.report(0, step, 0.2 - step / 100)
    s.end(0)
    assert h.status(0) is TrialStatus.COMPLETED
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

    # trials 0 (fast) and 3 (the late bloomer) wait: fewer than eta results at the rung, so
    # their slots go to new trials
    assert [c.checkpoint for c in at_rung(0)] == [None]
    d3 = s.report(3, 1, value(x[3], 1))
    assert d3 is not None and d3.action is Action.PAUSE
    assert d3.reason.endswith("paused (fewer than 3 results at the rung)")
    s.pause(3, 1)
    # plain ASHA on the same values stops it
    a = Script(ASHA(3), max_step=3)
    a.capacity(4)
    a.report(0, 1, 0.50)
    assert a.report(3, 1, 0.55).action is Action.STOP  # type: ignore[union-attr]
    # more slow trials arrive; as the rung grows its quota opens places: the first goes to
    # trial 0 (the best current value, no model yet), the next two to tied slow trials by
    # their seeded keys, the late bloomer among them; they reach step 3 and teach the model
    resumed = [c.trial_id for t in slow[1:8] for c in at_rung(t) if c.checkpoint is not None]
    assert resumed == [0, 3, 12]
    assert s.engine.history.score(0) == pytest.approx(0.40)
    assert s.engine.history.score(3) == pytest.approx(0.10)
    tr = s.scheduler.state()["rungs"][0]
    assert tr["fitted_at"] >= 3 and tr["model_rows"] >= 3
    # fast trials now arrive at the rung with the better current value (0.50 < 0.55), yet the
    # model predicts them to end near 0.40 and the waiting slow ones near 0.10: they rank
    # last, and the next place goes to a slow trial
    for t in fast[1:4]:
        d = s.report(t, 1, 0.50)
        assert d is not None and d.action is Action.PAUSE
        assert "predicted final loss=0.3" in d.reason or "predicted final loss=0.4" in d.reason
        resumed += [c.trial_id for c in s.pause(t, 1) if c.checkpoint is not None]
    assert resumed[3:] and all(x[t] < 0.5 for t in resumed[3:])
    s.assert_replay_matches()


def test_resume_lease_arithmetic_over_two_rungs() -> None:
    s = Script(CurveASHA(2, min_fit=1000), max_step=8)  # rungs 1, 2, 4
    s.capacity(3)
    assert s.report(0, 1, 0.9).action is Action.PAUSE  # type: ignore[union-attr]
    d = s.report(1, 1, 0.1)  # n = 2: floor(2/2) = 1 place, the reporter's: promoted in place
    assert d is not None and (d.action, d.until_step) == (Action.CONTINUE, 2)
    assert s.report(1, 2, 0.8).action is Action.PAUSE  # type: ignore[union-attr]
    # n = 3: 1 place, used by trial 1, which now ranks by its 0.8 at step 2 (a trial that went
    # on is ranked by what it showed higher up): trial 2 is first, but the place is taken
    d = s.report(2, 1, 0.5)
    assert d is not None and d.reason == (
        "rank 1/3 at rung 0 (step 1), predicted final loss=0.5: paused (top 1 of 3, places used)")
    # trials 2 and 0 pause: no place anywhere (rung 1 holds one result), new trials start
    assert summary(s.pause(2, 1)) == [(3, 1, 1, None)]
    assert summary(s.pause(0, 1)) == [(4, 1, 1, None)]
    # n = 4: two places, one free, and it is trial 2's (the best waiting, paused): trial 3
    # pauses, and its freed slot resumes trial 2 from its checkpoint at step 2 with a lease to
    # the next rung (step 2)
    assert s.report(3, 1, 0.7).action is Action.PAUSE  # type: ignore[union-attr]
    assert summary(s.pause(3, 1)) == [(2, 2, 2, "c/2/1")]
    # rung 1 (step 2) now holds two results: one place, and trial 2's 0.05 is the best
    d = s.report(2, 2, 0.05)
    assert d is not None and (d.action, d.until_step) == (Action.CONTINUE, 4)
    s.assert_replay_matches()
    json.dumps(s.scheduler.state())


def test_conformance() -> None:
    check_scheduler(lambda: CurveASHA(3, min_fit=4))
