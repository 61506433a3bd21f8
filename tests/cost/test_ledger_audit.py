"""The ledger agrees with the study's own reading of the journal: its incumbent ends at the
trial ``best_trial`` names; its session time spans what the runs are charged over, for a
study driven by ask / tell too."""

from __future__ import annotations

import pytest

import rung
from rung.core.engine import Engine
from rung.core.events import (
    CapacityChanged,
    Event,
    Record,
    ResultReported,
    TrialEnded,
    TrialStarted,
)
from rung.core.records import ComponentSpec, Objective, Outcome, StudySpec
from rung.cost.ledger import ledger


def _spec(**kw: object) -> StudySpec:
    return StudySpec(
        name="s", space=rung.SearchSpace({"x": rung.Float(0.0, 1.0)}),
        objective=Objective("loss"), searcher=ComponentSpec("random"),
        scheduler=ComponentSpec("fifo"), max_step=3, budget=rung.Budget(n_trials=3),
        prices={"cpu": 1.0}, **kw,  # type: ignore[arg-type]
    )


def _feed(eng: Engine, events: list[Event]) -> list[Record]:
    records: list[Record] = []
    for ev in events:
        records.append(ev)
        records.extend(eng.handle(ev))
    return records


def test_a_trial_that_completed_below_max_step_is_an_incumbent() -> None:
    """One worker, one CPU at 1 per hour. Trial 0's objective returns after step 1 (0.5, at
    720 s): ``best_trial`` counts its last result as final. Trial 1 does the same after step 2
    (0.3, at 1800 s); trial 2 reaches max_step at 0.4, no better. The incumbent is 0.5 after
    0.2 money, then 0.3 after 0.5 (0.3 spent for 0.2 of improvement: 1.5 per unit)."""
    eng = Engine.from_spec(_spec())
    records = _feed(eng, [
        CapacityChanged(1, 0.0, True),
        ResultReported(0, 1, {"loss": 0.5}, 360.0),
        TrialEnded(0, Outcome.COMPLETED, 720.0),
        ResultReported(1, 1, {"loss": 0.6}, 1080.0),
        ResultReported(1, 2, {"loss": 0.3}, 1440.0),
        TrialEnded(1, Outcome.COMPLETED, 1800.0),
        ResultReported(2, 3, {"loss": 0.4}, 2160.0),
        TrialEnded(2, Outcome.COMPLETED, 2160.0),
    ])
    assert eng.history.best_trial_id() == 1
    led = ledger(eng.spec, records)
    got = [(i.trial_id, i.time, i.value) for i in led.incumbent]
    assert got == [(0, 720.0, 0.5), (1, 1800.0, 0.3)]
    assert [i.cost for i in led.incumbent] == pytest.approx([0.2, 0.5], rel=1e-12)
    assert led.incumbent[1].cost_per_unit == pytest.approx(1.5, rel=1e-9)


def test_a_stopped_or_failed_trial_below_max_step_is_not_an_incumbent() -> None:
    """Only a trial that completed by itself has a final result below max_step."""
    eng = Engine.from_spec(_spec())
    records = _feed(eng, [
        CapacityChanged(1, 0.0, True),
        ResultReported(0, 1, {"loss": 0.1}, 360.0),
        TrialEnded(0, Outcome.STOPPED, 720.0),
        ResultReported(1, 2, {"loss": 0.2}, 1080.0),
        TrialEnded(1, Outcome.FAILED, 1080.0, "boom"),
        ResultReported(2, 3, {"loss": 0.7}, 1440.0),
        TrialEnded(2, Outcome.COMPLETED, 1440.0),
    ])
    assert eng.history.best_trial_id() == 2
    assert [(i.trial_id, i.value) for i in ledger(eng.spec, records).incumbent] == [(2, 0.7)]


def test_ask_and_tell_early_completion_is_the_ledgers_incumbent() -> None:
    """Through the facade: trials report two steps of ten and are told completed."""
    study = rung.Study.create(
        "early", {"x": rung.Float(0.0, 1.0)}, objective="loss", searcher="random",
        scheduler="fifo", max_step=10, budget=rung.Budget(n_trials=3), prices={"cpu": 1.0})
    for loss in (0.8, 0.6, 0.7):
        t = study.ask()
        assert t is not None
        study.report(t.id, 1, {"loss": loss + 0.1})
        study.report(t.id, 2, {"loss": loss})
        study.tell(t.id, "completed")
    best = study.best_trial
    assert best is not None and (best.id, best.value) == (1, 0.6)
    assert [(i.trial_id, i.value) for i in study.ledger().incumbent] == [(0, 0.8), (1, 0.6)]


def test_session_time_spans_each_session_from_its_start() -> None:
    """Session 1: capacity at 0 (workers start), the trial starts at 100, a result at 400;
    session 2 at 10,000, the trial ends at 10,250. The sessions span 400 + 250 s (start-up
    included, the gap not), what the runs are charged over (650 s of one CPU at 1 per hour)."""
    eng = Engine.from_spec(_spec())
    records = _feed(eng, [
        CapacityChanged(1, 0.0, True),
        TrialStarted(0, 100.0),
        ResultReported(0, 1, {"loss": 0.5}, 400.0),
        CapacityChanged(1, 10000.0, True),
        TrialEnded(0, Outcome.INTERRUPTED, 10000.0, "driver stopped"),
    ])
    records += _feed(eng, [TrialStarted(0, 10050.0), ResultReported(0, 2, {"loss": 0.4}, 10100.0),
                           TrialEnded(0, Outcome.STOPPED, 10250.0)])
    led = ledger(eng.spec, records)
    assert led.wall_hours * 3600 == pytest.approx(650.0, rel=1e-12)
    assert led.total.cost == pytest.approx(650.0 / 3600, rel=1e-12)
    assert led.utilization == pytest.approx(1.0)


