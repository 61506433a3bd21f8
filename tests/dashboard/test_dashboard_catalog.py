"""The catalog of a directory of journals lists each journal's studies again only when the
journal changed: a new study in a journal it already listed is seen at the next look, and an
unchanged directory is not opened file by file on every request."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.dashboard.data import Catalog
from rung.storage import SQLiteJournal


def _study(db: Path, name: str) -> None:
    s = rung.Study.create(name, {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=2), seed=0, storage=db)
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"loss": t.params["x"]})
    s.close()


def test_journals_are_listed_again_only_when_they_change(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(3):
        _study(tmp_path / f"j{i}.db", f"s{i}")
    (tmp_path / "notes.db").write_text("not a journal")
    opened: list[str] = []
    real = SQLiteJournal.list_studies

    def counting(self: SQLiteJournal) -> list[str]:
        opened.append("list")
        return list(real(self))

    monkeypatch.setattr(SQLiteJournal, "list_studies", counting)
    cat = Catalog(tmp_path, snapshots=False)
    for _ in range(2):  # the first read-only look creates each journal's empty log
        assert [k for k, _ in cat.studies()] == ["s0", "s1", "s2"]
    first = len(opened)
    assert first <= 6
    for _ in range(5):  # as many requests: nothing changed, nothing listed again
        assert [k for k, _ in cat.studies()] == ["s0", "s1", "s2"]
    assert len(opened) == first
    _study(tmp_path / "j1.db", "s1b")  # a new study in a journal already listed
    first = len(opened)  # (creating it listed the journal's studies too)
    assert [k for k, _ in cat.studies()] == ["s0", "s1", "s1b", "s2"]
    assert [k for k, _ in cat.studies()] == ["s0", "s1", "s1b", "s2"]
    assert first + 1 <= len(opened) <= first + 2  # that journal only (and its new log)
    settled = len(opened)
    for _ in range(5):
        assert [k for k, _ in cat.studies()] == ["s0", "s1", "s1b", "s2"]
    assert len(opened) == settled
    assert cat.view("s1b", lambda snap: len(snap.history)) == 2
