"""The ledger is a fold over the journal: its sums equal what the journal's events say
(a scripted journal, numbers computed by hand), and the engine's own account."""

from __future__ import annotations

import pytest

import rung
from rung.core.engine import Engine
from rung.core.events import (
    CapacityChanged,
    CheckpointSaved,
    Command,
    Event,
    Launch,
    Record,
    ResultReported,
    TrialEnded,
)
from rung.core.records import ComponentSpec, Objective, Outcome, StudySpec
from rung.cost.ledger import ledger


def _spec(**kw: object) -> StudySpec:
    return StudySpec(
        name="s", space=rung.SearchSpace({"x": rung.Float(0.0, 1.0)}),
        objective=Objective("loss"), searcher=ComponentSpec("random"),
        scheduler=ComponentSpec("fifo"), max_step=3, budget=rung.Budget(n_trials=3),
        prices={"cpu": 1.0, "gpu": 2.0}, **kw,  # type: ignore[arg-type]
    )


def _script() -> tuple[Engine, list[Record]]:
    """Two workers holding one CPU and one GPU each (3 money per hour). Times are multiples of
    180 s (0.05 h): trial 0 runs 0-1080 s (3 steps, completed), trial 1 0-720 s (1 step,
    stopped), trial 2 720-1260 s (1 step, a checkpoint saved in 180 s, paused)."""
    eng = Engine.from_spec(_spec())
    records: list[Record] = []

    def feed(ev: Event) -> list[Command]:
        cmds = eng.handle(ev)
        records.append(ev)
        records.extend(cmds)
        return cmds

    launched = feed(CapacityChanged(2, 0.0, True, resources={"cpu": 1, "gpu": 1}))
    assert [c.trial_id for c in launched if isinstance(c, Launch)] == [0, 1]
    feed(ResultReported(0, 1, {"loss": 0.5}, 360.0))
    feed(ResultReported(0, 2, {"loss": 0.4}, 720.0))
    feed(ResultReported(1, 1, {"loss": 0.9}, 720.0))
    third = feed(TrialEnded(1, Outcome.STOPPED, 720.0))
    assert [c.trial_id for c in third if isinstance(c, Launch)] == [2]
    feed(ResultReported(0, 3, {"loss": 0.3}, 1080.0))
    feed(TrialEnded(0, Outcome.COMPLETED, 1080.0))
    feed(ResultReported(2, 1, {"loss": 0.7}, 1080.0))
    feed(CheckpointSaved(2, 1, "c/2", 1260.0))
    feed(TrialEnded(2, Outcome.PAUSED, 1260.0))
    return eng, records


def test_sums_equal_the_journal_and_the_engine() -> None:
    eng, records = _script()
    led = ledger(eng.spec, records)
    by = led.by_outcome
    assert set(by) == {"completed", "stopped", "paused"}
    # hours held x 3 money per hour; device-hours x 2 devices; GPU-hours x 1
    assert by["completed"].cost == pytest.approx(0.30 * 3, rel=1e-12)
    assert by["stopped"].cost == pytest.approx(0.20 * 3, rel=1e-12)
    assert by["paused"].cost == pytest.approx(0.15 * 3, rel=1e-12)
    assert (by["completed"].steps, by["stopped"].steps, by["paused"].steps) == (3, 1, 1)
    assert led.total.cost == pytest.approx(1.95, rel=1e-12)
    assert led.total.device_hours == pytest.approx(1.30, rel=1e-12)
    assert led.total.gpu_hours == pytest.approx(0.65, rel=1e-12)
    assert led.total.steps == eng.history.steps_consumed == 5
    assert led.total.runs == 3 and led.trials == 3
    assert led.devices == pytest.approx({"cpu": 0.65, "gpu": 0.65}, rel=1e-12)
    # the engine charged the same (Budget.max_cost is enforced on this number)
    assert led.total.cost == pytest.approx(eng.meter.cost, rel=1e-12)
    assert led.total.gpu_hours == pytest.approx(eng.meter.gpu_hours, rel=1e-12)
    assert led.budget["cost"] == pytest.approx(eng.meter.cost, rel=1e-12)


