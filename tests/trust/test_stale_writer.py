"""A driver never appends to a journal that another driver wrote after it was read: its engine
would journal decisions made on a stale state, and the journal would no longer replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from rung import ASHA, Budget, Objective, Study
from rung.errors import JournalError
from rung.testing import ToyBenchmark, default_space

BENCH = ToyBenchmark(max_step=9)


def create(path: Path, n_trials: int = 8) -> None:
    Study.create("s", default_space(), Objective("loss"), scheduler=ASHA(3), max_step=9,
                 budget=Budget(n_trials=n_trials), seed=0, storage=str(path)).close()


def test_a_study_loaded_before_another_driver_wrote_refuses_to_append(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    create(path)
    first = Study.load("s", str(path))
    stale = Study.load("s", str(path))  # reads the same (empty) journal
    first.simulate(BENCH, n_workers=2)
    written = len(first.journal.read("s"))
    first.close()
    with pytest.raises(JournalError) as e:
        stale.simulate(BENCH, n_workers=2)
    assert str(e.value) == (
        f"study 's' in {path} was written by another driver after this one read it "
        f"({written} new records): load it again (Study.load, rung resume)")
    stale.close()
    # nothing was appended: the journal replays, and a fresh load goes on from it
    again = Study.load("s", str(path))
    assert len(again.journal.read("s")) == written
    assert again.trials() == first.trials()
    again.close()


@pytest.mark.parametrize("view", ["trials_dataframe", "results_dataframe", "ledger",
                                  "summary"])
def test_reading_a_view_does_not_make_a_stale_study_current(tmp_path: Path, view: str) -> None:
    """A view reads the whole journal, another driver's records included; the study's engine
    is still the one it loaded, so its first write is still refused."""
    path = tmp_path / "j.db"
    create(path)
    first = Study.load("s", str(path))
    stale = Study.load("s", str(path))
    first.simulate(BENCH, n_workers=2)
    first.close()
    getattr(stale, view)()
    with pytest.raises(JournalError, match="was written by another driver after this one"):
        stale.simulate(BENCH, n_workers=2)
    stale.close()
    again = Study.load("s", str(path))
    assert again.trials() == Study.load("s", str(path), readonly=True).trials()
    again.close()


def test_a_study_loaded_after_another_driver_wrote_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    create(path)
    first = Study.load("s", str(path))
    first.ask()  # journals a trial, then this driver stops
    first.close()
    later = Study.load("s", str(path))
    later.simulate(BENCH, n_workers=2)
    assert later.engine.history.n_suggested == 8
    later.close()
    assert Study.load("s", str(path)).engine.history.n_suggested == 8


def test_a_second_study_object_in_this_process_is_told_so(tmp_path: Path) -> None:
    """The writer lock is per open journal, so a second ``Study.load`` in the same process
    meets it too: the message names that case, not "another process"."""
    path = tmp_path / "j.db"
    create(path, n_trials=30)
    first = Study.load("s", str(path))
    # an ask/tell session's first write takes the writer lock, held until it is closed (a
    # study that is over writes nothing when run again, so the second object must be one
    # that would write; enqueue and set_budget give back a lock they took)
    assert first.ask() is not None
    second = Study.load("s", str(path))
    with pytest.raises(JournalError) as e:
        second.simulate(BENCH, n_workers=2)
    assert str(e.value) == (
        f"study 's' in {path} is being written by another Study object in this process "
        f"(close it, or use that one)")
    second.close()
    first.close()  # releases it: a fresh load writes
    again = Study.load("s", str(path))
    again.simulate(BENCH, n_workers=2)
    again.close()


def test_simulate_gives_the_study_back_at_its_end(tmp_path: Path) -> None:
    """As ``run`` does: another Study object may go on once a simulation ended, the first is
    then stale, and its own next write goes on when nobody else wrote."""
    path = tmp_path / "j.db"
    create(path, n_trials=16)
    first = Study.load("s", str(path))
    first.simulate(BENCH, n_workers=2)  # spends the budget's 16 trials
    assert not first.journal.is_being_written("s")
    create_more = Study.load("s", str(path))
    assert create_more.trials() == first.trials()
    create_more.close()
    first.enqueue({"x": 0.5, "lr": 0.01, "n": 2, "opt": "adam"})  # nobody else wrote
    first.close()
    second = Study.load("s", str(path))
    stale = Study.load("s", str(path))
    second.enqueue({"x": 0.25, "lr": 0.01, "n": 2, "opt": "adam"})
    second.close()
    with pytest.raises(JournalError, match="was written by another driver after this one"):
        stale.enqueue({"x": 0.75, "lr": 0.01, "n": 2, "opt": "adam"})
    stale.close()
