"""Synchronous successive halving and Hyperband with outcome constraints: a completed rung
promotes feasible members first, then infeasible ones by total violation (``rank_key``); a
constraint's metric not reported by the rung's step counts as holding; an infeasible member's
stop names the constraints it violates. Before: constraints were ignored."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sched_script import Script

from rung.core import Engine, Reply, ResultReported
from rung.core.events import Action, Decision
from rung.core.records import Constraint
from rung.schedulers import SuccessiveHalving
from rung.searchers import RandomSearcher


class Constrained(Script):
    def __init__(self, scheduler: SuccessiveHalving) -> None:
        super().__init__(scheduler, max_step=9)
        self.spec = dataclasses.replace(self.spec, constraints=(Constraint("lat", "<=", 10.0),))
        self.engine = Engine(self.spec, RandomSearcher(), scheduler)

    def put(self, tid: int, step: int, metrics: Mapping[str, Any]) -> Decision | None:
        cmds = self.feed(ResultReported(tid, step, dict(metrics), self.tick()))
        replies = [c for c in cmds if isinstance(c, Reply) and c.trial_id == tid]
        return replies[0].decision if replies else None


def test_a_completed_rung_promotes_feasible_members_first() -> None:
    s = Constrained(SuccessiveHalving(reduction_factor=3, min_step=1))
    launched = s.capacity(9)
    assert len(launched) == 9
    s.start(*(lt.trial_id for lt in launched))
    # trials 0-7 at rung 0: 0-5 feasible (losses 0.5..1.0), 6 and 7 infeasible with the best
    # losses; trial 8 last, no 'lat' yet (counts as holding), loss 0.55
    rows = [{"loss": 0.5 + i / 10, "lat": 1.0} for i in range(6)] + [
        {"loss": 0.1, "lat": 50.0}, {"loss": 0.2, "lat": 20.0}, {"loss": 0.55}]
    ds = [s.put(t, 1, m) for t, m in enumerate(rows)]
    assert [d.action if d else None for d in ds[:8]] == [Action.PAUSE] * 8
    assert ds[8] == Decision.proceed(3, "bracket 0 rung 0 (step 1): rank 2/9, promoted (top 3)")
    promoted = s.scheduler._brackets[0].rungs[0].promoted
    assert promoted == [0, 8, 1]
    why = s.scheduler.paused_decision(6)
    assert why == Decision.stop(
        "bracket 0 rung 0 (step 1): rank 9/9, infeasible (lat=50 violates lat <= 10), "
        "ranked after every feasible result: not in the top 3")
    s.assert_replay_matches()
