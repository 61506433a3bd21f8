"""``rung ls`` reads a large study's row from the dashboard's snapshot of its pages when the
snapshot covers every record of the journal (``rung.cli.ls.snapshot_row``), and the row is the
one a replay gives; a snapshot behind the journal, or none, means a replay."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.benchmarks import get_benchmark
from rung.cli import ls as ls_mod
from rung.cli.main import main
from rung.dashboard import snapshot as snapshot_mod
from rung.dashboard import snapshot_job
from rung.dashboard.snapshot import RunWriter, view_path


@pytest.fixture(autouse=True)
def small(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Snapshots for studies of any size (runs write them from 20,000 records on), and no
    dashboard cache outside the test's directory."""
    monkeypatch.setattr(snapshot_mod, "MIN_RECORDS", 1)
    monkeypatch.setattr(snapshot_mod, "default_cache_dir", lambda: tmp_path / "cache")


def _run(db: Path, name: str, scheduler: rung.Scheduler | str, n_trials: int) -> rung.Study:
    b = get_benchmark("mf-hartmann3")
    s = rung.Study.create(name, b.space, objective=rung.Objective(b.metric, b.mode),
                          searcher="random", scheduler=scheduler, max_step=b.max_step,
                          budget=rung.Budget(n_trials=n_trials), seed=3, storage=db)
    s.simulate(b, n_workers=3)
    assert snapshot_job.wait_all(120)  # the run's snapshot is written by a job of its own
    return s


def _ls(db: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["ls", "--storage", str(db)]) == 0
    return capsys.readouterr().out.splitlines()


def test_the_snapshot_row_is_the_replayed_row(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "s.db"
    _run(db, "asha", rung.ASHA(reduction_factor=3), 40).close()
    _run(db, "pbt", "median", 12).close()
    assert view_path(db, "asha").exists() and view_path(db, "pbt").exists()
    used: list[str] = []
    real = ls_mod.snapshot_row

    def spy(journal: object, path: Path, name: str, running: bool) -> list[object] | None:
        row = real(journal, path, name, running)  # type: ignore[arg-type]
        if row is not None:
            used.append(name)
        return row

    monkeypatch.setattr(ls_mod, "snapshot_row", spy)
    quick = _ls(db, capsys)
    assert used == ["asha", "pbt"]
    monkeypatch.setattr(ls_mod, "snapshot_row", lambda *a: None)
    assert _ls(db, capsys) == quick
    assert quick[1].split()[:3] == ["asha", "done", "40"]


def test_a_snapshot_behind_the_journal_is_not_used(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "s.db"
    monkeypatch.setattr(RunWriter, "CHECK_EVERY", 0.0)
    monkeypatch.setattr(RunWriter, "at_end", lambda self, engine: None)  # only mid-run ones
    # each written as of the check that started it (a job reads the journal when it runs)
    monkeypatch.setattr(snapshot_job, "start", snapshot_job.inline)
    _run(db, "asha", rung.ASHA(reduction_factor=3), 40).close()
    with rung.storage.SQLiteJournal(db, readonly=True) as journal:
        head = snapshot_mod.header(view_path(db, "asha"), db, "asha")
        assert head is not None and head["n_records"] < journal.count("asha")
        assert ls_mod.snapshot_row(journal, db, "asha", False) is None
    assert _ls(db, capsys)[1].split()[:3] == ["asha", "done", "40"]


def test_an_unusable_snapshot_is_replayed_in_silence(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str],
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """A snapshot of an older format (every snapshot written before a FORMAT change) is not
    used, and rung ls says nothing about it: the row is the replay's."""
    db = tmp_path / "s.db"
    _run(db, "asha", rung.ASHA(reduction_factor=3), 30).close()
    path = view_path(db, "asha")
    head, rest = path.read_bytes().split(b"\n", 1)
    old = head.replace(f'"format":{snapshot_mod.FORMAT},'.encode(), b'"format":1,')
    assert old != head
    path.write_bytes(old + b"\n" + rest)
    capsys.readouterr()
    assert main(["ls", "--storage", str(db)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[1].split()[:3] == ["asha", "done", "30"]
    assert err == ""
    assert not [r for r in caplog.records if r.name == "rung.dashboard"]
