"""``rung.plan`` of a study given by name reads its journal once: the pilot is fitted from the
records ``Study.load(readonly=True)`` replayed (``StudyViews._journal_records``), not from a
second read; the plan is the same as from a study loaded to write (which reads again)."""

from __future__ import annotations

from pathlib import Path

from planhelp import PowerLawBench, pilot

import rung
from rung import Budget
from rung.storage import SQLiteJournal


def test_plan_by_name_reads_the_pilot_once(tmp_path: Path,
                                           reads: list[tuple[str, int, int]]) -> None:
    path = tmp_path / "p.db"
    pilot(PowerLawBench(), n_trials=6, storage=path).close()
    with SQLiteJournal(path, readonly=True) as j:
        total = len(j.read("pilot"))
    reads.clear()
    by_name = rung.plan("pilot", storage=path, workers=[1, 3], seeds=2,
                        budget=Budget(n_trials=8))
    assert [r for r in reads if r[0] == "pilot"] == [("pilot", 0, total)]  # before: twice
    reads.clear()
    with SQLiteJournal(path) as journal:
        loaded = rung.Study.load("pilot", journal)  # writable: fit_pilot reads the journal
        by_study = rung.plan(loaded, workers=[1, 3], seeds=2, budget=Budget(n_trials=8))
    assert [r for r in reads if r[0] == "pilot"] == [("pilot", 0, total)] * 2
    assert by_name.to_json() == by_study.to_json()
