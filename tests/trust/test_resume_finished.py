"""Resuming a study whose search is over (budget spent, or nothing left to launch) starts no
worker and writes nothing: it used to start every worker (seconds with ``"local"``, a Ray
cluster's actors with ``"ray"``) and journal a new session for nothing."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from rung import Budget, Float, Study
from rung.core.engine import Engine
from rung.executors.base import RunContext
from rung.executors.simulated import SimulatedExecutor
from rung.reporter import outcome_line


class Bench:
    max_step = 3

    def evaluate(self, params: Any, step: int) -> tuple[dict[str, float], float]:
        return {"loss": float(params["x"]) + 1.0 / step}, 1.0


class Counting(SimulatedExecutor):
    """A simulated executor that counts its sessions."""

    def __init__(self) -> None:
        super().__init__(Bench(), 2)
        self.starts = 0

    def start(self, ctx: RunContext) -> list[Any]:
        self.starts += 1
        return super().start(ctx)


def noop(ctx: Any) -> None:
    pass


def create(path: Path, budget: Budget, scheduler: str = "fifo") -> Study:
    return Study.create("f", {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                        scheduler=scheduler, max_step=3, budget=budget, storage=str(path))


@pytest.mark.parametrize("budget", [Budget(n_trials=4), Budget(max_steps=10)])
def test_resuming_a_finished_study_starts_no_worker_and_writes_nothing(
    tmp_path: Path, budget: Budget, caplog: pytest.LogCaptureFixture
) -> None:
    study = create(tmp_path / "j.db", budget)
    first = Counting()
    study.run(noop, executor=first, progress=False)
    assert first.starts == 1 and study.engine.over
    n = len(study.journal.read("f"))
    trials = study.trials()
    study.close()

    again = Study.load("f", str(tmp_path / "j.db"))
    ex = Counting()
    with caplog.at_level(logging.INFO, logger="rung.run"):
        again.run(noop, executor=ex, progress=False)
    assert ex.starts == 0
    assert len(again.journal.read("f")) == n
    assert again.trials() == trials
    # the summary is still reported
    assert [r.getMessage() for r in caplog.records] == [
        "study f: nothing to run: the budget is spent (raise it: Study.set_budget(...), or "
        "rung resume f with --n-trials, --max-steps or --max-time)",
        f"study f: {outcome_line(again.engine)}"]
    again.close()


def test_a_study_left_running_or_not_spent_still_runs(tmp_path: Path) -> None:
    class Crash(Exception):
        pass

    def crash_after_two(engine: Engine) -> None:
        if len(engine.history) >= 2:
            raise Crash

    study = create(tmp_path / "j.db", Budget(n_trials=4))
    with pytest.raises(Crash):
        study.run(noop, executor=Counting(), progress=False, on_turn=crash_after_two)
    assert not study.engine.over  # trials were left running
    study.close()
    again = Study.load("f", str(tmp_path / "j.db"))
    ex = Counting()
    again.run(noop, executor=ex, progress=False)
    assert ex.starts == 1 and len(again.trials()) == 4 and again.engine.over
    again.close()
    fresh = create(tmp_path / "k.db", Budget(n_trials=4))
    assert not fresh.engine.over  # never run: no session, no capacity yet
    fresh.close()
