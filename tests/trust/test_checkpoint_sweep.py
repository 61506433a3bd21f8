"""A checkpoint the engine released is deleted from disk, also when the driver stopped between
journaling its ``DeleteCheckpoint`` and carrying it out; a half-written save goes too. The next
session removes them, and nothing the study still needs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import trust_objectives

from rung import Budget, Float, Objective, SearchSpace, Study
from rung.core.events import DeleteCheckpoint, Record
from rung.executors.local import LocalExecutor
from rung.executors.pool import sweep_checkpoints
from rung.storage import SQLiteJournal


class StopsAfterADelete(SQLiteJournal):
    """Journals a batch, then the driver is interrupted (Ctrl-C) if the batch deletes a
    checkpoint: the command is in the journal but was never carried out."""

    def append(self, name: str, records: Sequence[Record]) -> None:
        super().append(name, records)
        if any(isinstance(r, DeleteCheckpoint) for r in records):
            raise KeyboardInterrupt


def on_disk(root: Path) -> set[str]:
    return {f"{t.name}/{c.name}" for t in root.iterdir() for c in t.iterdir()}


def test_checkpoints_a_stopped_session_was_told_to_delete_go_at_resume(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    study = Study.create("s", SearchSpace({"x": Float(0.0, 1.0)}), Objective("loss"),
                         scheduler="fifo", max_step=4, budget=Budget(n_trials=2), seed=0,
                         storage=StopsAfterADelete(db))
    with pytest.raises(KeyboardInterrupt):
        study.run(trust_objectives.saving, executor=LocalExecutor(n_workers=1,
                                                                  checkpoint_every=1))
    study.close()
    root = tmp_path / "j-checkpoints" / "s"
    deleted = [r.path for r in SQLiteJournal(db, readonly=True).read("s")
               if isinstance(r, DeleteCheckpoint)]
    assert deleted and set(deleted) <= on_disk(root)  # journaled, never done
    (root / "0" / ".tmp-2-4242").mkdir()  # a save cut short by a kill
    (root / "0" / "notes.txt").write_text("not rung's")

    again = Study.load("s", str(db))
    assert not set(deleted) & again.engine.checkpoints.paths()
    again.run(trust_objectives.saving, executor=LocalExecutor(n_workers=1, checkpoint_every=1))
    kept = again.engine.checkpoints.paths()
    again.close()
    assert on_disk(root) == set(kept) | {"0/notes.txt"}


def test_sweep_removes_only_unneeded_checkpoint_directories(tmp_path: Path) -> None:
    for rel in ("0/1", "0/3", "1/2", "1/.tmp-3-99", "12/7", "x/1", "2/ab"):
        (tmp_path / rel).mkdir(parents=True)
    (tmp_path / "3").mkdir()
    (tmp_path / "3" / "5").write_text("a file, not a checkpoint")
    removed = sweep_checkpoints(tmp_path, {"0/3", "1/2"})
    assert removed == ["0/1", "1/.tmp-3-99", "12/7"]
    assert not (tmp_path / "12").exists()  # a trial directory goes with its last checkpoint
    assert on_disk(tmp_path) == {"0/3", "1/2", "x/1", "2/ab", "3/5"}
    assert sweep_checkpoints(tmp_path / "missing", set()) == []
