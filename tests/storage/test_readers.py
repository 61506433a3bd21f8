"""Reading a journal changes nothing and leaves nothing behind.

Before: a finished journal in a directory the user cannot write was "not a rung journal:
attempt to write a readonly database" (exit 2) for ``rung show`` / ``export`` /
``Study.load(readonly=True)``, and unreadable for ``rung ls`` (a WAL reader must create
``-shm``); and every read left ``-wal`` and ``-shm`` beside the journal (``rung ls`` over 200
journals left 400 files).

The permission tests run the commands as a user the permissions apply to: as root, without the
capabilities that bypass them (``setpriv``, as CI runs as root)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import rung
from _specs import REPORTING, x_spec
from rung.benchmarks import get_benchmark

_DROP = "-dac_override,-dac_read_search,-fowner"


def _as_user() -> list[str]:
    """The command prefix that makes file permissions apply to a command of this process's
    user (none unless root)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and setpriv (util-linux) is missing: file permissions "
                    "cannot be made to apply to a command")
    return [setpriv, "--bounding-set", _DROP, "--inh-caps", _DROP]


def _rung(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_as_user(), sys.executable, "-m", "rung.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _finished(path: Path, name: str = "s") -> Path:
    b = get_benchmark("mf-branin", max_step=9)
    s = rung.Study.create(name, b.space, objective="loss", searcher="random",
                          scheduler="asha", max_step=9, budget=rung.Budget(n_trials=6),
                          storage=path)
    s.simulate(b, n_workers=2, progress=False)
    s.close()
    assert not Path(f"{path}-wal").exists()  # the writer's close folded it in
    return path


def _listing(d: Path) -> list[str]:
    """The files in ``d``, the writers' lock files left out."""
    return sorted(p.name for p in d.iterdir() if not p.name.endswith(".lock"))


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "ro"
    d.mkdir()
    _finished(d / "small.db")
    d.chmod(0o555)
    yield d
    d.chmod(0o755)


def test_a_journal_in_a_read_only_directory_is_read_and_nothing_is_created(
    read_only_dir: Path, tmp_path: Path,
) -> None:
    before = _listing(read_only_dir)
    show = _rung("show", "s", "--storage", "small.db", cwd=read_only_dir)
    assert (show.returncode, show.stderr) == (0, "")
    assert show.stdout.startswith("study s")
    ls = _rung("ls", "--storage", ".", cwd=read_only_dir)
    assert (ls.returncode, ls.stderr) == (0, "")
    assert "unreadable" not in ls.stdout and ls.stdout.splitlines()[1].startswith("s ")
    out = tmp_path / "e.csv"
    export = _rung("export", "s", "--storage", "small.db", "-o", str(out), cwd=read_only_dir)
    assert (export.returncode, export.stderr) == (0, f"rung: wrote 6 trials of s to {out}\n")
    assert len(out.read_text().splitlines()) == 7
    load = subprocess.run(
        [*_as_user(), sys.executable, "-c", "import rung; print(len(rung.Study.load("
         "'s', storage='small.db', readonly=True).trials()))"],
        cwd=read_only_dir, capture_output=True, text=True, timeout=120)
    assert (load.returncode, load.stdout, load.stderr) == (0, "6\n", "")
    assert _listing(read_only_dir) == before


def test_a_journal_with_a_wal_in_a_read_only_directory_says_why_it_cannot_be_read(
    tmp_path: Path,
) -> None:
    d = tmp_path / "ro"
    d.mkdir()
    db = _finished(d / "small.db")
    writer = sqlite3.connect(db)  # a writer's -wal, left there as if it were still at work
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("UPDATE study SET created = created")
    writer.commit()
    shutil.copy(f"{db}-wal", tmp_path / "wal")
    writer.close()
    shutil.copy(tmp_path / "wal", f"{db}-wal")
    Path(f"{db}-shm").unlink(missing_ok=True)
    d.chmod(0o555)
    try:
        show = _rung("show", "s", "--storage", "small.db", cwd=d)
        assert show.returncode == 2
        assert show.stderr == (
            f"rung: error: cannot read the journal small.db: its directory {d} is not "
            "writable by this user, and SQLite must create small.db-shm there to read a "
            "journal that has a small.db-wal beside it; read it as a user who may write "
            "there, or copy the journal (with its -wal) to a writable directory\n")
        assert _listing(d) == ["small.db", "small.db-wal"]
    finally:
        d.chmod(0o755)


def test_readers_leave_no_wal_or_shm_behind(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        _finished(tmp_path / f"{name}.db", name)
    assert _listing(tmp_path) == ["a.db", "b.db", "c.db"]
    ls = _rung("ls", "--storage", ".", cwd=tmp_path)
    assert ls.returncode == 0 and len(ls.stdout.splitlines()) == 4
    show = _rung("show", "a", "--storage", "a.db", cwd=tmp_path)
    assert show.returncode == 0
    s = rung.Study.load("b", storage=tmp_path / "b.db", readonly=True)
    assert len(s.trials()) == 6
    s.close()
    assert _listing(tmp_path) == ["a.db", "b.db", "c.db"]


def test_the_dashboards_reads_and_snapshot_job_leave_no_wal_or_shm_behind(tmp_path: Path) -> None:
    """The dashboard's own connections (its change checks, a snapshot's fingerprint) and the
    end-of-run snapshot job open the journal as a read-only ``SQLiteJournal`` does: a
    finished journal keeps no -wal / -shm beside it (they did: ``mode=ro`` cannot remove them)."""
    from contextlib import closing

    from rung.dashboard.snapshot import connect_readonly

    db = _finished(tmp_path / "a.db", "a")
    with closing(connect_readonly(db)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM study").fetchone() == (1,)
        with pytest.raises(sqlite3.OperationalError, match="readonly|query_only|read-only"):
            conn.execute("DELETE FROM record")
    assert _listing(tmp_path) == ["a.db"]
    job = subprocess.run([sys.executable, "-m", "rung.dashboard.snapshot_job", str(db), "a"],
                         capture_output=True, text=True, timeout=120)
    assert job.returncode == 0, job.stderr
    assert _listing(tmp_path) == ["a.db", "a.db.a.view"]


def test_readers_beside_a_running_writer_neither_block_nor_disturb_it(tmp_path: Path) -> None:
    (tmp_path / "rep_obj.py").write_text(REPORTING)
    (tmp_path / "spec.yaml").write_text(x_spec("w", "rep_obj:train", tmp_path, max_step=6,
                                               n_trials=4, storage="w.db", n_workers=1))
    p = subprocess.Popen([sys.executable, "-m", "rung.cli", "run", "spec.yaml", "--no-live"],
                         cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "reported").exists():
        assert p.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    reads = 0
    while p.poll() is None:
        ls = _rung("ls", "--storage", "w.db", cwd=tmp_path)
        assert (ls.returncode == 0 and " running " in ls.stdout) or p.poll() is not None, ls
        s = rung.Study.load("w", storage=tmp_path / "w.db", readonly=True)
        assert len(s.trials()) <= 4
        s.close()
        reads += 1
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert reads >= 2
    s = rung.Study.load("w", storage=tmp_path / "w.db", readonly=True)
    assert [t.status for t in s.trials()] == [rung.TrialStatus.COMPLETED] * 4
    assert all(len(t.results) == 6 for t in s.trials())
    s.close()
    _rung("ls", "--storage", "w.db", cwd=tmp_path)
    assert not list(tmp_path.glob("w.db-*"))
