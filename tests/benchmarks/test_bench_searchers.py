"""The scikit-learn task of ``benchmarks/bench_searchers.py`` and its regret for an unknown
optimum."""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
bench = importlib.import_module("bench_searchers")


def test_hgb_task_is_deterministic_and_conditional() -> None:
    task = bench.make_problem("hgb-cancer")
    assert task.optimum is None
    base = {"learning_rate": 0.1, "max_iter": 20, "max_leaf_nodes": 8, "min_samples_leaf": 5,
            "l2_regularization": 1e-3, "max_features": 0.5, "depth": "none"}
    v = task.value(base)
    task._memo.clear()
    assert task.value(base) == v  # fixed random_state: same config, same loss
    assert 0.0 < v < math.log(2.0) + 1.0
    limited = task.value(base | {"depth": "limited", "max_depth": 2})
    assert limited != v
    assert task.space["max_depth"].when == {"depth": ("limited",)}


def test_regret_for_unknown_optimum_is_relative_to_the_best_run() -> None:
    qual = {
        "t/a/w1": {"unknown_optimum": True, "seconds": 1.0,
                   "values": {"25": [0.30, 0.20], "100": [0.25, 0.10]}},
        "t/b/w1": {"unknown_optimum": True, "seconds": 1.0,
                   "values": {"25": [0.40, 0.50], "100": [0.12, 0.11]}},
        "branin/a/w1": {"25": {"median": 1.0, "q25": 1.0, "q75": 1.0}, "seconds": 1.0},
    }
    out, refs = bench.rebase(qual)
    assert refs == {"t": pytest.approx(0.10)}
    assert out["t/a/w1"]["100"]["median"] == pytest.approx(0.075)
    assert out["t/b/w1"]["25"]["median"] == pytest.approx(0.35)
    assert out["branin/a/w1"] is qual["branin/a/w1"]
    text = bench.report({"quality": qual, "timing": {}})
    assert "minus 0.1," in text
