"""``benchmarks/bench_pbt.py``: PBT, PB2 and random search on a real MLP, at quick sizes."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("scipy")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
bench = importlib.import_module("bench_pbt")

QUICK = {"max_step": 6, "population": 4, "interval": 2, "workers": 2}


@pytest.fixture(scope="module")
def data() -> object:
    return bench.load_data()


def without_time(row: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in row.items() if k != "seconds"}


def test_split_is_fixed_and_disjoint(data: object) -> None:
    d = bench.load_data()
    assert (len(d.ytr), len(d.yva), len(d.yte)) == (bench.N_TRAIN, bench.N_VAL, 1797 - 1100)
    np.testing.assert_array_equal(d.xva, data.xva)  # type: ignore[attr-defined]


def test_an_epoch_learns_and_a_copy_is_independent(data: object) -> None:
    m = bench.Model.init(0, 0)
    err0, _ = m.evaluate(data.xva, data.yva)  # type: ignore[attr-defined]
    snap = m.copy()
    m.epoch(data.xtr, data.ytr, 0.05, 1e-4, np.random.default_rng(0))  # type: ignore[attr-defined]
    err1, _ = m.evaluate(data.xva, data.yva)  # type: ignore[attr-defined]
    assert err1 < 0.5 < err0
    assert snap.evaluate(data.xva, data.yva)[0] == err0  # type: ignore[attr-defined]


def test_a_diverged_model_is_reset_not_nan(data: object) -> None:
    m = bench.Model.init(0, 0)
    m.epoch(data.xtr, data.ytr, 1e6, 0.0, np.random.default_rng(0))  # type: ignore[attr-defined]
    err, loss = m.evaluate(data.xva, data.yva)  # type: ignore[attr-defined]
    assert np.isfinite(loss) and 0.5 < err <= 1.0


@pytest.mark.parametrize("method", bench.METHODS)
def test_each_method_is_deterministic_and_spends_the_budget(method: str, data: object) -> None:
    a = bench.run_one(method, 3, data, **QUICK)
    b = bench.run_one(method, 3, data, **QUICK)
    assert without_time(a) == without_time(b)
    budget = QUICK["population"] * QUICK["max_step"]
    # running trials stop at their next report once the budget is spent: at most one epoch
    # each past it
    assert budget <= a["epochs"] <= budget + QUICK["workers"] - 1
    assert 0.5 < a["val_acc"] <= 1.0 and 0.5 < a["test_acc"] <= 1.0
    assert 1 <= a["best_step"] <= QUICK["max_step"]
    if method in ("pbt", "pb2"):
        assert a["forks"] > 0
    else:
        assert a["forks"] == 0
    if method == "random+fifo":  # each trial trains to max_step, bar those the budget ends
        assert QUICK["population"] <= a["trials"] <= QUICK["population"] + QUICK["workers"] - 1
    if method == "random+asha":  # stops most trials early: more of them for the same epochs
        assert a["trials"] > QUICK["population"] + QUICK["workers"]
    other = bench.run_one(method, 4, data, **QUICK)
    assert without_time(other) != without_time(a)


def test_summary_has_a_row_per_method_and_the_pairs(data: object) -> None:
    rows = [bench.run_one(m, s, data, **QUICK) for s in (0, 1) for m in bench.METHODS]
    summary, tests = bench.summarize(rows)
    assert [r[0] for r in summary] == list(bench.METHODS)
    assert all(r[1] == 2 for r in summary)
    pairs = [(t[0], t[1]) for t in tests]
    assert ("pb2 vs pbt", "val_acc") in pairs and ("pbt vs random+fifo", "test_acc") in pairs
    assert ("pb2 vs random+fifo", "val_acc") in pairs
    assert all(0.0 <= float(t[3]) <= 1.0 for t in tests)


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown method 'sgd'"):
        bench.scheduler_spec("sgd")


def test_a_ray_peer_row_joins_the_table_and_the_pairs() -> None:
    rows = [
        {
            "method": m,
            "seed": s,
            "val_acc": 0.9 + 0.01 * s + (0.05 if m == "pbt" else 0.0),
            "test_acc": 0.9,
            "epochs": 320,
            "trials": 8,
            "seconds": 1.0,
        }
        for s in range(5)
        for m in ("pbt", "ray-pbt")
    ]
    summary, tests = bench.summarize(rows)
    assert [r[0] for r in summary] == ["pbt", "ray-pbt"]
    assert summary[0][2] == "0.9700" and summary[1][2] == "0.9200"
    val = [t for t in tests if t[1] == "val_acc"]
    assert [t[0] for t in val] == ["pbt vs ray-pbt"]
    assert val[0][2] == "+0.0500" and float(val[0][3]) < 0.05
