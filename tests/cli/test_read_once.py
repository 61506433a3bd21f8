"""``rung export`` and ``rung plot`` read a study's journal once: ``Study.load(readonly=True)``
keeps the records it replayed, and the dataframes, figures and ledger fold those.

Before, ``Study.load`` read and replayed the journal, then ``study_fold`` read it all again to
build the dataframe or figure (about 1.5 s of 6.6 s for ``rung export`` of a 20,000-trial
study), and on a live run the second read could see trials the first had not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.cli.main import main
from rung.storage import MemoryJournal, SQLiteJournal

N_TRIALS = 12  # the trials of conftest.stored






def n_records(path: Path) -> int:
    with SQLiteJournal(path, readonly=True) as j:
        return len(j.read("s"))


@pytest.mark.parametrize(("table", "rows"), [("trials", N_TRIALS), ("results", None)])
def test_export_reads_the_journal_once(stored: Path, reads: list[tuple[str, int, int]],
                                       capsys: pytest.CaptureFixture[str], table: str,
                                       rows: int | None) -> None:
    total = n_records(stored)
    reads.clear()
    assert main(["export", "s", "--storage", str(stored), "--table", table, "-o", "t.csv"]) == 0
    assert reads == [("s", 0, total)]  # before: [("s", 0, total), ("s", 0, total)]
    lines = (stored.parent / "t.csv").read_text().splitlines()
    s = rung.Study.load("s", stored, readonly=True)
    expect = rows if rows is not None else sum(len(t.results) for t in s.trials())
    s.close()
    assert len(lines) == 1 + expect
    assert "decision" in lines[0].split(",")  # folded from the same records: the reasons
    assert capsys.readouterr().err == f"rung: wrote {expect} {table[:-1]}s of s to t.csv\n"


@pytest.mark.parametrize("kind", ["curves", "history", "workers"])
def test_plot_reads_the_journal_once(stored: Path, reads: list[tuple[str, int, int]],
                                     capsys: pytest.CaptureFixture[str], kind: str) -> None:
    pytest.importorskip("matplotlib")
    total = n_records(stored)
    reads.clear()
    assert main(["plot", "s", "--storage", str(stored), "--kind", kind, "-o", "f.svg"]) == 0
    assert reads == [("s", 0, total)]
    assert (stored.parent / "f.svg").read_text().lstrip().startswith("<?xml")
    assert capsys.readouterr().err == f"rung: wrote the {kind} plot of s to f.svg\n"


def test_a_read_only_study_is_a_snapshot_of_its_load(
        isolated: Path, reads: list[tuple[str, int, int]]) -> None:
    """Its views fold the records it replayed, even after another session appended more: they
    show the trials it has, no more, and read nothing."""
    pytest.importorskip("pandas")
    path = isolated / "a.db"
    writer = rung.Study.create("a", {"x": rung.Float(0.0, 1.0)}, objective="loss",
                               searcher="random", scheduler="fifo", max_step=3,
                               budget=rung.Budget(n_trials=3), seed=0, storage=path)
    for loss in (0.5, 0.25):
        t = writer.ask()
        assert t is not None
        writer.report(t.id, 1, {"loss": loss + 0.1})
        writer.tell(t.id, "completed", {"loss": loss})
    snap = rung.Study.load("a", path, readonly=True)
    t = writer.ask()  # another session goes on
    assert t is not None
    writer.tell(t.id, "completed", {"loss": 0.125})
    reads.clear()
    df = snap.trials_dataframe()
    res = snap.results_dataframe()
    led = snap.ledger()
    assert reads == []
    assert list(df["trial_id"]) == [0, 1] and list(df["value"]) == [0.5, 0.25]
    assert list(zip(res["trial_id"], res["step"], strict=True)) == [(0, 1), (0, 3), (1, 1),
                                                                     (1, 3)]
    assert led.trials == 2  # before: 3, the trial the snapshot's history does not have
    snap.close()
    writer.close()


def test_a_study_that_changed_since_its_load_reads_the_journal_again(
        reads: list[tuple[str, int, int]]) -> None:
    """A study loaded read-only from a journal it can write (a ``Journal`` instance) and then
    told a trial: its views read the journal again, so they show that trial."""
    pytest.importorskip("pandas")
    journal = MemoryJournal()
    s = rung.Study.create("m", {"x": rung.Float(0.0, 1.0)}, objective="loss", searcher="random",
                          scheduler="fifo", budget=rung.Budget(n_trials=3), seed=0,
                          storage=journal)
    t = s.ask()
    assert t is not None
    s.tell(t.id, "completed", {"loss": 0.5})
    loaded = rung.Study.load("m", journal, readonly=True)
    reads.clear()
    assert list(loaded.trials_dataframe()["status"]) == ["completed"]
    assert reads == []  # unchanged since its load: the records it replayed
    t = loaded.ask()
    assert t is not None
    loaded.tell(t.id, "completed", {"loss": 0.25})
    df = loaded.trials_dataframe()
    assert list(df["status"]) == ["completed", "completed"]
    assert list(df["value"]) == [0.5, 0.25]
    assert [r[:2] for r in reads] == [("m", 0)]
    assert loaded.ledger().trials == 2
