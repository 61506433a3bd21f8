"""Median stopping rule: exact decisions, incremental bookkeeping, restarts."""

from __future__ import annotations

from typing import Any

import pytest
from sched_script import Script

from rung import ConfigError, Decision
from rung.core import Reply
from rung.core.history import History
from rung.schedulers import MedianStoppingRule


def test_exact_decisions_with_min_step_and_min_trials() -> None:
    s = Script(MedianStoppingRule(min_step=2, min_trials=2), max_step=5)
    # nothing can be decided before the grace period: every worker first waits at step 2
    assert [c.until_step for c in s.capacity(4)] == [2, 2, 2, 2]
    for tid, loss in [(0, 1.0), (1, 0.5), (2, 2.0)]:
        assert s.report(tid, 1, loss) is None  # streaming below the lease
    # no other trial at step 2 yet: trial 0 leads, so it waits again at its next step
    assert s.report(0, 2, 0.8) == Decision.proceed(3, "0 other trial(s) at step 2, fewer than the 2 the rule compares with")
    # one other trial: below min_trials
    assert s.report(1, 2, 0.4) == Decision.proceed(3, "1 other trial(s) at step 2, fewer than the 2 the rule compares with")
    # two others: running averages 0.9 (trial 0) and 0.45 (trial 1), median 0.675; trial 2's
    # best so far, 1.9, is worse. It was waiting at step 2, so the stop takes effect there.
    assert s.report(2, 2, 1.9) == Decision.stop(
        "best loss=1.9 by step 2 is worse than the median loss=0.675 of 2 other trials' running "
        "averages at step 2"
    )
    # trial 3 is judged on its best so far (0.7 at step 1), not on its current 0.85: the
    # median of 0.9, 0.45 and 1.95 is 0.9
    assert s.report(3, 1, 0.7) is None
    assert s.report(3, 2, 0.85) == Decision.proceed(
        3, "best loss=0.7 by step 2 is not worse than the median loss=0.9 of 3 other trials' running averages at step 2")
    assert s.scheduler.state() == {"trials": 4, "stopped": 1, "steps": 2}
    s.assert_replay_matches()


def test_the_lease_ends_at_the_next_step_with_references() -> None:
    """An objective that reports every other step: a trial behind the others waits only at
    steps where the rule can decide; a trial ahead of them waits at its next step."""
    s = Script(MedianStoppingRule(min_step=1, min_trials=1), max_step=9)
    assert [c.until_step for c in s.capacity(1)] == [1]
    # trial 0 alone, reporting steps 2, 4, 6: no references, it leads and waits at each report
    assert s.report(0, 2, 0.5) == Decision.proceed(3, "0 other trial(s) at step 2, fewer than the 1 the rule compares with")
    assert s.report(0, 4, 0.4) == Decision.proceed(5, "0 other trial(s) at step 4, fewer than the 1 the rule compares with")
    assert s.report(0, 6, 0.3) == Decision.proceed(7, "0 other trial(s) at step 6, fewer than the 1 the rule compares with")
    # a second trial starts behind it: its first decidable step is 2 (step 1 has no results)
    assert [c.until_step for c in s.capacity(2)] == [2]
    # not worse than 0.5; next: step 4
    assert s.report(1, 2, 0.45) == Decision.proceed(4, "best loss=0.45 by step 2 is not worse than the median loss=0.5 of 1 other trials' running averages at step 2")
    # trial 0's running average at step 4 is 0.45: a tie, so it goes on, to step 6 (step 5
    # has no results)
    assert s.report(1, 4, 0.6) == Decision.proceed(6, "best loss=0.45 by step 4 is not worse than the median loss=0.45 of 1 other trials' running averages at step 4")
    assert s.report(1, 6, 0.6) == Decision.stop(
        "best loss=0.45 by step 6 is worse than the median loss=0.4 of 1 other trials' running "
        "averages at step 6"
    )
    # every reply went to a worker waiting at that very step (none was sent while streaming)
    replies = [c for c in s.commands if isinstance(c, Reply)]
    assert [(c.trial_id, c.step) for c in replies] == [
        (0, 2), (0, 4), (0, 6), (1, 2), (1, 4), (1, 6)
    ]
    s.assert_replay_matches()


def test_a_trial_is_stopped_on_ties_only_when_strictly_worse() -> None:
    s = Script(MedianStoppingRule(1, 1), max_step=3)
    s.capacity(2)
    s.report(0, 1, 0.5)
    # equal to the median: goes on
    assert s.report(1, 1, 0.5) == Decision.proceed(2, "best loss=0.5 by step 1 is not worse than the median loss=0.5 of 1 other trials' running averages at step 1")
    # no other trial at step 2 yet
    assert s.report(1, 2, 0.6) == Decision.proceed(3, "0 other trial(s) at step 2, fewer than the 1 the rule compares with")
    # trial 0 got worse (0.9), but its best so far (0.5) beats trial 1's average (0.55)
    assert s.report(0, 2, 0.9) == Decision.proceed(3, "best loss=0.5 by step 2 is not worse than the median loss=0.55 of 1 other trials' running averages at step 2")
    assert s.report(1, 3, 0.6) is None  # max_step: the trial finishes, no reply
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
        "best loss=0.5 by step 1 is worse than the median loss=0.2 of 1 other trials' running "
        "averages at step 1"
    )


@pytest.mark.parametrize(("kwargs", "key"), [({"min_step": 0}, "min_step"),
                                             ({"min_trials": 0}, "min_trials")])
def test_bad_params(kwargs: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"scheduler\.params\.{key}"):
        Script(MedianStoppingRule(**kwargs))
