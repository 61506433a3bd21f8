"""A worker's printed lines reach the file the driver's output goes to even when the worker is
killed: its ``sys.stdout`` and ``sys.stderr`` are line-buffered (``pipe.worker_main``), where
written to a file or a pipe they would be block-buffered and lost with the process (the lines
of the killed trial, and of the trials before it on that worker).

Each test runs a real script in a subprocess whose stdout and stderr are files, without
``PYTHONUNBUFFERED``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BODY = '''\
import os, signal, sys, time
import rung

def train(ctx):
    mode = ctx.params["mode"]
    print(f"trial {{ctx.trial_id}} out: {{mode}} started")
    print(f"trial {{ctx.trial_id}} err: {{mode}} started", file=sys.stderr)
    if mode == "hang":
        time.sleep(3600)
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    return {{"loss": 0.0}}

if __name__ == "__main__":
    study = rung.Study.create("out", {{"mode": rung.Categorical(["ok", "{end}"])}},
                              objective="loss", searcher="grid", scheduler="fifo",
                              budget=rung.Budget(n_trials=2), trial_timeout={timeout},
                              max_failures=None)
    study.run(train, n_workers=1, start_method="{method}", progress=False)
    print("statuses", sorted(t.status.value for t in study.trials()), file=sys.stderr)
'''


def run_script(tmp_path: Path, end: str, method: str) -> tuple[str, str]:
    """Run the script (trial 0 completes, trial 1 ends as ``end`` says); its stdout and
    stderr as written to files."""
    script = tmp_path / "search.py"
    script.write_text(BODY.format(end=end, method=method,
                                  timeout=2.0 if end == "hang" else None))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("w") as fo, err.open("w") as fe:
        p = subprocess.run([sys.executable, str(script)], cwd=tmp_path, stdout=fo, stderr=fe,
                           timeout=180, env=env)
    assert p.returncode == 0, err.read_text()
    return out.read_text(), err.read_text()


@pytest.mark.parametrize("method", ["fork", pytest.param("spawn", marks=pytest.mark.slow)])
@pytest.mark.parametrize("end", ["hang", "kill"])
def test_a_killed_workers_printed_lines_are_in_the_file(
    tmp_path: Path, end: str, method: str
) -> None:
    out, err = run_script(tmp_path, end, method)
    # the trial that was killed (timed out, or SIGKILLed) and the one before it on the worker
    assert f"trial 1 out: {end} started\n" in out, out
    assert "trial 0 out: ok started\n" in out, out
    assert f"trial 1 err: {end} started\n" in err, err
    assert "trial 0 err: ok started\n" in err, err
    # timed out, or interrupted until it fails (each resumed run is killed again)
    assert "statuses ['completed', 'failed']" in err, err
