"""Median stopping rule: exact decisions, incremental bookkeeping, restarts."""

from __future__ import annotations

from typing import Any

import pytest
from sched_script import Script

from rung import ConfigError, Decision
from rung.core.history import History
from rung.schedulers import MedianStoppingRule


def test_exact_decisions_with_grace_period_and_min_trials() -> None:
    s = Script(MedianStoppingRule(grace_period=2, min_trials=2), max_step=5)
    assert [c.until_step for c in s.capacity(4)] == [5, 5, 5, 5]  # workers never wait
    for tid, loss in [(0, 1.0), (1, 0.5), (2, 2.0)]:
        assert s.report(tid, 1, loss) is None  # before the grace period: no decision
    assert s.report(0, 2, 0.8) is None  # no other trial at step 2 yet
    assert s.report(1, 2, 0.4) is None  # one other trial: below min_trials
    # two others: running averages 0.9 (trial 0) and 0.45 (trial 1), median 0.675; trial 2's
    # best so far, 1.9, is worse
    assert s.report(2, 2, 1.9) == Decision.stop(
        "best score 1.9 by step 2 is worse than the median 0.675 of 2 other trials' running "
        "averages at step 2"
    )
    # trial 3 is judged on its best so far (0.7 at step 1), not on its current 0.85: the
    # median of 0.9, 0.45 and 1.95 is 0.9
    assert s.report(3, 1, 0.7) is None
    assert s.report(3, 2, 0.85) is None
    assert s.scheduler.state() == {"trials": 4, "stopped": 1, "steps": 2}
    s.assert_replay_matches()


def test_a_trial_is_stopped_on_ties_only_when_strictly_worse() -> None:
    s = Script(MedianStoppingRule(1, 1), max_step=3)
    s.capacity(2)
    s.report(0, 1, 0.5)
    assert s.report(1, 1, 0.5) is None  # equal to the median: not strictly worse
    assert s.report(1, 2, 0.6) is None  # no other trial at step 2 yet
    # trial 0 got worse (0.9), but its best so far (0.5) beats trial 1's average (0.55)
    assert s.report(0, 2, 0.9) is None
    assert s.report(1, 3, 0.6) is None
    # at step 3 trial 0's best (0.5) is compared with trial 1's average (0.5667): goes on
    assert s.report(0, 3, 2.0) is None


def test_maximized_metrics_are_turned_into_scores() -> None:
    from rung import Budget, Float, Objective, SearchSpace, Study
    from rung.storage import MemoryJournal

    study = Study.create(
        "m", SearchSpace({"x": Float(0, 1)}), Objective("acc", "max"),
        scheduler=MedianStoppingRule(1, 1), max_step=3, budget=Budget(n_trials=2),
        storage=MemoryJournal(),
    )
    a, b = study.ask(), study.ask()
    assert a is not None and b is not None
    assert study.report(a.id, 1, {"acc": 0.9}).action.value == "continue"
    assert study.report(b.id, 1, {"acc": 0.2}).action.value == "stop"


def test_reports_do_not_scan_the_trials(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Script(MedianStoppingRule(1, 1), max_step=9)
    s.capacity(50)

    def boom(*a: Any, **k: Any) -> Any:
        raise AssertionError("a scan over all trials on the report path")

    for name in ("ids", "trials", "__iter__", "pending"):
        monkeypatch.setattr(History, name, boom)
    for step in range(1, 10):
        for tid in range(50):
            if tid in s.engine.active:
                s.report(tid, step, (tid % 7) / step)


def test_a_restarted_trial_replaces_its_entries() -> None:
    s = Script(MedianStoppingRule(1, 1), max_step=9)
    s.capacity(2)
    s.report(0, 1, 1.0)
    s.report(0, 2, 1.0)
    assert s.end(0, "interrupted")  # resumed at once (no checkpoint: from step 1)
    s.report(0, 1, 0.2)  # the restart reports step 1 again, better this time
    table = s.scheduler._tables[1]  # type: ignore[attr-defined]
    assert table == [(0.2, 0)]
    assert s.scheduler._trials[0].best == 0.2  # type: ignore[attr-defined]
    assert s.report(1, 1, 0.5) == Decision.stop(
        "best score 0.5 by step 1 is worse than the median 0.2 of 1 other trials' running "
        "averages at step 1"
    )


@pytest.mark.parametrize(("kwargs", "key"), [({"grace_period": 0}, "grace_period"),
                                             ({"min_trials": 0}, "min_trials")])
def test_bad_params(kwargs: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"scheduler\.params\.{key}"):
        Script(MedianStoppingRule(**kwargs))
