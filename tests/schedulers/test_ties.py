"""Ties at a rung fill the quota (issue 14 item 3), in every rung-based scheduler.

``n`` results with one score at a rung: exactly ``max(1, floor(n / eta))`` continue (ASHA's and
async Hyperband's stopping variant, synchronous successive halving and Hyperband), exactly
``floor(n / eta)`` are promotable (promotion variant: Algorithm 2's quota), exactly
``ceil(n / eta)`` continue (MO-ASHA's quota). Before, a tied result ranked after every earlier
one, so only the first of ``n`` tied results continued.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from sched_script import Script

from rung import ASHA, Action, Budget, Float, Objective, SearchSpace, Study
from rung.core.records import TrialStatus
from rung.schedulers import MOASHA, AsyncHyperband, Hyperband, SuccessiveHalving
from rung.schedulers._ladder import Ladder

ETAS = (2, 3, 4)
NS = range(1, 11)


def _stopping_run(script: Script, n: int, step: int = 1) -> list[int]:
    """Start ``n`` trials, each reports one tied result at ``step``; returns, after each
    report, how many have continued so far."""
    launched = script.capacity(n)
    assert len(launched) == n
    passed, counts = 0, []
    for launch in launched:
        script.start(launch.trial_id)
    for launch in launched:
        d = script.report(launch.trial_id, step, 0.5)
        assert d is not None and d.action in (Action.CONTINUE, Action.STOP)
        passed += d.action is Action.CONTINUE
        counts.append(passed)
    return counts


@pytest.mark.parametrize("eta", ETAS)
@pytest.mark.parametrize("n", NS)
def test_asha_stopping_ties_fill_the_quota(eta: int, n: int) -> None:
    s = Script(ASHA(reduction_factor=eta), max_step=eta * eta)
    counts = _stopping_run(s, n)
    # exact after every arrival, not only after the n-th
    assert counts == [max(1, i // eta) for i in range(1, n + 1)]
    s.assert_replay_matches()


@pytest.mark.parametrize("eta", ETAS)
@pytest.mark.parametrize("n", NS)
def test_async_hyperband_stopping_ties_fill_the_quota(eta: int, n: int) -> None:
    s = Script(AsyncHyperband(reduction_factor=eta, brackets=1), max_step=eta * eta)
    assert _stopping_run(s, n)[-1] == max(1, n // eta)
    s.assert_replay_matches()


@pytest.mark.parametrize("eta", ETAS)
@pytest.mark.parametrize("n", NS)
def test_mo_asha_ties_fill_its_ceil_quota(eta: int, n: int) -> None:
    s = Script(MOASHA(reduction_factor=eta), max_step=eta * eta)
    assert _stopping_run(s, n)[-1] == -(-n // eta)
    s.assert_replay_matches()


def test_ties_below_a_better_result_share_the_places_left() -> None:
    # eta 2: one better result, then tied ones: the quota grows to 2 at n = 4 and to 3 at
    # n = 6; the places left below the better result go to the tied results arriving then
    s = Script(ASHA(reduction_factor=2), max_step=4)
    launched = s.capacity(6)
    for launch in launched:
        s.start(launch.trial_id)
    actions = [s.report(lt.trial_id, 1, loss) for lt, loss in
               zip(launched, [0.1, 0.5, 0.5, 0.5, 0.5, 0.5], strict=True)]
    assert [d.action if d else None for d in actions] == [
        Action.CONTINUE, Action.STOP, Action.STOP, Action.CONTINUE, Action.STOP, Action.CONTINUE
    ]
    assert actions[3] is not None and "tied at the cutoff" in actions[3].reason
    assert actions[4] is not None and "places of its tied value are taken" in actions[4].reason
    # untied results keep the old rule and the old reasons
    assert actions[0] is not None and actions[0].reason == "rank 1/1 at rung 0 (step 1)"


class _Statuses:
    """The one History read ``Ladder`` needs: trial statuses."""

    def __init__(self) -> None:
        self.of: dict[int, TrialStatus] = {}

    def status(self, tid: int) -> TrialStatus:
        return self.of[tid]


@pytest.mark.parametrize("eta", ETAS)
@pytest.mark.parametrize("n", NS)
def test_promotion_ties_make_exactly_floor_n_over_eta_promotable(eta: int, n: int) -> None:
    h = _Statuses()
    ladder = Ladder([1, eta], eta, eta * eta, promotion=True)
    promoted: list[int] = []
    for tid in range(n):
        h.of[tid] = TrialStatus.RUNNING
        d = ladder.decide(tid, 1, 0.5, h)  # type: ignore[arg-type]
        if d.action is Action.CONTINUE:  # promoted in place
            promoted.append(tid)
            continue
        assert d.action is Action.PAUSE
        h.of[tid] = TrialStatus.PAUSED
        while (job := ladder.get_job(h)) is not None:  # type: ignore[arg-type]
            promoted.append(job.trial_id)
            h.of[job.trial_id] = TrialStatus.RUNNING
    assert len(promoted) == len(set(promoted)) == n // eta
    # ties go to the lower trial id (no random draw): the promoted are the first ids
    assert sorted(promoted) == list(range(n // eta))


@pytest.mark.parametrize("eta", ETAS)
@pytest.mark.parametrize("n", NS)
def test_promotion_variant_through_the_engine(eta: int, n: int) -> None:
    s = Script(ASHA(reduction_factor=eta, variant="promotion"), max_step=eta * eta)
    launched = s.capacity(n)
    for launch in launched:
        s.start(launch.trial_id)
    in_place = 0
    resumed: list[int] = []
    for launch in launched:
        d = s.report(launch.trial_id, 1, 0.5)
        assert d is not None
        if d.action is Action.CONTINUE:
            in_place += 1
        else:
            resumed += [lt.trial_id for lt in s.pause(launch.trial_id, 1)
                        if lt.trial_id < n]
    assert in_place + len(resumed) == n // eta
    s.assert_replay_matches()


def _promoted_at_rung0(sched: Any) -> list[tuple[int, int]]:
    return [(members, promoted) for (_, i, members, promoted) in sched.completed_rungs if i == 0]


@pytest.mark.parametrize("eta", ETAS)
@pytest.mark.parametrize("n", NS)
def test_successive_halving_ties_fill_the_quota(eta: int, n: int) -> None:
    sched = SuccessiveHalving(reduction_factor=eta, n_configs=n, iterations=1)
    s = Script(sched, max_step=eta)
    launched = s.capacity(n)
    assert len(launched) == n
    for launch in launched:
        s.start(launch.trial_id)
    for launch in launched:
        d = s.report(launch.trial_id, 1, 0.5)
        if d is not None and d.action is Action.PAUSE:
            s.pause(launch.trial_id, 1)
    assert _promoted_at_rung0(sched) == [(n, max(1, n // eta))]
    s.assert_replay_matches()


@pytest.mark.parametrize("eta", ETAS)
def test_hyperband_ties_fill_the_quota(eta: int) -> None:
    sched = Hyperband(reduction_factor=eta, iterations=1)
    s = Script(sched, max_step=eta * eta)
    running: list[int] = [lt.trial_id for lt in s.capacity(64)]
    done: set[int] = set()
    while running:
        tid = running.pop(0)
        s.start(tid)
        step = 1
        while True:
            d = s.report(tid, step, 0.5)  # every result at every step ties
            if d is None or d.action is Action.CONTINUE:
                if d is not None and d.until_step <= step:
                    break
                step += 1
                if step > eta * eta:
                    running += [lt.trial_id for lt in s.end(tid)]
                    break
                continue
            if d.action is Action.PAUSE:
                running += [lt.trial_id for lt in s.pause(tid, step)]
            else:
                running += [lt.trial_id for lt in s.end(tid, "stopped")]
            break
        done.add(tid)
    for members, promoted in _promoted_at_rung0(sched):
        assert promoted == max(1, members // eta)
    assert _promoted_at_rung0(sched)


class _FlatStart:
    """Every configuration has the same value at step 1 (a model that predicts the majority
    class); later steps depend on ``x``."""

    max_step = 9

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        x = float(params["x"])
        loss = 0.5 if step == 1 else (x - 0.3) ** 2 + 1.0 / step
        return {"loss": loss}, 1.0 + x


@pytest.mark.parametrize("eta", [2, 3])
def test_simulated_run_stops_one_minus_one_over_eta_at_a_tied_first_rung(eta: int) -> None:
    study = Study.create(
        "ties", SearchSpace({"x": Float(0.0, 1.0)}), Objective("loss", "min"),
        searcher="random", scheduler=ASHA(reduction_factor=eta), max_step=9,
        budget=Budget(n_trials=240), seed=0,
    )
    study.simulate(_FlatStart(), n_workers=8)
    h = study.engine.history
    assert len(h) == 240
    stopped_first = sum(1 for t in range(len(h)) if max(h.scores(t)) == 1)
    assert abs(stopped_first / len(h) - (1 - 1 / eta)) <= 0.05


def test_mo_asha_keeps_its_decision_when_a_trial_re_reports_after_a_restart() -> None:
    # eta 2: trial 0 passes rung 0 alone, its worker dies and the trial restarts from step 1;
    # meanwhile trials 1 (worse) and 2 (better) arrive and fill the quota ceil(3/2) = 2 with
    # trials 0 and 2. Trial 0's second report at the rung keeps its place (before: judged
    # again, position 2/3, stopped), as ASHA's "already promoted"
    s = Script(MOASHA(reduction_factor=2), max_step=4)
    assert [lt.trial_id for lt in s.capacity(3)] == [0, 1, 2]
    d = s.report(0, 1, 0.5)
    assert d is not None and d.action is Action.CONTINUE
    assert [lt.trial_id for lt in s.end(0, "interrupted")] == [0]
    d = s.report(1, 1, 0.9)
    assert d is not None and d.action is Action.STOP
    d = s.report(2, 1, 0.1)
    assert d is not None and d.action is Action.CONTINUE
    d = s.report(0, 1, 0.5)
    assert d is not None and (d.action, d.until_step) == (Action.CONTINUE, 2)
    assert d.reason == "position 2/3 at rung 0 (step 1): already promoted"
    assert s.scheduler.state()["rungs"][0] == {"step": 1, "results": 3, "continued": 2}
    s.assert_replay_matches()
