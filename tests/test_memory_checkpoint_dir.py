"""An in-memory study's temporary checkpoint directory is removed without a ``ResourceWarning``:
at once by ``close``, when the study is garbage-collected, or at interpreter exit (``rung.run``
hands back an open study, which a script usually never closes).

Each case runs in a fresh interpreter under ``-W error::ResourceWarning`` with ``TMPDIR`` set to
a directory of its own, so that what is left behind, and any warning, can be seen.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import rung

SRC = str(Path(rung.__file__).resolve().parents[1])


def _run(code: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as a script (spawned workers import its objective) beside ``tmp``, the
    process's ``TMPDIR``."""
    tmp.mkdir()
    script = tmp.parent / "script.py"
    script.write_text(textwrap.dedent(code))
    env = {**os.environ, "PYTHONPATH": SRC, "TMPDIR": str(tmp)}
    return subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", str(script)],
        cwd=tmp.parent, env=env, capture_output=True, text=True, timeout=240, check=False,
    )


def _left(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir() if p.name.startswith("rung-"))


def test_a_study_rung_run_returns_open_leaves_nothing_at_exit(tmp_path: Path) -> None:
    # the audit's script: rung.run with checkpoints, in memory, the study never closed
    tmp = tmp_path / "t"
    r = _run("""
        import os, rung
        def train(ctx):
            for s in range(ctx.start_step, ctx.max_step + 1):
                ctx.report(s, loss=ctx.params["x"] / s,
                           save=lambda d: open(os.path.join(d, "c"), "w").close())
        if __name__ == "__main__":
            st = rung.run(train, {"x": rung.Float(0, 1)}, metric="loss", mode="min",
                          scheduler=rung.SuccessiveHalving(), max_step=3, n_trials=3,
                          n_workers=1, progress=False, seed=0)
            assert st.best_trial is not None
            print("DIR", st._checkpoint_dir())
    """, tmp)
    assert r.returncode == 0, r.stderr
    assert "DIR " + str(tmp) in r.stdout  # it did use a temporary directory
    assert "ResourceWarning" not in r.stderr and "Implicitly cleaning up" not in r.stderr
    assert _left(tmp) == []


def test_a_dropped_study_removes_it_when_collected_and_close_at_once(tmp_path: Path) -> None:
    tmp = tmp_path / "t"
    r = _run("""
        import gc, rung
        def study(name):
            return rung.Study.create(name, {"x": rung.Float(0, 1)}, max_step=3)
        dropped = study("dropped")
        d1 = dropped._checkpoint_dir()
        (d1 / "ckpt").mkdir()
        assert d1.is_dir()
        del dropped
        gc.collect()
        print("dropped removed:", not d1.exists())
        closed = study("closed")
        d2 = closed._checkpoint_dir()
        closed.close()
        print("closed removed:", not d2.exists())
        kept = study("kept")  # alive until exit
        print("kept exists:", kept._checkpoint_dir().is_dir())
    """, tmp)
    assert r.returncode == 0, r.stderr
    assert "dropped removed: True" in r.stdout
    assert "closed removed: True" in r.stdout
    assert "kept exists: True" in r.stdout
    assert "ResourceWarning" not in r.stderr and "Implicitly cleaning up" not in r.stderr
    assert _left(tmp) == []
