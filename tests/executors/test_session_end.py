"""What a session leaves for the next one (the notebook audit): the writer lock given back
whatever way ``Study.run`` ended, an executor refused before anything is shown or claimed,
the start method chosen for the objective, and the line an interrupt ends with."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import objectives
import pytest

import rung
from rung import Budget, Float, Objective, Study
from rung.core.events import CapacityChanged
from rung.errors import ConfigError, JournalError, RunFailed


def _study(tmp_path: Path, n: int = 3, max_failures: int | None = None) -> Study:
    return Study.create("s", {"x": Float(0.0, 1.0)}, Objective("loss", "min"),
                        searcher="random", scheduler="fifo", max_step=2,
                        budget=Budget(n_trials=n), seed=0, storage=tmp_path / "s.db",
                        max_failures=max_failures)


def always_fails(ctx: rung.TrialContext) -> None:
    raise RuntimeError("diverged")


def _sessions(study: Study) -> list[CapacityChanged]:
    return [r for r in study.journal.read(study.name)
            if isinstance(r, CapacityChanged) and r.new_session]


def test_a_failed_run_leaves_the_study_to_the_next_study_object(tmp_path: Path) -> None:
    first = _study(tmp_path, n=6, max_failures=1)
    with pytest.raises(RunFailed):  # stopped early: more trials failed than it allows
        first.run(always_fails, n_workers=1, start_method="fork", progress=False)
    # (first is still alive, as a notebook's traceback keeps it: its lock is given back)
    again = Study.load("s", storage=tmp_path / "s.db")
    again.run(objectives.noop, n_workers=1, start_method="fork", progress=False)
    assert len(again.trials()) == 6 and len(again.trials("completed")) >= 4
    # the first object's engine is stale now: it may not append
    with pytest.raises(JournalError, match="was written by another driver after this one"):
        first.enqueue({"x": 0.5})
    again.close()
    first.close()


def test_the_same_object_runs_again_after_its_own_session(tmp_path: Path) -> None:
    study = _study(tmp_path, n=2)
    study.run(objectives.noop, n_workers=1, start_method="fork", progress=False)
    study.enqueue({"x": 0.25})  # its own records counted as seen: it takes the lock again
    study.close()


def test_an_interrupted_run_says_what_to_do_and_gives_the_study_back(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    study = _study(tmp_path, n=6)

    def stop(engine: Any) -> None:
        if engine.history.n_suggested >= 2:
            raise KeyboardInterrupt

    with caplog.at_level(logging.WARNING, logger="rung.run"), pytest.raises(KeyboardInterrupt):
        study.run(objectives.noop, n_workers=1, start_method="fork", on_turn=stop,
                  progress=False)
    said = [r.getMessage() for r in caplog.records if "interrupted" in r.getMessage()]
    assert said == [
        f"study s: interrupted; the journal is intact: run it again to resume (the same "
        f"call, or rung.Study.load('s', storage='{tmp_path / 's.db'}').run(objective)); its "
        f"runs in flight go on from their last checkpoint"]
    again = Study.load("s", storage=tmp_path / "s.db")  # what the line says works
    again.run(objectives.noop, n_workers=1, start_method="fork", progress=False)
    assert len(again.trials("completed")) == 6
    again.close()
    study.close()


def test_a_refused_executor_shows_nothing_and_claims_nothing(tmp_path: Path) -> None:
    study = _study(tmp_path, n=2)
    with pytest.raises(ConfigError, match="cannot be sent to worker processes"):
        study.run(lambda ctx: ctx.report(2, loss=0.0), start_method="spawn", progress=False)
    assert study.journal.read("s") == []
    # the same object, mended, runs (it holds no lock), as does another one
    other = Study.load("s", storage=tmp_path / "s.db")
    other.run(lambda ctx: ctx.report(2, loss=0.0), n_workers=1, progress=False)
    assert len(other.trials("completed")) == 2
    other.close()
    study.close()


def test_auto_forks_for_an_objective_spawn_workers_cannot_import(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    study = _study(tmp_path, n=2)
    scale = 3.0
    with caplog.at_level(logging.INFO, logger="rung.run"):
        study.run(lambda ctx: ctx.report(2, loss=scale * float(ctx.params["x"])), n_workers=1,
                  progress=False)
    assert [(s.executor or {}).get("start_method") for s in _sessions(study)] == ["fork"]
    assert any("spawn workers cannot import it" in r.getMessage()
               and "start_method='fork'" in r.getMessage() for r in caplog.records)
    study.close()


def test_auto_spawns_an_objective_it_can_import(tmp_path: Path) -> None:
    study = _study(tmp_path, n=1)
    study.run(objectives.noop, n_workers=1, progress=False)
    assert [(s.executor or {}).get("start_method") for s in _sessions(study)] == ["spawn"]
    study.close()


def test_a_notebook_without_widgets_gets_plain_lines_and_no_redirection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    import rung.progress as progress

    study = _study(tmp_path, n=1)
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    monkeypatch.setattr(progress, "_has_widgets", lambda: False)
    view = progress.Progress(study, stream=io.StringIO())
    assert view.live is False
    assert view.note == "for a live view in a notebook: pip install ipywidgets"
    assert view._on_screen(view.stream) is False  # a widget: the cell shows the streams
    monkeypatch.setattr(progress, "_has_widgets", lambda: True)
    assert progress.Progress(study, stream=io.StringIO()).live is True
    study.close()
