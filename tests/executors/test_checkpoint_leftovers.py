"""A worker killed while it saves a checkpoint (``trial_timeout``, a cancel, a crash) leaves
a half-written temporary directory (``<trial>/.tmp-<step>-<pid>``); the executor removes it
when it retires the worker, so a run leaves none behind (the next session's sweep was the
only cleanup: a finished study kept them, with whatever a model's save had written)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import objectives

from rung import Budget, Float, Objective, Study, TrialStatus


def test_a_save_cut_short_leaves_no_temporary_directory(tmp_path: Path) -> None:
    space: dict[str, Any] = {"x": Float(0.0, 1.0)}
    study = Study.create("cut", space, Objective("loss"), searcher="random", scheduler="fifo",
                         max_step=2, budget=Budget(n_trials=3), seed=0,
                         storage=tmp_path / "cut.db", trial_timeout=1.0)
    study.run(objectives.hangs_in_save, n_workers=2, start_method="fork", checkpoint_every=1)
    trials = study.trials()
    assert trials[0].status is TrialStatus.FAILED
    assert trials[0].error == "timeout: trial_timeout of 1 s reached"
    assert [t.status for t in trials[1:]] == [TrialStatus.COMPLETED] * 2
    root = tmp_path / "cut-checkpoints" / "cut"
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir())
    assert [p for p in left if ".tmp-" in p] == []
    assert "0" not in left  # trial 0 has no checkpoint: its directory goes with the temporary
