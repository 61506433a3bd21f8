"""The ledger's saving counts only what the scheduler (or an objective returning early) left
untrained: a failed, interrupted or still running trial is not extrapolated to ``max_step``;
and a price table that charges nothing the trials held says so, and the report then speaks in
device-hours. Hand-written journals, numbers by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.cli.ledger import render
from rung.cli.main import main
from rung.core.events import CapacityChanged, Launch, Record, ResultReported, TrialEnded
from rung.core.records import ComponentSpec, Objective, Outcome, StudySpec
from rung.cost.ledger import ledger
from rung.storage import SQLiteJournal


def _spec(prices: dict[str, float]) -> StudySpec:
    return StudySpec(
        name="s", space=rung.SearchSpace({"x": rung.Float(0.0, 1.0)}),
        objective=Objective("loss"), searcher=ComponentSpec("random"),
        scheduler=ComponentSpec("fifo"), max_step=3, budget=rung.Budget(n_trials=5),
        prices=prices,
    )


def _journal() -> list[Record]:
    """One CPU worker, steps of 100 s. Trial 0: 3 steps, completed (0-300 s). Trial 1: one
    step, then its objective raised (300-450 s). Trial 2: one step, stopped (450-550 s).
    Trial 3: one step, crashed with its worker (550-700 s). Trial 4: one step so far, running
    (700-800 s)."""
    p = {"x": 0.5}
    recs: list[Record] = [CapacityChanged(1, 0.0, True), Launch(0, p, 1, 3, 3, None)]
    recs += [ResultReported(0, s, {"loss": 1.0 / s}, 100.0 * s) for s in (1, 2, 3)]
    recs += [TrialEnded(0, Outcome.COMPLETED, 300.0), Launch(1, p, 1, 3, 3, None),
             ResultReported(1, 1, {"loss": 0.9}, 400.0),
             TrialEnded(1, Outcome.FAILED, 450.0, "RuntimeError: boom"),
             Launch(2, p, 1, 3, 3, None), ResultReported(2, 1, {"loss": 0.95}, 550.0),
             TrialEnded(2, Outcome.STOPPED, 550.0), Launch(3, p, 1, 3, 3, None),
             ResultReported(3, 1, {"loss": 0.95}, 650.0),
             TrialEnded(3, Outcome.INTERRUPTED, 700.0, "worker died"),
             Launch(4, p, 1, 3, 3, None), ResultReported(4, 1, {"loss": 0.8}, 800.0)]
    return recs


def test_failed_interrupted_and_running_trials_are_no_saving() -> None:
    led = ledger(_spec({"cpu": 3600.0}), _journal())  # 1 money per second
    assert {k: (v.runs, v.steps) for k, v in led.by_outcome.items()} == {
        "completed": (1, 3), "failed": (1, 1), "stopped": (1, 1), "interrupted": (1, 1),
        "running": (1, 1)}
    assert led.total.cost == pytest.approx(800.0)
    assert led.total.device_hours == pytest.approx(800.0 / 3600)
    # only the stopped trial is trained on to max_step: 100 s per step -> 300 s
    assert led.full_cost == pytest.approx(300 + 150 + 300 + 150 + 100)
    assert led.saving == pytest.approx(200.0)
    assert led.saved_fraction == pytest.approx(200.0 / 1000.0)


def test_a_study_whose_trials_all_fail_saved_nothing() -> None:
    """FIFO never stops a trial: with every trial failing after a step, it saved nothing
    (it read 2/3 saved: each failure was extrapolated to max_step)."""
    study = rung.Study.create("f", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                              scheduler="fifo", max_step=3, budget=rung.Budget(n_trials=3),
                              prices={"cpu": 1.0})
    for _ in range(3):
        t = study.ask()
        assert t is not None
        study.report(t.id, 1, {"loss": 1.0})
        study.tell(t.id, "failed")
    led = study.ledger()
    assert led.by_outcome["failed"].runs == 3
    assert led.full_cost == pytest.approx(led.total.cost, rel=1e-12)
    assert led.saving == pytest.approx(0.0, abs=1e-15)
    assert led.saved_fraction == pytest.approx(0.0, abs=1e-12)


def test_prices_that_charge_nothing_held_say_so_in_device_hours() -> None:
    """A table that prices an A100 while the trials held a CPU: every money figure is 0, the
    ledger says why, and the report speaks in device-hours as it does without prices."""
    led = ledger(_spec({"gpu:A100": 3.2}), _journal())
    assert led.total.cost == 0.0 and led.total.device_hours == pytest.approx(800 / 3600)
    assert led.notes == ["prices {'gpu:A100': 3.2} charge none of what the trials held "
                         "(cpu): money is 0 (device-hours are measured)"]
    lines = render(led, "s").splitlines()
    assert lines[-1] == "note: " + led.notes[0]
    assert ("trained to max_step (3) every trial would have taken 0.2778 device-h: the "
            "scheduler saved 0.05556 device-h (20.0%)") in lines
    assert "utilization 100.0% over 1 worker slots; idle 0 worker-h" in lines
    # priced and charged: money, no note
    charged = ledger(_spec({"cpu": 3600.0}), _journal())
    assert charged.notes == []
    assert ("trained to max_step (3) every trial would have cost 1,000.00 (0.2778 device-h): "
            "the scheduler saved 200.00 (20.0%)") in render(charged, "s").splitlines()


def test_ledger_of_a_file_that_is_not_a_journal_exits_2_and_leaves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    junk = tmp_path / "notes.db"
    junk.write_text("not a database")
    assert main(["ledger", "s", "--storage", str(junk)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"rung: error: {junk} is not a rung journal: file is not a database"]
    assert junk.read_text() == "not a database"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]
    SQLiteJournal(tmp_path / "j.db").close()  # a journal without the study
    assert main(["ledger", "s", "--storage", str(tmp_path / "j.db")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"rung: error: no study named 's' in {tmp_path / 'j.db'} (studies: none)"]


def test_a_saving_that_is_float_noise_is_zero() -> None:
    # a FIFO run on the local executor printed saving_device_hours -2.168e-19 and
    # saved_fraction -2.22e-16 ("FIFO saves 0", the docs say): the baseline and the total
    # are the same run times summed in another order
    from rung.cost.ledger import NOISE, _exact_zero

    hours = [0.1 / 3600 * (1 + k / 7) for k in range(30)]
    full, total = sum(hours), sum(reversed(hours))
    assert _exact_zero(full - total, full) == 0.0
    assert _exact_zero(1.0 - total / full, 1.0) == 0.0
    # a real saving, however small: above the noise fraction that `rung ledger` also uses
    assert _exact_zero(10 * NOISE * full, full) == 10 * NOISE * full
    assert _exact_zero(-10 * NOISE, 1.0) == -10 * NOISE
    assert _exact_zero(NOISE / 2, 1.0) == 0.0
