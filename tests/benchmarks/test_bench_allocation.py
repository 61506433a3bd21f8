"""The pure parts of ``benchmarks/bench_allocation.py``: equal-compute accounting, the incumbent
and its regret, compute to reach a target, the ask/tell event-heap simulator (scripted), and one
rung run end to end on a tiny table. Peers' packages are never imported."""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from toy_table import write_toy_table

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
bench = importlib.import_module("bench_allocation")

@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    write_toy_table(tmp_path / "toy.npz")
    monkeypatch.setattr(bench.tasks, "CURVES", tmp_path)
    monkeypatch.setattr(bench.tasks, "TABLES", ("toy",))
    monkeypatch.setattr(bench.tasks, "OUT", tmp_path / "results")
    return "toy"


def test_equal_compute_is_full_trials_times_the_mean_full_curve(toy: str) -> None:
    p = bench.Problem(toy, seed=0, rows=None, full_trials=30)
    assert p.rows == 3
    assert p.full_cost == pytest.approx((4 + 8 + 2) / 3)
    assert p.budget == pytest.approx(30 * 14 / 3)
    p2 = bench.Problem(toy, seed=0, rows=2, full_trials=10)
    assert (p2.rows, p2.budget) == (2, pytest.approx(10 * 6))
    assert p2.bench.optimum == pytest.approx(0.1)  # best final value among the rows used
    assert bench.Problem(toy, 0, rows=99, full_trials=1).rows == 3  # a growing table: clamped


def test_incumbent_prefers_max_step_then_the_highest_step_reached() -> None:
    obs = [
        (1.0, 0, 1, 0.5),
        (2.0, 1, 1, 0.3),  # better at step 1
        (3.0, 0, 2, 0.6),  # the highest step reached is 2 now: trial 0, though worse
        (3.5, 1, 2, 0.7),
        (4.0, 2, 4, 0.9),  # the only trial at max_step wins over every lower step
        (5.0, 1, 4, 0.2),
        (6.0, 3, 4, 0.2),  # a tie at max_step keeps the earlier result
    ]
    assert bench.incumbent_trajectory(obs, 4) == [(1.0, 0), (2.0, 1), (3.0, 0), (4.0, 2),
                                                   (5.0, 1)]
    regrets = {0: 0.3, 1: 0.0, 2: 0.5, 3: 0.0}
    curve = bench.regret_curve(obs, 4, n_workers=2, horizon=4.5, regret_of=regrets.__getitem__)
    # compute = workers x time; results after the horizon are ignored
    assert curve == [(2.0, 1.0, 0.3), (4.0, 2.0, 0.0), (6.0, 3.0, 0.3), (8.0, 4.0, 0.5)]
    assert bench.regret_at(curve, 1.9) == math.inf
    assert bench.regret_at(curve, 4.0) == 0.0
    assert bench.regret_at(curve, 100.0) == 0.5


def test_compute_to_reach_needs_the_median_to_stay_at_the_target() -> None:
    runs = [
        {"curve": [(1.0, 0, 0.0), (2.0, 0, 0.5), (6.0, 0, 0.1)]},  # lucky early, then worse
        {"curve": [(1.0, 0, 0.0), (2.0, 0, 0.5), (7.0, 0, 0.1)]},
        {"curve": [(1.0, 0, 0.9), (8.0, 0, 0.05)]},
    ]
    # the median touches 0.1 at 1 (a transient) and for good from 7 on
    assert bench.reach_fraction(runs, 0.1, 10.0) == pytest.approx(0.7)
    assert bench.reach_fraction(runs, 0.01, 10.0) is None
    assert bench.reach_fraction(runs, 0.9, 10.0) == pytest.approx(0.1)


class Scripted:
    """Starts the trials of ``plan`` in order; ``stop_at`` stops a trial after that step."""

    def __init__(self, plan: list[tuple[list[float], int, int | None]]) -> None:
        self.plan = plan
        self.i = 0
        self.log: list[tuple[Any, ...]] = []

    def start(self) -> tuple[Mapping[str, Any], int] | None:
        if self.i >= len(self.plan):
            return None
        _, last, _ = self.plan[self.i]
        self.i += 1
        return {"trial": self.i - 1}, last

    def report(self, handle: int, step: int, score: float) -> bool:
        stop_at = self.plan[handle][2]
        return stop_at is None or step < stop_at

    def end(self, handle: int, step: int, score: float, completed: bool) -> None:
        self.log.append((handle, step, completed))


