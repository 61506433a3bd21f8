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
        f"study s: interrupted; the journal is intact: resume it with rung.Study.load('s', "
        f"storage='{tmp_path / 's.db'}').run(objective), or this Study object's "
        f"run(objective); its runs in flight go on from their last checkpoint"]
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
    with caplog.at_level(logging.WARNING, logger="rung.run"):
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


def test_a_notebook_draws_the_view_into_one_display_updated_in_place(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ipywidgets, no capture of the cell's output (rich's ``Live`` lost trial lines that
    way): ``rung.progress_notebook``, driven through a stand-in for ``IPython.display``."""
    import io
    import sys
    import types

    import rung.progress as progress

    pytest.importorskip("rich")
    shown: list[tuple[str, dict[str, str]]] = []

    class Handle:
        def update(self, obj: dict[str, str], raw: bool = False) -> None:
            assert raw
            shown.append(("update", obj))

    def display(obj: dict[str, str], raw: bool = False, display_id: bool = False) -> Handle:
        assert raw and display_id
        shown.append(("display", obj))
        return Handle()

    ipython = types.ModuleType("IPython")
    ipython.version_info = (9, 0, 0)  # type: ignore[attr-defined]
    disp = types.ModuleType("IPython.display")
    disp.display = display  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", disp)
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    study = _study(tmp_path, n=2)
    out = io.StringIO()
    with progress.Progress(study, stream=out, refresh=0.0) as view:
        assert view.live is True
        saved = sys.stdout, sys.stderr
        view.on_turn(study.engine)
        assert (sys.stdout, sys.stderr) == saved  # nothing redirected
    kinds = [k for k, _ in shown]
    assert kinds[0] == "display" and kinds.count("display") == 1 and "update" in kinds
    final = shown[-1][1]
    assert final["text/plain"].startswith("rung study s ")
    assert final["text/html"].startswith("<pre style=") and "best: none yet" in final["text/html"]
    assert out.getvalue() == ""  # the view went to the display, not to the stream
    monkeypatch.delitem(sys.modules, "IPython.display")
    monkeypatch.setitem(sys.modules, "IPython.display", None)  # (no IPython: plain lines)
    assert progress.Progress(study, stream=io.StringIO()).live is False
    study.close()


def test_rung_run_refused_before_writing_leaves_no_study(tmp_path: Path) -> None:
    space = {"x": Float(0.0, 1.0)}
    db = tmp_path / "r.db"
    with pytest.raises(ConfigError, match="cannot be sent to worker processes"):
        rung.run(lambda ctx: ctx.report(1, loss=0.0), space, n_trials=2, name="r",
                 storage=db, start_method="spawn", progress=False)
    # the mended call runs (was: "study 'r' already exists")
    study = rung.run(lambda ctx: ctx.report(1, loss=0.0), space, n_trials=2, name="r",
                     storage=db, n_workers=1, progress=False)
    assert len(study.trials("completed")) == 2
    study.close()
