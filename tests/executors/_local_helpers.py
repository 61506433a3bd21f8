"""What the ``LocalExecutor`` tests share: the study they run and what they read back.

``make_study`` builds a study whose objective (``objectives.py``) logs every run to
``tmp_path`` as JSON lines (``runs``); ``ckpt_dir`` and ``on_disk`` name the checkpoints a
study keeps; ``alive`` (``tests/_procs.py``, re-exported) tells a live process from a gone or
zombie one. ``FAST`` is the start method of the tests that are not about spawn itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import rung
from _procs import alive as alive  # re-exported: the local executor tests import it here
from rung import Budget, Float, Objective, Study, TrialStatus

FAST = "fork"  # start method of the tests that are not about spawn itself

FINAL = {TrialStatus.COMPLETED, TrialStatus.STOPPED, TrialStatus.FAILED}


def make_study(tmp_path: Path, name: str, n_trials: int, max_step: int = 9,
               scheduler: Any = "fifo", extra: dict[str, Any] | None = None) -> Study:
    space: dict[str, Any] = {"x": Float(0.0, 1.0), "log": rung.Fixed(str(tmp_path))}
    space.update(extra or {})
    return Study.create(
        name, space, Objective("loss", "min"), searcher="random", scheduler=scheduler,
        max_step=max_step, budget=Budget(n_trials=n_trials), seed=1,
        storage=tmp_path / "study.db",
    )


def ckpt_dir(tmp_path: Path, name: str) -> Path:
    return tmp_path / "study-checkpoints" / name


def on_disk(root: Path) -> set[str]:
    """``trial/step`` of every checkpoint directory under ``root`` (temporaries included)."""
    if not root.exists():
        return set()
    return {f"{t.name}/{s.name}" for t in root.iterdir() if t.is_dir() for s in t.iterdir()}


def runs(tmp_path: Path, trial_id: int) -> list[dict[str, Any]]:
    lines = (tmp_path / f"{trial_id}.runs").read_text().splitlines()
    return [json.loads(line) for line in lines]
