"""``max_failures`` counts the failures of one run: a study it stopped resumes (``Study.run``
again, ``rung resume``) and runs until that many trials fail again, and a study whose objective
was fixed in between finishes its budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import objectives
import pytest

import rung
from rung import Budget, Float, Objective, Study, TrialStatus
from rung.errors import RunFailed
from rung.run_failures import FailureBase, failure_limit

FAST = "fork"


def make(tmp_path: Path, n: int, **kw: Any) -> Study:
    space: dict[str, Any] = {"x": Float(0.0, 1.0)}
    return Study.create("f", space, Objective("loss"), searcher="random", scheduler="fifo",
                        max_step=3, budget=Budget(n_trials=n), seed=1,
                        storage=tmp_path / "f.db", **kw)


def told(study: Study, outcomes: str) -> None:
    """Ask a trial per letter and end it: ``f`` failed, ``c`` completed, ``s`` stopped."""
    for o in outcomes:
        t = study.ask()
        assert t is not None
        if o == "f":
            study.tell(t.id, "failed", error="boom")
        else:
            study.tell(t.id, "completed" if o == "c" else "stopped", {"loss": 0.5}, step=1)


def test_failure_limit_counts_only_what_failed_since_the_base(tmp_path: Path) -> None:
    study = make(tmp_path, 100, max_failures=2)
    told(study, "ffc")
    assert failure_limit(study.engine) == (
        "2 trials failed in this run (max_failures=2): the run was stopped early")
    base = FailureBase.of(study.engine)
    assert base == FailureBase(frozenset({0, 1}), 3)
    assert failure_limit(study.engine, base) is None
    told(study, "cf")
    assert failure_limit(study.engine, base) is None
    told(study, "f")
    assert failure_limit(study.engine, base) == (
        "2 trials failed in this run (max_failures=2): the run was stopped early")


def test_a_fraction_is_judged_on_the_trials_ended_in_this_run(tmp_path: Path) -> None:
    study = make(tmp_path, 100, max_failures=0.5)
    told(study, "ffffcc")  # 4 of 6 failed: over half
    assert failure_limit(study.engine) == (
        "4 trials failed in this run (max_failures=0.5 of the 6 trials ended in this run): "
        "the run was stopped early")
    base = FailureBase.of(study.engine)
    told(study, "fcc")  # this run: 1 of 3 (with the earlier ones, 5 of 9)
    assert failure_limit(study.engine, base) is None
    told(study, "f")  # 2 of 4, but fewer than 5 ended in this run
    assert failure_limit(study.engine, base) is None
    told(study, "f")  # 3 of 5
    assert failure_limit(study.engine, base) == (
        "3 trials failed in this run (max_failures=0.5 of the 5 trials ended in this run): "
        "the run was stopped early")


def test_a_study_max_failures_stopped_resumes_and_stops_again(tmp_path: Path) -> None:
    study = make(tmp_path, 40, max_failures=2)
    with pytest.raises(RunFailed, match=r"failed in this run \(max_failures=2\)"):
        study.run(objectives.failing, n_workers=2, start_method=FAST)  # fails for x > 0.5
    first = {t.id: t.status for t in study.trials()}
    failed_first = sum(s is TrialStatus.FAILED for s in first.values())
    assert 2 <= failed_first <= 3 and len(first) < 40
    study.close()
    again = Study.load("f", tmp_path / "f.db")
    with pytest.raises(RunFailed, match=r"failed in this run \(max_failures=2\)"):
        again.run(objectives.failing, n_workers=2, start_method=FAST)
    second = {t.id: t.status for t in again.trials()}
    assert len(second) > len(first)  # it launched new trials instead of stopping at once
    new_failures = [i for i, s in second.items()
                    if s is TrialStatus.FAILED and first.get(i) is not TrialStatus.FAILED]
    assert 2 <= len(new_failures) <= 3
    again.close()


def test_a_fixed_objective_finishes_the_budget_after_a_max_failures_stop(
    tmp_path: Path,
) -> None:
    study = make(tmp_path, 12, max_failures=1)
    with pytest.raises(RunFailed, match="max_failures=1"):
        study.run(objectives.always_fails, n_workers=2, start_method=FAST)
    failed = study.history.count(TrialStatus.FAILED)
    study.close()
    fixed = Study.load("f", tmp_path / "f.db")
    fixed.run(objectives.quadratic, n_workers=2, start_method=FAST)
    h = fixed.history
    assert len(h) == 12 and h.count(TrialStatus.FAILED) == failed
    assert h.count(TrialStatus.COMPLETED) == 12 - failed
    assert isinstance(fixed.best_trial, rung.Trial)
    fixed.close()
