"""Results between rungs: an objective that reports every few steps (an evaluation every k
epochs, Optuna's ``trial.report`` at sparse steps) skips rung steps. Its first result past a
rung's step counts at that rung and is decided there, in every rung-based scheduler. Before,
such a trial was never judged: it ran to ``max_step`` under ASHA, async Hyperband, MO-ASHA and
the curve-aware scheduler, and escaped synchronous successive halving's rungs."""

from __future__ import annotations

from collections.abc import Sequence

from sched_script import Script, summary

from rung import ASHA, Action, AsyncHyperband
from rung.core.events import Decision
from rung.schedulers import MOASHA, CurveASHA, SuccessiveHalving


def _every_other(s: Script, tid: int, loss: float, last: int) -> list[tuple[int, Decision]]:
    """Trial ``tid`` reports ``loss`` at steps 2, 4, 6, ... up to ``last``, until it is told
    to stop or pause; returns every reply."""
    out = []
    for step in range(2, last + 1, 2):
        d = s.report(tid, step, loss)
        if d is not None:
            out.append((step, d))
            if d.action is not Action.CONTINUE:
                break
    return out


def decided(d: Decision | None) -> Decision:
    """The reply to a report (the worker waited for one)."""
    assert d is not None
    return d


def _replies(d: Sequence[tuple[int, Decision]]) -> list[tuple[int, str, int | None, str]]:
    return [(step, x.action.name, x.until_step, x.reason) for step, x in d]


def test_asha_stopping_judges_a_trial_at_its_first_report_past_each_rung() -> None:
    s = Script(ASHA(3), max_step=27)  # rungs at steps 1, 3, 9
    s.capacity(4)
    s.start(0, 1, 2, 3)
    assert _replies(_every_other(s, 0, 0.1, 28)) == [
        (2, "CONTINUE", 3, "rank 1/1 at rung 0 (step 1, reported at step 2)"),
        (4, "CONTINUE", 9, "rank 1/1 at rung 1 (step 3, reported at step 4)"),
        (10, "CONTINUE", 27, "rank 1/1 at rung 2 (step 9, reported at step 10)"),
    ]
    for tid, loss in ((1, 0.2), (2, 0.3)):
        assert _replies(_every_other(s, tid, loss, 28)) == [
            (2, "STOP", None, f"rank {tid + 1}/{tid + 1} at rung 0 (step 1, reported at step "
                              f"2): not in the top 1/3 (cutoff loss=0.1)"),
        ]
    # a trial reporting at the rung steps themselves ranks among the late results
    assert s.report(3, 1, 0.05) == Decision(
        Action.CONTINUE, 3, False, "rank 1/4 at rung 0 (step 1)"
    )
    assert s.report(3, 2, 0.05) is None  # past rung 0, below its lease: streams on
    s.assert_replay_matches()


def test_a_trial_that_jumps_over_rungs_is_judged_at_the_highest_one_it_passed() -> None:
    s = Script(ASHA(3), max_step=27)
    s.capacity(2)
    s.start(0, 1)
    assert s.report(0, 9, 0.5) == Decision(Action.CONTINUE, 27, False,
                                           "rank 1/1 at rung 2 (step 9)")
    # trial 1's first report is at step 12: it counts at rung 2 (step 9), not at 1 or 3
    assert s.report(1, 12, 0.7) == Decision.stop(
        "rank 2/2 at rung 2 (step 9, reported at step 12): not in the top 1/3 "
        "(cutoff loss=0.5)"
    )
    assert s.scheduler.state()["rungs"][:2] == [
        {"step": 1, "results": 0, "continued": 0, "waiting": 0},
        {"step": 3, "results": 0, "continued": 0, "waiting": 0},
    ]


def test_a_restarted_trial_that_re_reports_its_late_result_keeps_its_place() -> None:
    s = Script(ASHA(3), max_step=27)
    s.capacity(1)
    s.start(0)
    assert s.report(0, 2, 0.1) == Decision(
        Action.CONTINUE, 3, False, "rank 1/1 at rung 0 (step 1, reported at step 2)"
    )
    s.end(0, "interrupted")  # no checkpoint: it restarts from step 1
    s.start(0)
    assert s.report(0, 2, 0.1) == Decision(
        Action.CONTINUE, 3, False,
        "rank 1/1 at rung 0 (step 1, reported at step 2): already promoted",
    )
    assert s.scheduler.state()["rungs"][0] == {
        "step": 1, "results": 1, "continued": 1, "waiting": 0
    }
    s.assert_replay_matches()


def test_asha_promotion_pauses_at_the_first_report_past_the_rung() -> None:
    s = Script(ASHA(2, variant="promotion"), max_step=8)  # rungs at steps 1, 2, 4
    s.capacity(2)
    s.start(0, 1)
    assert s.report(0, 3, 0.3) == Decision.pause(
        "rank 1/1 at rung 1 (step 2, reported at step 3): paused (not in the top 0 of 1 yet)"
    )
    # nothing promotable yet: the freed slot starts a new trial at rung 0
    assert summary(s.pause(0, 3)) == [(2, 1, 1, None)]
    assert s.report(1, 3, 0.1) == Decision(
        Action.CONTINUE, 4, False, "rank 1/2 at rung 1 (step 2, reported at step 3): promoted"
    )
    s.assert_replay_matches()


