"""ASHA: stopping and promotion variants, the guard, parameters (scripted, exact decisions)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from sched_script import Script, summary

import rung
from rung import ASHA, Action, Budget, ConfigError, Decision
from rung.analysis import diagnose_engine
from rung.core import DeleteCheckpoint
from rung.core.components import Resume, Scheduler
from rung.core.records import TrialStatus
from rung.schedulers._ladder import Ladder


def test_default_construction_and_params_round_trip() -> None:
    # the original two-parameter form keeps working and persists exactly as before
    assert rung.ASHA(reduction_factor=3).get_params() == {"reduction_factor": 3, "min_step": 1}
    a = ASHA(3, 2, variant="promotion", guard=True)
    assert a.get_params() == {
        "reduction_factor": 3,
        "min_step": 2,
        "variant": "promotion",
        "guard": True,
    }
    assert a.to_spec().to_json() == {"name": "asha", "params": a.get_params()}


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"reduction_factor": 1}, "reduction_factor"),
        ({"min_step": 0}, "min_step"),
        ({"variant": "halving"}, "variant"),
        ({"guard": "yes"}, "guard"),
    ],
)
def test_bad_params_raise_config_error_naming_the_key(kwargs: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"scheduler\.params\.{key}"):
        Script(ASHA(**kwargs))


def test_stopping_variant_exact_decisions() -> None:
    s = Script(ASHA(3), max_step=9)  # rungs at steps 1 and 3
    assert [c.until_step for c in s.capacity(3)] == [1, 1, 1]
    assert s.report(0, 1, 0.5) == Decision(
        Action.CONTINUE, 3, False, "rank 1/1 at rung 0 (step 1)"
    )
    d = s.report(1, 1, 0.9)
    assert d == Decision(
        Action.STOP, None, False,
        "rank 2/2 at rung 0 (step 1): not in the top 1/3 (cutoff loss=0.5)",
    )
    assert s.report(2, 1, 0.7) == Decision.stop(
        "rank 2/3 at rung 0 (step 1): not in the top 1/3 (cutoff loss=0.5)"
    )
    assert s.report(0, 2, 0.4) is None  # streaming below the lease
    assert s.report(0, 3, 0.3) == Decision(
        Action.CONTINUE, 9, False, "rank 1/1 at rung 1 (step 3)"
    )
    s.assert_replay_matches()


def test_stopping_variant_keeps_the_papers_floor_n_over_eta_places() -> None:
    """Rank ``r`` of ``n`` (the new result included) continues iff ``r < max(1, n // eta)``:
    Algorithm 2's quota ``floor(n / eta)``, and the best so far while the rung holds fewer than
    ``eta`` results."""
    s = Script(ASHA(3), max_step=9)
    s.capacity(8)
    go = Decision(Action.CONTINUE, 3, False, "rank 1/1 at rung 0 (step 1)")
    assert s.report(0, 1, 0.1) == go
    assert s.report(1, 1, 0.5) == Decision.stop(
        "rank 2/2 at rung 0 (step 1): not in the top 1/3 (cutoff loss=0.1)"
    )
    assert s.report(2, 1, 0.05) == Decision(
        Action.CONTINUE, 3, False, "rank 1/3 at rung 0 (step 1)"
    )
    # 2nd of 4: floor(4/3) = 1 place (Syne Tune's quantile rule, ceil(4/3) = 2, would continue)
    assert s.report(3, 1, 0.08) == Decision.stop(
        "rank 2/4 at rung 0 (step 1): not in the top 1/3 (cutoff loss=0.05)"
    )
    assert s.report(4, 1, 0.3) == Decision.stop(
        "rank 4/5 at rung 0 (step 1): not in the top 1/3 (cutoff loss=0.05)"
    )
    assert s.report(5, 1, 0.07) == Decision(  # 2nd of 6: floor(6/3) = 2 places
        Action.CONTINUE, 3, False, "rank 2/6 at rung 0 (step 1)"
    )
    assert s.report(6, 1, 0.09) == Decision.stop(  # 4th of 7: 2 places
        "rank 4/7 at rung 0 (step 1): not in the top 1/3 (cutoff loss=0.07)"
    )
    s.assert_replay_matches()


def test_stopping_variant_decisions_follow_the_quota_for_any_eta() -> None:
    """Against a direct computation of the rule: continue iff fewer than ``max(1, n // eta)``
    recorded scores (the new one included) are better or equal and earlier."""
    rng = np.random.Generator(np.random.PCG64(7))
    for eta in (2, 3, 4):
        s = Script(ASHA(eta), max_step=eta**2)
        s.capacity(40)
        seen: list[float] = []
        for tid in range(40):
            score = float(rng.random())
            seen.append(score)
            d = s.report(tid, 1, score)
            assert d is not None
            rank = sum(x < score for x in seen)
            expected = rank < max(1, len(seen) // eta)
            assert (d.action is Action.CONTINUE) == expected, (eta, tid)


def test_promotion_variant_pauses_and_resumes_from_the_checkpoint() -> None:
    s = Script(ASHA(2, variant="promotion"), max_step=4)  # rungs at steps 1 and 2
    assert summary(s.capacity(2)) == [(0, 1, 1, None), (1, 1, 1, None)]
    # alone at rung 0: floor(1/2) = 0 promotable, so it pauses
    assert s.report(0, 1, 0.5) == Decision.pause(
        "rank 1/1 at rung 0 (step 1): paused (not in the top 0 of 1 yet)"
    )
    # trial 1 is worse; trial 0 (better) is promotable but still on its way to pause
    assert s.report(1, 1, 0.9) == Decision.pause(
        "rank 2/2 at rung 0 (step 1): paused (not in the top 1 of 2 yet)"
    )
    # the worker of trial 0 saves and ends paused: the freed slot resumes it (Algorithm 2)
    assert summary(s.pause(0, 1)) == [(0, 2, 2, "c/0/1")]
    # trial 1 is not in the top floor(2/2) = 1: a new trial starts instead
    assert summary(s.pause(1, 1)) == [(2, 1, 1, None)]
    # at rung 1 trial 0 waits for company
    assert s.report(0, 2, 0.4) == Decision.pause(
        "rank 1/1 at rung 1 (step 2): paused (not in the top 0 of 1 yet)"
    )
    # trial 2 reports the best rung-0 score: the free worker would pick it, so it goes on
    # without a checkpoint round trip
    assert s.report(2, 1, 0.1) == Decision(
        Action.CONTINUE, 2, False, "rank 1/3 at rung 0 (step 1): promoted"
    )
    assert summary(s.pause(0, 2)) == [(3, 1, 1, None)]
    # trial 2 reaches rung 1 and beats trial 0 there: rung 1 holds 2 results, floor(2/2) = 1
    assert s.report(2, 2, 0.2) == Decision(
        Action.CONTINUE, 4, False, "rank 1/2 at rung 1 (step 2): promoted"
    )
    st = s.scheduler.state()
    assert st["variant"] == "promotion"
    assert [(r["step"], r["results"], r["continued"]) for r in st["rungs"]] == [
        (1, 3, 2),
        (2, 2, 1),
    ]
    # the paused trials keep their checkpoints (the engine deletes none of them)
    assert s.engine.history.checkpoint(1).path == "c/1/1"
    assert s.engine.history.checkpoint(0).path == "c/0/2"
    s.assert_replay_matches()


def test_promotion_variant_retires_paused_trials_once_their_rung_is_final() -> None:
    """With n_trials = 4 the population of each rung becomes final: paused trials outside its
    top floor(n / eta) can never be promoted, so they end stopped and lose their checkpoints."""
    s = Script(ASHA(2, variant="promotion"), max_step=4, budget=Budget(n_trials=4), keep=0)
    s.capacity(2)
    s.report(0, 1, 0.5)
    s.report(1, 1, 0.9)
    assert summary(s.pause(0, 1)) == [(0, 2, 2, "c/0/1")]  # promoted (top 1 of 2)
    assert summary(s.pause(1, 1)) == [(2, 1, 1, None)]
    s.report(2, 1, 0.7)
    s.report(0, 2, 0.4)
    assert summary(s.pause(2, 1)) == [(3, 1, 1, None)]  # the fourth and last trial
    # trial 0 pauses at rung 1; no fifth trial can start: the engine refuses it. Rung 0 is not
    # final yet (trial 3 has still to report there), so nothing is retired
    assert s.pause(0, 2) == []
    assert s.scheduler.state()["rungs"][0]["waiting"] == 2
    # trial 3 reports at rung 0: its population (4) is final, quota floor(4/2) = 2 (trials 0
    # and 2). Trial 1 (rank 4), paused, is retired at once; trial 3 (rank 3) when it pauses
    mark = len(s.commands)
    assert s.report(3, 1, 0.8) == Decision.pause(
        "rank 3/4 at rung 0 (step 1): paused (not in the top 2 of 4 yet)"
    )
    assert s.commands[mark:-1] == [DeleteCheckpoint(1, "c/1/1")]
    h = s.engine.history
    assert h.status(1) is TrialStatus.STOPPED
    mark = len(s.commands)
    assert summary(s.pause(3, 1)) == [(2, 2, 2, "c/2/1")]  # trial 2 promoted, from its own
    assert s.commands[mark] == DeleteCheckpoint(3, "c/3/1")  # before the launch
    assert h.status(3) is TrialStatus.STOPPED
    # rung 1: trials 0 (0.4) and 2 (0.6), quota 1: final once trial 2 reported; trial 2 is
    # retired when it pauses, and trial 0 is promoted to max_step
    assert s.report(2, 2, 0.6) == Decision.pause(
        "rank 2/2 at rung 1 (step 2): paused (not in the top 1 of 2 yet)"
    )
    mark = len(s.commands)
    assert summary(s.pause(2, 2)) == [(0, 3, 4, "c/0/2")]
    assert [c for c in s.commands[mark:] if isinstance(c, DeleteCheckpoint)] == [
        DeleteCheckpoint(2, "c/2/1"),  # replaced by its step-2 checkpoint
        DeleteCheckpoint(2, "c/2/2"),  # retired
    ]
    s.report(0, 3, 0.3)
    s.report(0, 4, 0.2)
    s.end(0)
    assert s.engine.done
    assert {t: h.status(t).value for t in h} == {
        0: "completed", 1: "stopped", 2: "stopped", 3: "stopped"
    }
    assert s.engine.summary()["checkpoint_bytes"] == 0  # keep_checkpoints=0: nothing kept
    s.assert_replay_matches()
    again = s.replayed()
    assert again.history.status(1) is TrialStatus.STOPPED and again.checkpoint_bytes == 0


@pytest.mark.parametrize(
    "scheduler",
    [ASHA(3, variant="promotion"), rung.AsyncHyperband(3, brackets=1, variant="promotion")],
)
def test_promotion_variant_carries_the_best_of_a_small_final_rung_to_max_step(
    scheduler: Scheduler,
) -> None:
    """3 trials and no more, eta 3, rungs at steps 1 and 3. Rung 1 gets one result: floor(1/3)
    = 0 places while trials may still come, max(1, floor(1/3)) = 1 once its population is
    final, so its only trial is promoted in place and completes (before: it was paused and
    retired, and no trial of the study reached max_step)."""
    s = Script(scheduler, max_step=9, budget=Budget(n_trials=3), keep=0)
    assert [c.trial_id for c in s.capacity(3)] == [0, 1, 2]
    for tid, loss in ((0, 0.5), (1, 0.3)):
        d = s.report(tid, 1, loss)
        assert d is not None and d.action is Action.PAUSE
        assert s.pause(tid, 1) == []  # no 4th trial, and rung 0 may still grow
    # trial 2 makes rung 0 final: top max(1, floor(3/3)) = 1 is trial 1; 0 and 2 are retired
    assert s.report(2, 1, 0.4) == Decision.pause(
        "rank 2/3 at rung 0 (step 1): paused (not in the top 1 of 3 yet)"
    )
    assert summary(s.pause(2, 1)) == [(1, 2, 3, "c/1/1")]
    h = s.engine.history
    assert (h.status(0), h.status(2)) == (TrialStatus.STOPPED, TrialStatus.STOPPED)
    # trial 1, alone at rung 1, makes it final with its report: promoted in place
    assert s.report(1, 3, 0.2) == Decision.proceed(
        9, "rank 1/1 at rung 1 (step 3): promoted (the rung's population is final: top 1)"
    )
    s.report(1, 9, 0.1)
    s.end(1)
    assert s.engine.done
    assert {t: h.status(t).value for t in h} == {0: "stopped", 1: "completed", 2: "stopped"}
    s.assert_replay_matches()


def test_promotion_variant_final_rung_with_fewer_than_eta_results_resumes_its_best() -> None:
    """Rung 0's population becomes final while every trial is paused there (on_start_refused
    settles it): the best of its 2 results, paused, is resumed in the same turn."""
    s = Script(ASHA(3, variant="promotion"), max_step=9, budget=Budget(n_trials=2), keep=0)
    assert [c.trial_id for c in s.capacity(1)] == [0]
    s.report(0, 1, 0.5)
    assert summary(s.pause(0, 1)) == [(1, 1, 1, None)]
    d = s.report(1, 1, 0.3)  # rung 0 not final yet: the engine has not been refused a trial
    assert d is not None and d.action is Action.PAUSE
    # its pause frees the slot; the 3rd trial is refused, rung 0 is final: trial 1 resumes
    assert summary(s.pause(1, 1)) == [(1, 2, 3, "c/1/1")]
    assert s.engine.history.status(0) is TrialStatus.STOPPED
    s.assert_replay_matches()


def test_promotion_variant_keeps_paused_trials_while_new_trials_may_start() -> None:
    # no trial budget: rung 0 can always grow, so a trial outside its top half today may be
    # promoted tomorrow; nothing is retired
    s = Script(ASHA(2, variant="promotion"), max_step=4, keep=0)
    s.capacity(1)
    for tid, loss in enumerate([0.5, 0.9, 0.7, 0.8]):
        s.report(tid, 1, loss)
        s.pause(tid, 1)
    assert not any(isinstance(c, DeleteCheckpoint) for c in s.commands)
    assert s.engine.history.status(1) is TrialStatus.PAUSED


class _Statuses:
    """The one History read ``Ladder`` needs: trial statuses."""

    def __init__(self) -> None:
        self.of: dict[int, TrialStatus] = {}

    def status(self, tid: int) -> TrialStatus:
        return self.of[tid]


def test_get_job_takes_the_highest_rung_with_a_promotable_paused_trial() -> None:
    h = _Statuses()
    ladder = Ladder([1, 2, 4], 2, 8, promotion=True)
    for tid, step, score in [(0, 1, 0.1), (1, 1, 0.2), (2, 1, 0.3), (3, 1, 0.4)]:
        h.of[tid] = TrialStatus.RUNNING
        assert ladder.decide(tid, step, score, h).action is Action.PAUSE
        h.of[tid] = TrialStatus.PAUSED
    # rung 0: 4 results, top 2 promotable: trial 0 first (best)
    assert ladder.get_job(h) == Resume(0, 2)
    h.of[0] = TrialStatus.RUNNING
    assert ladder.decide(0, 2, 0.5, h).action is Action.PAUSE
    h.of[0] = TrialStatus.PAUSED
    h.of[9] = TrialStatus.RUNNING
    ladder.decide(9, 1, 0.9, h)
    h.of[9] = TrialStatus.PAUSED
    h.of[8] = TrialStatus.RUNNING
    assert ladder.decide(8, 2, 0.6, h).action is Action.PAUSE
    h.of[8] = TrialStatus.PAUSED
    # rung 1 now has 2 results (trial 0 best): it is served before rung 0's trial 1
    assert ladder.get_job(h) == Resume(0, 4)
    assert ladder.get_job(h) == Resume(1, 2)
    # rung 0: 5 results, quota 2, both taken; rung 1: quota 1, taken: nothing to promote
    assert ladder.get_job(h) is None
    # a trial that failed while waiting is dropped, never resumed
    h.of[2] = TrialStatus.FAILED
    for tid, score in [(10, 0.95), (11, 0.96), (12, 0.97)]:
        h.of[tid] = TrialStatus.RUNNING
        ladder.decide(tid, 1, score, h)
        h.of[tid] = TrialStatus.PAUSED
    # 8 results at rung 0, quota 4: trials 0, 1 promoted, 2 failed, 3 next
    assert ladder.get_job(h) == Resume(3, 2)
    assert ladder.get_job(h) is None


def test_mispromotions_are_possible_but_each_promotion_was_in_the_top_at_its_time() -> None:
    # a run of ever-better arrivals: every one of them is in the top 1/eta when it arrives
    s = Script(ASHA(3), max_step=9)
    s.capacity(6)
    passed = 0
    for tid in range(6):
        d = s.report(tid, 1, 1.0 - 0.1 * tid)
        assert d is not None
        passed += d.action is Action.CONTINUE
    assert passed == 6  # more than ceil(6/3): the count bound is not a property of ASHA


def test_guard_raises_the_grace_period_when_rungs_disagree(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = Script(ASHA(3, guard=True), max_step=9, budget=Budget(n_trials=100))
    s.capacity(12)
    for tid in range(12):  # ever-better rung-0 scores: all pass rung 0 ...
        d = s.report(tid, 1, 1.0 - 0.01 * tid)
        assert d is not None and d.action is Action.CONTINUE
    for tid in range(12):  # ... and reach step 3 in the reverse order: rho = -1
        s.report(tid, 2, 0.5)
        d = s.report(tid, 3, 0.1 + 0.01 * tid)
        assert d is not None
    guard = s.scheduler.state()["guard"]
    assert guard["level"] == 1 and guard["min_step"] == 3
    assert guard["raises"] == [{"from_step": 1, "to_step": 3, "spearman": -1.0, "pairs": 10}]
    with caplog.at_level(logging.WARNING, logger="rung.diagnostics"):
        notes = diagnose_engine(s.engine).warnings
    assert any("no trial is stopped before step 3" in n for n in notes)
    assert "no trial is stopped before step 3" in caplog.text
    # new trials now run to rung 1 before their first decision ...
    (launch,) = s.end(11, "stopped")
    assert launch.until_step == 3
    # ... and a terrible step-1 result no longer stops anybody: no reply, it streams on to
    # step 3, where rung 1 judges it
    assert s.report(12, 1, 99.0) is None
    assert s.report(12, 2, 99.0) is None
    assert s.report(12, 3, 99.0) == Decision.stop(
        "rank 13/13 at rung 1 (step 3): not in the top 1/3 (cutoff loss=0.13)"
    )
    # a trial that was already waiting at step 1 when the guard rose is not judged there
    s2 = Script(ASHA(3, guard=True), max_step=9)
    s2.capacity(13)
    for tid in range(12):
        s2.report(tid, 1, 1.0 - 0.01 * tid)
        s2.report(tid, 2, 0.5)
        s2.report(tid, 3, 0.1 + 0.01 * tid)
    assert s2.report(12, 1, 99.0) == Decision(
        Action.CONTINUE, 3, False, "rank 13/13 at rung 0 (step 1): below the grace period"
    )
    s.assert_replay_matches()


def test_guard_stays_put_when_rungs_agree() -> None:
    s = Script(ASHA(3, guard=True), max_step=9)
    s.capacity(30)
    for tid in range(30):
        s.report(tid, 1, 1.0 - 0.01 * tid)
        s.report(tid, 2, 0.5)
        s.report(tid, 3, 0.9 - 0.01 * tid)  # same order: rho = +1
    assert s.scheduler.state()["guard"]["level"] == 0
