"""The ledger agrees with the engine's usage and ``best_trial`` on a study left in flight, clamps
float noise in utilization, and prints hours and non-finite money without crashing."""

from __future__ import annotations

import math

import pytest

import rung
from rung.cli.ledger import _hours, _money, render
from rung.core.budget import Usage
from rung.core.engine import Engine
from rung.core.events import CapacityChanged, Launch, Record, ResultReported, TrialEnded
from rung.core.records import ComponentSpec, Objective, Outcome, StudySpec
from rung.cost.ledger import Ledger, Spend, Worker, ledger


def _spec(scheduler: str = "fifo", max_step: int = 3) -> StudySpec:
    return StudySpec(
        name="a", space=rung.SearchSpace({"x": rung.Float(0.0, 1.0)}),
        objective=Objective("loss"), searcher=ComponentSpec("random"),
        scheduler=ComponentSpec(scheduler), max_step=max_step,
        budget=rung.Budget(max_cost=100.0), prices={"cpu": 1.0, "gpu": 2.0},
        resources_per_trial={"cpu": 1, "gpu": 1},
    )


def test_usage_charges_runs_in_flight_up_to_the_last_event_as_the_ledger_does() -> None:
    """Two runs in flight (3 money per hour each), a driver interrupted after trial 1's result
    at 720 s: both are charged up to 720 s (1.2), not trial 0 up to its own last result at
    360 s (0.9 in all), which ``Usage`` (``rung show``'s budget line) counted before."""
    eng = Engine.from_spec(_spec())
    records: list[Record] = []
    for ev in (CapacityChanged(2, 0.0, True), ResultReported(0, 1, {"loss": 0.5}, 360.0),
               ResultReported(1, 1, {"loss": 0.6}, 720.0)):
        records.append(ev)
        records.extend(eng.handle(ev))
    assert len(eng.active) == 2
    led = ledger(eng.spec, records)
    used = Usage.of(eng)
    assert led.total.cost == pytest.approx(1.2, rel=1e-12)
    assert used.cost == pytest.approx(led.total.cost, rel=1e-12)
    assert used.gpu_hours == pytest.approx(led.total.gpu_hours, rel=1e-12)
    assert eng.meter.cost == pytest.approx(0.9, rel=1e-12)  # the meter itself is unchanged


def test_no_final_result_names_best_trials_provisional_pick() -> None:
    """PBT-like: two trials paused at step 4 of 12, none final. The ledger has no incumbent
    and says which trial ``best_trial`` names for now (the best at the highest step)."""
    records: list[Record] = [CapacityChanged(2, 0.0, True)]
    for tid in (0, 1):
        records.append(Launch(tid, {"x": 0.5}, 1, 4, 12, None))
    for step in (1, 2, 3, 4):
        for tid, base in ((0, 0.25), (1, 0.5)):
            records.append(ResultReported(tid, step, {"loss": base + 1.0 / step}, 10.0 * step))
    records += [TrialEnded(0, Outcome.PAUSED, 50.0), TrialEnded(1, Outcome.PAUSED, 50.0)]
    led = ledger(_spec("pbt", 12), records)
    assert led.incumbent == []
    assert led.notes[0] == (
        "no trial has a final result yet (at max_step 12, or completed below it): no "
        "incumbent; best_trial names trial 0 for now, the best at the highest step reached "
        "(loss=0.5 at step 4), which later steps may change")


def test_utilization_noise_above_one_is_exactly_one() -> None:
    w = Worker(0, busy_hours=0.1 + 0.2, available_hours=0.3)
    assert 0.1 + 0.2 > 0.3 and w.utilization == 1.0
    led = Ledger(prices={}, max_step=3, by_outcome={}, total=Spend(), devices={},
                 full_cost=0.0, full_device_hours=0.0, idle_hours=0.0, idle_cost=0.0,
                 workers=[w, Worker(1, 0.3, 0.3)], checkpoint_hours=0.0, checkpoint_cost=0.0,
                 incumbent=[], budget={})
    assert led.utilization == 1.0
    js = led.to_json()
    assert js["utilization"] == 1.0 and [x["utilization"] for x in js["workers"]] == [1.0, 1.0]
    assert Worker(0, 0.5, 1.0).utilization == 0.5


def test_hours_keep_four_significant_digits_and_money_survives_non_finite() -> None:
    assert [_hours(x) for x in (0.0, 3.11e-07, 0.0000491, 0.0040, 0.7691, 2.2549, 47.4576,
                                0.99999999, 1234.5, 8.9e-16, math.inf)] == [
        "0", "3.11e-07", "0.00004910", "0.004000", "0.7691", "2.255", "47.46", "1.000",
        "1,234", "8.9e-16", "inf"]
    assert _hours(8.9e-16, 9.51) == "0"  # float noise next to 9.51
    assert [_money(x) for x in (math.inf, -math.inf, math.nan)] == ["inf", "-inf", "nan"]
    led = Ledger(prices={"cpu": 1e308}, max_step=3, by_outcome={"completed": Spend(
                     math.inf, 2.0, 0.0, 3, 1)}, total=Spend(math.inf, 2.0, 0.0, 3, 1),
                 devices={"cpu": 2.0}, full_cost=math.inf, full_device_hours=2.0,
                 idle_hours=0.0, idle_cost=math.nan, workers=[Worker(0, 1.0, 1.0)],
                 checkpoint_hours=0.0, checkpoint_cost=0.0, incumbent=[], budget={})
    lines = render(led, "x").splitlines()
    assert lines[3] == "completed         1        3      2.000        0          inf"
    assert "utilization 100.0% over 1 worker slots; idle 0 worker-h (would cost nan, not " \
           "charged to the budget)" in lines
