"""The run's dashboard snapshot is written by a process of its own
(``rung.dashboard.snapshot_job``), started by ``RunWriter`` when one is due: the job builds the
snapshot the run used to build in its loop; at most one job runs per writer; a resumed study
whose snapshot is up to date starts none; the driver never builds one itself; a job's failure
or end leaves no temporary file and no zombie. No timing is asserted: fake jobs are ended by
hand, real ones are waited for."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import rung
from rung import driver
from rung.analysis_frames import JournalFold
from rung.benchmarks import get_benchmark
from rung.core.records import StudySpec
from rung.dashboard import data, snapshot_job
from rung.dashboard import snapshot as snapshot_mod
from rung.dashboard.data import Catalog
from rung.dashboard.snapshot import RunWriter, view_path
from rung.dashboard.snapshot_job import Job

WAIT = 120.0  # seconds a real job may take (a few on an idle machine)


@pytest.fixture(autouse=True)
def small(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Snapshots for studies of any size; the dashboard's cache in the test's directory."""
    monkeypatch.setattr(snapshot_mod, "MIN_RECORDS", 1)
    monkeypatch.setattr(data, "MIN_RECORDS", 1)
    monkeypatch.setenv("RUNG_DASHBOARD_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("RUNG_DASHBOARD_SNAPSHOTS", raising=False)


def _study(db: Path, scheduler: str = "asha", n_trials: int = 40) -> rung.Study:
    """A simulated study, still open (its writer lock held)."""
    b = get_benchmark("mf-hartmann3")
    s = rung.Study.create("s", b.space, objective=rung.Objective(b.metric, b.mode),
                          searcher="random",
                          scheduler=rung.ASHA(reduction_factor=3) if scheduler == "asha"
                          else scheduler,
                          max_step=b.max_step, budget=rung.Budget(n_trials=n_trials), seed=0,
                          storage=db)
    s.simulate(b, n_workers=3)
    return s


def _records(db: Path) -> int:
    with sqlite3.connect(db) as c:
        return int(c.execute("SELECT MAX(seq) FROM record").fetchone()[0])


def _synchronous(s: rung.Study, path: Path) -> None:
    """The snapshot as the run wrote it in its own loop before the job (``RunWriter._write``
    of rung 0.x): from the run's live engine and a fold of its journal."""
    stored = s.journal.load_study("s")
    assert isinstance(s.journal.path, Path)  # type: ignore[attr-defined]
    snap = data.Snapshot("s", s.journal.path,  # type: ignore[attr-defined]
                         StudySpec.from_json(stored), s.engine, JournalFold(),
                         stored.get("auto"), stored=stored)
    snap.fold.update(s.journal.read("s"))
    snap.fold.drop_results()
    snap.dirty = set(s.engine.history)
    snap.total = snap.fold.n_records
    assert snapshot_mod.write(path, snap)


def _served(path: Path, db: Path) -> dict[str, Any]:
    """Everything a snapshot serves: its pages, table, rows and every trial's detail."""
    view = snapshot_mod.open_view(path, db, "s")
    assert view is not None
    try:
        return {"n": view.n_records, "pages": view.pages, "table": view.table,
                "rows": view.rows,
                "details": [view.detail(t) for t in range(len(view.offsets) - 1)]}
    finally:
        view.close()


@pytest.mark.parametrize("scheduler", ["asha", "median"])
def test_the_job_builds_the_snapshot_the_run_built(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   scheduler: str) -> None:
    """Same journal, same snapshot: the job's (a read-only replay, built while the run still
    holds the study) is the one the run's loop built from its live engine, byte for byte."""
    monkeypatch.setenv("RUNG_DASHBOARD_SNAPSHOTS", "0")  # the run starts no job
    db = tmp_path / "s.db"
    s = _study(db, scheduler)
    old = tmp_path / "old.view"
    _synchronous(s, old)
    assert snapshot_job.run(db, "s")  # while the study is held: its pages say "done" all the same
    new = view_path(db, "s")
    got = _served(new, db)
    assert got == _served(old, db)
    assert got["n"] == _records(db) and got["pages"]["study_row"]["state"] == "done"
    assert new.read_bytes() == old.read_bytes()
    s.close()
    assert not snapshot_job.run(db, "s")  # up to date: not written again


def test_a_job_replays_only_the_records_the_journal_held_when_it_started(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A live run's journal grows while its job replays it: the job stops at the records it
    found (the rest of their turn included), rather than chase the run."""
    monkeypatch.setenv("RUNG_DASHBOARD_SNAPSHOTS", "0")
    monkeypatch.setattr(data, "CHUNK", 10)  # read in many steps
    db = tmp_path / "s.db"
    _study(db).close()
    total = _records(db)
    snap = snapshot_job.build(db, "s", upto=total // 2)
    n = snap.fold.n_records
    assert total // 2 <= n < total
    half = tmp_path / "half.view"
    assert snapshot_mod.write(half, snap)
    got = _served(half, db)
    assert got["n"] == n and got["pages"]["study_row"]["trials"] < 40


class FakeProcess:
    """A job's process that ends when the test says so."""

    def __init__(self) -> None:
        self.returncode: int | None = None
        self.terminated = False

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        return self.returncode

    def terminate(self) -> None:
        self.terminated = True
        self.returncode = -signal.SIGTERM


class Launcher:
    """A fake ``launch``: each job started, with the journal's records when it was."""

    def __init__(self, records: list[int]) -> None:
        self.records = records
        self.started: list[tuple[int, FakeProcess]] = []

    def __call__(self, db: Path, study: str) -> Job:
        p = FakeProcess()
        self.started.append((self.records[0], p))
        return Job(p, ["job", str(db), study])


def test_a_due_snapshot_starts_one_job_and_none_while_one_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(snapshot_mod, "MIN_RECORDS", 100)
    n = [10]
    journal = SimpleNamespace(path=tmp_path / "j.db", count=lambda study: n[0])
    clock = [0.0]
    launch = Launcher(n)
    w = RunWriter(journal, "s", clock=lambda: clock[0], launch=launch)

    def turn(records: int, dt: float = RunWriter.CHECK_EVERY) -> list[int]:
        n[0] = records
        clock[0] += dt
        w.after_turn(None)  # type: ignore[arg-type]
        return [r for r, _ in launch.started]

    assert turn(99) == []  # under MIN_RECORDS
    assert turn(150, dt=1.0) == []  # not checked yet
    assert turn(150) == [150]
    assert turn(400) == [150]  # due, but one is running
    assert turn(800) == [150]
    launch.started[0][1].returncode = 0
    assert turn(800) == [150, 800]  # it ended: the due one starts at the next check
    assert turn(1500) == [150, 800]
    launch.started[1][1].returncode = 0
    assert turn(1500) == [150, 800]  # not doubled since the last one
    assert turn(1600) == [150, 800, 1600]
    w.at_end(None)  # type: ignore[arg-type]
    assert [r for r, _ in launch.started] == [150, 800, 1600]  # it covers the whole journal
    assert not launch.started[2][1].terminated
    n[0] = 1700
    w.at_end(None)  # type: ignore[arg-type]
    # the running one covers less than the whole journal: stopped, one for all started
    assert launch.started[2][1].terminated
    assert [r for r, _ in launch.started] == [150, 800, 1600, 1700]
    assert not w.wait(0) and w.covered == 800  # (the stopped one wrote nothing)
    launch.started[3][1].returncode = 0
    assert w.wait(0) and w.job is None and w.covered == 1700
    assert not caplog.records


def test_a_failed_job_is_warned_of_once_and_not_retried_before_the_journal_doubles(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(snapshot_mod, "MIN_RECORDS", 100)
    n = [200]
    journal = SimpleNamespace(path=tmp_path / "j.db", count=lambda study: n[0])
    clock = [0.0]
    launch = Launcher(n)
    w = RunWriter(journal, "s", clock=lambda: clock[0], launch=launch)
    for records in (200, 300, 400, 500, 800):
        n[0] = records
        clock[0] += RunWriter.CHECK_EVERY
        w.after_turn(None)  # type: ignore[arg-type]
        launch.started[-1][1].returncode = 1
    assert [r for r, _ in launch.started] == [200, 400, 800]
    warned = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and "failed (exit status 1" in warned[0].getMessage()

    def broken(db: Path, study: str) -> Job:
        raise OSError("no more processes")

    w2 = RunWriter(journal, "s", clock=lambda: clock[0], launch=broken)
    w2.at_end(None)  # type: ignore[arg-type]  # never raises
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 2


def test_a_resumed_study_with_an_up_to_date_snapshot_starts_no_job(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    _study(db).close()
    assert snapshot_job.wait_all(WAIT)
    head = snapshot_mod.header(view_path(db, "s"), db, "s")
    assert head is not None and head["n_records"] == _records(db)
    journal = rung.storage.SQLiteJournal(db, readonly=True)
    clock = [0.0]
    launch = Launcher([_records(db)])
    w = RunWriter(journal, "s", clock=lambda: clock[0], launch=launch)
    clock[0] += RunWriter.CHECK_EVERY
    w.after_turn(None)  # type: ignore[arg-type]
    w.at_end(None)  # type: ignore[arg-type]
    assert launch.started == [] and w.covered == head["n_records"]
    # a snapshot this rung cannot use covers nothing: the first check starts a job
    path = view_path(db, "s")
    path.write_bytes(path.read_bytes().replace(b'"format":', b'"format":1', 1))
    w = RunWriter(journal, "s", clock=lambda: clock[0], launch=launch)
    clock[0] += RunWriter.CHECK_EVERY
    w.after_turn(None)  # type: ignore[arg-type]
    assert len(launch.started) == 1
    journal.close()


def test_the_run_never_builds_its_snapshot_and_ends_with_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end, the snapshot built in the driver's process made to fail: the run
    succeeds, and once its job has ended a valid snapshot of the whole journal is beside it,
    serving the pages a replay gives."""
    def no(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the snapshot was built in the run's process")

    for mod, name in ((snapshot_mod, "write"), (snapshot_job, "build"), (snapshot_job, "run"),
                      (Catalog, "snapshot")):
        monkeypatch.setattr(mod, name, no)
    writers: list[RunWriter] = []
    real = driver._view_writer

    def spy(journal: Any, study: str) -> RunWriter | None:
        w = real(journal, study)
        assert w is not None
        writers.append(w)
        return w

    monkeypatch.setattr(driver, "_view_writer", spy)
    monkeypatch.setattr(RunWriter, "CHECK_EVERY", 0.0)  # a check every turn: jobs mid-run
    db = tmp_path / "s.db"
    _study(db, n_trials=60).close()
    [w] = writers
    assert w.wait(WAIT)
    monkeypatch.undo()
    monkeypatch.setattr(snapshot_mod, "MIN_RECORDS", 1)
    head = snapshot_mod.header(view_path(db, "s"), db, "s")
    assert head is not None and head["n_records"] == _records(db) == w.covered
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    cat = Catalog(db, cache_dir=tmp_path / "cache")
    assert cat.snapshot("s").view is not None
    want = Catalog(db, snapshots=False)
    for page in (data.study_row, data.overview):
        assert cat.view("s", page) == want.view("s", page)


def test_a_job_is_reaped_and_one_stopped_leaves_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "s.db"
    monkeypatch.setenv("RUNG_DASHBOARD_SNAPSHOTS", "0")
    _study(db).close()
    leftover = tmp_path / f".{view_path(db, 's').name}.abcd1234.tmp"
    leftover.write_bytes(b"half a snapshot")  # a job killed outright left it
    job = snapshot_job.start(db, "s")
    assert job.wait(WAIT) and job.ok()
    with pytest.raises(ChildProcessError):  # reaped: no zombie left
        os.waitpid(job.process.pid, os.WNOHANG)
    assert not leftover.exists()
    assert snapshot_mod.header(view_path(db, "s"), db, "s") is not None
    view_path(db, "s").unlink()
    job = snapshot_job.start(db, "s")
    job.stop()  # whenever it gets it, it ends without leaving a temporary file
    assert job.wait(WAIT)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    path = view_path(db, "s")
    assert not path.exists() or snapshot_mod.header(path, db, "s") is not None


def test_a_job_that_fails_harms_nothing(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A job for a study the journal does not hold ends with status 1 (2: misused), the
    journal as it was and nothing written beside it."""
    db = tmp_path / "s.db"
    monkeypatch.setenv("RUNG_DASHBOARD_SNAPSHOTS", "0")
    _study(db).close()
    before = _records(db), sorted(p.name for p in tmp_path.iterdir())
    job = snapshot_job.Job(subprocess.Popen(  # as ``start`` starts it, with its stderr
        [sys.executable, "-m", "rung.dashboard.snapshot_job", str(db), "no-such-study"],
        stderr=subprocess.PIPE), [])
    _, err = job.process.communicate(timeout=WAIT)
    assert job.done() and not job.ok() and job.why() == "exit status 1"
    assert b"could not write the dashboard snapshot of no-such-study" in err
    usage = subprocess.run([sys.executable, "-m", "rung.dashboard.snapshot_job"],
                           capture_output=True, timeout=WAIT, check=False)
    assert usage.returncode == 2
    assert (_records(db), sorted(p.name for p in tmp_path.iterdir())) == before
    job = snapshot_job.inline(db, "no-such-study")
    assert job.done() and not job.ok()
