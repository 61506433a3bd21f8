"""``PlanRow.longest_share``: how much of a predicted wall-clock is one trial run, and the line
``rung plan`` prints when that is most of it."""

from __future__ import annotations

import pytest
from planhelp import PowerLawBench, pilot

import rung
from rung import ASHA, Budget, Objective, Study
from rung.cli.plan import plan_text
from rung.planning.planner import TAIL_BOUND
from rung.storage import MemoryJournal


def test_the_longest_trial_run_of_a_simulated_study() -> None:
    # steps cost 1 + 2x: a trial of 9 steps at x takes 9 (1 + 2x) seconds; under ASHA the
    # longest run is the longest of the trials that reached max_step, not of those stopped
    bench = PowerLawBench(max_step=9)
    study = Study.create("s", bench.space, Objective("loss", "min"), searcher="random",
                         scheduler=ASHA(3), max_step=9, budget=Budget(n_trials=12), seed=3,
                         storage=MemoryJournal())
    study.simulate(bench, n_workers=4)
    ex = study.last_executor
    full = [9 * (1 + 2 * t.params["x"]) for t in study.trials() if t.last_step == 9]
    assert full and ex.longest_run == pytest.approx(max(full), rel=1e-12)
    stopped = [t for t in study.trials() if t.last_step < 9]
    assert stopped  # ASHA stopped some: a longer stopped run would have been counted too
    assert ex.longest_run <= ex.now() - ex.start_time


def test_longest_share_is_exact_under_fifo_with_equal_costs() -> None:
    # every trial takes 5 steps x 2 s = 10 s; 10 trials: 100 s on 1 worker, 40 s on 3
    # (4 waves), 10 s on 10 (one wave): the longest run is 10%, 25%, all of the wall-clock
    bench = PowerLawBench(max_step=5, constant=2.0)
    p = rung.plan(pilot(bench), workers=[1, 3, 10], seeds=2, budget=Budget(n_trials=10))
    assert [r.wall_clock for r in p.rows] == pytest.approx([100.0, 40.0, 10.0])
    assert [r.longest_share for r in p.rows] == pytest.approx([0.1, 0.25, 1.0])
    assert p.to_json()["rows"][2]["longest_share"] == pytest.approx(1.0)
    assert plan_text(p).splitlines()[-1] == (
        "wall-clock set by one trial run (10 worker(s): 100% of it, median): the costliest few "
        "configurations carried to max_step decide it, and 8 pilot trials sample those least "
        "well; expect a larger error there than elsewhere")


def test_no_line_while_every_row_is_many_trials() -> None:
    bench = PowerLawBench(max_step=5, constant=2.0)
    p = rung.plan(pilot(bench), workers=[1, 3], seeds=1, budget=Budget(n_trials=10))
    assert max(r.longest_share for r in p.rows) < TAIL_BOUND
    assert "set by one trial run" not in plan_text(p)
