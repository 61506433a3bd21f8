"""MO-ASHA decides as ASHA does: a result goes on iff its position among the rung's results
satisfies ``r * eta < n`` (the top ``ceil(n / eta)``) when it arrives, with the tie rule; no
count of earlier passes caps it. With constraints, a metric not reported by the rung's step
counts as holding, and an infeasible result's stop names the constraints it violates.

Before: a result also needed fewer than ``ceil(n / eta)`` earlier passes, so results that
dominated the one that went on first were stopped, with 'position 1/2 ...: not in the top
1/3'; and a metric reported only at the end made every result infeasible, ranked by trial id.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
from sched_script import Script

from rung.core import Engine, Reply, ResultReported
from rung.core.events import Decision
from rung.core.records import Constraint, Objective
from rung.schedulers import MOASHA
from rung.searchers import RandomSearcher

OBJECTIVES = (Objective("err", "min"), Objective("acc", "max"))


class MOScript(Script):
    """A ``Script`` of a two-objective study (``err`` min, ``acc`` max), with constraints."""

    def __init__(self, scheduler: MOASHA, constraints: tuple[Constraint, ...] = ()) -> None:
        super().__init__(scheduler, max_step=9, objective=OBJECTIVES[0])
        self.spec = dataclasses.replace(self.spec, objectives=OBJECTIVES,
                                        constraints=constraints)
        self.engine = Engine(self.spec, RandomSearcher(), scheduler)

    def put(self, tid: int, step: int, metrics: Mapping[str, Any]) -> Decision | None:
        cmds = self.feed(ResultReported(tid, step, dict(metrics), self.tick()))
        replies = [c for c in cmds if isinstance(c, Reply) and c.trial_id == tid]
        return replies[0].decision if replies else None

    def rung0(self, results: list[dict[str, float]]) -> list[Decision | None]:
        launched = self.capacity(len(results))
        self.start(*(lt.trial_id for lt in launched))
        return [self.put(lt.trial_id, 1, m) for lt, m in zip(launched, results, strict=True)]


def test_results_that_dominate_the_first_go_on_as_in_asha() -> None:
    s = MOScript(MOASHA(reduction_factor=3))
    ds = s.rung0([{"err": e, "acc": a} for e, a in
                  [(0.9, 0.1), (0.1, 0.9), (0.05, 0.95), (0.5, 0.5), (0.01, 0.99),
                   (0.95, 0.05)]])
    assert ds == [
        Decision.proceed(3, "position 1/1 at rung 0 (step 1)"),
        Decision.proceed(3, "position 1/2 at rung 0 (step 1)"),
        Decision.proceed(3, "position 1/3 at rung 0 (step 1)"),
        Decision.stop("position 3/4 at rung 0 (step 1): not in the top 1/3 by non-dominated "
                      "sorting"),
        Decision.proceed(3, "position 1/5 at rung 0 (step 1)"),
        Decision.stop("position 6/6 at rung 0 (step 1): not in the top 1/3 by non-dominated "
                      "sorting"),
    ]
    assert s.scheduler.state()["rungs"][0] == {"step": 1, "results": 6, "continued": 4}
    s.assert_replay_matches()


def test_every_pass_is_inside_the_top_when_it_is_decided() -> None:
    """Random two-objective results, eta 3: a result goes on iff its position (as
    ``mo_rank`` orders the rung at that moment) is inside the top ``ceil(n / 3)``."""
    from rung.schedulers.mo_asha import mo_rank

    rng = np.random.default_rng(7)
    Y = rng.random((40, 2))
    s = MOScript(MOASHA(reduction_factor=3))
    ds = s.rung0([{"err": float(e), "acc": float(-a)} for e, a in Y])
    for n in range(1, 41):
        order = mo_rank(Y[:n], np.zeros(n), np.arange(n))
        r = order.index(n - 1)
        d = ds[n - 1]
        assert d is not None
        assert (d.action.value == "continue") == (r * 3 < n)
        assert d.reason.startswith(f"position {r + 1}/{n} at rung 0 (step 1)")


def test_a_constraint_reported_only_at_the_end_ranks_nobody_down() -> None:
    """No 'lat' at the rung: each later result dominates the earlier ones and goes on."""
    s = MOScript(MOASHA(reduction_factor=3), (Constraint("lat", "<=", 40.0),))
    ds = s.rung0([{"err": 1.0 - 0.1 * i, "acc": 0.1 * i} for i in range(5)])
    assert ds == [Decision.proceed(3, f"position 1/{n} at rung 0 (step 1)")
                  for n in range(1, 6)]
    s.assert_replay_matches()


def test_an_infeasible_stop_names_the_constraint() -> None:
    s = MOScript(MOASHA(reduction_factor=2), (Constraint("lat", "<=", 40.0),))
    ds = s.rung0([{"err": 0.5, "acc": 0.5, "lat": 10.0}, {"err": 0.1, "acc": 0.9, "lat": 90.0},
                  {"err": 0.2, "acc": 0.8}])
    assert ds == [
        Decision.proceed(2, "position 1/1 at rung 0 (step 1)"),
        Decision.stop("position 2/2 at rung 0 (step 1): infeasible (lat=90 violates "
                      "lat <= 40), ranked after every feasible result: not in the top 1/2 by "
                      "feasibility and non-dominated sorting"),
        Decision.proceed(2, "position 1/3 at rung 0 (step 1)"),  # lat unknown: feasible
    ]
    s.assert_replay_matches()


def test_infeasible_results_tied_on_violation_share_their_best_position() -> None:
    """MO-ASHA ranks an infeasible result by its violation alone (then trial id): results of
    equal violation are tied, and a reason names the best position of their group. Before:
    'position 3/3' (where ASHA, ranking them by 'err', says 'rank 2/3'), 'position 4/4', for
    results behind nothing but one feasible result and their ties, and 'not in the top 1/2'
    though their group's position was inside it. The decisions are unchanged."""
    s = MOScript(MOASHA(reduction_factor=2), (Constraint("lat", "<=", 40.0),))
    ds = s.rung0([{"err": 0.1, "acc": 0.9, "lat": 10.0}, {"err": 0.5, "acc": 0.5, "lat": 90.0},
                  {"err": 0.2, "acc": 0.8, "lat": 90.0}, {"err": 0.6, "acc": 0.4, "lat": 90.0}])
    infeasible = "infeasible (lat=90 violates lat <= 40), ranked after every feasible result: "
    tied = "tied on violation with results inside the top 1/2, which rank first (earlier trials)"
    assert ds == [
        Decision.proceed(2, "position 1/1 at rung 0 (step 1)"),
        Decision.stop(f"position 2/2 at rung 0 (step 1): {infeasible}not in the top 1/2 by "
                      "feasibility and non-dominated sorting"),
        Decision.stop(f"position 2/3 at rung 0 (step 1): {infeasible}{tied}"),
        Decision.stop(f"position 2/4 at rung 0 (step 1): {infeasible}{tied}"),
    ]
    s.assert_replay_matches()


def test_min_step_auto_is_asha_s_and_says_so() -> None:
    """Before: 'must be an integer >= 1, got 'auto'', as if 'auto' were never a min_step."""
    import pytest

    import rung

    with pytest.raises(rung.ConfigError) as e:
        rung.Study.create("m", {"x": rung.Float(0.0, 1.0)}, objective=["a", "b"],
                          scheduler={"name": "mo_asha", "params": {"min_step": "auto"}},
                          searcher="random", max_step=27, budget={"n_trials": 3})
    assert str(e.value) == (
        "scheduler.params.min_step: 'auto' (the first rung chosen from complete curves) is "
        "only for asha and async_hyperband: give mo_asha an integer >= 1")
