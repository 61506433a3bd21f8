"""An executor's report of what a trial holds (``CapacityChanged.resources``) whose hourly rate
at the study's prices is not a finite number, after the session's first report, is not applied:
the engine's meter, the ledger's fold and every cost stay finite with what trials held before
(``rung.core.pricing.reported_resources``), and the driver warns once per such report naming it
(``rung.driver.warn_unpriceable``). The search goes on."""

from __future__ import annotations

import logging
import math

import pytest

import rung
from rung.core.engine import Engine
from rung.core.events import (
    CapacityChanged,
    Command,
    Event,
    Launch,
    Record,
    ResultReported,
    TrialEnded,
)
from rung.core.pricing import reported_resources
from rung.core.records import ComponentSpec, Objective, Outcome, StudySpec
from rung.cost.ledger import ledger
from rung.driver import warn_unpriceable


def _spec() -> StudySpec:
    return StudySpec(
        name="s", space=rung.SearchSpace({"x": rung.Float(0.0, 1.0)}),
        objective=Objective("loss"), searcher=ComponentSpec("random"),
        scheduler=ComponentSpec("fifo"), max_step=1, budget=rung.Budget(n_trials=3),
        prices={"cpu": 2.0},
    )


def test_reported_resources_keeps_what_was_held_when_the_rate_overflows() -> None:
    assert reported_resources({"cpu": 2.0}, {"cpu": 3.0}, {"cpu": 1.0}) == {"cpu": 3.0}
    assert reported_resources({"cpu": 2.0}, {"cpu": 1e308}, {"cpu": 1.0}) == {"cpu": 1.0}
    # an unpriced device charges nothing, whatever its amount
    assert reported_resources({"cpu": 2.0}, {"gpu": 1e308}, {"cpu": 1.0}) == {"gpu": 1e308}


def test_a_mid_run_report_that_overflows_leaves_costs_finite() -> None:
    eng = Engine.from_spec(_spec())
    records: list[Record] = []

    def feed(ev: Event) -> list[Command]:
        cmds = eng.handle(ev)
        records.extend([ev, *cmds])
        return cmds

    first = feed(CapacityChanged(1, 0.0, True, resources={"cpu": 1}))
    assert [c.trial_id for c in first if isinstance(c, Launch)] == [0]
    feed(ResultReported(0, 1, {"loss": 0.5}, 3600.0))
    # the executor now says a trial holds 1e308 CPUs: 2e308 per hour is not a number
    feed(CapacityChanged(1, 3600.0, False, resources={"cpu": 1e308}))
    second = feed(TrialEnded(0, Outcome.COMPLETED, 3600.0))
    assert [c.trial_id for c in second if isinstance(c, Launch)] == [1]
    feed(ResultReported(1, 1, {"loss": 0.4}, 7200.0))
    feed(TrialEnded(1, Outcome.COMPLETED, 7200.0))
    assert eng.meter.resources == {"cpu": 1.0}
    assert eng.meter.cost == pytest.approx(4.0)  # two runs of an hour at 2 per hour
    led = ledger(eng.spec, records)
    assert math.isfinite(led.total.cost) and led.total.cost == pytest.approx(eng.meter.cost)


def test_the_driver_warns_naming_the_report(caplog: pytest.LogCaptureFixture) -> None:
    eng = Engine.from_spec(_spec())
    eng.handle(CapacityChanged(1, 0.0, True, resources={"cpu": 1}))
    with caplog.at_level(logging.WARNING, logger="rung.driver"):
        warn_unpriceable(eng, [CapacityChanged(1, 1.0, False, resources={"cpu": 1e308})], None)
        warn_unpriceable(eng, [CapacityChanged(1, 2.0, False, resources={"cpu": 4})], None)
    assert [r.getMessage() for r in caplog.records] == [
        "the executor reported what a trial holds, but prices.cpu: 2 per device-hour for "
        "cpu=1e+308 a trial holds is not a finite hourly rate (it overflows a float): price in "
        "larger units of money, or hold fewer devices; trials launched from now on are charged "
        "as before (cpu=1)"]