def test_ask_tell_simulator_gives_exact_finish_times_on_two_workers() -> None:
    plan = [
        ([1.0, 2.0, 3.0], 3, None),  # A on worker 1: steps end at 1, 3, 6
        ([2.0, 2.0], 2, None),  # B on worker 2: 2, 4
        ([1.0, 1.0, 1.0], 3, 2),  # C takes B's slot at 4: 5, 6, stopped after step 2
        ([0.5], 1, None),  # D takes A's slot at 6 (A's step 3 was queued first): 6.5
        ([0.5, 0.5], 2, None),  # E takes C's slot at 6: 6.5, 7.0
        ([5.0], 1, None),  # F takes D's slot at 6.5: 11.5, after the horizon
    ]
    peer = Scripted(plan)

    def step_fn(params: Mapping[str, Any], step: int) -> tuple[float, float]:
        return float(10 * params["trial"] + step), plan[params["trial"]][0][step - 1]

    run = bench.simulate_ask_tell(peer, step_fn, n_workers=2, horizon=10.0)
    assert [(t, h, s) for t, h, s, _ in run.obs] == [
        (1.0, 0, 1), (2.0, 1, 1), (3.0, 0, 2), (4.0, 1, 2), (5.0, 2, 1), (6.0, 0, 3),
        (6.0, 2, 2), (6.5, 3, 1), (6.5, 4, 1), (7.0, 4, 2),
    ]
    assert [o[3] for o in run.obs][:3] == [1.0, 11.0, 2.0]
    assert peer.log == [(1, 2, True), (0, 3, True), (2, 2, False), (3, 1, True), (4, 2, True)]
    assert run.busy == pytest.approx(6 + 4 + 2 + 0.5 + 1)
    assert sorted(run.params) == [0, 1, 2, 3, 4, 5]


def test_one_rung_run_on_a_tiny_table(toy: str) -> None:
    r = bench.run_one((toy, 1, "random+fifo", 0, None, 3))
    assert "error" not in r
    assert r["budget"] == pytest.approx(3 * 14 / 3)
    assert r["trials_at_max_step"] >= 1
    xs = [q[0] for q in r["curve"]]
    assert xs == sorted(xs) and xs[-1] <= r["budget"]
    assert r["final_regret"] == bench.regret_at(r["curve"], r["budget"])
    assert any(r["final_regret"] == pytest.approx(x) for x in (0.0, 0.2, 0.3))
    bench.append_run(r)
    assert bench.run_key(bench.load_runs([toy])[0]) == (toy, 1, "random+fifo", 0, 3, 3)


def test_cell_report_names_the_best_of_each_side_and_tests_them() -> None:
    def runs(method: str, finals: list[float]) -> list[dict[str, Any]]:
        return [{"method": method, "seed": s, "budget": 10.0, "final_regret": f,
                 "curve": [(5.0, 0.0, f)], "trials": 3, "trials_at_max_step": 1}
                for s, f in enumerate(finals)]

    cell = (runs("random+fifo", [0.3] * 6) + runs("asha", [0.1, 0.12, 0.11, 0.13, 0.1, 0.1])
            + runs("st-asha", [0.2] * 6) + runs("default", [0.3] * 6))
    md, summary = bench.cell_report(cell)
    assert summary["best_rung"] == "asha" and summary["best_peer"] == "st-asha"
    assert summary["p_rung_ahead"] < 0.01 < 0.99 < summary["p_peer_ahead"]
    assert summary["p_default_behind_fifo"] == 1.0  # identical results: no evidence
    assert summary["reach"]["asha"] == pytest.approx(0.5)
    assert summary["reach"]["random+fifo"] == pytest.approx(0.5)
    assert "| *st-asha* |" in md


