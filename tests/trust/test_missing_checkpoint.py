"""A checkpoint deleted between a kill and a resume: the resumed session says so once, naming
the trials and the directory, and each trial whose launch names a missing checkpoint fails
with that reason, before any worker runs it (its objective would have failed on a path that
does not exist). The failures are journaled events: the study replays to the same state."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import rung
from rung import Budget, Float, Study, TrialStatus
from rung.core import Engine, Launch, TrialEnded
from rung.core.records import Outcome
from rung.reporter import Reporter

TERMINAL = (TrialStatus.COMPLETED, TrialStatus.STOPPED, TrialStatus.FAILED)


class Crash(Exception):
    pass


def crash_once_rung_0_completes(engine: Engine) -> None:
    """The driver dies in the turn that completes successive halving's first rung: its
    promoted trials (at least one of them paused: two workers) are to resume."""
    if engine.scheduler.completed_rungs:  # type: ignore[attr-defined]
        raise Crash


def train(ctx: rung.TrialContext) -> None:
    if ctx.checkpoint is not None:
        Path(ctx.checkpoint, "s").read_text()  # FileNotFoundError if it is not there
    for step in range(ctx.start_step, ctx.max_step + 1):
        def save(d: str, step: int = step) -> None:
            Path(d, "s").write_text(str(step))

        ctx.report(step, loss=ctx.params["x"] + 1 / step, save=save)


def test_a_resume_fails_the_trials_whose_checkpoints_were_deleted_and_says_so_once(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ck.db"
    study = Study.create("ck", {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                         scheduler="successive_halving", max_step=9,
                         budget=Budget(n_trials=9), storage=db, seed=0)
    with pytest.raises(Crash):
        study.run(train, n_workers=2, on_turn=crash_once_rung_0_completes, progress=False)
    h = study.history
    # every trial the crash left unfinished that names a checkpoint resumes from it: the paused
    # ones, and (the workers' timing decides) one left running after saving its step-1 checkpoint
    paused = {t: c.path for t in h.ids() if h.status(t) not in TERMINAL
              and (c := h.checkpoint(t))}
    assert set(h.ids(TrialStatus.PAUSED)) <= set(paused)
    assert paused
    study.close()
    root = tmp_path / "ck-checkpoints" / "ck"
    for p in paused.values():  # deleted one by one (the whole directory: test_moved_journal)
        shutil.rmtree(root / p)

    again = Study.load("ck", db)
    n_before = len(again.journal.read("ck"))
    reporter = Reporter()
    again.run(train, n_workers=2, reporter=reporter, progress=False)
    records = again.journal.read("ck")[n_before:]
    # launched from a checkpoint deleted with the directory (a trial left running by the crash
    # before it saved any restarts from scratch and saves new ones)
    resumed = sorted({r.trial_id for r in records if isinstance(r, Launch)
                      and r.checkpoint is not None and r.checkpoint == paused.get(r.trial_id)})
    assert resumed
    ends = {r.trial_id: r for r in records if isinstance(r, TrialEnded)}
    for tid in resumed:
        # failed at its launch: no worker ever started it
        assert (ends[tid].outcome, ends[tid].error) == (
            Outcome.FAILED,
            f"its checkpoint {root.resolve() / paused[tid]} is missing (deleted since it was "
            "saved?)")
        assert again.history.status(tid) is TrialStatus.FAILED
        # launched once in this session, and failed there: one launch more than before it
        # (how many it had before the crash, the workers' timing decides: a trial paused
        # and resumed at the first rung before the crash had two)
        assert sum(1 for r in records if isinstance(r, Launch) and r.trial_id == tid) == 1
        assert again.history.launches(tid) == h.launches(tid) + 1
    # said once, naming every trial to resume whose checkpoint is missing, and the directory
    warned = [line for line in reporter.lines if "checkpoint(s) the journal names" in line]
    assert warned == [
        f"{len(paused)} checkpoint(s) the journal names are missing from {root} (deleted since "
        "they were saved?): " + ", ".join(f"trial {t} ({p})" for t, p in sorted(paused.items()))
        + "; these trials fail when they are resumed"]
    assert not any("FileNotFoundError" in (t.error or "") for t in again.trials())
    statuses = {t.id: t.status for t in again.trials()}
    again.close()
    reopened = Study.load("ck", db)  # the failures are journaled events: replay agrees
    assert {t.id: t.status for t in reopened.trials()} == statuses
    reopened.close()
