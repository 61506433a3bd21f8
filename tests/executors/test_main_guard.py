"""Issue 15 item 6: a script that starts a run without ``if __name__ == "__main__":`` gets one
clear error naming the fix (spawned workers re-import the script), not a traceback per
worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BODY = '''\
import rung

def train(ctx):
    ctx.report(1, loss=float(ctx.params["x"]))

{guard}study = rung.run(train, {{"x": rung.Float(0.0, 1.0)}}, searcher="random",
{indent}                 scheduler="fifo", n_trials=4, n_workers=2)
{indent}print("best", round(study.best_trial.value, 6))
'''


def run_script(tmp_path: Path, guarded: bool) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "search.py"
    script.write_text(BODY.format(guard='if __name__ == "__main__":\n    ' if guarded else "",
                                  indent="    " if guarded else ""))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=180, env=env)


@pytest.mark.parametrize("guarded", [False, True])
def test_missing_main_guard_is_one_clear_error(tmp_path: Path, guarded: bool) -> None:
    p = run_script(tmp_path, guarded)
    if guarded:  # the same script with the guard runs
        assert p.returncode == 0, p.stderr
        assert p.stdout.startswith("best ")
        return
    assert p.returncode == 1
    err = p.stderr
    assert 'put the code that runs the study under `if __name__ == "__main__":`' in err
    assert f"{tmp_path / 'search.py'} starts the study when it is imported" in err
    assert err.count("Traceback") == 1  # the script's own, ending in the message
    assert "worker processes in a row died" not in err
    assert "bootstrapping" not in err
    assert len(err.splitlines()) < 30
