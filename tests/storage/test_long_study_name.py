"""A study name longer than a file name may be (``NAME_MAX``: 255 bytes) gets a checkpoint
directory of its own all the same: shortened, with a hash of the whole name. Before: such a
study was created, and its first run died with ``OSError: [Errno 36] File name too long``."""

from __future__ import annotations

from pathlib import Path

import rung
from rung.storage.paths import NAME_MAX, study_subdir


def train(ctx: rung.TrialContext) -> None:
    for step in range(ctx.start_step, ctx.max_step + 1):
        def save(d: str) -> None:
            Path(d, "s").write_text("1")

        ctx.report(step, loss=ctx.params["x"] + 1 / step, save=save)


def test_a_name_too_long_for_a_file_name_runs_with_checkpoints(tmp_path: Path) -> None:
    name = "L" * 300
    db = tmp_path / "long.db"
    study = rung.Study.create(name, {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                              scheduler="fifo", max_step=2, budget=rung.Budget(n_trials=2),
                              storage=db)
    study.run(train, executor="local", n_workers=1, progress=False)
    assert [t.status for t in study.trials()] == [rung.TrialStatus.COMPLETED] * 2
    root = study.journal.checkpoint_dir(name)
    study.close()
    assert root is not None and root.parent == tmp_path / "long-checkpoints"
    assert len(root.name.encode()) <= NAME_MAX and root.name.startswith("L" * 200 + "-")
    assert [p.name for p in (tmp_path / "long-checkpoints").iterdir()] == [root.name]


def test_long_names_keep_distinct_directories_that_fit(tmp_path: Path) -> None:
    names = ["é" * 200, "é" * 200 + "x", "a/" + "b" * 300, "L" * 255, "L" * 256]
    dirs = [study_subdir(tmp_path, n) for n in names]
    assert len(set(dirs)) == len(dirs)
    assert all(d.parent == tmp_path and len(d.name.encode()) <= NAME_MAX for d in dirs)
    assert dirs[3].name == "L" * 255  # a name that fits is itself