def test_async_hyperband_judges_between_rungs_too() -> None:
    s = Script(AsyncHyperband(3, brackets=1), max_step=9)
    s.capacity(2)
    s.start(0, 1)
    assert decided(s.report(0, 2, 0.1)).reason == "rank 1/1 at rung 0 (step 1, reported at step 2)"
    assert decided(s.report(1, 2, 0.2)).action is Action.STOP


def test_successive_halving_takes_the_first_result_past_a_rung() -> None:
    s = Script(SuccessiveHalving(3, n_configs=3), max_step=9)  # rungs at 1, 3, 9
    s.capacity(3)
    s.start(0, 1, 2)
    assert s.report(0, 2, 0.3) == Decision.pause(
        "bracket 0 rung 0 (step 1, reported at step 2): 1/3 results in; paused until the "
        "rung is complete"
    )
    assert decided(s.report(1, 2, 0.1)).action is Action.PAUSE
    assert s.report(2, 2, 0.2) == Decision.stop(
        "bracket 0 rung 0 (step 1, reported at step 2): rank 2/3, not in the top 1"
    )
    s.pause(0, 2)  # a loser: retired
    assert s.engine.history.status(0).value == "stopped"
    # the winner resumes from its checkpoint at step 2, towards rung 1 (step 3)
    assert summary(s.pause(1, 2)) == [(1, 3, 3, "c/1/2")]
    s.start(1)
    assert s.report(1, 4, 0.05) == Decision(
        Action.CONTINUE, 9, False,
        "bracket 0 rung 1 (step 3, reported at step 4): rank 1/1, promoted (top 1)",
    )
    s.assert_replay_matches()


def test_mo_asha_judges_between_rungs() -> None:
    s = Script(MOASHA(3), max_step=9)
    s.capacity(3)
    s.start(0, 1, 2)
    assert decided(s.report(0, 2, 0.1)).reason == "position 1/1 at rung 0 (step 1, reported at step 2)"
    assert s.report(1, 2, 0.2) == Decision.stop(
        "position 2/2 at rung 0 (step 1, reported at step 2): not in the top 1/3 by "
        "non-dominated sorting"
    )
    # trial 2 reports at the rung's step: ranked with the others' late results, first of 3:
    # inside the top ceil(3/3) = 1, it goes on (MO-ASHA 6: no cap by earlier passes)
    assert decided(s.report(2, 1, 0.05)).reason == "position 1/3 at rung 0 (step 1)"
    assert decided(s.report(0, 4, 0.1)).reason == "position 1/1 at rung 1 (step 3, reported at step 4)"
    s.assert_replay_matches()


def test_curve_asha_pauses_between_rungs() -> None:
    s = Script(CurveASHA(3), max_step=9)
    s.capacity(3)
    s.start(0, 1, 2)
    d = s.report(0, 2, 0.3)
    assert d is not None and d.action is Action.PAUSE
    assert d.reason == ("rank 1/1 at rung 0 (step 1, reported at step 2), predicted final "
                        "loss=0.3: paused (fewer than 3 results at the rung)")
    s.report(1, 2, 0.2)
    assert decided(s.report(2, 2, 0.1)).reason == (
        "rank 1/3 at rung 0 (step 1, reported at step 2), predicted final loss=0.1: promoted"
    )
    assert s.report(2, 4, 0.1) == Decision.pause(
        "rank 1/1 at rung 1 (step 3, reported at step 4), predicted final loss=0.1: paused (fewer "
        "than 3 results at the rung)"
    )
    s.assert_replay_matches()


def test_min_step_auto_measures_sparse_curves_at_their_first_value_past_each_candidate() -> None:
    # probes report at even steps only: before, every candidate step was "n/a" and no rung
    # ever decided
    s = Script(ASHA(3, min_step="auto", probes=5, min_correlation=0.5), max_step=9)
    s.capacity(5)
    s.start(*range(5))
    for tid in range(5):
        final = 0.1 * (tid + 1)
        for step in (2, 4, 6, 8, 9):
            assert s.report(tid, step, final if step == 9 else final + 1 / step) is None
    for tid in range(5):
        s.end(tid)
    assert s.scheduler.state()["first_rung"]["reason"] == (
        "first rung at step 1: Spearman 1.00 with the final value over 5 complete curves"
    )
    s.start(5)
    d = s.report(5, 2, 5.0)  # worst of 6 at rung 0: outside the top max(1, floor(6/3))
    assert d is not None and d.action is Action.STOP
    assert d.reason.startswith(
        "rank 6/6 at rung 0 (step 1, reported at step 2): not in the top 1/3"
    )
    s.assert_replay_matches()
