"""TensorBoard and W&B after a session that was SIGKILLed between journaling a turn and
telling the trackers: the next session brings each trial's runs up to the journal, every
result once (as ``MLflowCallback`` does: ``test_mlflow``'s killed-session test)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

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


@pytest.mark.slow  # a subprocess importing tensorboardX (and PyTorch if installed): ~5 s
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


@pytest.mark.slow  # two sessions of W&B runs (about half a second each): ~20 s
def test_wandb_catches_up_with_a_killed_session(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    wandb = pytest.importorskip("wandb")
    from wandb_reader import OfflineRun, read_run

    from rung.integrations.wandb import WandbCallback

    def read_runs(root: Path) -> list[OfflineRun]:
        """Every offline run with a run record (a killed session's may have none)."""
        wandb.teardown()
        out = []
        for f in sorted(root.glob("wandb/offline-run-*/run-*.wandb")):
            try:
                out.append(read_run(f))
            except AssertionError:  # no run record: wandb's service died first
                continue
        return out

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    study = killed_session(tmp_path, "wandb", tmp_path / "w")
    first = read_runs(tmp_path / "w")
    journaled = truth(study)
    logged = sum(1 for r in first for row in r.history for k in ("loss", "acc") if k in row)
    assert logged < sum(len(t.metrics) for t in journaled.values())  # wandb lost them
    again = resume(study, tmp_path, WandbCallback(dir=tmp_path / "w"))
    expected = truth(again)
    runs = read_runs(tmp_path / "w")
    for tid, want in expected.items():
        mine = [r for r in runs if r.job_type == "trial" and r.name == f"trial-{tid}"]
        rows = [row for r in mine for row in r.history]
        got = sorted((row["rung/step"], k, row[k]) for row in rows for k in ("loss", "acc")
                     if k in row)
        assert got == sorted(want.metrics)  # every result once, across the sessions
        assert [r.summary["rung/status"] for r in mine].count(want.status) == 1
    # a session that ended cleanly leaves nothing to catch up: no new trial run
    n = len(runs)
    again.close()
    third = Study.load("killed", storage=tmp_path / "killed.db")
    cb = WandbCallback(dir=tmp_path / "w")
    cb.on_start(third)
    cb.on_end(third)
    assert len(read_runs(tmp_path / "w")) == n + 1  # the study run only
