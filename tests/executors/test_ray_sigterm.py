"""SIGTERM stops a ``rung run`` on Ray as Ctrl-C does: ``ray.init`` (called by the executor
inside the run) replaced ``rung run``'s SIGTERM handler with Ray's, which exits with code 15,
without the "interrupted ... Resume with" line. ``connect`` now keeps a handler installed before.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import rung
from _specs import REPORTING, x_spec
from rung.executors.ray.connect import connect

HAVE_RAY = importlib.util.find_spec("ray") is not None
SRC = str(Path(rung.__file__).resolve().parents[1])


class _Ray:
    """What ``connect`` calls of Ray; ``init`` sets a SIGTERM handler as ``ray.init`` does."""

    def __init__(self) -> None:
        self.handler: Any = None

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs: Any) -> None:
        def ray_handler(signum: int, frame: FrameType | None) -> None:
            sys.exit(signum)

        self.handler = ray_handler
        signal.signal(signal.SIGTERM, ray_handler)


def test_connect_keeps_the_sigterm_handler_installed_before() -> None:
    def mine(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    saved = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, mine)
        assert connect(_Ray(), None, {}) is True
        assert signal.getsignal(signal.SIGTERM) is mine
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        connect(_Ray(), None, {})
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
        # none installed (the default): Ray's stays, so its SystemExit runs the run's cleanup
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        ray = _Ray()
        connect(ray, None, {})
        assert signal.getsignal(signal.SIGTERM) is ray.handler
    finally:
        signal.signal(signal.SIGTERM, saved)


OBJECTIVE = REPORTING


@pytest.mark.ray
@pytest.mark.slow  # starts a private Ray instance twice (~30 s on a loaded 2-core machine)
@pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed: pip install 'rung[ray]'")
def test_sigterm_interrupts_a_ray_run_which_resumes(tmp_path: Path) -> None:
    (tmp_path / "sigobj.py").write_text(OBJECTIVE)
    (tmp_path / "spec.yaml").write_text(x_spec(
        "sig", "sigobj:train", tmp_path, max_step=50, n_trials=3, executor="ray", n_workers=1,
        storage=tmp_path / "sig.db",
        executor_options="{address: local, ray_init: {num_cpus: 1, include_dashboard: false}}"))
    env = {**os.environ, "PYTHONPATH": SRC}
    cmd = [sys.executable, "-m", "rung.cli.main"]
    p = subprocess.Popen([*cmd, "run", "spec.yaml", "--no-live"], cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "reported").exists():
            assert p.poll() is None and time.monotonic() < deadline, p.communicate()
            time.sleep(0.1)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 130, err
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith("rung: interrupted; 1 trials are in the journal. Resume with: "
                           "rung resume sig --storage "), err
    done = subprocess.run([*cmd, "resume", "sig", "--storage", str(tmp_path / "sig.db"),
                           "--no-live"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "sig.db") as db:
        ended = db.execute("SELECT body FROM record WHERE kind = 'TrialEnded'").fetchall()
    # the interrupted run of trial 0, then the three trials' ends
    assert len(ended) == 4, ended
