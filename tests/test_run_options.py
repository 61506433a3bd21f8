"""``rung.run`` takes ``Study.run``'s callbacks and executor options; an option the executor
does not take (or an unknown executor, or one whose extra is not installed) is one
``ConfigError`` naming it, before any study is written (``Study.run`` raised a ``TypeError``
from the executor's constructor, and ``rung.run`` had neither)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import rung
from rung import Float
from rung.core.history import History
from rung.storage import open_journal


def square(ctx: Any) -> float:
    return float(ctx.params["x"]) ** 2


class Turns(rung.Callback):
    def __init__(self) -> None:
        self.turns = 0
        self.ended: bool | None = None

    def on_turn(self, events: Sequence[Any], commands: Sequence[Any], history: History) -> None:
        self.turns += 1

    def on_end(self, study: rung.Study) -> None:
        self.ended = True


def test_rung_run_passes_callbacks_and_executor_options(tmp_path: Path) -> None:
    cb = Turns()
    study = rung.run(square, {"x": Float(-1.0, 1.0)}, n_trials=3, n_workers=1,
                     storage=tmp_path / "j.db", progress=False, callbacks=cb,
                     start_method="fork", threads_per_worker=2)
    assert len(study.trials()) == 3 and cb.turns > 0 and cb.ended is True


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"strat_method": "fork"}, "strat_method: not an option of the local executor (it takes "
     "checkpoint_every, start_method, threads_per_worker, max_trials_per_worker, prefix_output, max_memory_per_worker)"),
    ({"n_trial": 3}, "n_trial: not an option of the local executor (it takes "
     "checkpoint_every, start_method, threads_per_worker, max_trials_per_worker, prefix_output, max_memory_per_worker)"),
    ({"executor": "dask"}, "executor: unknown executor 'dask' (local, ray, or an instance)"),
    # values too (the study was written first, and then refused: a rerun met 'already exists')
    ({"n_workers": 0}, "n_workers: must be an integer >= 1, got 0"),
    ({"n_workers": "2"}, "n_workers: must be an integer >= 1, got '2'"),  # was a TypeError
    ({"checkpoint_every": 0}, "checkpoint_every: must be an integer >= 1, got 0"),
    ({"threads_per_worker": -1}, "threads_per_worker: must be an integer >= 1, got -1"),
    ({"executor": "ray", "n_workers": 0}, "n_workers: must be an integer >= 1, got 0"),
])
def test_rung_run_refuses_an_unknown_option_before_writing(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(rung.ConfigError) as e:
        rung.run(square, {"x": Float(-1.0, 1.0)}, n_trials=3, storage=tmp_path / "j.db",
                 progress=False, **kwargs)
    assert str(e.value) == message
    assert not (tmp_path / "j.db").exists() or open_journal(tmp_path / "j.db").list_studies() == []


def test_rung_run_refuses_ray_not_installed_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """executor="ray" without Ray: the study was written first, then refused, and every later
    rung.run of it met 'already exists' (and rung ls showed a study of no trials)."""
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    db = tmp_path / "f1.db"
    with pytest.raises(rung.ConfigError) as e:
        rung.run(square, {"x": Float(-1.0, 1.0)}, n_trials=2, storage=db, executor="ray",
                 progress=False)
    assert str(e.value) == ("executor: the ray executor needs Ray, which is not installed: "
                            "pip install 'rung[ray]'")
    assert list(tmp_path.iterdir()) == []  # no journal, no lock file
    study = rung.run(square, {"x": Float(-1.0, 1.0)}, n_trials=2, n_workers=1, storage=db,
                     progress=False)
    assert len(study.trials()) == 2


def test_study_run_names_an_unknown_executor_option(tmp_path: Path) -> None:
    study = rung.Study.create("s", {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                              scheduler="fifo", budget=rung.Budget(n_trials=2),
                              storage=tmp_path / "j.db")
    with pytest.raises(rung.ConfigError) as e:
        study.run(square, progress=False, checkpoint_evry=2)
    assert str(e.value).startswith("checkpoint_evry: not an option of the local executor")
    assert len(study.journal.read("s")) == 0


class CannotStart(rung.Callback):
    """A tracker whose start check fails (a TensorBoard logdir that is a file, a server down)."""

    def check(self, study_name: str) -> None:
        from rung.integrations._tracking import TrackerError

        raise TrackerError(f"CannotStart() cannot start for {study_name}: server down")


def test_rung_run_refuses_a_tracker_that_cannot_start_before_anything_is_written(
    tmp_path: Path,
) -> None:
    from rung.integrations._tracking import TrackerError

    db = tmp_path / "j.db"
    with pytest.raises(TrackerError, match="^CannotStart\\(\\) cannot start for sq: server down$"):
        rung.run(square, {"x": Float(-1.0, 1.0)}, n_trials=2, n_workers=1, name="sq",
                 storage=db, progress=False, callbacks=[Turns(), CannotStart()])
    assert not db.exists()


def test_local_workers_are_bounded_per_cpu_from_python_too(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The spec refused n_workers past 32 per CPU; rung.run and LocalExecutor started them."""
    import rung.executors.processes as proc
    from rung.executors.local import LocalExecutor

    monkeypatch.setattr(proc, "usable_cpus", lambda: 2)
    message = ("n_workers: 65 worker processes on 2 CPUs: the local executor starts at most 64 "
               "(32 per CPU); use the ray executor for more")
    with pytest.raises(rung.ConfigError) as e:
        rung.run(square, {"x": Float(-1.0, 1.0)}, n_trials=3, n_workers=65,
                 storage=tmp_path / "j.db", progress=False)
    assert str(e.value) == message and not (tmp_path / "j.db").exists()
    with pytest.raises(rung.ConfigError) as e:
        LocalExecutor(square, n_workers=65)
    assert str(e.value) == message
    LocalExecutor(square, n_workers=64)  # the bound itself is allowed
