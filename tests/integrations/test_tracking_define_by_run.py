"""The trackers and a define-by-run study (``rung.optimize``): a trial's run records the
parameters the trial used, which it reports as it suggests them, not the (partial) proposal
it was launched with; one suggested after the first report is added to the run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.dbr import Trial


def objective(trial: Trial) -> float:
    opt = trial.suggest_categorical("opt", ["adam", "sgd"])
    x = trial.suggest_float("x", 0.0, 1.0)
    trial.report(1, x + 1.0)
    late = trial.suggest_int("late", 1, 9)  # after the first report
    trial.report(2, x + late / 10.0 + (opt == "sgd"))
    return x


def run(tmp_path: Path, callback: Any) -> rung.Study:
    return rung.optimize(objective, n_trials=4, max_step=2, searcher="tpe", scheduler="fifo",
                         n_workers=1, storage=tmp_path / "s.db", start_method="fork",
                         progress=False, callbacks=[callback])


def used(study: rung.Study) -> dict[int, dict[str, Any]]:
    out = {t.id: dict(t.params) for t in study.trials()}
    assert all(list(p) == ["opt", "x", "late"] for p in out.values())
    return out


def test_mlflow_runs_hold_the_used_params(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: trial 0's run had no params and trial 1's only the proposed 'opt' (the first
    trials are launched before the space is known)."""
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)  # a sqlite store keeps artifacts in ./mlruns
    from rung.integrations.mlflow import MLflowCallback

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    study = run(tmp_path, MLflowCallback(uri))
    client = mlflow.MlflowClient(uri)
    (exp,) = [e for e in client.search_experiments() if e.name == "rung"]
    runs = {r.data.tags["rung.trial_id"]: r for r in client.search_runs([exp.experiment_id])
            if r.data.tags.get("rung.role") == "trial"}
    assert {int(k): {p: v for p, v in r.data.params.items()} for k, r in runs.items()} == {
        tid: {k: str(v) for k, v in p.items()} for tid, p in used(study).items()}


def test_wandb_runs_hold_the_used_params(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("wandb")
    from wandb_reader import offline, read_runs

    from rung.integrations.wandb import WandbCallback

    offline(monkeypatch, tmp_path)
    study = run(tmp_path, WandbCallback(dir=tmp_path / "w", mode="offline"))
    trials = {r.config["rung.trial_id"]: r.config for r in read_runs(tmp_path / "w")
              if r.job_type == "trial"}
    assert {tid: {k: c[k] for k in c if k not in ("rung.trial_id", "_wandb")}
            for tid, c in trials.items()} == used(study)


def test_tensorboard_lists_the_used_params(tmp_path: Path) -> None:
    pytest.importorskip("tensorboardX")
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator")
    from rung.integrations.tensorboard import TensorBoardCallback

    study = run(tmp_path, TensorBoardCallback(tmp_path / "tb"))
    for tid, params in used(study).items():
        acc = event_accumulator.EventAccumulator(
            str(tmp_path / "tb" / "rung" / f"trial-{tid:04d}"),
            size_guidance={event_accumulator.TENSORS: 0})
        acc.Reload()
        texts = "".join(e.tensor_proto.string_val[0].decode()
                        for e in acc.Tensors("rung/params/text_summary"))
        for name, value in params.items():
            assert name in texts and str(value) in texts, (tid, name, texts)


def fails_before_late_on_odd_trials(trial: Trial) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    trial.report(1, x + 1.0)
    if trial.id % 2:
        time.sleep(0.5)  # its first report reaches the driver in a turn of its own
        raise RuntimeError("gone before 'late'")
    late = trial.suggest_int("late", 1, 9)
    trial.report(2, x + late / 10.0)
    return x


def test_a_run_records_only_the_params_the_trial_asked_for(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Trial 1 is proposed a 'late' (trial 0 taught the space it), fails before asking for it:
    its run records 'x' only, as its params in the journal do once it ended (before, the run
    recorded the proposal it never used)."""
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)
    from rung.integrations.mlflow import MLflowCallback

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    study = rung.optimize(fails_before_late_on_odd_trials, n_trials=4, max_step=2,
                          searcher="random", scheduler="fifo", n_workers=1,
                          storage=tmp_path / "s.db", start_method="fork", progress=False,
                          callbacks=[MLflowCallback(uri)])
    client = mlflow.MlflowClient(uri)
    (exp,) = [e for e in client.search_experiments() if e.name == "rung"]
    runs = {int(r.data.tags["rung.trial_id"]): set(r.data.params)
            for r in client.search_runs([exp.experiment_id])
            if r.data.tags.get("rung.role") == "trial"}
    assert runs == {0: {"x", "late"}, 1: {"x"}, 2: {"x", "late"}, 3: {"x"}}
    assert {t.id: set(t.params) for t in study.trials()} == runs
