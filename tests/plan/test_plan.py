"""``rung.plan``: predictions against the actual simulated runs, prices, and bad inputs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from planhelp import PowerLawBench, pilot

import rung
from rung import Budget, Objective, Study
from rung.core.rng import derive_rng
from rung.errors import ConfigError
from rung.planning import Plan, fit_pilot
from rung.schedulers import SuccessiveHalving
from rung.storage import MemoryJournal


def _actual(bench: PowerLawBench, scheduler: str | SuccessiveHalving, n_trials: int, workers: int,
            seed: int = 7) -> float:
    study = Study.create("actual", bench.space, Objective("loss", "min"), searcher="random",
                         scheduler=scheduler, max_step=bench.max_step,
                         budget=Budget(n_trials=n_trials), seed=seed, storage=MemoryJournal())
    study.simulate(bench, n_workers=workers)
    return float(study.last_executor.now())


def test_fifo_wall_clock_is_exact_for_a_deterministic_benchmark() -> None:
    bench = PowerLawBench(max_step=5, constant=2.0)
    p = rung.plan(pilot(bench), workers=[1, 3], seeds=2, budget=Budget(n_trials=10))
    assert isinstance(p, Plan)
    assert [r.workers for r in p.rows] == [1, 3]
    for row in p.rows:
        actual = _actual(bench, "fifo", 10, row.workers)
        assert actual == math.ceil(10 / row.workers) * 5 * 2.0
        assert row.wall_clock == pytest.approx(actual, rel=1e-12)
        assert row.wall_clock_low == row.wall_clock_high == row.wall_clock
        assert row.wall_clocks == pytest.approx([actual, actual])  # both seeds' runs
        assert row.trials == 10 and row.steps == 50
    assert p.rows[0].utilization == pytest.approx(1.0)
    assert p.rows[1].utilization == pytest.approx(50 * 2.0 / (3 * 40.0))
    assert p.startup == 0.0 and p.pilot_trials == 8


def test_synchronous_halving_wall_clock_matches_the_actual_run() -> None:
    bench = PowerLawBench(max_step=9, constant=1.0)
    sh = SuccessiveHalving(reduction_factor=3)
    p = rung.plan(pilot(bench, n_trials=9, scheduler=sh), workers=[1, 9], seeds=3,
                  budget=Budget(n_trials=18))
    for row in p.rows:
        assert row.wall_clock == pytest.approx(_actual(bench, sh, 18, row.workers), rel=1e-9)


def test_per_configuration_costs_carry_over() -> None:
    # steps cost 1 + 2x: FIFO on one worker costs the sum over trials, which the plan
    # predicts from the pilot's costs near each configuration (about the mean, 2 s a step)
    bench = PowerLawBench(max_step=3)
    p = rung.plan(pilot(bench, n_trials=12), workers=[1], seeds=4, budget=Budget(n_trials=40))
    actual = _actual(bench, "fifo", 40, 1)
    assert p.rows[0].wall_clock == pytest.approx(actual, rel=0.15)
    assert p.rows[0].wall_clock_low < p.rows[0].wall_clock_high


def test_the_fitted_benchmark_follows_the_pilot() -> None:
    bench = PowerLawBench(max_step=9)  # steps cost 1 + 2x
    fitted = fit_pilot(pilot(bench, n_trials=8))
    b = fitted.benchmark
    assert b.sigma == pytest.approx(0.0, abs=1e-6)  # noise-free curves: no noise added
    params = fitted.pilot.params
    xs = {k: p["x"] for k, p in params.items()}
    for k, p in sorted(params.items()):
        assert b.template_of(p) == k
        for step in (1, 5, 9):
            assert b.evaluate(p, step)[0]["loss"] == pytest.approx(
                bench.evaluate(p, step)[0]["loss"], abs=1e-4)
    # costs come from the parameters: a configuration at x = 0.9 costs (1 + 1.8) / (1 + 0.2)
    # times one at x = 0.1, whichever pilot trials are near them
    assert b.cost_model.coef[0] > 0
    ratio = b.evaluate({"x": 0.9}, 3)[1] / b.evaluate({"x": 0.1}, 3)[1]
    assert ratio == pytest.approx(2.8 / 1.2, rel=0.1)
    best = min(params, key=lambda k: xs[k])
    assert b.regret_of(params[best]) == 0.0
    assert b.regret_of(params[max(params, key=lambda k: xs[k])]) == pytest.approx(
        max(xs.values()) - xs[best], abs=1e-4)


def test_curves_drawn_among_the_nearest_pilot_trials(monkeypatch: pytest.MonkeyPatch) -> None:
    from rung.planning import synthetic

    monkeypatch.setattr(synthetic, "CURVE_NEIGHBOURS", 3)
    bench = PowerLawBench(max_step=9)
    fitted = fit_pilot(pilot(bench, n_trials=8))
    b = fitted.benchmark
    params = fitted.pilot.params
    xs = {k: p["x"] for k, p in params.items()}
    ids = sorted(params)
    best = min(params, key=lambda k: xs[k])
    drawn = set()
    for i in (0, 1, 2):  # other seeds draw again (on the same templates)
        rep = b.replicate(i, resample=False)
        for k, p in sorted(params.items()):
            assert rep.template_of(p) == k  # costs: the nearest pilot trial, itself
            c = ids[rep.curve_template_of(p)]  # the curve: one of the 3 nearest, drawn
            assert c in sorted(ids, key=lambda j: (abs(xs[j] - xs[k]), j))[:3]
            drawn.add(c == k)
            assert rep.evaluate(p, 5)[0]["loss"] == pytest.approx(
                bench.evaluate(params[c], 5)[0]["loss"], abs=1e-4)
            assert rep.regret_of(p) == pytest.approx(xs[c] - xs[best], abs=1e-4)
    assert drawn == {True, False}  # a configuration takes its own or a neighbour's curve


def test_replicates_resample_whole_pilot_trials() -> None:
    fitted = fit_pilot(pilot(PowerLawBench(max_step=4), n_trials=10))
    b = fitted.benchmark
    same = b.replicate(0)
    assert np.array_equal(same.units, b.units) and np.array_equal(same.seconds, b.seconds)
    boot = b.replicate(3)
    rows = [int(np.flatnonzero((b.units == u).all(axis=1))[0]) for u in boot.units]
    assert len(rows) == len(b.units) and len(set(rows)) < len(rows)  # drawn with replacement
    for i, k in enumerate(rows):  # curve and cost profile travel together
        assert np.array_equal(boot.scores[i], b.scores[k])
        assert np.array_equal(boot.seconds[i], b.seconds[k])
    assert boot.best_final == b.best_final  # regret still against the whole pilot's best
    assert boot.units.tolist() == b.replicate(3).units.tolist()  # deterministic
    plug = b.replicate(3, resample=False)  # a plug-in run: the pilot's own templates
    assert np.array_equal(plug.units, b.units) and np.array_equal(plug.seconds, b.seconds)
    assert plug.seed == 3 and plug.curve_model == boot.curve_model == "donor"


def test_log_linear_costs_are_predicted_exactly() -> None:
    # a step of x costs exp(1.5 x) seconds: the regression recovers it, the residual is ~0,
    # so FIFO on one worker (the sum of the configurations' costs) is predicted exactly by
    # replicate 0, which proposes the same configurations as the actual run with that seed
    bench = PowerLawBench(max_step=3, cost=lambda x: math.exp(1.5 * x))
    study = pilot(bench, n_trials=12)
    fitted = fit_pilot(study)
    assert fitted.benchmark.cost_model.coef[0] == pytest.approx(1.5, rel=0.01)
    assert fitted.benchmark.cost_model.sd < 0.01
    p = rung.plan(study, workers=[1], seeds=1, budget=Budget(n_trials=40))
    actual = _actual(bench, "fifo", 40, 1, seed=0)
    assert p.rows[0].wall_clock == pytest.approx(actual, rel=0.01)


def _lognormal_cost(sd: float) -> PowerLawBench:
    """Steps of configuration x cost exp(sd * z(x)), z(x) a fixed standard normal per x."""
    def cost(x: float) -> float:
        return math.exp(sd * float(derive_rng(5, "cost", round(x, 12)).standard_normal()))
    return PowerLawBench(max_step=3, cost=cost)


def test_heavy_tailed_costs_give_a_wider_interval_that_holds_the_actual_runs() -> None:
    widths = {}
    for sd in (0.1, 1.2):
        bench = _lognormal_cost(sd)
        study = pilot(bench, n_trials=20)
        p = rung.plan(study, workers=[4], seeds=30, budget=Budget(n_trials=60))
        row = p.rows[0]
        widths[sd] = (row.wall_clock_high - row.wall_clock_low) / row.wall_clock
        actual = [_actual(bench, "fifo", 60, 4, seed=s) for s in range(10)]
        inside = [row.wall_clock_low <= a <= row.wall_clock_high for a in actual]
        assert sum(inside) >= 6, (sd, row, actual)
    assert widths[1.2] > 3 * widths[0.1]


def test_cost_uses_prices_and_counts_idle_workers() -> None:
    bench = PowerLawBench(max_step=4, constant=900.0)  # a step is a quarter of an hour
    study = pilot(bench)
    p = rung.plan(study, workers=[2], seeds=1, budget=Budget(n_trials=3),
                  prices={"cpu": 0.5, "gpu": 2.0}, resources={"cpu": 2, "gpu": 1})
    row = p.rows[0]
    assert row.wall_clock == 2 * 4 * 900.0  # 3 trials on 2 workers: two rounds of an hour
    assert p.rate == 3.0 and p.priced
    assert row.worker_hours == 4.0
    assert row.cost == 12.0
    assert row.utilization == pytest.approx(3 / 4)
    free = rung.plan(study, workers=[2], seeds=1, budget=Budget(n_trials=3))
    assert not free.priced and free.rows[0].cost == 0.0 and free.rows[0].worker_hours == 4.0


def test_by_name_from_sqlite_and_to_frame(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    db = tmp_path / "p.db"
    pilot(PowerLawBench(max_step=3, constant=1.0), storage=db).close()
    p = rung.plan("pilot", storage=db, workers=[1, 2], seeds=1, prices=rung.Prices({"cpu": 3.6}),
                  budget={"n_trials": 4})
    frame = p.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["workers"]) == [1, 2]
    assert list(frame["wall_clock"]) == [12.0, 6.0]
    assert list(frame["cost"]) == [pytest.approx(0.012), pytest.approx(0.012)]
    assert "wall_clocks" not in frame.columns  # one scalar row per worker count
    assert [r.wall_clocks for r in p.rows] == [(12.0,), (6.0,)]


@pytest.mark.parametrize(("kwargs", "key"), [
    ({"workers": [0]}, "workers"),
    ({"workers": []}, "workers"),
    ({"workers": ["8"]}, "workers"),
    ({"workers": "8"}, "workers"),
    ({"workers": 2.5}, "workers"),
    ({"seeds": 0}, "seeds"),
    ({"seeds": 2.5}, "seeds"),
    ({"budget": Budget()}, "budget"),
    ({"budget": {"n_trial": 3}}, "budget.n_trial"),
    ({"budget": 5}, "budget"),
    ({"prices": {"tpu": 1.0}}, "prices.tpu"),
    ({"prices": {"cpu": -1.0}}, "prices.cpu"),
    ({"resources": {"cpu": "two"}}, "resources_per_trial.cpu"),
])
def test_bad_arguments_name_the_key(kwargs: dict[str, object], key: str) -> None:
    study = pilot(PowerLawBench(max_step=2, constant=1.0), n_trials=3)
    with pytest.raises(ConfigError) as e:
        rung.plan(study, **kwargs)  # type: ignore[arg-type]
    assert e.value.key == key


def test_bad_pilots_and_names() -> None:
    bench = PowerLawBench(max_step=2, constant=1.0)
    with pytest.raises(ConfigError) as e:
        rung.plan(pilot(bench, n_trials=1))
    assert e.value.key == "study" and "1 trial(s)" in str(e.value)
    with pytest.raises(ConfigError) as e:
        rung.plan("pilot")  # a name without its storage
    assert e.value.key == "storage"
    with pytest.raises(ConfigError) as e:
        rung.plan(3)  # type: ignore[arg-type]
    assert e.value.key == "study"


def test_the_interval_is_an_80_percent_prediction_interval_for_one_run() -> None:
    from rung.planning.planner import _q

    assert _q([float(x) for x in range(10, 0, -1)]) == (5.5, 1.0, 10.0)  # n = 10: min, max
    assert _q([float(x) for x in range(1, 21)]) == (10.5, 2.0, 19.0)  # n = 20: x_(2), x_(19)
    assert _q([float(x) for x in range(1, 20)]) == (10.0, 2.0, 18.0)  # n = 19: x_(2), x_(18)
    assert _q([3.0, math.nan]) == (3.0, 3.0, 3.0)
    # exchangeable runs: a new one falls inside with probability (k - j) / (n + 1) >= 0.8,
    # where the sample's own 10%-90% quantiles hold it about 65% of the time for n = 10
    rng = np.random.default_rng(0)
    for n, expected in ((10, 9 / 11), (20, 17 / 21)):
        draws = rng.lognormal(0.0, 1.0, (20000, n + 1))
        ends = np.array([_q(list(d[:n]))[1:] for d in draws])
        inside = (ends[:, 0] <= draws[:, n]) & (draws[:, n] <= ends[:, 1])
        assert inside.mean() == pytest.approx(expected, abs=0.01)
        lo, hi = np.quantile(draws[:, :n], [0.1, 0.9], axis=1)
        assert ((lo <= draws[:, n]) & (draws[:, n] <= hi)).mean() < 0.75