def test_an_ask_and_tell_study_has_session_time() -> None:
    """A study driven by ask / tell opens no session record: its session runs from its first
    event to its last (it was 0), and holds every run's charged time."""
    study = rung.Study.create(
        "at", {"x": rung.Float(0.0, 1.0)}, objective="loss", searcher="random",
        scheduler="fifo", budget=rung.Budget(n_trials=2))
    for _ in range(2):
        t = study.ask()
        assert t is not None
        study.report(t.id, 1, {"loss": 0.5})
        study.tell(t.id, "completed")
    times = [r.time for r in study.journal.read("at") if hasattr(r, "time")]
    led = study.ledger()
    assert led.wall_hours * 3600 == pytest.approx(max(times) - min(times), rel=1e-12)
    assert 0 < led.total.device_hours <= led.wall_hours


def test_a_final_result_replaced_by_a_later_one_counts_at_its_new_value() -> None:
    """Trial 0 reports max_step (0.3), then is told completed with final metrics at 0.35: its
    result at max_step is now 0.35, in the history and for ``best_trial``, which names trial
    1 (0.32). The ledger kept 0.3 as the incumbent and never listed trial 1."""
    study = rung.Study.create(
        "r", {"x": rung.Float(0.0, 1.0)}, objective="loss", searcher="random",
        scheduler="fifo", max_step=3, budget=rung.Budget(n_trials=2), prices={"cpu": 1.0})
    t = study.ask()
    assert t is not None
    study.report(t.id, 3, {"loss": 0.3})
    study.tell(t.id, "completed", {"loss": 0.35})
    t = study.ask()
    assert t is not None
    study.report(t.id, 3, {"loss": 0.32})
    study.tell(t.id, "completed")
    best = study.best_trial
    assert best is not None and (best.id, best.value) == (1, 0.32)
    assert [(i.trial_id, i.value) for i in study.ledger().incumbent] == [(0, 0.35), (1, 0.32)]


def test_a_restarted_trial_counts_with_its_last_result_at_max_step() -> None:
    """Trial 0 reaches max_step at 0.2 (600 s), its driver stops before it ends, and the
    restarted run reaches max_step again at 0.6 (12,600 s); trial 1 then ends at 0.4. The
    incumbent is trial 0 at 0.6, then trial 1 at 0.4, as ``best_trial`` reads the history."""
    eng = Engine.from_spec(_spec())
    records = _feed(eng, [
        CapacityChanged(1, 0.0, True),
        ResultReported(0, 3, {"loss": 0.2}, 600.0),
        CapacityChanged(1, 12000.0, True),
        TrialEnded(0, Outcome.INTERRUPTED, 12000.0, "driver stopped"),
    ])
    records += _feed(eng, [ResultReported(0, 3, {"loss": 0.6}, 12600.0),
                           TrialEnded(0, Outcome.COMPLETED, 12600.0),
                           ResultReported(1, 3, {"loss": 0.4}, 13200.0),
                           TrialEnded(1, Outcome.COMPLETED, 13200.0)])
    assert eng.history.best_trial_id() == 1
    led = ledger(eng.spec, records)
    got = [(i.trial_id, i.time, i.value) for i in led.incumbent]
    assert got == [(0, 12600.0, 0.6), (1, 13200.0, 0.4)]
    # trial 0 held the worker 600 s, then 600 s more; trial 1 600 s: at 1 per hour
    assert [i.cost for i in led.incumbent] == pytest.approx([1200 / 3600, 1800 / 3600])


def test_idle_time_is_priced_at_its_own_sessions_rate() -> None:
    """Session 1: two CPU workers (1 per hour), one trial for an hour: one idle worker-hour,
    worth 1. Session 2's executor reports a GPU (10 per hour): that does not reprice session
    1's idle hour (it read 10)."""
    spec = StudySpec(
        name="s", space=rung.SearchSpace({"x": rung.Float(0.0, 1.0)}),
        objective=Objective("loss"), searcher=ComponentSpec("random"),
        scheduler=ComponentSpec("fifo"), max_step=1, budget=rung.Budget(n_trials=1),
        prices={"cpu": 1.0, "gpu": 10.0})
    eng = Engine.from_spec(spec)
    records = _feed(eng, [
        CapacityChanged(2, 0.0, True, resources={"cpu": 1}),
        ResultReported(0, 1, {"loss": 0.5}, 3600.0),
        TrialEnded(0, Outcome.COMPLETED, 3600.0),
        CapacityChanged(1, 10000.0, True, resources={"gpu": 1}),
    ])
    led = ledger(spec, records)
    assert led.idle_hours == pytest.approx(1.0, rel=1e-12)
    assert led.idle_cost == pytest.approx(1.0, rel=1e-12)
    assert led.total.cost == pytest.approx(1.0, rel=1e-12)
