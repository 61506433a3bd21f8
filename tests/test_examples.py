"""The examples stay working: each runs in a tiny configuration, and each restores its own
checkpoints correctly."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from rung.cli.spec import load_spec
from rung.errors import StopTrial
from rung.storage import SQLiteJournal
from rung.study import Study

pytest.importorskip("sklearn")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeContext:
    """Stands in for ``rung.TrialContext``: records reports, saves a checkpoint at
    ``save_at``, stops the trial after ``stop_after``."""

    def __init__(self, params: dict[str, Any], start: int, max_step: int,
                 checkpoint: str | None = None, save_dir: Path | None = None,
                 save_at: int | None = None, stop_after: int | None = None) -> None:
        self.params = params
        self.trial_id = 0
        self.start_step = start
        self.max_step = max_step
        self.checkpoint = checkpoint
        self.reports: dict[int, dict[str, Any]] = {}
        self._save_dir = save_dir
        self._save_at = save_at
        self._stop_after = stop_after

    def report(self, step: int, save: Callable[[str], Any] | None = None,
               **metrics: Any) -> None:
        self.reports[step] = metrics
        if step == self._save_at:
            assert save is not None and self._save_dir is not None
            self._save_dir.mkdir(parents=True)
            save(str(self._save_dir))
        if step == self._stop_after:
            raise StopTrial("test")


def run_ctx(module: ModuleType, ctx: FakeContext) -> FakeContext:
    with contextlib.suppress(StopTrial):
        module.train(ctx)
    return ctx


MLP = {"hidden": 64, "layers": 1, "lr": 3e-3, "alpha": 1e-4, "batch_size": 32}
BOOST = {"learning_rate": 0.1, "max_leaf_nodes": 15, "min_samples_leaf": 10,
         "l2_regularization": 0.1, "rounds": 10}


def test_mlp_checkpoint_restores_training(tmp_path: Path) -> None:
    mod = load_example("mlp_digits")
    ckpt = tmp_path / "ckpt"
    first = run_ctx(mod, FakeContext(MLP, 1, 6, save_dir=ckpt, save_at=4, stop_after=4))
    assert (ckpt / "weights.npz").is_file()
    resumed = run_ctx(mod, FakeContext(MLP, 5, 6, checkpoint=str(ckpt)))
    assert sorted(resumed.reports) == [5, 6]
    # the restored network goes on from where it was, far better than a fresh one's epoch 1
    assert resumed.reports[5]["val_loss"] < 0.8 * first.reports[1]["val_loss"]
    assert resumed.reports[5]["val_acc"] >= first.reports[4]["val_acc"] - 0.03


def test_boosting_checkpoint_continues_exactly(tmp_path: Path) -> None:
    mod = load_example("boosting")
    ckpt = tmp_path / "ckpt"
    straight = run_ctx(mod, FakeContext(BOOST, 1, 4))
    run_ctx(mod, FakeContext(BOOST, 1, 4, save_dir=ckpt, save_at=2, stop_after=2))
    resumed = run_ctx(mod, FakeContext(BOOST, 3, 4, checkpoint=str(ckpt)))
    assert resumed.reports[3]["trees"] == 30  # 20 restored + 10 new rounds
    assert resumed.reports[4] == pytest.approx(straight.reports[4])


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.mark.parametrize("name", ["mlp_digits", "boosting"])
def test_example_script_runs(tmp_path: Path, name: str) -> None:
    db = tmp_path / "ex.db"
    r = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--trials", "4", "--max-step", "4",
         "--workers", "2", "--checkpoint-every", "2", "--storage", str(db)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=_env(),
    )
    assert r.returncode == 0, r.stderr
    assert "best trial #" in r.stdout
    with SQLiteJournal(db, readonly=True) as j:
        study = Study.load(name, j)
        assert len(study.trials()) == 4
        assert all(t.status.value in ("completed", "stopped") for t in study.trials())


def test_spec_yaml_is_valid_and_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    spec, fn = load_spec(EXAMPLES / "spec.yaml")  # validates and imports the objective
    assert spec.objective == "boosting:train" and callable(fn)
    # the same spec, shrunk
    data = yaml.safe_load((EXAMPLES / "spec.yaml").read_text())
    data.update(path=str(EXAMPLES), storage=str(tmp_path / "s.db"), max_step=3,
                budget={"n_trials": 3}, n_workers=2, checkpoint_every=1)
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(data))
    r = subprocess.run([sys.executable, "-m", "rung.cli", "run", "spec.yaml"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300, env=_env())
    assert r.returncode == 0, r.stderr
    assert "boosting done: best val_logloss=" in r.stdout
