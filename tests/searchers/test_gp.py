"""Behaviour of the ``gp`` searcher and its GP that the shared searcher properties do not cover:
the initial design with parallel workers, the noise floor on deterministic objectives,
factorization of clustered data and the lengthscale prior."""

from __future__ import annotations

import numpy as np
import pytest
from searcher_helpers import BRANIN_SPACE, branin, make_study, pending_batch, run_sequential

import rung
import rung.benchmarks
from rung.searchers._gp import GP, Hyper, lengthscale_penalty


def test_initial_design_continues_while_its_points_run() -> None:
    """With 8 workers and ``n_initial=5``, the model does not take over at the 6th suggestion
    (nothing observed yet) nor while fewer than 5 results exist: until then the suggestions are
    the study's Sobol' points, the same as the ``sobol`` searcher's."""
    gp = make_study({"name": "gp", "params": {"n_initial": 5, "n_candidates": 64}}, seed=3)
    sobol = make_study("sobol", seed=3)
    running = [gp.ask() for _ in range(8)]
    expected = [sobol.ask() for _ in range(12)]
    assert all(t is not None for t in running + expected)
    got = [t.params for t in running if t is not None]
    # 4 results arrive; each freed slot gets a new suggestion, still from the design
    for t in running[:4]:
        assert t is not None
        gp.tell(t.id, "completed", {"loss": branin(t.params)})
        nxt = gp.ask()
        assert nxt is not None
        got.append(nxt.params)
    assert got == [t.params for t in expected if t is not None]
    # the 5th result completes the design: the next suggestion comes from the model
    t5 = running[4]
    assert t5 is not None
    gp.tell(t5.id, "completed", {"loss": branin(t5.params)})
    model_pick = gp.ask()
    nxt_sobol = sobol.ask()
    assert model_pick is not None and nxt_sobol is not None
    assert model_pick.params != nxt_sobol.params


def test_sequential_initial_design_is_n_initial_points() -> None:
    gp = make_study({"name": "gp", "params": {"n_initial": 5, "n_candidates": 64}}, seed=1)
    sobol = make_study("sobol", seed=1)
    a = run_sequential(gp, branin, 6)
    b = run_sequential(sobol, branin, 6)
    assert a[:5] == b[:5]
    assert a[5] != b[5]


def _branin_unit(U: np.ndarray) -> np.ndarray:
    return np.array([branin({"x1": -5 + 15 * u[0], "x2": 15 * u[1]}) for u in U])


def test_noise_floor_resolves_small_differences_of_a_deterministic_objective() -> None:
    """Branin with values up to 300 in the data and a cluster of points whose values differ by
    about 1e-4 near a minimum: the MAP noise goes below 1e-6 (standardized), and the posterior
    mean ranks the cluster's points as the objective does."""
    rng = np.random.default_rng(0)
    opt = np.array([(np.pi + 5) / 15, 2.275 / 15])
    U = np.vstack([rng.random((40, 2)), opt + 1e-3 * rng.standard_normal((20, 2))])
    y = _branin_unit(U)
    ys = (y - y.mean()) / y.std()
    gp = GP(U, ys, np.array([0, 1]), 2)
    hyper = gp.fit()
    assert np.exp(hyper.log_noise) < 1e-6
    gp.condition(hyper)
    probe = opt + 1e-3 * rng.standard_normal((30, 2))
    truth = _branin_unit(probe)
    mu, _ = gp.predict(probe)
    assert np.ptp(truth) < 1e-2  # differences far below the data's spread (sd ~ 50)
    corr = np.corrcoef(np.argsort(np.argsort(mu)), np.argsort(np.argsort(truth)))[0, 1]
    assert corr > 0.9


def test_condition_survives_duplicated_points_at_the_noise_floor() -> None:
    U = np.repeat(np.array([[0.2, 0.3], [0.7, 0.1], [0.5, 0.5]]), 4, axis=0)
    U = U + np.repeat([[0.0, 0.0], [1e-12, 0.0], [0.0, 1e-12], [0.0, 0.0]], 3, axis=0)
    y = np.array([0.1, -1.0, 0.9] * 4)
    gp = GP(U, (y - y.mean()) / y.std(), np.array([0, 1]), 2)
    hyper = gp.fit()
    gp.condition(Hyper(np.log([0.1, 0.1]), float(np.log(50.0)), float(np.log(1e-9))))
    mu, var = gp.predict(np.array([[0.2, 0.3], [0.9, 0.9]]))
    assert np.all(np.isfinite(mu)) and np.all(var > 0)
    assert hyper.log_noise >= np.log(1e-9) - 1e-9


@pytest.mark.slow  # a quality run (minutes on 2 busy cores)
def test_gp_reaches_branin_minimum_precisely() -> None:
    """A deterministic objective converges well below the old noise floor's resolution."""
    study = make_study({"name": "gp", "params": {"n_candidates": 256}}, seed=0)
    run_sequential(study, branin, 45)
    v = study.best_value()
    assert v is not None and v - 0.397887 < 2e-4