def test_saving_idle_workers_checkpoints_and_incumbent() -> None:
    eng, records = _script()
    led = ledger(eng.spec, records)
    # each trial at its own hours per step, trained to max_step = 3 once, straight through:
    # trial 2's checkpoint save (0.05 h) is not a step's time, and a straight run saves none
    assert led.full_cost == pytest.approx((0.30 + 0.20 * 3 + 0.10 * 3) * 3, rel=1e-12)
    assert led.saving == pytest.approx(led.full_cost - 1.95, rel=1e-12)
    assert led.saved_fraction == pytest.approx(1 - 1.30 / (1.20 * 2), rel=1e-12)
    # 2 workers x 1260 s offered, 2340 s held: 180 s idle, priced at 3 per hour
    assert led.idle_hours == pytest.approx(0.05, rel=1e-12)
    assert led.idle_cost == pytest.approx(0.15, rel=1e-12)
    assert [w.busy_hours for w in led.workers] == pytest.approx([0.30, 0.35], rel=1e-12)
    assert [w.utilization for w in led.workers] == pytest.approx([0.30 / 0.35, 1.0])
    assert led.utilization == pytest.approx(0.65 / 0.70)
    assert led.checkpoint_hours == pytest.approx(0.05, rel=1e-12)
    assert led.checkpoint_cost == pytest.approx(0.15, rel=1e-12)
    # one result at max_step: the incumbent, reached at 1080 s after trial 0 (0.9), trial 1
    # (0.6) and trial 2's 360 s in flight since its launch at 720 s (0.3): its own next record
    # comes later (the ledger left it out, 1.5)
    assert len(led.incumbent) == 1
    first = led.incumbent[0]
    assert (first.trial_id, first.time) == (0, 1080.0)
    assert first.value == pytest.approx(0.3)
    assert first.cost == pytest.approx(1.8, rel=1e-12)
    assert first.device_hours == pytest.approx(1.2, rel=1e-12)
    assert led.to_json()["total"]["cost"] == pytest.approx(1.95)


def test_session_gap_is_not_charged() -> None:
    """A driver that stopped at t=500 and resumed at t=10000: the interrupted run is charged
    up to 500 only, in the engine and in the ledger alike."""
    eng = Engine.from_spec(_spec())
    records: list[Record] = []
    for ev in (CapacityChanged(1, 0.0, True), ResultReported(0, 1, {"loss": 1.0}, 500.0),
               CapacityChanged(0, 10000.0, True),
               TrialEnded(0, Outcome.INTERRUPTED, 10000.0, "driver stopped")):
        records.append(ev)
        records.extend(eng.handle(ev))
    led = ledger(eng.spec, records)
    assert led.by_outcome["interrupted"].cost == pytest.approx(500 / 3600 * 1.0, rel=1e-12)
    assert eng.meter.cost == pytest.approx(500 / 3600, rel=1e-12)


def test_a_study_ledger_and_frame() -> None:
    study = rung.Study.create(
        "l", {"x": rung.Float(0.0, 1.0)}, objective="loss", searcher="random",
        scheduler=rung.ASHA(reduction_factor=3), max_step=9, budget=rung.Budget(n_trials=12),
        prices=rung.Prices({"cpu": 0.5}),
    )

    class Bench:
        max_step = 9

        def evaluate(self, params: dict[str, float], step: int) -> tuple[dict[str, float], float]:
            return {"loss": params["x"] + 1.0 / step}, 60.0

    study.simulate(Bench(), n_workers=3)
    led = study.ledger()
    assert led.total.steps == study.engine.history.steps_consumed
    assert led.total.cost == pytest.approx(study.engine.meter.cost, rel=1e-9)
    # every step takes 60 s on one CPU at 0.5 per hour
    assert led.total.cost == pytest.approx(led.total.steps * 60 / 3600 * 0.5, rel=1e-9)
    assert led.saving > 0  # ASHA stopped trials early
    assert sum(s.runs for s in led.by_outcome.values()) == led.total.runs
    pd = pytest.importorskip("pandas")
    frame = led.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert frame.loc["total", "steps"] == led.total.steps


