"""A multi-objective study: each tracker records every objective (its metric and mode), not
only the first, and the Pareto front at the session's end; a single-objective study keeps
its ``metric`` / ``mode`` params as they were."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tracking_study import SPACE, Curves

from rung import ASHA, Budget, Objective, Study
from rung.integrations._tracking import study_params

MO = [Objective("loss", "min"), Objective("acc", "max")]
MO_PARAMS = {"objective.0.metric": "loss", "objective.0.mode": "min",
             "objective.1.metric": "acc", "objective.1.mode": "max"}


def _mo_study(tmp_path: Path) -> Study:
    return Study.create("mo", SPACE, objective=MO, searcher="random",
                        scheduler=ASHA(reduction_factor=3), max_step=9,
                        budget=Budget(n_trials=6), seed=1, storage=tmp_path / "mo.db")


def test_study_params_name_every_objective(tmp_path: Path) -> None:
    study = _mo_study(tmp_path)
    assert study_params(study) == {
        "study": "mo", **MO_PARAMS, "searcher": "random", "scheduler": "asha",
        "max_step": 9, "seed": 1, "budget.n_trials": 6}
    single = Study.create("one", SPACE, objective=Objective("acc", "max"), searcher="random",
                          max_step=9, budget=Budget(n_trials=6), seed=1)
    assert study_params(single) == {
        "study": "one", "metric": "acc", "mode": "max", "searcher": "random",
        "scheduler": "fifo", "max_step": 9, "seed": 1, "budget.n_trials": 6}


def test_mlflow_records_every_objective_and_the_front(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)  # a sqlite:/// store keeps its artifacts in ./mlruns
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.tracking import MlflowClient

    from rung.integrations.mlflow import MLflowCallback

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    study = _mo_study(tmp_path)
    study.simulate(Curves(), n_workers=2, callbacks=[MLflowCallback(tracking_uri=uri)])
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("mo")
    (parent,) = client.search_runs([exp.experiment_id], "tags.`rung.role` = 'study'")
    params = parent.data.params
    assert {k: params[k] for k in MO_PARAMS} == MO_PARAMS
    assert "metric" not in params and "mode" not in params
    front = [t.id for t in study.pareto_front()]
    assert front
    assert json.loads(parent.data.tags["rung.pareto_front"]) == front


def test_tensorboard_records_every_objective_and_the_front(tmp_path: Path) -> None:
    pytest.importorskip("tensorboardX")
    from rung.integrations.tensorboard import TensorBoardCallback, _events

    study = _mo_study(tmp_path)
    study.simulate(Curves(), n_workers=2, callbacks=[TensorBoardCallback(tmp_path / "tb")])
    texts = {v.tag: v.tensor.string_val[0].decode()
             for ev in _events(tmp_path / "tb" / "mo" / "study") for v in ev.summary.value
             if v.tensor.string_val}
    table = texts["rung/study/text_summary"]
    for k, v in MO_PARAMS.items():
        assert f"| {k} | {v} |" in table.splitlines()
    front = ", ".join(str(t.id) for t in study.pareto_front())
    assert texts["rung/status/text_summary"].endswith(f"Pareto front (loss, acc): {front}")
    # the HParams session of a trial declares both objectives' metrics
    hparams = [v.metadata.plugin_data.content
               for ev in _events(tmp_path / "tb" / "mo" / "trial-0000")
               for v in ev.summary.value if v.metadata.plugin_data.plugin_name == "hparams"]
    assert any(b"loss" in c and b"acc" in c for c in hparams)


def test_wandb_records_every_objective_and_the_front(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("wandb")
    from wandb_reader import offline, read_runs

    from rung.integrations.wandb import WandbCallback

    offline(monkeypatch, tmp_path)
    study = _mo_study(tmp_path)
    study.simulate(Curves(), n_workers=2,
                   callbacks=[WandbCallback(dir=tmp_path / "w", mode="offline")])
    (run,) = [r for r in read_runs(tmp_path / "w") if r.job_type == "study"]
    assert {k: run.config[k] for k in MO_PARAMS} == MO_PARAMS
    assert "metric" not in run.config
    assert run.summary["rung/pareto_front"] == [t.id for t in study.pareto_front()]
