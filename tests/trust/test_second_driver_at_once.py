"""Two drivers of one study started at once (two `rung resume` racing past the "is it being
run?" check): the loser is refused before it starts a worker, with nothing written, instead of
at its first record seconds later, its workers already training, with exit 1 and the advice to
resume a study that is running. ``Study.run`` claims the writer lock (``SQLiteJournal.claim``)
before it starts its executor."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import rung
from rung.cli.main import main
from rung.storage.sqlite import SQLiteJournal, StudyBusyError

SRC = str(Path(rung.__file__).resolve().parents[1])


def train(ctx: rung.TrialContext) -> None:  # never called: the run is refused first
    Path(os.environ["MARK"]).write_text("ran")


@pytest.fixture()
def held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    """A study written by `rung run` (stopped by its first failure, budget left) whose writer
    lock another live process holds."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "obj_second_driver.py").write_text("def train(ctx):\n    raise ValueError('boom')\n")
    (tmp_path / "spec.yaml").write_text(
        "name: s\nobjective: obj_second_driver:train\nmetric: loss\nmax_step: 2\nmax_failures: 1\n"
        "space: {x: {type: float, low: 0, high: 1}}\nbudget: {n_trials: 4}\n"
        "executor: local\nn_workers: 1\nstorage: s.db\n")
    assert main(["run", "spec.yaml", "--no-live"]) == 1  # stopped by max_failures
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from rung.storage.sqlite import SQLiteJournal
            j = SQLiteJournal({str(tmp_path / "s.db")!r})
            j.claim("s")
            print("held", flush=True)
            time.sleep(120)
        """)], env={**os.environ, "PYTHONPATH": SRC}, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    yield holder
    holder.kill()
    holder.wait()


def test_study_run_is_refused_before_any_worker(tmp_path: Path, held: object,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARK", str(tmp_path / "mark"))
    study = rung.Study.load("s", storage=tmp_path / "s.db")
    n = SQLiteJournal(tmp_path / "s.db").count("s")
    with pytest.raises(StudyBusyError, match="is being written by another process"):
        study.run(train, n_workers=1, progress=False)
    study.close()
    assert not (tmp_path / "mark").exists()
    assert SQLiteJournal(tmp_path / "s.db").count("s") == n


def test_rung_resume_that_lost_the_race_exits_2(tmp_path: Path, held: object,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # the window between `rung resume`'s check and its run: the check says "nobody"
    monkeypatch.setattr(SQLiteJournal, "is_being_written", lambda self, name: False)
    capsys.readouterr()
    assert main(["resume", "s", "--storage", "s.db", "--no-live"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "rung: error: study 's' in s.db is being written by another process "
        "(watch it with: rung show s --storage s.db)"]
