"""A driver killed before SQLite folded its write-ahead log back leaves the study's records in
``<journal>-wal``: a copy of the journal file alone holds no study. The refusal says so (it
said only ``studies: none``, and docs/spec.md's move recipe named no ``-wal`` file), and
``rung show`` on the original folds the log back, after which the file alone is whole."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import rung

SRC = str(Path(rung.__file__).resolve().parents[1])
ENV = {**os.environ, "PYTHONPATH": SRC}
HINT = ("a journal copied or moved without its -wal file after its driver was killed holds "
        "none: bring the -wal file along")


def _rung(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rung", *args], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=120, check=False)


def test_a_copy_without_its_wal_says_what_is_missing(tmp_path: Path) -> None:
    # a driver that dies with its journal open (os._exit: no close, no checkpoint of the log)
    script = textwrap.dedent("""
        import os, rung
        st = rung.Study.create("w", {"x": rung.Float(0, 1)}, objective="loss",
                               max_step=3, budget=rung.Budget(n_trials=4), storage="w.db")
        for _ in range(4):
            t = st.ask()
            for s in (1, 2, 3):
                st.report(t.id, s, {"loss": t.params["x"] / s})
            st.tell(t.id)
        os._exit(0)
    """)
    r = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=ENV,
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "w.db-wal").stat().st_size > 0
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.copy(tmp_path / "w.db", moved / "w.db")  # the file alone, as the old recipe said
    r = _rung("resume", "w", "--storage", "moved/w.db", cwd=tmp_path)
    assert r.returncode != 0
    assert r.stderr.strip().splitlines() == [
        f"rung: error: no study named 'w' in moved/w.db (studies: none; {HINT})"]
    # with its -wal file beside it the copy is whole, and no hint is given where one is
    shutil.copy(tmp_path / "w.db-wal", moved / "w.db-wal")
    assert "trials     4:" in _rung("show", "w", "--storage", "moved/w.db", cwd=tmp_path).stdout
    # `rung show` on the original folds the log back: then the file alone is whole
    assert _rung("show", "w", "--storage", "w.db", cwd=tmp_path).returncode == 0
    again = tmp_path / "again"
    again.mkdir()
    shutil.copy(tmp_path / "w.db", again / "w.db")
    assert "trials     4:" in _rung("show", "w", "--storage", "again/w.db", cwd=tmp_path).stdout
