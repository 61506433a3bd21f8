"""The scikit-learn task of ``benchmarks/bench_searchers.py`` and its regret for an unknown
optimum."""

from __future__ import annotations

import importlib
import json
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
    # a fixed reference (the main table's, for pooled seed blocks) wins over the rows' own
    out, refs = bench.rebase(qual, {"t": 0.05})
    assert refs == {"t": 0.05}
    assert out["t/a/w1"]["regrets"]["100"] == pytest.approx([0.20, 0.05])


def test_goal_lines_carry_a_rank_test_where_per_seed_regrets_exist() -> None:
    worse = [2.0, 3.0, 4.0, 5.0, 6.0]
    better = [0.1, 0.2, 0.3, 0.4, 0.5]
    assert bench.p_worse(worse, better) < 0.01
    assert bench.p_worse(better, worse) > 0.99
    # the factor scales the reference: 3x a row's own regrets is no longer beaten
    assert bench.p_worse(worse, worse, 3.0) > 0.9
    qual = {
        "branin/rung-gp/w1": {"25": bench.summarize(worse), "seconds": 1.0,
                              "values": {"25": worse}},
        "branin/optuna-gp/w1": {"25": bench.summarize(better), "seconds": 1.0,
                                "values": {"25": better}},
        "hartmann6/rung-gp/w1": {"25": bench.summarize(worse), "seconds": 1.0},
        "hartmann6/optuna-gp/w1": {"25": bench.summarize(better), "seconds": 1.0},
    }
    text = bench.report({"quality": qual, "timing": {}})
    line = next(x for x in text.splitlines() if "on branin at 25" in x)
    assert line == (f"- rung-gp <= optuna-gp on branin at 25: NO (4 vs 0.3; "
                    f"p(worse) = {bench.p_worse(worse, better):.2g})")
    # without per-seed values (rows from before they were kept) there is no test
    line = next(x for x in text.splitlines() if "on hartmann6 at 25" in x)
    assert line == "- rung-gp <= optuna-gp on hartmann6 at 25: NO (4 vs 0.3)"


def _block(tmp_path: Path, name: str, first: int, rows: dict[str, list[float]]) -> str:
    quality = {key: {"seconds": 1.0, "values": {"25": xs}} for key, xs in rows.items()}
    path = tmp_path / name
    path.write_text(json.dumps({"quality": quality,
                                "args": {"first_seed": first, "seeds": 2}}))
    return str(path)


def test_pooled_seed_blocks_give_a_second_list_of_the_sequential_goals(tmp_path: Path) -> None:
    a = _block(tmp_path, "a.json", 0, {"branin/rung-gp/w1": [1.0, 2.0],
                                       "branin/optuna-gp/w1": [3.0, 4.0]})
    b = _block(tmp_path, "b.json", 2, {"branin/rung-gp/w1": [5.0, 6.0],
                                       "branin/optuna-gp/w1": [7.0, 8.0]})
    pooled = bench.pool([a, b])
    row = pooled["branin/rung-gp/w1"]
    assert row["n_seeds"] == 4
    assert row["values"]["25"] == [1.0, 2.0, 5.0, 6.0]
    assert row["25"]["median"] == pytest.approx(3.5)
    main = {"branin/rung-gp/w1": {"25": bench.summarize([1.0, 2.0]), "seconds": 1.0},
            "branin/optuna-gp/w1": {"25": bench.summarize([3.0, 4.0]), "seconds": 1.0}}
    text = bench.report({"quality": main, "timing": {}}, pooled)
    line = next(x for x in text.splitlines() if "(4 vs 4 seeds)" in x)
    p = bench.p_worse([1.0, 2.0, 5.0, 6.0], [3.0, 4.0, 7.0, 8.0])
    assert line == (f"- rung-gp <= optuna-gp (4 vs 4 seeds) on branin at 25: yes "
                    f"(3.5 vs 5.5; p(worse) = {p:.2g})")
    # the same seeds twice would count a run twice
    with pytest.raises(SystemExit, match="seeds \\[0, 1\\] twice"):
        bench.pool([a, a])
