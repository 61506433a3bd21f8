"""Budget(max_cost=..., max_gpu_hours=...): enforced by the engine like max_steps. No trial or
lease starts once the money is spent, and the spend never passes the limit by more than one
step (its start-up included) per worker."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rung
from rung.core.events import Launch
from rung.errors import ConfigError

PRICES = {"cpu": 3600.0}  # one money per CPU-second: costs read as seconds


class StepBench:
    """Each configuration's steps take a fixed number of seconds, from 1 to 20."""

    def __init__(self, max_step: int) -> None:
        self.max_step = max_step

    def seconds(self, params: dict[str, Any]) -> float:
        return 1.0 + 19.0 * float(params["x"])

    def evaluate(self, params: dict[str, Any], step: int) -> tuple[dict[str, float], float]:
        return {"loss": params["x"] + 1.0 / step}, self.seconds(params)


@settings(max_examples=25, deadline=None)
@given(
    n_workers=st.sampled_from([1, 2, 3, 8]),
    max_cost=st.floats(50.0, 2000.0),
    scheduler=st.sampled_from(["fifo", "asha"]),
    launch_delay=st.sampled_from([0.0, 5.0]),
    seed=st.integers(0, 3),
)
def test_max_cost_overshoot_is_at_most_one_step_per_worker(
    n_workers: int, max_cost: float, scheduler: str, launch_delay: float, seed: int
) -> None:
    bench = StepBench(max_step=9)
    study = rung.Study.create(
        "b", {"x": rung.Float(0.0, 1.0)}, objective="loss", searcher="random",
        scheduler=scheduler, max_step=9, budget=rung.Budget(max_cost=max_cost), seed=seed,
        prices=PRICES,
    )
    study.simulate(bench, n_workers=n_workers, launch_delay=launch_delay)
    spent = study.engine.meter.cost
    assert spent >= max_cost  # the run ended because the money was spent
    # one step per worker, its start-up included, at the slowest step of the space
    assert spent - max_cost <= n_workers * (20.0 + launch_delay) + 1e-6
    led = study.ledger()
    assert led.total.cost == pytest.approx(spent, rel=1e-9)
    assert led.budget["overshoot_cost"] == pytest.approx(spent - max_cost, abs=1e-6)


def test_no_launch_once_spent_and_running_trials_stop() -> None:
    study = rung.Study.create(
        "c", {"x": rung.Float(0.0, 1.0)}, objective="loss", searcher="random",
        scheduler="fifo", max_step=50, budget=rung.Budget(max_cost=100.0), prices=PRICES,
    )
    study.simulate(StepBench(max_step=50), n_workers=4)
    records = study.journal.read("c")
    spent_at: float | None = None
    cost = 0.0
    # replaying the journal: after the first event at which the engine's account reached the
    # limit, no Launch appears
    eng = rung.Study.create(
        "c2", {"x": rung.Float(0.0, 1.0)}, objective="loss", searcher="random",
        scheduler="fifo", max_step=50, budget=rung.Budget(max_cost=100.0), prices=PRICES,
    ).engine
    for i, r in enumerate(records):
        if isinstance(r, Launch):
            assert spent_at is None, f"launch at record {i} after the budget was spent"
            continue
        if hasattr(r, "time") and not isinstance(r, Launch):
            eng.handle(r)  # type: ignore[arg-type]
            cost = eng.meter.cost
            if cost >= 100.0 and spent_at is None:
                spent_at = i
    assert spent_at is not None
    reasons = {t.status.value for t in study.trials()}
    assert "stopped" in reasons  # running trials were stopped at their next report


