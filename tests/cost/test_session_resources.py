"""``CapacityChanged(resources=None)``: what a trial holds stays what the last executor that
said reported, across sessions too; the engine's meter and the ledger agree."""

from __future__ import annotations

import pytest

import rung
from rung.core.engine import Engine
from rung.executors.simulated import SimulatedExecutor


class Bench:
    max_step = 1

    def evaluate(self, params: dict[str, float], step: int) -> tuple[dict[str, float], float]:
        return {"loss": params["x"]}, 60.0


class Stop(Exception):
    pass


def test_a_session_that_reports_nothing_keeps_the_last_reported_resources() -> None:
    study = rung.Study.create("r", {"x": rung.Float(0.0, 1.0)}, objective="loss",
                              searcher="random", scheduler="fifo",
                              budget=rung.Budget(n_trials=6), prices={"gpu": 3600.0})

    def after_two(engine: Engine) -> None:
        if len(engine.history) >= 2:
            raise Stop

    with pytest.raises(Stop):  # session 1: trials hold a GPU, as the executor says
        study.run(lambda ctx: None, executor=SimulatedExecutor(Bench(), 1,
                  resources_per_trial={"gpu": 1}), progress=False, on_turn=after_two)
    study.simulate(Bench(), n_workers=1)  # session 2: the executor says nothing
    assert len(study.trials()) == 6
    meter = study.engine.meter
    assert dict(meter.resources) == {"gpu": 1.0}  # not the spec's one CPU
    assert meter.cost == pytest.approx(3600.0 * meter.gpu_hours)
    assert meter.gpu_hours == pytest.approx(meter.device_hours)
    assert meter.gpu_hours >= 6 * 60.0 / 3600 - 1e-9
    led = study.ledger()
    assert set(led.devices) == {"gpu"}
    assert led.total.cost == pytest.approx(meter.cost, rel=1e-9)
