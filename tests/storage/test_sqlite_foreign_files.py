"""``SQLiteJournal`` writes only to a new file, an empty one or a rung journal: another
application's SQLite file (or a file that is not SQLite at all) is one ``JournalError`` naming
the path and what it holds, and stays byte for byte as it was, from the library as from the CLI.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from rung import Budget, Objective, Study
from rung.errors import JournalError
from rung.storage import SQLiteJournal
from rung.testing import ToyBenchmark, default_space


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _create(path: Path, name: str = "s") -> Study:
    return Study.create(name, default_space(), Objective("loss"), searcher="random",
                        scheduler="fifo", max_step=2, budget=Budget(n_trials=3), seed=0,
                        storage=str(path))


def _foreign(path: Path, *ddl: str) -> Path:
    c = sqlite3.connect(path)
    for statement in ddl:
        c.execute(statement)
    c.commit()
    c.close()
    return path


@pytest.mark.parametrize(
    ("ddl", "found"),
    [
        (["CREATE TABLE experiments (id INTEGER)", "CREATE VIEW v AS SELECT id FROM experiments"],
         "no study/record tables; its tables: experiments, v"),
        # a research application's own 'study' table: rung's name, not rung's table
        (["CREATE TABLE study (id INTEGER PRIMARY KEY, title TEXT)"],
         "no study/record tables; its tables: study"),
        (["CREATE TABLE study (name TEXT, spec TEXT, created REAL)",
          "CREATE TABLE record (id INTEGER, payload BLOB)"],
         "its record table has no body, kind, seq, study column; its tables: record, study"),
    ],
)
def test_another_applications_database_is_refused_untouched(
    tmp_path: Path, ddl: list[str], found: str
) -> None:
    db = _foreign(tmp_path / "app.db", *ddl)
    before = _digest(db)
    with pytest.raises(JournalError) as e:
        _create(db)
    assert str(e.value) == (f"{db} is not a rung journal ({found}); rung adds no tables to "
                            "another application's database")
    assert _digest(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]  # no lock, no -wal


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "notes.db"
    db.write_text("not a database, but somebody's notes\n" * 200)
    before = _digest(db)
    with pytest.raises(JournalError) as e:
        _create(db)
    assert str(e.value) == f"{db} is not a rung journal: file is not a database"
    assert _digest(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_read_only_open_of_a_foreign_database_says_the_same(tmp_path: Path) -> None:
    db = _foreign(tmp_path / "app.db", "CREATE TABLE experiments (id INTEGER)")
    before = _digest(db)
    with pytest.raises(JournalError) as e:
        SQLiteJournal(db, readonly=True)
    assert str(e.value) == f"{db} is not a rung journal (no study/record tables)"
    assert _digest(db) == before


def test_an_empty_file_becomes_a_journal(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    db.write_bytes(b"")
    study = _create(db)
    study.simulate(ToyBenchmark(max_step=2), n_workers=1, progress=False)
    study.close()
    assert len(Study.load("s", str(db), readonly=True).trials()) == 3


def test_a_rung_journal_takes_a_second_study(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    _create(db, "first").close()
    second = _create(db, "second")
    second.simulate(ToyBenchmark(max_step=2), n_workers=1, progress=False)
    second.close()
    with SQLiteJournal(db) as j:
        assert j.list_studies() == ["first", "second"]


def test_a_journal_written_as_an_older_version_did_still_opens(tmp_path: Path) -> None:
    """The tables' shape has not changed since the first release; a journal file from then
    (rollback journal mode, created by plain DDL) and one beside a user's own table (a rung
    journal the user added a table to) open, load and take new records."""
    spec = _create(tmp_path / "spec.db").spec.to_json()
    db = _foreign(
        tmp_path / "old.db",
        "CREATE TABLE study (name TEXT PRIMARY KEY, spec TEXT NOT NULL, created REAL NOT NULL)",
        "CREATE TABLE record (study TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, "
        "body TEXT NOT NULL, PRIMARY KEY (study, seq))",
        "CREATE TABLE notes (text TEXT)",
    )
    with SQLiteJournal(db) as j:
        j.create_study("s", spec)
    study = Study.load("s", str(db))
    study.simulate(ToyBenchmark(max_step=2), n_workers=1, progress=False)
    study.close()
    assert len(Study.load("s", str(db), readonly=True).trials()) == 3
    c = sqlite3.connect(db)
    assert {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} \
        == {"study", "record", "notes"}
    c.close()