def test_max_gpu_hours() -> None:
    study = rung.Study.create(
        "g", {"x": rung.Float(0.0, 1.0)}, objective="loss", searcher="random",
        scheduler="fifo", max_step=9, budget=rung.Budget(max_gpu_hours=0.05),
        resources_per_trial={"cpu": 1, "gpu:A100": 1}, prices={"gpu:A100": 3.2},
    )
    study.simulate(StepBench(max_step=9), n_workers=2)
    gh = study.engine.meter.gpu_hours
    assert 0.05 <= gh <= 0.05 + 2 * 20.0 / 3600 + 1e-12
    led = study.ledger()
    assert led.total.gpu_hours == pytest.approx(gh, rel=1e-9)
    assert led.total.cost == pytest.approx(gh * 3.2, rel=1e-9)
    assert led.devices["cpu"] == pytest.approx(gh, rel=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"budget": {"max_cost": 0}, "prices": {"cpu": 1.0}}, "budget.max_cost"),
        ({"budget": {"max_cost": -5.0}, "prices": {"cpu": 1.0}}, "budget.max_cost"),
        ({"budget": {"max_gpu_hours": 0}}, "budget.max_gpu_hours"),
        ({"budget": {"max_cost": 10.0}}, "budget.max_cost"),  # no prices
        ({"budget": {"n_trials": 5}, "prices": {"cpu": -1.0}}, "prices.cpu"),
        ({"budget": {"n_trials": 5}, "prices": {"tpu": 1.0}}, "prices.tpu"),
        ({"budget": {"n_trials": 5}, "resources_per_trial": {"fpga": 1}},
         "resources_per_trial.fpga"),
        ({"budget": {"max_gpu_hours": 1.0}, "resources_per_trial": {"cpu": 4}},
         "budget.max_gpu_hours"),  # no GPU: never spent
        ({"budget": {"n_trials": 5, "stop": 3}}, "budget.stop"),
        ({"budget": {"n_trials": 5, "stop": "never"}}, "budget.stop"),
        ({"budget": {"n_trials": 5, "stop": {"name": "auto", "params": {"min_trials": 1}}}},
         "budget.stop.params.min_trials"),
    ],
)
def test_bad_inputs_name_the_key(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as e:
        rung.Study.create("bad", {"x": rung.Float(0.0, 1.0)}, objective="loss",
                          searcher="random", scheduler="fifo", **kwargs)
    assert e.value.key == key


@pytest.mark.parametrize(
    ("stop", "line"),
    [
        ("sometimes", "budget.stop: unknown stop_rule 'sometimes' (known: auto)"),
        ({"name": "auto", "params": {"bogus": 1}},
         "budget.stop.params.bogus: 'auto' takes no parameter 'bogus' (accepted: delta, every, "
         "lattice, max_points, min_trials, n_candidates, n_val, noise, noise_metric, "
         "noise_scale, tail, threshold, value)"),
    ],
)
def test_a_bad_stop_rule_names_budget_stop(stop: Any, line: str) -> None:
    """The registry's kind (stop_rule) is not a key of the spec: errors name budget.stop."""
    with pytest.raises(ConfigError) as e:
        rung.Study.create("bad", {"x": rung.Float(0.0, 1.0)}, objective="loss",
                          searcher="random", scheduler="fifo",
                          budget={"n_trials": 5, "stop": stop})
    assert str(e.value) == line


def test_budget_json_round_trip_keeps_old_form() -> None:
    assert rung.Budget(n_trials=3).to_json() == {"n_trials": 3, "max_time": None,
                                                 "max_steps": None}
    b = rung.Budget(max_cost=40.0, max_gpu_hours=2.0, stop="auto")
    assert rung.Budget.from_json(b.to_json()) == b
    assert b.to_json()["stop"] == {"name": "auto", "params": {}}
    assert rung.Budget(stop=rung.StopRule(min_trials=5)).stop.params["min_trials"] == 5


def test_a_max_cost_study_replays_exactly() -> None:
    from rung.storage import MemoryJournal

    journal = MemoryJournal()
    study = rung.Study.create(
        "rp", {"x": rung.Float(0.0, 1.0)}, objective="loss", searcher="random",
        scheduler="asha", max_step=9, budget=rung.Budget(max_cost=300.0), prices=PRICES,
        storage=journal,
    )
    study.simulate(StepBench(max_step=9), n_workers=3)
    again = rung.Study.load("rp", journal)  # raises ReplayDivergenceError if a lease differs
    assert again.engine.meter.cost == study.engine.meter.cost
    assert len(again.trials()) == len(study.trials())
    assert again.ledger().total.cost == pytest.approx(study.engine.meter.cost, rel=1e-12)