def test_executor_resources_win_over_the_spec() -> None:
    """The simulated executor says each trial holds an A100: the ledger and the engine charge
    the A100's price, not the spec's one CPU."""
    from rung.executors.simulated import SimulatedExecutor

    class Bench:
        max_step = 2

        def evaluate(self, params: dict[str, float], step: int) -> tuple[dict[str, float], float]:
            return {"loss": params["x"]}, 360.0

    study = rung.Study.create(
        "r", {"x": rung.Float(0.0, 1.0)}, objective="loss", searcher="random",
        scheduler="fifo", max_step=2, budget=rung.Budget(n_trials=4),
        prices={"cpu": 1.0, "gpu:A100": 10.0}, resources_per_trial={"cpu": 1},
    )
    ex = SimulatedExecutor(Bench(), 2, resources_per_trial={"gpu:A100": 1})
    study.run(lambda ctx: None, executor=ex, progress=False)
    led = study.ledger()
    # 4 trials x 2 steps x 0.1 h on one A100 at 10 per hour
    assert led.total.cost == pytest.approx(8.0, rel=1e-12)
    assert led.devices == pytest.approx({"gpu:A100": 0.8})
    assert study.engine.meter.cost == pytest.approx(8.0, rel=1e-12)


def test_checkpoint_save_and_restore_time() -> None:
    """A hand-written journal (the ledger needs no engine): trial 0 trains steps 1-2 (100 s
    each), saves a checkpoint in 50 s, pauses, and is resumed from it; its first step after the
    restore takes 180 s, 80 s more than its median step. Checkpoint overhead: 50 + 80 s."""
    params = {"x": 0.5}
    records: list[Record] = [
        CapacityChanged(1, 0.0, True),
        Launch(0, params, 1, 3, 3, None),
        ResultReported(0, 1, {"loss": 0.9}, 100.0),
        ResultReported(0, 2, {"loss": 0.8}, 200.0),
        CheckpointSaved(0, 2, "c/0", 250.0),
        TrialEnded(0, Outcome.PAUSED, 250.0),
        Launch(0, params, 3, 3, 3, "c/0"),
        ResultReported(0, 3, {"loss": 0.7}, 430.0),
        TrialEnded(0, Outcome.COMPLETED, 430.0),
    ]
    led = ledger(_spec(), records)
    assert led.checkpoint_hours == pytest.approx(130 / 3600, rel=1e-12)
    assert led.checkpoint_cost == pytest.approx(130 / 3600 * 1.0, rel=1e-12)  # one CPU at 1/h
    assert led.by_outcome["paused"].steps == 2 and led.by_outcome["completed"].steps == 1
    assert led.total.cost == pytest.approx(430 / 3600, rel=1e-12)
    assert led.total.runs == 2 and led.trials == 1
    # trained once, straight to max_step, it would have held its 3 steps of 100 s and paid no
    # checkpoint: pausing it cost 130 s more than it saved (a saving of minus the overhead)
    assert led.full_cost == pytest.approx(300 / 3600, rel=1e-12)
    assert led.saving == pytest.approx(-130 / 3600, rel=1e-12)


def test_render_without_prices_speaks_in_device_hours() -> None:
    """Unpriced, every money figure is 0: ``rung ledger`` gives the saving and the price of
    each improvement in device-hours, and says when it shows only the last 8 improvements.
    Ten trials of 360 s (0.1 h) one after another, each 0.1 better than the one before."""
    from rung.cli.ledger import render

    spec = StudySpec(
        name="u", space=rung.SearchSpace({"x": rung.Float(0.0, 1.0)}),
        objective=Objective("loss"), searcher=ComponentSpec("random"),
        scheduler=ComponentSpec("fifo"), max_step=3, budget=rung.Budget(n_trials=10),
    )
    records: list[Record] = [CapacityChanged(1, 0.0, True)]
    for i in range(10):
        records += [Launch(i, {"x": 0.5}, 1, 3, 3, None),
                    ResultReported(i, 3, {"loss": 1.0 - 0.1 * i}, 360.0 * (i + 1)),
                    TrialEnded(i, Outcome.COMPLETED, 360.0 * (i + 1))]
    lines = render(ledger(spec, records), "u").splitlines()
    assert lines[6:] == [
        "device-hours by device: cpu 1.000 h",
        "trained to max_step (3) every trial would have taken 1.000 device-h: the scheduler "
        "saved 0 device-h (0.0%)",
        "utilization 100.0% over 1 worker slots; idle 0 worker-h",
        "  per worker: 100%",
        "checkpoints: 0.0 s saving and restoring",
        "incumbent (best final value) and what each improvement cost (the last 8 of 10):",
        *[f"  trial {i:>5}: {1.0 - 0.1 * i:.6g} after {hours} device-h, 1.000 "
          "device-h per unit" for i, hours in zip(range(2, 10), [
              "0.3000", "0.4000", "0.5000", "0.6000", "0.7000", "0.8000", "0.9000", "1.000"],
                                                    strict=True)],
        "note: no prices: money is 0 (device-hours are measured)",
    ]