def test_parallel_batch_with_pending_trials_spreads_out() -> None:
    """Seven pending suggestions made one after another without results (a wave of 8 workers)
    are distinct and not stacked on one spot."""
    study = make_study({"name": "gp", "params": {"n_initial": 8, "n_candidates": 256}},
                       BRANIN_SPACE, seed=2)
    run_sequential(study, branin, 15)
    B = pending_batch(study, 8)
    d = np.linalg.norm(B[:, None] - B[None], axis=2)[np.triu_indices(8, 1)]
    assert d.min() > 1e-3
    assert np.median(d) > 0.02


def test_lengthscale_prior_is_centred_on_the_unit_cube_with_exponential_tails() -> None:
    """``0.1 (l^2 + 1 / l^2)``: minimum at ``l = 1``, symmetric in ``log l``, about 0.9 at 1/3
    and 3 and 10 at 0.1 and 10; the gradient is the derivative in ``log l``."""
    log_l = np.log(np.array([0.1, 1 / 3, 1.0, 3.0, 10.0]))
    vals = np.array([lengthscale_penalty(np.array([a]))[0] for a in log_l])
    assert np.argmin(vals) == 2 and vals[2] == 0.2
    np.testing.assert_allclose(vals[0], vals[4])
    np.testing.assert_allclose(vals[1], vals[3])
    assert 0.9 < vals[1] < 0.92 and 9.9 < vals[0] < 10.1
    total, grad = lengthscale_penalty(log_l)
    np.testing.assert_allclose(total, vals.sum())
    eps = 1e-6
    fd = [(lengthscale_penalty(np.array([a + eps]))[0]
           - lengthscale_penalty(np.array([a - eps]))[0]) / (2 * eps) for a in log_l]
    np.testing.assert_allclose(grad, fd, rtol=1e-5)


def test_irrelevant_parameter_keeps_a_lengthscale_of_a_few_units() -> None:
    """15 points in 3 dimensions, the objective ignoring the third: the fit keeps the third
    lengthscale longer than the others but at a few units (the earlier log-normal prior let it
    drift to about 12 here, and to 80-340 at 25-40 points, so that dimension was no longer
    explored), and it grows as points accumulate."""
    rng = np.random.default_rng(0)
    ls = []
    for n in (15, 40):
        U = rng.random((n, 3))
        y = np.sin(6 * U[:, 0]) + 4 * (U[:, 1] - 0.5) ** 2
        hyper = GP(U, (y - y.mean()) / y.std(), np.arange(3), 3).fit()
        ls.append(np.exp(hyper.log_ls))
    assert 2.0 < ls[0][2] < 5.0 and ls[0][2] > 3 * ls[0][:2].max()
    assert ls[1][2] > ls[0][2] and ls[1][2] < 10.0


def test_gp_suggestions_run_blas_on_one_thread() -> None:
    """``blas_single_thread`` limits every BLAS pool to one thread inside, and restores it."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from rung.searchers._gp import blas_single_thread

    def blas() -> list[int]:
        return [i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["user_api"] == "blas"]

    before = blas()
    with threadpoolctl.threadpool_limits(2, user_api="blas"), blas_single_thread():
        assert blas() and all(n == 1 for n in blas())
    assert blas() == before


def test_trials_stopped_below_the_modelled_step_are_never_proposed_again() -> None:
    # mf-branin, ASHA from step 1 on one simulated worker: the GP models the highest rung with
    # three results, so almost every trial ends below it. Before stopped trials counted as
    # observations, one rejected configuration was proposed for ~300 trials in a row.
    bench = rung.benchmarks.MFBranin(max_step=27, seed=0)
    study = make_study("gp", bench.space, n_trials=80, scheduler=rung.schedulers.ASHA(3),
                       max_step=27)
    study.simulate(bench, n_workers=1)
    trials = study.trials()
    keys = {tuple(sorted(t.params.items())) for t in trials}
    stopped = [t for t in trials if t.status.value == "stopped"]
    assert len(trials) == 80
    assert len(stopped) >= 40  # the scheduler did stop most trials below the top rung
    assert len(keys) == len(trials)


def test_results_near_the_float_limits_are_modelled() -> None:
    """Before: the mean and deviation of [1e308, -1e308, ...] overflowed, the GP was fitted on
    NaN (RuntimeWarning: overflow encountered in reduce; invalid value in divide)."""
    import warnings

    from rung.searchers._gp_data import standardize as _standardize

    z = _standardize(np.array([1e308, -1e308, 0.0, 5e307]))
    assert np.all(np.isfinite(z))
    np.testing.assert_allclose(z, _standardize(np.array([1.0, -1.0, 0.0, 0.5])))
    y = np.array([3.0, 1.0, 2.0])
    assert _standardize(y).tolist() == ((y - y.mean()) / y.std()).tolist()  # as before
    study = make_study("gp", {"x": rung.Float(0.0, 1.0)}, n_trials=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(14):
            t = study.ask()
            assert t is not None and 0.0 <= t.params["x"] <= 1.0
            study.tell(t.id, "completed", {"loss": [1e308, -1e308, 0.0, 1.0][i % 4]})
