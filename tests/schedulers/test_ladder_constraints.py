"""ASHA and async Hyperband with outcome constraints: a rung ranks feasible results first, then
infeasible ones by total violation (``rank_key`` in ``rung.schedulers._rung_table``); a
constraint's metric not reported by the rung's step counts as holding; a stop names the
constraints violated. Before: the rungs ranked by the objective alone, so an infeasible result
with a better loss went on and a feasible one stopped."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sched_script import Script

from rung.core import Engine, Reply, ResultReported
from rung.core.components import Scheduler
from rung.core.events import Action, Decision
from rung.core.records import Constraint, Objective
from rung.schedulers import ASHA, AsyncHyperband
from rung.schedulers._ladder import NOT_FINITE
from rung.searchers import RandomSearcher

LAT = (Constraint("lat", "<=", 10.0),)


class Constrained(Script):
    """A ``Script`` whose study has constraints, reporting whole metric dicts."""

    def __init__(self, scheduler: Scheduler, max_step: int = 9,
                 constraints: tuple[Constraint, ...] = LAT,
                 objective: Objective | None = None) -> None:
        super().__init__(scheduler, max_step=max_step, objective=objective)
        self.spec = dataclasses.replace(self.spec, constraints=constraints)
        self.engine = Engine(self.spec, RandomSearcher(), scheduler)

    def put(self, tid: int, step: int, metrics: Mapping[str, Any]) -> Decision | None:
        cmds = self.feed(ResultReported(tid, step, dict(metrics), self.tick()))
        replies = [c for c in cmds if isinstance(c, Reply) and c.trial_id == tid]
        return replies[0].decision if replies else None


def _at_rung0(s: Constrained, results: list[dict[str, float]]) -> list[Decision | None]:
    launched = s.capacity(len(results))
    s.start(*(lt.trial_id for lt in launched))
    return [s.put(lt.trial_id, 1, m) for lt, m in zip(launched, results, strict=True)]


# even trials feasible (lat 5) with worse losses, odd ones infeasible (lat 100 + i) with better
RESULTS = [{"loss": 1.0 + i / 100 if i % 2 == 0 else 0.1 + i / 100,
            "lat": 5.0 if i % 2 == 0 else 100.0 + i} for i in range(6)]


def test_asha_ranks_feasible_results_first() -> None:
    s = Constrained(ASHA(reduction_factor=2))
    ds = _at_rung0(s, RESULTS)
    inf = "ranked after every feasible result"
    assert ds == [
        Decision.proceed(2, "rank 1/1 at rung 0 (step 1)"),
        Decision.stop(f"rank 2/2 at rung 0 (step 1): infeasible (lat=101 violates lat <= 10), "
                      f"{inf}: not in the top 1/2 (cutoff loss=1)"),
        Decision.stop("rank 2/3 at rung 0 (step 1): not in the top 1/2 (cutoff loss=1)"),
        Decision.stop(f"rank 4/4 at rung 0 (step 1): infeasible (lat=103 violates lat <= 10), "
                      f"{inf}: not in the top 1/2 (cutoff loss=1.02)"),
        Decision.stop("rank 3/5 at rung 0 (step 1): not in the top 1/2 (cutoff loss=1.02)"),
        Decision.stop(f"rank 6/6 at rung 0 (step 1): infeasible (lat=105 violates lat <= 10), "
                      f"{inf}: not in the top 1/2 (cutoff loss=1.04)"),
    ]
    s.assert_replay_matches()


def test_infeasible_results_rank_by_violation_and_the_cutoff_says_so() -> None:
    s = Constrained(ASHA(reduction_factor=2))
    ds = _at_rung0(s, [{"loss": 0.5, "lat": 30.0}, {"loss": 0.1, "lat": 40.0},
                       {"loss": 0.9, "lat": 11.0}, {"loss": 0.2, "lat": 12.0}])
    assert ds == [
        Decision.proceed(2, "rank 1/1 at rung 0 (step 1)"),
        Decision.stop("rank 2/2 at rung 0 (step 1): infeasible (lat=40 violates lat <= 10), "
                      "ranked after every feasible result: not in the top 1/2 (cutoff: an "
                      "infeasible result, violation 20)"),
        Decision.proceed(2, "rank 1/3 at rung 0 (step 1)"),  # least violation so far
        Decision.proceed(2, "rank 2/4 at rung 0 (step 1)"),  # top 2 of 4
    ]
    s.assert_replay_matches()


def test_a_metric_not_reported_yet_counts_as_holding() -> None:
    """Trials 0, 2 and 3 have not reported 'lat' at the rung: they rank by loss among the
    feasible results, and trial 1 (lat 50) after them (before the rule, a missing metric
    was infinitely violated: trial 0 would have gone on as the first result only, and
    trials 2 and 3 been ranked after trial 1)."""
    s = Constrained(ASHA(reduction_factor=2), objective=Objective("loss", nan="worst"))
    ds = _at_rung0(s, [{"loss": 0.9}, {"loss": 0.5, "lat": 50.0}, {"loss": 0.1},
                       {"loss": 0.7}, {"loss": float("nan")}])
    assert ds == [
        Decision.proceed(2, "rank 1/1 at rung 0 (step 1)"),
        Decision.stop("rank 2/2 at rung 0 (step 1): infeasible (lat=50 violates lat <= 10), "
                      "ranked after every feasible result: not in the top 1/2 (cutoff "
                      "loss=0.9)"),
        Decision.proceed(2, "rank 1/3 at rung 0 (step 1)"),
        Decision.proceed(2, "rank 2/4 at rung 0 (step 1)"),
        Decision.stop(f"rank 5/5 at rung 0 (step 1): {NOT_FINITE}"),  # last, as without
    ]
    s.assert_replay_matches()


def test_promotion_variant_pauses_an_infeasible_result_saying_why() -> None:
    s = Constrained(ASHA(reduction_factor=2, variant="promotion"))
    ds = _at_rung0(s, [{"loss": 0.1, "lat": 50.0}, {"loss": 0.9, "lat": 1.0}])
    assert ds == [
        Decision.pause("rank 1/1 at rung 0 (step 1): paused (infeasible (lat=50 violates "
                       "lat <= 10), ranked after every feasible result: not in the top 0 of "
                       "1 yet)"),
        Decision.proceed(2, "rank 1/2 at rung 0 (step 1): promoted"),
    ]
    s.assert_replay_matches()


def test_async_hyperband_brackets_rank_feasible_first() -> None:
    s = Constrained(AsyncHyperband(reduction_factor=2, brackets=1))
    ds = _at_rung0(s, RESULTS[:3])
    assert [d.action if d else None for d in ds] == [Action.CONTINUE, Action.STOP, Action.STOP]
    assert ds[1] is not None and "infeasible (lat=101 violates lat <= 10)" in ds[1].reason
    assert ds[2] == Decision.stop("rank 2/3 at rung 0 (step 1): not in the top 1/2 (cutoff "
                                  "loss=1)")
    s.assert_replay_matches()
