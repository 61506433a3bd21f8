"""``rung.optimize`` on Ray: the trial's ``ParamsUsed`` reports travel through the actors'
transport like results do (slow: starts a local Ray instance)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import rung

HERE = Path(__file__).resolve().parent
SRC = Path(rung.__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="pip install 'rung[ray]'")
def test_define_by_run_on_ray(tmp_path: Path) -> None:
    import dbr_objectives
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": f"{HERE}:{SRC}"}})
    try:
        study = rung.optimize(dbr_objectives.branching, n_trials=6, searcher="tpe",
                              scheduler="asha", max_step=3, n_workers=2, executor="ray",
                              storage=tmp_path / "j.db", seed=1, progress=False)
    finally:
        ray.shutdown()
    assert study.engine.space.to_json()["momentum"]["when"] == {"opt": "sgd"}
    for t in study.trials():
        assert ("momentum" in t.params) == (t.params["opt"] == "sgd")
    assert {t.params["opt"] for t in study.trials()} == {"adam", "sgd"}
