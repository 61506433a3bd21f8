"""Determinism and resume: same seed -> same journal; a journal cut anywhere resumes cleanly."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rung import ASHA, Budget, Objective, ReplayDivergenceError, Study
from rung.core import Engine, Launch, ResultReported
from rung.storage import MemoryJournal, SQLiteJournal
from rung.storage.codec import to_body
from rung.testing import ToyBenchmark, default_space

BENCH = ToyBenchmark(max_step=9)


def make(journal: object, n_trials: int = 30, name: str = "s", seed: int = 0) -> Study:
    return Study.create(
        name,
        default_space(),
        Objective("loss"),
        scheduler=ASHA(3),
        max_step=9,
        budget=Budget(n_trials=n_trials),
        seed=seed,
        storage=journal,
    )  # type: ignore[arg-type]


def canon(study: Study) -> list:
    return [to_body(r) for r in study.journal.read(study.name)]


def test_same_seed_gives_identical_journals() -> None:
    a = make(MemoryJournal()).simulate(BENCH, n_workers=5)
    b = make(MemoryJournal()).simulate(BENCH, n_workers=5)
    assert canon(a) == canon(b)
    c = make(MemoryJournal(), seed=1).simulate(BENCH, n_workers=5)
    assert canon(a) != canon(c)


def test_sqlite_and_memory_runs_agree(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = make(MemoryJournal()).simulate(BENCH, n_workers=4)
    b = make(str(tmp_path / "j.db")).simulate(BENCH, n_workers=4)
    assert canon(a) == canon(b)
    loaded = Study.load("s", str(tmp_path / "j.db"))
    assert [t for t in loaded.trials()] == [t for t in b.trials()]


FULL = make(MemoryJournal(), n_trials=25, name="full")
FULL.simulate(BENCH, n_workers=4)
FULL_RECORDS = FULL.journal.read("full")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(0, len(FULL_RECORDS)), workers=st.integers(1, 6))
def test_resume_from_a_journal_cut_anywhere(cut: int, workers: int) -> None:
    j = MemoryJournal()
    j.create_study("full", FULL.spec.to_json())
    j.append("full", FULL_RECORDS[:cut])
    before = [r for r in FULL_RECORDS[:cut] if isinstance(r, ResultReported)]
    study = Study.load("full", j)
    applied = {(t.id, r.step, tuple(r.metrics.items())) for t in study.trials() for r in t.results}
    study.simulate(BENCH, n_workers=workers)
    h = study.engine.history
    assert h.n_suggested == 25  # the full budget
    ids = [t.id for t in study.trials()]
    assert ids == list(range(len(ids)))  # no duplicate, no gap
    launched = [r.trial_id for r in j.read("full") if isinstance(r, Launch)]
    params = {}
    for r in j.read("full"):
        if isinstance(r, Launch):
            params.setdefault(r.trial_id, dict(r.params))
            assert dict(r.params) == params[r.trial_id]  # a resumed trial keeps its params
    assert set(launched) == set(ids)
    after = {(t.id, r.step, tuple(r.metrics.items())) for t in study.trials() for r in t.results}
    assert applied <= after  # every result recorded before the cut is kept
    assert len(applied) <= len(before)
    assert all(t.status.final for t in study.trials())
    # and the resumed journal replays to the same state
    again = Study.load("full", j)
    assert again.trials() == study.trials()


def test_divergence_is_detected() -> None:
    recs = list(FULL_RECORDS)
    i = next(i for i, r in enumerate(recs) if isinstance(r, Launch) and r.trial_id == 3)
    recs[i] = dataclasses.replace(recs[i], until_step=recs[i].until_step + 1)
    with pytest.raises(ReplayDivergenceError, match="diverged"):
        Engine.replay(FULL.spec, recs)


def test_torn_sqlite_write_still_loads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "j.db"
    s = make(str(path), n_trials=10)
    s.simulate(BENCH, n_workers=3)
    n = len(s.journal.read("s"))
    # simulate a write cut off mid-way: copy the database and a WAL truncated inside its last
    # frame, as a crash during the final transaction would leave them
    wal = path.with_name(path.name + "-wal")
    assert wal.exists() and wal.stat().st_size > 4096
    cut = tmp_path / "cut"
    cut.mkdir()
    import shutil

    shutil.copy(path, cut / "j.db")
    data = wal.read_bytes()
    (cut / "j.db-wal").write_bytes(data[: len(data) - 100])
    loaded = Study.load("s", str(cut / "j.db"))
    got = len(loaded.journal.read("s"))
    assert 0 < got <= n
    # it resumes to a consistent end
    loaded.simulate(BENCH, n_workers=3)
    assert loaded.engine.history.n_suggested == 10


def test_one_writer_per_study(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from rung.core import Tick
    from rung.errors import JournalError

    path = tmp_path / "j.db"
    a = make(str(path), n_trials=2)
    a.journal.append("s", [Tick(0.0)])
    other = SQLiteJournal(path)
    with pytest.raises(JournalError, match="another Study object in this process"):
        other.append("s", [Tick(1.0)])
    ro = SQLiteJournal(path, readonly=True)
    assert len(ro.read("s")) == 1
    with pytest.raises(JournalError, match="read-only"):
        ro.append("s", [Tick(1.0)])


def test_a_file_that_is_not_a_journal_is_a_journal_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from rung.errors import JournalError

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    for ro in (False, True):
        with pytest.raises(JournalError, match="not a rung journal"):
            SQLiteJournal(junk, readonly=ro)
    fresh = tmp_path / "fresh.db"
    sqlite3.connect(fresh).close()  # a writer created the file, not yet its tables
    assert SQLiteJournal(fresh, readonly=True).list_studies() == []
    with pytest.raises(JournalError, match="no study"):
        SQLiteJournal(fresh, readonly=True).read("s")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(JournalError, match="not a rung journal"):
        SQLiteJournal(other, readonly=True)
