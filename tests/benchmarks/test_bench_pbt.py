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


# --- the mnist1d task and the task plumbing ---------------------------------------------------
tasks = importlib.import_module("_pbt_tasks")


@pytest.fixture
def fake_mnist1d(monkeypatch: pytest.MonkeyPatch) -> tuple[np.ndarray, np.ndarray]:
    """1,300 random signals in place of MNIST-1D's 5,000 (generating those takes seconds)."""
    rng = np.random.default_rng(5)
    y = rng.integers(0, 10, 1300)
    x = rng.normal(0, 1, (1300, 40)) * 3 + 2 + y[:, None] * 0.5
    monkeypatch.setattr(tasks, "_mnist1d", lambda: (x, y))
    return x, y


def test_mnist1d_split_standardizes_and_adds_label_noise_to_train_only(
        fake_mnist1d: tuple[np.ndarray, np.ndarray]) -> None:
    d = tasks.load_mnist1d(200, 100)
    assert (d.xtr.shape, d.xva.shape, d.xte.shape) == ((200, 40), (100, 40), (1000, 40))
    np.testing.assert_allclose(d.xtr.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(d.xtr.std(axis=0), 1, atol=1e-6)
    assert abs(d.xva.mean()) > 0.0  # standardized by the training set's statistics only
    noisy = tasks.load_mnist1d(200, 100, label_noise=0.5)
    changed = float(np.mean(noisy.ytr != d.ytr))
    assert 0.3 < changed < 0.6  # half redrawn, a tenth of those to the same class
    np.testing.assert_array_equal(noisy.yva, d.yva)
    np.testing.assert_array_equal(noisy.yte, d.yte)
    np.testing.assert_array_equal(noisy.xtr, d.xtr)
    with pytest.raises(ValueError, match="n_train \\+ n_val must be at most 300, got 301"):
        tasks.load_mnist1d(200, 101)


@pytest.mark.parametrize("method", ["pbt", "random+fifo"])
def test_the_mnist1d_task_runs_deterministically_with_plain_sgd(
        method: str, fake_mnist1d: tuple[np.ndarray, np.ndarray]) -> None:
    task = bench.TASKS["mnist1d"]
    m = task.model(0, 0)
    assert (m.w[0].shape, m.momentum, m.batch) == ((40, 100), 0.0, 32)
    d = tasks.load_mnist1d(200, 100)
    a = bench.run_one(method, 3, d, **QUICK, task=task)
    b = bench.run_one(method, 3, d, **QUICK, task=task)
    assert without_time(a) == without_time(b)
    budget = QUICK["population"] * QUICK["max_step"]
    assert budget <= a["epochs"] <= budget + QUICK["workers"] - 1
    assert (a["forks"] > 0) == (method == "pbt")
    assert without_time(bench.run_one(method, 4, d, **QUICK, task=task)) != without_time(a)


def test_schedule_check_returns_the_best_of_each_kind_and_their_p(data: object) -> None:
    from dataclasses import replace

    task = replace(bench.DIGITS, lr_grid=(0.01, 0.3), alpha_grid=(1e-4,))
    rows, p = tasks.schedule_check(data, 2, 2, task)
    assert [r[0] for r in rows] == ["fixed", "step decay"]
    assert all(r[1] in (0.01, 0.3) and r[2] == 1e-4 and 0 < r[3] <= 1 for r in rows)
    assert 0.0 <= p <= 1.0
    rows1, p1 = tasks.schedule_check(data, 2, 1, task)
    assert np.isnan(p1) and len(rows1) == 2
    # step decay divides lr by 10 after half the epochs: with 2 epochs, in the second
    fixed = tasks.schedule_runs(task, data, 0.3, 1e-4, False, 1, 2)
    decay = tasks.schedule_runs(task, data, 0.3, 1e-4, True, 1, 2)
    m = task.model(1000, 0)
    for e, lr in ((1, 0.3), (2, 0.03)):
        m.epoch(data.xtr, data.ytr, lr, 1e-4, np.random.default_rng([1000, 0, e]))  # type: ignore[attr-defined]
    assert fixed != decay and decay == [1 - m.evaluate(data.xva, data.yva)[0]]  # type: ignore[attr-defined]


def test_a_task_subsection_is_written_inside_the_section_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    path.write_text(f"# R\n\n## other\n\nx\n\n## {bench.SECTION}\n\ndigits body\n\n## last\n\ny\n")
    bench.write_subsection("Task t: a", "first", path)
    bench.write_subsection("Task u: b", "second", path)
    bench.write_subsection("Task t: a", "again", path)
    text = path.read_text()
    assert text.count("### Task t: a") == 1 and "first" not in text and "again" in text
    assert text.index("digits body") < text.index("### Task t: a") < text.index(
        "### Task u: b") < text.index("## last")
    assert text.startswith("# R\n\n## other\n\nx\n\n") and text.endswith("## last\n\ny\n")
    kept = bench.subsections(path)
    assert kept.startswith("### Task t: a") and kept.endswith("second")
    assert "digits body" not in kept and "## last" not in kept
    with pytest.raises(ValueError, match="no section"):
        bench.write_subsection("Task t: a", "x", tmp_path / "missing.md")


@pytest.mark.slow
def test_the_real_mnist1d_split_is_fixed() -> None:
    pytest.importorskip("mnist1d")  # a bench extra (pip install --no-deps mnist1d), not in dev
    d = tasks.load_mnist1d()
    assert (len(d.ytr), len(d.yva), len(d.yte)) == (3000, 1000, 1000)
    assert sorted(set(d.ytr.tolist())) == list(range(10))
    np.testing.assert_array_equal(tasks.load_mnist1d().xva, d.xva)


def test_a_floor_on_lr_makes_a_named_variant_of_the_task() -> None:
    mnist = bench.TASKS["mnist1d"]
    t = bench.with_lr_low(mnist, 0.03)
    assert t.name == "mnist1d-lr0.03"
    assert (t.space["lr"].low, t.space["lr"].high, t.space["lr"].log) == (0.03, 3.0, True)
    assert t.space["alpha"] == mnist.space["alpha"]
    assert (t.load, t.hidden, t.max_step) == (mnist.load, mnist.hidden, mnist.max_step)
    with pytest.raises(ValueError, match=r"--lr-low must lie in \(0.001, 3\), got 5"):
        bench.with_lr_low(mnist, 5.0)
    with pytest.raises(SystemExit):
        bench.main(["--task", "mnist1d", "--lr-low", "0", "--quick"])
