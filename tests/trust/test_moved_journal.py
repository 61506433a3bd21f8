"""A journal moved (or copied) without its ``<stem>-checkpoints/`` directory is not resumed:
the session refuses in one line, before it journals anything, saying where the directory must
be; once it is there, the trials resume from their checkpoints. Before: every trial to resume
from a checkpoint failed for good ("its checkpoint ... is missing")."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rung import Budget, Float, Study, TrialStatus
from rung.core import Launch, TrialEnded
from rung.core.records import Outcome
from rung.errors import ConfigError
from trust.test_missing_checkpoint import Crash, crash_once_rung_0_completes, train


def test_a_journal_moved_without_its_checkpoints_is_refused_until_they_follow(
    tmp_path: Path,
) -> None:
    orig, moved = tmp_path / "orig", tmp_path / "moved"
    moved.mkdir()
    study = Study.create("ck", {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                         scheduler="successive_halving", max_step=9,
                         budget=Budget(n_trials=9), storage=orig / "ck.db", seed=0)
    with pytest.raises(Crash):
        study.run(train, n_workers=2, on_turn=crash_once_rung_0_completes, progress=False)
    h = study.history
    named = [t for t in h.ids() if h.status(t) in (
        TrialStatus.PAUSED, TrialStatus.INTERRUPTED, TrialStatus.LAUNCHED, TrialStatus.RUNNING)
        and h.checkpoint(t)]
    assert named
    study.close()
    shutil.copy(orig / "ck.db", moved / "ck.db")

    again = Study.load("ck", moved / "ck.db")
    n_before = len(again.journal.read("ck"))
    with pytest.raises(ConfigError) as e:
        again.run(train, n_workers=2, progress=False)
    assert str(e.value) == (
        f"storage: cannot resume: {len(named)} trial(s) to resume have checkpoints in the "
        "ck-checkpoints/ directory, which must sit beside the journal and is not there "
        f"(expected: {moved / 'ck-checkpoints' / 'ck'}); move it beside the journal, then "
        "resume (if those checkpoints are gone for good, create the directory empty: the "
        "trials then fail as resumed)")
    assert len(again.journal.read("ck")) == n_before  # nothing journaled
    again.close()

    shutil.copytree(orig / "ck-checkpoints", moved / "ck-checkpoints")
    resumed = Study.load("ck", moved / "ck.db")
    resumed.run(train, n_workers=2, progress=False)
    records = resumed.journal.read("ck")[n_before:]
    from_checkpoint = {r.trial_id for r in records
                       if isinstance(r, Launch) and r.checkpoint is not None}
    assert set(named) <= from_checkpoint
    assert not any(isinstance(r, TrialEnded) and r.outcome is Outcome.FAILED for r in records)
    resumed.close()
