"""``rung show`` reads a study's journal once (``rung.cli.report.show_study``: a read-only
``Study.load`` keeps the records it replayed; the sessions section and the work line fold
those), and says what its time is: the simulated clock for a simulated study.

Before, ``rung show`` loaded the study (one read) and its sessions section read the journal
again; and a study simulated in 0.1 s of wall-clock said ``26.6s of driver time``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.cli.main import main
from rung.cli.report import fmt_duration, show_study
from rung.core.events import CapacityChanged, Record, TrialStarted
from rung.storage import SQLiteJournal
from rung.time_kind import time_kind

N_TRIALS = 12  # the trials of conftest.stored






def n_records(path: Path, name: str = "s") -> int:
    with SQLiteJournal(path, readonly=True) as j:
        return len(j.read(name))


def test_show_study_reads_the_journal_once(stored: Path,
                                           reads: list[tuple[str, int, int]]) -> None:
    total = n_records(stored)
    reads.clear()
    text = show_study("s", str(stored))
    assert reads == [("s", 0, total)]
    sessions = text.split("\n\n")[-1].splitlines()
    assert sessions[0] == ("executor as each session ran it (the study was not created by `rung run`: "
        "no spec's executor settings on record)")
    assert sessions[2].split() == ["1", "t=0s", "simulated", "3", "cpu=1", "(not", "reported)",
                                   str(N_TRIALS)]


def test_rung_show_prints_show_study(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "s", "--storage", str(stored), "--top", "3"]) == 0
    assert capsys.readouterr().out == show_study("s", str(stored), top=3) + "\n"


def test_rung_show_reads_the_journal_once(stored: Path, reads: list[tuple[str, int, int]],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    total = n_records(stored)
    reads.clear()
    assert main(["show", "s", "--storage", str(stored)]) == 0
    assert reads == [("s", 0, total)]  # before: 2
    capsys.readouterr()


def test_a_simulated_study_shows_simulated_time(stored: Path) -> None:
    s = rung.Study.load("s", stored, readonly=True)
    summary = s.summary()
    s.close()
    assert summary["elapsed"] > 10  # virtual seconds, though the run took a fraction of one
    work = next(ln for ln in show_study("s", str(stored)).splitlines()
                if ln.startswith("  work "))
    assert work == (f"  work       {summary['results']} results, {summary['steps_consumed']} "
                    f"steps, {fmt_duration(summary['elapsed'])} of simulated time, 0 checkpoints "
                    "kept")  # before: "... of driver time ..."


def test_a_study_driven_by_ask_and_tell_shows_driver_time(isolated: Path) -> None:
    s = rung.Study.create("a", {"x": rung.Float(0.0, 1.0)}, objective="loss",
                          searcher="random", scheduler="fifo", max_step=3,
                          budget=rung.Budget(n_trials=1), seed=0, storage=isolated / "a.db")
    t = s.ask()
    assert t is not None
    s.tell(t.id, "completed", {"loss": 0.5})
    s.close()
    text = show_study("a", str(isolated / "a.db"))
    assert " of driver time, 0 checkpoints kept" in text


def session(executor: dict[str, str] | None, time: float = 0.0, capacity: int = 2) -> Record:
    return CapacityChanged(capacity, time, new_session=True, executor=executor)


@pytest.mark.parametrize(("records", "kind"), [
    ([], "driver"),  # nothing run by an executor: ask / tell, on the real clock
    ([session({"name": "simulated"}), TrialStarted(0, 1.0)], "simulated"),
    ([session({"name": "local", "start_method": "spawn"})], "driver"),
    ([session(None)], "driver"),  # an executor that does not say, or an older journal
    # a simulated study resumed: the driver's prelude (capacity 0) is not a session
    ([session({"name": "simulated"}), session(None, 5.0, capacity=0),
      session({"name": "simulated"}, 5.0)], "simulated"),
    ([session({"name": "simulated"}), session({"name": "ray"}, 1.7e9)],
     "driver and simulated"),
])
def test_time_kind(records: list[Record], kind: str) -> None:
    assert time_kind(records) == kind
