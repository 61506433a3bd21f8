"""Deleting a study (``rung.delete_study``, ``rung delete``): its rows, its files beside the
journal, the other studies left alone, a running study refused, and the name free again."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

import rung
from rung import ASHA, Budget, Objective, Study
from rung.cli.main import main
from rung.errors import JournalError
from rung.storage import MemoryJournal
from rung.storage.sqlite import StudyBusyError
from rung.testing import ToyBenchmark, default_space

BENCH = ToyBenchmark(max_step=9)


def _study(path: Path | MemoryJournal, name: str) -> Study:
    study = Study.create(name, default_space(), Objective("loss"), scheduler=ASHA(3),
                         max_step=9, budget=Budget(n_trials=6), seed=0, storage=path)
    study.simulate(BENCH, n_workers=2)
    return study


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_a_study_and_its_files_go_and_the_others_stay(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    keep, drop = _study(db, "keep"), _study(db, "drop")
    n = len(drop.journal.read("drop"))
    ckpt = drop.journal.checkpoint_dir("drop")
    assert ckpt is not None
    ckpt.mkdir(parents=True, exist_ok=True)
    (ckpt / "3").mkdir()
    view = tmp_path / "runs.db.drop.view"
    view.write_bytes(b"snapshot")
    keep_trials = keep.trials()
    keep.close()
    drop.close()
    gone = rung.delete_study("drop", db)
    assert gone.records == n
    assert set(gone.files) == {ckpt, view, tmp_path / "runs.db.drop.lock"}
    assert not ckpt.exists() and not view.exists()
    assert Study.load("keep", db).trials() == keep_trials
    with pytest.raises(JournalError, match=r"no study named 'drop' .*\(studies: keep\)"):
        Study.load("drop", db)
    again = _study(db, "drop")  # the name is free: a new study, none of the old records
    assert len(again.trials()) == 6 and again.trials()[0].id == 0
    again.close()


def test_the_dashboards_own_snapshot_of_it_goes_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dashboard's snapshot of a study in its cache directory (``$RUNG_DASHBOARD_CACHE``),
    keyed by the journal's path as given or resolved, goes with the study; another study's
    stays (it was left there for ever)."""
    from rung.dashboard.snapshot import cache_path

    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("RUNG_DASHBOARD_CACHE", str(cache))
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    db = tmp_path / "link" / "runs.db"
    for name in ("keep", "drop"):
        _study(db, name).close()
    mine = {cache_path(cache, p, "drop") for p in (db, real / "runs.db")}
    other = cache_path(cache, db, "keep")
    for p in (*mine, other):
        p.write_bytes(b"snapshot")
    assert len(mine) == 2
    gone = rung.delete_study("drop", db)
    assert mine <= set(gone.files) and not any(p.exists() for p in mine)
    assert other.exists()


def test_a_study_a_driver_runs_is_not_deleted(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    _study(db, "busy").close()
    driver = Study.load("busy", db)
    driver.set_budget(n_trials=7)  # (gives back the writer lock it took to write)
    assert driver.ask() is not None  # an ask/tell session: holds the writer lock now
    with pytest.raises(StudyBusyError):
        rung.delete_study("busy", db)
    assert len(Study.load("busy", db, readonly=True).trials()) == 7
    code, out, err = _cli("delete", "busy", "--storage", str(db), "--yes")
    assert (code, out) == (2, "")
    assert err.startswith("rung: error: study 'busy' in ") and err.endswith(": stop it first\n")
    driver.close()
    assert rung.delete_study("busy", db).records > 0


def test_no_journal_or_no_study_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="no journal at"):
        rung.delete_study("x", tmp_path / "none.db")
    assert list(tmp_path.iterdir()) == []
    db = tmp_path / "runs.db"
    _study(db, "a").close()
    with pytest.raises(JournalError, match=r"no study named 'b'"):
        rung.delete_study("b", db)


def test_a_memory_journal_deletes_too() -> None:
    journal = MemoryJournal()
    _study(journal, "m")
    gone = rung.delete_study("m", journal)
    assert gone.records > 0 and gone.files == ()
    assert journal.list_studies() == []


def test_rung_delete_wants_yes_and_says_what_it_deleted(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    study = _study(db, "s")
    n = len(study.journal.read("s"))
    study.close()
    code, out, err = _cli("delete", "s", "--storage", str(db))
    assert (code, out) == (2, "")
    assert err == (f"rung: error: --yes: deleting study 's' of {db} cannot be undone: run "
                   f"rung delete s --storage {db} --yes\n")
    assert Study.load("s", db, readonly=True).trials()  # nothing deleted
    code, out, err = _cli("delete", "s", "--storage", str(db), "--yes")
    assert (code, err) == (0, "")
    assert out == f"deleted study s from {db} ({n} records, and 1 file(s) beside it)\n"
    code, out, err = _cli("delete", "s", "--storage", str(db), "--yes")
    assert code == 2 and "no study named 's'" in err
