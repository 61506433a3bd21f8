"""A journal's path is resolved once, when it is opened: its writer lock and checkpoint directory
belong to the real file, whatever path named it and whatever the working directory becomes.

Before: a second driver reaching a running study through a symlink took a lock file of its own
(``rung ls`` via the link called the live run resumable, ``rung resume`` via the link was
accepted, and the first driver then died with ``UNIQUE constraint failed``), with checkpoints
in ``<link>-checkpoints``; and a study opened by a relative path whose process then changed
directory died with a false ``JournalDeletedError`` ("what the journal held is lost")."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

import rung
from _specs import REPORTING, x_spec
from rung.benchmarks import get_benchmark
from rung.cli.main import main
from rung.core.events import Tick
from rung.errors import JournalError
from rung.storage import SQLiteJournal


def test_a_symlink_names_the_real_journal_its_lock_and_checkpoints(tmp_path: Path) -> None:
    real, link = tmp_path / "real.db", tmp_path / "link.db"
    writer = SQLiteJournal(real)
    writer.create_study("s", {"name": "s"})
    writer.append("s", [Tick(1.0)])  # holds the study's writer lock from here on
    link.symlink_to("real.db")
    other = SQLiteJournal(link)
    assert other.is_being_written("s")
    assert other.checkpoint_dir("s") == tmp_path / "real-checkpoints" / "s"
    with pytest.raises(JournalError) as e:
        other.append("s", [Tick(2.0)])
    assert str(e.value) == (f"study 's' in {link} is being written by another Study object in "
                            "this process (close it, or use that one)")
    other.close()
    writer.append("s", [Tick(3.0)])  # the first driver goes on
    writer.close()
    assert sorted(p.name for p in tmp_path.glob("*.lock")) == ["real.db.s.lock"]


def test_rung_resume_through_a_symlink_is_refused_while_a_driver_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "rep_obj.py").write_text(REPORTING)
    (tmp_path / "spec.yaml").write_text(x_spec("s", "rep_obj:train", tmp_path, max_step=40,
                                               n_trials=2, storage="real.db", n_workers=1))
    p = subprocess.Popen([sys.executable, "-m", "rung.cli", "run", "spec.yaml", "--no-live"],
                         cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "reported").exists():
            assert p.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        (tmp_path / "link.db").symlink_to("real.db")
        monkeypatch.chdir(tmp_path)
        capsys.readouterr()
        assert main(["ls", "--storage", "link.db"]) == 0
        assert capsys.readouterr().out.splitlines()[1].split()[:2] == ["s", "running"]
        assert main(["resume", "s", "--storage", "link.db", "--no-live"]) == 2
        assert capsys.readouterr().err == (
            "rung: error: study 's' in link.db is being run by another process (watch it "
            "with: rung show s --storage link.db)\n")
    finally:
        p.terminate()
        p.communicate(timeout=60)
    assert not (tmp_path / "link-checkpoints").exists()


def test_a_relative_journal_survives_a_change_of_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    b = get_benchmark("mf-branin", max_step=9)
    study = rung.Study.create("c", b.space, objective="loss", searcher="random",
                              scheduler="asha", max_step=9, budget=rung.Budget(n_trials=8),
                              storage="rel.db")
    monkeypatch.chdir(tmp_path / "b")
    study.simulate(b, n_workers=2, progress=False)  # before: JournalDeletedError
    assert len(study.trials()) == 8
    study.close()
    assert list((tmp_path / "b").iterdir()) == []
    again = rung.Study.load("c", storage=tmp_path / "a" / "rel.db", readonly=True)
    assert [t.status for t in again.trials()] == [t.status for t in study.trials()]