def test_a_slot_above_a_shrunk_capacity_is_available_while_a_run_holds_it() -> None:
    """Four runs of 200 s; at 100 s the executor's capacity drops to 2 (a node lost, say)
    while all four still run: every slot is busy all the time it is held, none over 100%."""
    recs: list[Record] = [CapacityChanged(4, 0.0, True)]
    recs += [Launch(i, {"x": 0.5}, 1, 3, 3, None) for i in range(4)]
    recs += [CapacityChanged(2, 100.0, False)]
    recs += [ResultReported(0, 1, {"loss": 0.5}, 150.0), TrialEnded(0, Outcome.STOPPED, 150.0)]
    for i in range(1, 4):
        recs += [ResultReported(i, 1, {"loss": 0.5}, 200.0), TrialEnded(i, Outcome.STOPPED, 200.0)]
    led = ledger(_spec(), recs)
    assert [(w.busy_hours * 3600, w.available_hours * 3600) for w in led.workers] == [
        pytest.approx((150.0, 200.0)), pytest.approx((200.0, 200.0)),
        pytest.approx((200.0, 200.0)), pytest.approx((200.0, 200.0))]
    assert led.utilization == pytest.approx(750.0 / 800.0)
    # slot 0 was within the capacity and free for its last 50 s: idle
    assert led.idle_hours == pytest.approx(50.0 / 3600)


def test_to_frame_without_pandas_names_an_extra_that_exists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pyproject.toml's extra with pandas is ``dataframe``; ``rung[pandas]`` does not exist
    (pip warns and installs nothing)."""
    import sys

    led = ledger(_spec(), [])
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    with pytest.raises(ImportError) as e:
        led.to_frame()
    assert str(e.value) == "Ledger.to_frame needs pandas: pip install 'rung[dataframe]'"


def test_the_incumbent_counts_feasible_results_only() -> None:
    """With an outcome constraint the incumbent is the best feasible value, the one
    ``best_trial`` reads: trials 1 and 3 are better but break ``mem <= 100``."""
    study = rung.Study.create(
        "c", {"x": rung.Float(0.0, 1.0)}, objective="loss", searcher="random",
        scheduler="fifo", budget=rung.Budget(n_trials=6),
        constraints=[{"metric": "mem", "op": "<=", "bound": 100}],
    )
    for loss, mem in [(0.9, 50), (0.5, 500), (0.7, 60), (0.1, 900), (0.6, 10), (0.8, 1)]:
        t = study.ask()
        assert t is not None
        study.tell(t.id, "completed", {"loss": loss, "mem": mem})
    best = study.best_trial
    assert best is not None and (best.id, best.value) == (4, 0.6)
    assert [(i.trial_id, i.value) for i in study.ledger().incumbent] == [
        (0, 0.9), (2, 0.7), (4, 0.6)]


def test_the_incumbent_leaves_out_failed_trials() -> None:
    """As ``best_trial`` does: trial 1 reported the best value at max_step, then failed; a
    trial the session's max_time cut did not fail by itself and counts."""
    study = rung.Study.create("f", {"x": rung.Float(0.0, 1.0)}, objective="loss",
                              searcher="random", scheduler="fifo", max_step=2,
                              budget=rung.Budget(n_trials=4))
    cut = "timeout: still running 1 s after max_time (25 s) was reached"
    for loss, how, error in [(0.9, "completed", None), (0.1, "failed", "ValueError: x"),
                             (0.6, "completed", None), (0.3, "failed", cut)]:
        t = study.ask()
        assert t is not None
        study.report(t.id, 2, {"loss": loss})
        study.tell(t.id, how, error=error)
    best = study.best_trial
    assert best is not None and (best.id, best.value) == (3, 0.3)
    assert [(i.trial_id, i.value) for i in study.ledger().incumbent] == [
        (0, 0.9), (2, 0.6), (3, 0.3)]
