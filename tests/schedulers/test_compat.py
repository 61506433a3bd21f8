"""Compatibility switches for peers' pruning rules (issue 18 item 2c).

- ``MedianStoppingRule(rule="optuna")``: exact decisions on scripts, and the same trials pruned
  at the same steps as ``optuna.pruners.MedianPruner`` on random interleaved curves.
- ``quota="ceil"`` on ASHA (both variants), async Hyperband, successive halving and Hyperband:
  exact decisions, and a cross-check against Ray Tune's ``ASHAScheduler`` rule (the real
  ``AsyncHyperBandScheduler``): equal where the two rules coincide, different only where Ray
  Tune's interpolated percentile decides by value.
- ``quota="ceil"`` on successive halving keeps what scikit-learn's ``HalvingGridSearchCV`` keeps.
- Defaults unchanged: the new parameters are not persisted when left at their defaults.
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from sched_script import Script

from rung import ASHA, Action, Budget, ConfigError, Decision, Objective
from rung.core import Engine
from rung.schedulers import (
    AsyncHyperband,
    Hyperband,
    MedianStoppingRule,
    SuccessiveHalving,
)
from rung.searchers import RandomSearcher

# --- defaults ------------------------------------------------------------------------------


def test_new_parameters_are_not_persisted_at_their_defaults() -> None:
    assert MedianStoppingRule().get_params() == {"min_step": 1, "min_trials": 3}
    for cls in (ASHA, AsyncHyperband, SuccessiveHalving, Hyperband):
        assert "quota" not in cls().get_params()
        assert cls(quota="ceil").get_params()["quota"] == "ceil"
    params = MedianStoppingRule(rule="optuna", startup_trials=5, interval_steps=2).get_params()
    assert params == {
        "min_step": 1, "min_trials": 3, "rule": "optuna", "startup_trials": 5,
        "interval_steps": 2,
    }


@pytest.mark.parametrize(
    ("scheduler", "key"),
    [
        (MedianStoppingRule(rule="pytorch"), "scheduler.params.rule"),
        (MedianStoppingRule(startup_trials=2), "scheduler.params.startup_trials"),
        (MedianStoppingRule(interval_steps=2), "scheduler.params.interval_steps"),
        (MedianStoppingRule(min_step=0), "scheduler.params.min_step"),
        (MedianStoppingRule(rule="optuna", min_step=-1), "scheduler.params.min_step"),
        (MedianStoppingRule(rule="optuna", interval_steps=0), "scheduler.params.interval_steps"),
        (ASHA(quota="round"), "scheduler.params.quota"),
        (AsyncHyperband(quota="Ceil"), "scheduler.params.quota"),
        (SuccessiveHalving(quota=1), "scheduler.params.quota"),
        (Hyperband(quota=None), "scheduler.params.quota"),
    ],
)
def test_bad_switches_name_the_key(scheduler: Any, key: str) -> None:
    with pytest.raises(ConfigError) as e:
        Script(scheduler)
    assert e.value.key == key


# --- the median rule, Optuna's way ------------------------------------------------------------


def test_optuna_median_exact_decisions() -> None:
    rule = MedianStoppingRule(rule="optuna", min_step=0, min_trials=1, startup_trials=2)
    s = Script(rule, max_step=4)
    assert [c.until_step for c in s.capacity(3)] == [1, 1, 1]  # every step waits
    s.start(0, 1, 2)
    # no trial has completed: nothing is pruned, however bad
    few = "{} completed trial(s), fewer than startup_trials (2)"
    assert s.report(2, 1, 9.0) == Decision.proceed(2, few.format(0))
    for step, loss in [(1, 1.0), (2, 0.8), (3, 0.6)]:
        assert s.report(0, step, loss) == Decision.proceed(step + 1, few.format(0))
    assert s.report(0, 4, 0.5) is None  # max_step: the trial completes, no reply
    s.end(0)
    # one completed trial < startup_trials=2: still nothing pruned
    assert s.report(2, 2, 9.0) == Decision.proceed(3, few.format(1))
    for step, loss in [(1, 2.0), (2, 1.6), (3, 1.2), (4, 1.0)]:
        s.report(1, step, loss)
    s.end(1)
    # two completed: at step 3 the median of 0.6 and 1.2 is 0.9; trial 2's best is 9.0
    assert s.report(2, 3, 9.0) == Decision.stop(
        "best loss=9 by step 3 is worse than the median loss=0.9 of 2 completed trials at step 3 "
        "(Optuna's MedianPruner)"
    )
    s.end(2, "stopped")
    # trial 3 is judged on its best so far (0.7 at step 1, below the step-1 median 1.5), not
    # on its current value: at step 2 the median is 1.2 and its best 0.7 beats it
    s.start(3)
    nw = ("best loss=0.7 by step {} is not worse than the median loss={} of 2 completed "
          "trials at step {} (Optuna's MedianPruner)")
    assert s.report(3, 1, 0.7) == Decision.proceed(2, nw.format(1, 1.5, 1))
    assert s.report(3, 2, 5.0) == Decision.proceed(3, nw.format(2, 1.2, 2))
    # median 0.9 at step 3: 0.7 beats it
    assert s.report(3, 3, 5.0) == Decision.proceed(4, nw.format(3, 0.9, 3))
    assert s.scheduler.state() == {"rule": "optuna", "trials": 4, "stopped": 1, "completed": 2}
    s.assert_replay_matches()


def test_optuna_median_warmup_and_interval() -> None:
    """``n_warmup_steps=2, interval_steps=3``: decisions only at steps 2, 5, 8, ... (the first
    report in each interval), never before the warm-up."""
    rule = MedianStoppingRule(rule="optuna", min_step=2, min_trials=1, interval_steps=3)
    s = Script(rule, max_step=9)
    assert [c.until_step for c in s.capacity(2)] == [2, 2]
    s.start(0, 1)
    for step in range(1, 10):
        s.report(0, step, 0.1)
    s.end(0)
    stops = []
    for step in range(1, 10):
        d = s.report(1, step, 1.0)
        stops.append(d is not None and d.action is Action.STOP)
        if stops[-1]:
            break
    assert stops == [False, True]  # step 1 is warm-up, step 2 opens the first interval
    # a trial reporting only odd steps: its first report in the interval [5, 8) is step 5
    s.end(1, "stopped")
    (launch,) = s.capacity(3)
    tid = launch.trial_id
    s.start(tid)
    assert s.report(tid, 1, 0.05) is None  # below its lease (2): streams on
    nw = ("best loss=0.05 by step {} is not worse than the median loss=0.1 of 1 completed "
          "trials at step {} (Optuna's MedianPruner)")
    # its first report in [2, 5) (step 1 was warm-up): checked, 0.05 beats the median 0.1
    assert s.report(tid, 3, 0.05) == Decision.proceed(4, nw.format(3, 3))
    d = s.report(tid, 5, 0.2)  # first in [5, 8): checked, best 0.05 beats the median 0.1
    assert d == Decision.proceed(6, nw.format(5, 5))
    # not the first in [5, 8): no check
    assert s.report(tid, 6, 0.2) == Decision.proceed(
        7, "step 6 is not the first report of its interval (interval_steps 3)")


def _median_cross_check(
    seed: int, n_startup: int, warmup: int, interval: int, n_min: int, mode: str
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Random curves, run by ``workers`` interleaved slots through both rung's rule and
    Optuna's MedianPruner; returns each side's ``(trial, step)`` of every prune."""
    import optuna

    rng = np.random.default_rng(seed)
    max_step, n_trials, workers = 8, 24, 3
    sign = 1.0 if mode == "min" else -1.0
    curves = [
        sign * (rng.uniform(0.2, 1.0) * np.exp(-np.arange(1, max_step + 1) / rng.uniform(2, 6))
                + rng.normal(0, 0.03, max_step))
        for _ in range(n_trials)
    ]
    rule = MedianStoppingRule(
        rule="optuna", min_step=warmup, min_trials=n_min, startup_trials=n_startup,
        interval_steps=interval,
    )
    s = Script(rule, max_step=max_step, budget=Budget(n_trials=n_trials))
    s.spec = dataclasses.replace(s.spec, objective=Objective("loss", mode))
    s.engine = Engine(s.spec, RandomSearcher(), rule)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = optuna.pruners.MedianPruner(n_startup, warmup, interval, n_min_trials=n_min)
    study = optuna.create_study(
        direction="minimize" if mode == "min" else "maximize", pruner=pruner,
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    ours: list[tuple[int, int]] = []
    theirs: list[tuple[int, int]] = []
    running: dict[int, Any] = {}  # rung trial id -> [optuna trial, next step]

    def launch(ls: list[Any]) -> None:
        for launch in ls:
            s.start(launch.trial_id)
            running[launch.trial_id] = [study.ask(), 1]

    launch(s.capacity(workers))
    while running:
        tid = sorted(running)[int(rng.integers(len(running)))]
        trial, step = running[tid]
        value = float(curves[tid][step - 1])
        d = s.report(tid, step, value)
        trial.report(value, step)
        # one difference by design: a rung trial that reports max_step has completed (its last
        # result is not judged); Optuna would still consult the pruner after the last report
        pruned = step < max_step and trial.should_prune()
        if pruned:
            theirs.append((tid, step))
        stopped = d is not None and d.action is Action.STOP
        if stopped:
            ours.append((tid, step))
        if pruned or stopped or step == max_step:
            del running[tid]
            if pruned or stopped:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                launch(s.end(tid, "stopped"))
            else:
                study.tell(trial, value)
                launch(s.end(tid, "completed"))
        else:
            running[tid][1] = step + 1
    return ours, theirs


@pytest.mark.parametrize(
    ("n_startup", "warmup", "interval", "n_min", "mode"),
    [(5, 0, 1, 1, "min"), (2, 2, 1, 1, "min"), (3, 1, 3, 2, "min"), (1, 0, 2, 1, "max"),
     (4, 3, 2, 3, "max")],
)
@pytest.mark.parametrize("seed", range(4))
def test_optuna_median_prunes_what_optuna_prunes(
    seed: int, n_startup: int, warmup: int, interval: int, n_min: int, mode: str
) -> None:
    ours, theirs = _median_cross_check(seed, n_startup, warmup, interval, n_min, mode)
    assert ours == theirs
    assert ours  # the curves make it prune something, so the comparison means something


# --- ceil quotas ------------------------------------------------------------------------------


def _arrivals(script: Script, losses: list[float], step: int = 1) -> list[Action]:
    launched = script.capacity(len(losses))
    for launch in launched:
        script.start(launch.trial_id)
    out = []
    for launch, loss in zip(launched, losses, strict=True):
        d = script.report(launch.trial_id, step, loss)
        assert d is not None
        out.append(d.action)
    return out


C, S, P = Action.CONTINUE, Action.STOP, Action.PAUSE


def test_asha_ceil_quota_exact_decisions() -> None:
    losses = [0.5, 0.6, 0.4, 0.7, 0.55, 0.3, 0.8]
    floor = _arrivals(Script(ASHA(reduction_factor=3), max_step=9), losses)
    ceil = _arrivals(Script(ASHA(reduction_factor=3, quota="ceil"), max_step=9), losses)
    # n=2: floor keeps 1 (0.5), ceil keeps 1; n=4: ceil keeps 2 of [0.4 0.5 0.6 0.7] -> 0.7
    # is 4th: stop; n=5: ceil 2, 0.55 is 3rd: stop (floor 1: stop)
    assert floor == [C, S, C, S, S, C, S]
    assert ceil == [C, S, C, S, S, C, S]
    # where they differ: a 2nd-best arrival at n = 4 passes under ceil (2 of 4), not floor (1)
    losses = [0.5, 0.9, 0.8, 0.6]
    assert _arrivals(Script(ASHA(reduction_factor=3), max_step=9), losses) == [C, S, S, S]
    assert _arrivals(Script(ASHA(reduction_factor=3, quota="ceil"), max_step=9), losses) == [
        C, S, S, C]


def test_ceil_quota_with_ties_fills_ceil_places() -> None:
    for eta in (2, 3):
        for n in range(1, 9):
            s = Script(ASHA(reduction_factor=eta, quota="ceil"), max_step=9)
            assert _arrivals(s, [0.5] * n).count(C) == -(-n // eta)


def test_async_hyperband_ceil_quota() -> None:
    s = Script(AsyncHyperband(reduction_factor=3, brackets=1, quota="ceil"), max_step=9)
    assert _arrivals(s, [0.5, 0.9, 0.8, 0.6]) == [C, S, S, C]


def test_asha_promotion_variant_ceil_quota() -> None:
    """Promotion variant: the first result at a rung is promotable at once (ceil(1/3) = 1),
    so it is promoted in place; under floor it pauses (floor(1/3) = 0)."""
    floor = Script(ASHA(reduction_factor=3, variant="promotion"), max_step=9)
    ceil = Script(ASHA(reduction_factor=3, variant="promotion", quota="ceil"), max_step=9)
    assert _arrivals(floor, [0.5]) == [P]
    assert _arrivals(ceil, [0.5]) == [C]
    # four results at rung 1: ceil(4/3) = 2 promotable; the 4th arrival, 2nd best, is
    # promoted in place (floor(4/3) = 1: it pauses)
    ceil = Script(ASHA(reduction_factor=3, variant="promotion", quota="ceil"), max_step=9)
    assert _arrivals(ceil, [0.5, 0.9, 0.8, 0.6]) == [C, P, P, C]
    floor = Script(ASHA(reduction_factor=3, variant="promotion"), max_step=9)
    assert _arrivals(floor, [0.5, 0.9, 0.8, 0.6]) == [P, P, P, P]


def test_successive_halving_ceil_quota_promotes_ceil() -> None:
    """Five trials at rung 1 of an eta=3 bracket: ceil keeps 2 (scikit-learn's
    ``ceil(n_candidates / factor)``), floor keeps 1."""
    for quota, expected in (("floor", 1), ("ceil", 2)):
        sh = SuccessiveHalving(reduction_factor=3, n_configs=5, iterations=1, quota=quota)
        s = Script(sh, max_step=9)
        launched = s.capacity(5)
        assert len(launched) == 5
        s.start(*[c.trial_id for c in launched])
        decisions = [s.report(c.trial_id, 1, 0.1 * (i + 1)) for i, c in enumerate(launched)]
        for c in launched[:-1]:
            s.pause(c.trial_id, 1)
        assert sh.completed_rungs[0] == (0, 0, 5, expected)
        assert decisions[-1] is not None and decisions[-1].action is Action.STOP
        assert [d.action for d in decisions[:-1] if d is not None] == [P] * 4


def test_hyperband_ceil_plan() -> None:
    hb = Hyperband(reduction_factor=3, quota="ceil")
    Script(hb, max_step=9)
    # floor: bracket 2 plans [9, 3, 1]; with 5 configurations ceil and floor differ
    assert [b[1] for b in hb.brackets()] == [[9, 3, 1], [5, 2], [3]]
    hb = Hyperband(reduction_factor=3)
    Script(hb, max_step=9)
    assert [b[1] for b in hb.brackets()] == [[9, 3, 1], [5, 1], [3]]


# --- Ray Tune's ASHAScheduler ------------------------------------------------------------------


def _ray_decisions(losses: list[float], eta: int) -> list[Action]:
    """Ray Tune's own ASHA rule on the same arrivals at its first rung (min mode)."""
    from ray.tune.schedulers import ASHAScheduler, TrialScheduler

    sched = ASHAScheduler(
        metric="loss", mode="min", max_t=9, grace_period=1, reduction_factor=eta
    )
    out = []
    for i, loss in enumerate(losses):
        trial = SimpleNamespace(trial_id=f"t{i}")
        sched.on_trial_add(None, trial)  # type: ignore[arg-type]
        act = sched.on_trial_result(
            None, trial, {"training_iteration": 1, "loss": loss}  # type: ignore[arg-type]
        )
        out.append(C if act == TrialScheduler.CONTINUE else S)
    return out


def _boundary(previous: list[float], loss: float, eta: int) -> bool:
    """Ray Tune's cutoff lies strictly between two order statistics of the earlier results
    and ``loss`` lies between them: the one case where Ray Tune decides by value."""
    m = len(previous)
    if m < 2:
        return False
    pos = (m - 1) / eta  # the cutoff's position among the earlier losses, best first
    if pos == int(pos):
        return False
    better = sum(p < loss for p in previous)
    return better == math.floor(pos) + 1


def test_ceil_quota_matches_ray_tune_where_the_rules_coincide() -> None:
    """A scripted sequence at one rung (eta 3) where no arrival sits in Ray Tune's
    interpolation gap: every decision is the same. Floor disagrees at arrivals 5 and 8
    (``n = 2 mod 3``: Ray Tune's cutoff is exactly the ``ceil(n/3)``-th best earlier result,
    and these arrivals are the ``ceil(n/3)``-th best: floor keeps one fewer)."""
    losses = [0.5, 0.4, 0.6, 0.3, 0.35, 0.7, 0.2, 0.32, 0.25, 0.9, 0.1, 0.55]
    assert not any(_boundary(losses[:i], x, 3) for i, x in enumerate(losses))
    rung = _arrivals(Script(ASHA(reduction_factor=3, quota="ceil"), max_step=9), losses)
    assert rung == _ray_decisions(losses, 3) == [C, C, S, C, C, S, C, C, C, S, C, S]
    floor = _arrivals(Script(ASHA(reduction_factor=3), max_step=9), losses)
    assert floor == [C, C, S, C, S, S, C, S, C, S, C, S]


@pytest.mark.parametrize("eta", [2, 3, 4])
def test_ceil_quota_differs_from_ray_tune_only_in_the_interpolation_gap(eta: int) -> None:
    rng = np.random.default_rng(eta)
    differ = 0
    for _ in range(20):
        losses = [float(x) for x in rng.uniform(0, 1, 14)]
        rung = _arrivals(Script(ASHA(reduction_factor=eta, quota="ceil"), max_step=16), losses)
        ray = _ray_decisions(losses, eta)
        for i, (a, b) in enumerate(zip(rung, ray, strict=True)):
            if a != b:
                differ += 1
                assert _boundary(losses[:i], losses[i], eta), (losses[: i + 1], a, b)
    assert differ > 0  # the rules are not the same: the difference is real and located


# --- scikit-learn's successive halving ---------------------------------------------------------


def _curve(q: float, step: int) -> float:
    """A score that rises with the resource at a rate set by ``q``: rankings change between
    rungs (fast starters are not the best finishers)."""
    return (1.0 - q) * 0.6 + q * math.log(step + 1) * 0.5


def _rung_sh_ceil(qs: list[float]) -> dict[int, list[float]]:
    """rung's synchronous successive halving, quota='ceil', on one bracket of ``len(qs)``
    trials with rungs at steps 1, 3, 9: the ``q`` of the trials that reported each rung."""
    sh = SuccessiveHalving(reduction_factor=3, n_configs=len(qs), iterations=1, quota="ceil")
    s = Script(sh, max_step=9)
    queue = list(s.capacity(len(qs)))
    q_of = {c.trial_id: qs[i] for i, c in enumerate(queue)}
    reached: dict[int, list[float]] = {1: [], 3: [], 9: []}
    while queue:
        launch = queue.pop(0)
        tid, step, until = launch.trial_id, launch.start_step, launch.until_step
        s.start(tid)
        while True:
            d = s.report(tid, step, -_curve(q_of[tid], step))
            if step in reached and step == until:
                reached[step].append(q_of[tid])
            if step == 9:
                queue += s.end(tid)
                break
            if d is not None and d.action is Action.PAUSE:
                queue += s.pause(tid, step)
                break
            if d is not None and d.action is Action.STOP:
                queue += s.end(tid, "stopped")
                break
            if d is not None and d.until_step is not None:
                until = d.until_step
            step += 1
    return reached


def test_successive_halving_ceil_keeps_what_scikit_learn_keeps() -> None:
    """scikit-learn's HalvingGridSearchCV (factor 3, resource 1 -> 3 -> 9) and rung's
    successive halving with quota='ceil' keep the same candidates at every rung: 10 -> 4 -> 2
    (floor would keep 10 -> 3 -> 1)."""
    from sklearn.base import BaseEstimator
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV

    class Curve(BaseEstimator):  # type: ignore[misc]
        def __init__(self, q: float = 0.0, budget: int = 1) -> None:
            self.q = q
            self.budget = budget

        def fit(self, X: Any, y: Any) -> Curve:
            return self

        def score(self, X: Any, y: Any) -> float:
            return _curve(self.q, self.budget)

    qs = [0.05, 0.93, 0.41, 0.77, 0.12, 0.66, 0.29, 0.88, 0.53, 0.35]
    X, y = np.zeros((12, 1)), np.arange(12) % 2
    search = HalvingGridSearchCV(
        Curve(), {"q": qs}, factor=3, resource="budget", min_resources=1, max_resources=9,
        cv=2, refit=False,
    ).fit(X, y)
    res = search.cv_results_
    theirs = {
        r: sorted(p["q"] for p, n in zip(res["params"], res["n_resources"], strict=True)
                  if n == r)
        for r in (1, 3, 9)
    }
    ours = {r: sorted(v) for r, v in _rung_sh_ceil(qs).items()}
    assert [len(theirs[r]) for r in (1, 3, 9)] == [10, 4, 2]
    assert ours == theirs
