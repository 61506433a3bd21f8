"""A planned study with a stop rule sees the evidence the real one does: values on the pilot's
grid, from which the rule reads the binomial error of a rate. (On the continuous values of the
fitted curves it fell back to the noise it measures and planned 100 trials where the real
studies stop at 20 to 22; on ``hgb-magic``, 83 where they stop at 26 to 38.)"""

from __future__ import annotations

import numpy as np

import rung
from rung.cli.plan import plan_text
from rung.planning.planner import fit_pilot

N = 397  # validation examples: not a power of ten, so the grid is read off the values
SPACE = rung.SearchSpace({"x": rung.Float(0.0, 1.0), "y": rung.Float(0.0, 1.0)})


class Rate:
    """An error rate on ``N`` examples, without noise (a recorded table's), 4 steps."""

    max_step = 4
    space = SPACE

    def evaluate(self, params: dict[str, float], step: int) -> tuple[dict[str, float], float]:
        x, y = params["x"], params["y"]
        p = 0.1 + 0.3 * ((x - 0.3) ** 2 + (y - 0.6) ** 2) + 0.1 / step
        return {"err": round(min(p, 1.0) * N) / N}, 10.0 * (1 + x)


def _study(seed: int, stop: object = "auto") -> rung.Study:
    s = rung.Study.create("p", SPACE, objective=rung.Objective("err", "min"),
                          searcher="random", scheduler="fifo", max_step=4, seed=seed,
                          budget=rung.Budget(n_trials=100, stop=stop), prices={"cpu": 3.6})
    return s.simulate(Rate(), n_workers=1)


def test_the_planned_stop_rule_reads_the_pilots_grid() -> None:
    pilot = _study(0)
    assert len(pilot.trials()) == 20  # the real study stops at min_trials (20, 20, 22 ...)
    p = rung.plan(pilot, workers=[1], seeds=3)
    # each simulated run stopped (100 trials take 100 x 4 steps of 10-20 s); on continuous
    # values none did: 100 trials
    assert p.rows[0].trials == 25.0
    assert all(w < 100 * 4 * 10.0 for w in p.rows[0].wall_clocks)
    assert p.grid == N
    assert p.to_json()["grid"] == N
    assert (f"values rounded to multiples of 1/{N}, the pilot's grid, which the stop rule "
            "reads its statistical error off") in plan_text(p)


def test_without_a_stop_rule_the_values_stay_continuous() -> None:
    pilot = _study(0)
    p = rung.plan(pilot, workers=[1], seeds=1, budget=rung.Budget(n_trials=10))
    assert p.grid is None and p.to_json()["grid"] is None
    assert "the pilot's grid" not in plan_text(p)


def test_on_grid_rounds_every_value_to_the_grid() -> None:
    bench = fit_pilot(_study(0)).benchmark
    assert (bench.lattice, bench.grid) == (N, None)
    on = bench.on_grid(N)
    assert on.grid == N and on.replicate(3).grid == N and on.on_grid(None).grid is None
    params = [{"x": float(x), "y": float(y)} for x, y in np.random.default_rng(1).random((30, 2))]
    values = np.array([on.evaluate(q, s)[0]["err"] for q in params for s in range(1, 5)])
    assert np.all(np.abs(values * N - np.round(values * N)) < 1e-9)
    raw = np.array([bench.evaluate(q, s)[0]["err"] for q in params for s in range(1, 5)])
    assert np.array_equal(np.round(raw * N) / N, values)  # the same curves, rounded
    assert not np.all(np.abs(raw * N - np.round(raw * N)) < 1e-9)
