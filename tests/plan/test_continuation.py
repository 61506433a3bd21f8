"""The donor continuation of partly observed pilot curves (``rung.planning.continuation``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rung
from rung.planning.continuation import continue_from, full_curves, pick_donor, score_bounds


def test_bounds_follow_the_range_the_metric_took() -> None:
    assert score_bounds(np.array([0.15, 0.35]), "min") == (0.0, 1.0)  # an error rate
    assert score_bounds(np.array([0.2, 3.5]), "min") == (0.0, math.inf)  # a loss
    assert score_bounds(np.array([0.6, 0.9]), "max") == (-1.0, -0.0)  # an accuracy, as scores
    # a reward that went negative: one observed span beyond each observed extreme
    assert score_bounds(np.array([-2.0, 3.0]), "max") == (-8.0, 7.0)
    # a log-likelihood (<= 0) maximised: the floor is -0, the ceiling one span past the worst
    floor, ceiling = score_bounds(np.array([-3.0, -1.0]), "max")
    assert (floor, ceiling) == (-0.0, math.inf)


def test_keeps_the_donor_plateau_and_drop_scaled_towards_the_floor() -> None:
    steps = np.arange(1, 13)
    donor = np.where(steps < 8, 0.35, 0.14)  # flat at the class prior, then a drop at step 8
    head = np.full(12, np.nan)
    head[:3] = 0.35
    same = continue_from(head, 3, donor, 0.0, 1.0)
    assert same.tolist() == pytest.approx(donor.tolist())
    head[:3] = [0.40, 0.35, 0.30]
    out = continue_from(head, 3, donor, 0.0, 1.0)
    assert out[:3].tolist() == pytest.approx([0.40, 0.35, 0.30])  # measured scores kept
    assert out[3:7].tolist() == pytest.approx([0.30] * 4)  # the plateau
    assert out[7:].tolist() == pytest.approx([0.30 * 0.14 / 0.35] * 5)  # the same relative drop


def test_never_leaves_the_metric_range() -> None:
    rng = np.random.default_rng(0)
    for _ in range(500):
        n, last = 20, int(rng.integers(1, 20))
        floor, ceiling = sorted(rng.normal(0.0, 2.0, 2))
        donor = rng.uniform(floor - 1.0, ceiling + 1.0, n)  # may even leave the range itself
        head = rng.uniform(floor, ceiling, n)
        out = continue_from(head, last, donor, floor, ceiling)
        assert np.all(out >= floor) and np.all(out <= ceiling)
    # a small error continued by a large drop: an additive shift would go negative
    donor = np.array([0.5, 0.5, 0.05, 0.01])
    out = continue_from(np.array([0.04, 0.03, np.nan, np.nan]), 2, donor, 0.0, 1.0)
    assert out.min() > 0.0 and out[-1] == pytest.approx(0.03 * 0.01 / 0.5)
    assert (0.03 - (0.5 - 0.01)) < 0  # what the additive shift would have given


def test_full_curves_join_measurements_and_the_fitted_tail() -> None:
    observed = np.array([[0.5, np.nan, 0.3, np.nan, np.nan],
                         [np.nan] * 5])
    fitted = np.array([[0.6, 0.5, 0.4, 0.2, 0.1],
                       [0.9, 0.8, 0.7, 0.6, 0.5]])
    curves, last = full_curves(observed, fitted, 0.0, 1.0)
    assert last.tolist() == [3, 0]
    # gap interpolated; the tail the fitted ratio from the last measurement: 0.3 * 0.2 / 0.4
    assert curves[0].tolist() == pytest.approx([0.5, 0.4, 0.3, 0.15, 0.075])
    assert curves[1].tolist() == pytest.approx(fitted[1].tolist())  # nothing measured


def test_donors_are_observed_further_and_drawn_among_the_nearest() -> None:
    nan = np.nan
    observed = np.array([
        [0.35, nan, nan, nan],  # k = 0: stopped at step 1
        [0.35, 0.35, 0.2, 0.1],  # tied nearest donors
        [0.35, 0.3, 0.3, 0.3],
        [0.35, 0.35, 0.35, 0.35],
        [0.9, 0.8, 0.7, 0.6],  # far: not among the 3 nearest
        [0.35, nan, nan, nan],  # as short as k: never a donor
    ])
    curves, last = full_curves(observed, np.nan_to_num(observed, nan=0.35), 0.0, 1.0)
    picks = {pick_donor(0, curves, last, observed, u) for u in np.linspace(0, 0.999, 30)}
    assert picks == {1, 2, 3}
    # the longest template has no donor: it keeps its own curve
    assert pick_donor(1, curves, last, observed, 0.5) in {1, 2, 3, 4}
    longest = np.array([[0.3, 0.2], [0.4, nan]])
    c2, l2 = full_curves(longest, np.array([[0.3, 0.2], [0.4, 0.3]]), 0.0, 1.0)
    assert pick_donor(0, c2, l2, longest, 0.5) == 0


class _PlateauBench:
    """Error rates flat at 0.35 until a step that grows with x, then 0.1 + 0.1 x (noise-free)."""

    name = "plateau"
    metric, mode, optimum, max_step = "loss", "min", 0.1, 27

    def __init__(self) -> None:
        self.space = rung.SearchSpace({"x": rung.Float(0.0, 1.0)})

    def evaluate(self, params: dict[str, float], step: int) -> tuple[dict[str, float], float]:
        x = float(params["x"])
        drop = 2 + int(20 * x)
        return {"loss": 0.35 if step < drop else 0.1 + 0.1 * x}, 1.0


def test_the_donor_model_keeps_plateaus_where_the_power_law_smooths_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from planhelp import pilot

    from rung.planning import fit_pilot, synthetic

    monkeypatch.setattr(synthetic, "CURVE_NEIGHBOURS", 1)  # each pilot trial its own curve

    bench = _PlateauBench()
    study = pilot(bench, n_trials=12, workers=2, scheduler=rung.ASHA(3))  # type: ignore[arg-type]
    b = fit_pilot(study).benchmark
    assert b.bounds == (0.0, 1.0)
    b.sigma = 0.0  # the shapes below without observation noise (replicates inherit it)
    # replicates alternate the models
    assert [b.replicate(i).curve_model for i in range(4)] == ["power", "donor"] * 2
    power, donor = b.replicate(0), b.using("donor")
    for rep in (power, donor, b.replicate(1), b.replicate(3)):
        for x in np.linspace(0.0, 1.0, 25):
            curve = [rep.evaluate({"x": float(x)}, s)[0]["loss"] for s in range(1, 28)]
            assert min(curve) >= 0.0 and max(curve) <= 1.0
    # a configuration whose template stopped at step 1 (0.35): the donor model goes on flat,
    # then drops by a donor's relative drop, to one of the values the pilot's long trials
    # reached; the power law starts dropping at once
    curves = fit_pilot(study).pilot.curves
    assert max(max(c) for c in curves.values()) == 27  # measured to the end by some trials
    measured = {round(v, 9) for c in curves.values() for v in c.values()}
    short = [k for k, c in curves.items() if max(c) == 1]
    assert short
    for k in short:
        params = fit_pilot(study).pilot.params[k]
        d = [donor.evaluate(params, s)[0]["loss"] for s in range(1, 28)]
        p = [power.evaluate(params, s)[0]["loss"] for s in range(1, 28)]
        assert d[:2] == pytest.approx([0.35, 0.35]) and p[1] < 0.3
        # plateau, drop, plateau: the values a long pilot trial measured (every trial is at
        # 0.35 at step 1, so the ratio is 1), not a smooth decay
        assert {round(v, 9) for v in d} <= measured and len({round(v, 9) for v in d}) <= 3
    with pytest.raises(ValueError, match="curve_model"):
        b.using("spline")