def test_variants_build_the_named_scheduler_with_their_arguments() -> None:
    from allocation.rung_methods import study_args

    from rung.schedulers import ASHA, AsyncHyperband, CurveASHA

    a = study_args("asha:min_step=9:variant=promotion")
    assert a["searcher"] == "random" and isinstance(a["scheduler"], ASHA)
    assert a["scheduler"].min_step == 9 and a["scheduler"].variant == "promotion"
    b = study_args("ahb:min_step=auto")
    assert isinstance(b["scheduler"], AsyncHyperband) and b["scheduler"].min_step == "auto"
    c = study_args("curve+tpe")
    assert c["searcher"] == "tpe" and isinstance(c["scheduler"], CurveASHA)
    assert bench.METHODS["asha"][0] == "rung"
    with pytest.raises(SystemExit) as e:
        bench.main(["--methods", "nope:x=1", "--no-write"])
    assert e.value.code == 2


def test_criteria_are_judged_from_the_runs(toy: str) -> None:
    def runs(method: str, finals: list[float], at_third: float) -> list[dict[str, Any]]:
        return [{"method": method, "seed": s, "budget": 9.0, "final_regret": f, "rows": None,
                 "curve": [(3.0, 3.0, at_third), (9.0, 9.0, f)]}
                for s, f in enumerate(finals)]

    good = (runs("default", [0.01] * 10, 0.05) + runs("random+fifo", [0.03] * 10, 0.2)
            + runs("st-asha", [0.02] * 10, 0.01) + runs("optuna-tpe+sh", [0.05] * 10, 0.3)
            + runs("dehb", [0.0] * 10, 0.0))  # DEHB is not in the claim's peers
    bad = runs("default", [0.2] * 10, 0.3) + runs("random+fifo", [0.03] * 10, 0.2)
    text = bench.criteria({(toy, 1): good, (toy, 8): bad, ("mf-branin", 1): good})
    a = text.split("(a)")[1].split("(b)")[0]
    assert f"| {toy} | 1 | 0.01 | 0.03 |" in a and a.count("**no**") == 1
    b = text.split("(b)")[1].split("(c)")[0]
    assert "in 1 of 2 (task, workers, budget) cells = 50%" in b  # budget 1: ahead; 1/3: behind
    assert "| 1/3 | 0.05 | *st-asha* 0.01 | behind |" in b
    assert "| 1 | 0.01 | *st-asha* 0.02 | ahead |" in b
    c = text.split("(c)")[1]
    assert c.count("| never | **no** |") == 1 and "mf-branin" not in text
    # (c) for every method that ran both cells (the default and random+FIFO; the peers ran
    # one): the fraction each needs per cell, "never" where its median ends above the target
    every = text.split("(c) for every method")[1]
    assert f"| {toy} w1 (goal " in every and f"| {toy} w8 (goal " in every
    assert "| default | rung | 0 / 2 | 1.00 | never |" in every
    assert "| random+fifo | rung | 0 / 2 | 1.00 | 1.00 |" in every
    assert "st-asha" not in every


def test_held_out_tables_are_kept_apart(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """``--held-out`` runs only the held-out tables, replayed without replacement, into their
    own results directory and RESULTS.md section; a tuned table is refused (exit 2)."""
    tasks = bench.tasks
    assert set(tasks.HELD_OUT).isdisjoint(tasks.TUNED)
    assert set(tasks.HELD_OUT) <= set(tasks.TABLES) and set(tasks.DEFAULT_TASKS).isdisjoint(
        tasks.HELD_OUT)
    import make_curves

    assert tuple(make_curves.HELD_OUT) == tasks.HELD_OUT
    with pytest.raises(SystemExit) as e:
        bench.main(["--held-out", "--tasks", "hgb-german", "--report", "--no-write"])
    assert e.value.code == 2
    assert "--held-out runs the held-out tables only" in capsys.readouterr().err
    monkeypatch.setattr(tasks, "OUT", tasks.OUT)  # restored after the test
    monkeypatch.setattr(tasks, "SECTION", tasks.SECTION)
    tasks.set_replay("nearest", held_out=True)
    assert tasks.OUT.name == "allocation-heldout"
    assert tasks.SECTION == "bench_allocation: held-out tables (distinct rows)"
