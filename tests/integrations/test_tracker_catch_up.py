"""TensorBoard and W&B after a session that was SIGKILLed between journaling a turn and
telling the trackers: the next session brings each trial's runs up to the journal, every
result once (as ``MLflowCallback`` does: ``test_mlflow``'s killed-session test)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tracking_study import resume, truth

from rung import Study

_KILLED = """\
import os, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from tracking_study import Curves, make_study
from rung import Callback

class Die(Callback):  # SIGKILL at turn 8, after it is journaled, before the tracker is told
    turns = 0
    def on_turn(self, events, commands, history):
        self.turns += 1
        if self.turns == 8:
            os.kill(os.getpid(), signal.SIGKILL)

if sys.argv[4] == "tensorboard":
    from rung.integrations.tensorboard import TensorBoardCallback
    tracker = TensorBoardCallback(Path(sys.argv[2]), flush_secs=1)
else:
    from rung.integrations.wandb import WandbCallback
    tracker = WandbCallback(dir=sys.argv[2], mode="offline")
study = make_study(Path(sys.argv[1]), "killed")
study.simulate(Curves(), n_workers=2, callbacks=[Die(), tracker])
"""


def killed_session(tmp_path: Path, tracker: str, target: Path) -> Study:
    """A first session SIGKILLed at turn 8 (journaled, never told to ``tracker``); the study
    loaded back."""
    script = tmp_path / "killed.py"
    script.write_text(_KILLED)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path), str(target),
                           str(Path(__file__).parent), tracker], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    return Study.load("killed", storage=tmp_path / "killed.db")


def test_tensorboard_catches_up_with_a_killed_session(tmp_path: Path) -> None:
    pytest.importorskip("tensorboardX")
    from rung.integrations.tensorboard import TensorBoardCallback, _events

    def points(study: Study) -> dict[int, list[tuple[int, str, float]]]:
        out: dict[int, list[tuple[int, str, float]]] = {}
        for tid in study.history:
            path = TensorBoardCallback(tmp_path / "tb").trial_dir("killed", tid)
            out[tid] = sorted((ev.step, v.tag, v.simple_value) for ev in _events(path)
                              for v in ev.summary.value if v.WhichOneof("value") == "simple_value")
        return out

    def statuses(tid: int) -> list[str]:
        path = TensorBoardCallback(tmp_path / "tb").trial_dir("killed", tid)
        return [v.tensor.string_val[0].decode() for ev in _events(path)
                for v in ev.summary.value if v.tag == "rung/status/text_summary"]

    study = killed_session(tmp_path, "tensorboard", tmp_path / "tb")
    journaled = truth(study)
    before = points(study)
    assert sum(map(len, before.values())) < sum(len(t.metrics) for t in journaled.values())
    again = resume(study, tmp_path, TensorBoardCallback(tmp_path / "tb"))
    expected = truth(again)
    got = points(again)
    for tid, want in expected.items():
        assert got[tid] == sorted((s, k, pytest.approx(v, rel=1e-6)) for s, k, v in want.metrics)
        assert statuses(tid)[-1].split("\n")[0] == want.status
    # a third session finds nothing missing: writes no point again
    again.close()
    third = Study.load("killed", storage=tmp_path / "killed.db")
    cb = TensorBoardCallback(tmp_path / "tb")
    cb.on_start(third)
    cb.on_end(third)
    assert points(third) == got
