"""After a killed driver, a trial resumes from its last checkpoint and re-trains the steps since:
they are journaled again, as results of its next run. ``results_dataframe`` (and so ``rung
export --table results``) keeps one row per reported result and tells the runs apart with
``run``, the trial's launch the result came from (1-based)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import rung
from rung.core import Engine, Launch


class Crash(Exception):
    pass


def crash_after_step_5(engine: Engine) -> None:
    if engine.history.last_step(0) >= 5:
        raise Crash


def train(ctx: rung.TrialContext) -> None:
    for step in range(ctx.start_step, ctx.max_step + 1):
        time.sleep(0.15)  # one report per driver turn
        def save(d: str, step: int = step) -> None:
            Path(d, "s").write_text(str(step))

        ctx.report(step, loss=ctx.params["x"] + 1 / step, save=save)


def test_steps_retrained_after_a_restart_are_rows_of_the_next_run(tmp_path: Path) -> None:
    db = tmp_path / "dup.db"
    study = rung.Study.create("dup", {"x": rung.Float(0, 1)}, objective="loss",
                              searcher="random", scheduler="fifo", max_step=6,
                              budget=rung.Budget(n_trials=1), storage=db)
    with pytest.raises(Crash):
        study.run(train, n_workers=1, checkpoint_every=3, on_turn=crash_after_step_5,
                  progress=False)
    first = study.history.last_step(0)
    study.close()
    again = rung.Study.load("dup", db)
    again.run(train, n_workers=1, checkpoint_every=3, progress=False)
    (relaunch,) = [r for r in again.journal.read("dup") if isinstance(r, Launch)][1:]
    assert (relaunch.start_step, relaunch.checkpoint) == (4, "0/3")  # from its checkpoint at 3
    assert first == 5
    df = again.results_dataframe()
    assert list(df.columns[:4]) == ["trial_id", "step", "run", "time"]
    assert list(zip(df["step"], df["run"], strict=True)) == [
        (1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (4, 2), (5, 2), (6, 2)]
    assert str(df["run"].dtype) == "int64"
    assert again.summary()["results"] == len(df) == 8
    assert list(df.duplicated(["trial_id", "step", "run"])) == [False] * 8
    again.close()
