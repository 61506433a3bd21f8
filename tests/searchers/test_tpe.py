"""TPE specifics: defaults that match Optuna's TPESampler conventions, the constant liar for
pending trials and its light kernels, what a wave of parallel suggestions looks like, and how
conditional parameters enter the joint kernels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from searcher_helpers import BRANIN_SPACE, branin, make_study, run_sequential, unit

import rung
from rung.searchers._common import dims_of
from rung.searchers._parzen import Parzen
from rung.searchers.tpe import TPESearcher, ramp_weights


def test_defaults_follow_optuna_conventions() -> None:
    s = TPESearcher()
    assert (s.n_initial, s.n_candidates, s.prior_weight, s.gamma, s.max_below) == (
        10, 24, 1.0, 0.1, 25)
    assert s.multivariate and s.constant_liar
    assert s.liar_weight == 0.01  # rung's: a full-weight liar over-explores (tpe.py, step 3)
    # below-group size: min(ceil(0.1 n), 25), at least one
    assert [s.n_below(n) for n in (1, 9, 10, 11, 100, 251, 1000)] == [1, 1, 1, 2, 10, 25, 25]


def test_ramp_weights() -> None:
    assert np.array_equal(ramp_weights(24), np.ones(24))
    w = ramp_weights(40)
    assert w.shape == (40,) and np.all(w[-25:] == 1.0)
    assert w[0] == pytest.approx(1 / 40) and np.all(np.diff(w) >= 0)


def _batch(liar: bool, seed: int, n_seq: int = 30, n_batch: int = 8) -> np.ndarray:
    study = make_study({"name": "tpe", "params": {"constant_liar": liar}}, BRANIN_SPACE,
                       seed=seed)
    run_sequential(study, branin, n_seq)
    out = []
    for _ in range(n_batch):
        t = study.ask()  # stays pending: the next ask sees it
        assert t is not None
        out.append(unit(study, t.params))
    return np.array(out)


def _nearest(B: np.ndarray) -> np.ndarray:
    d = np.linalg.norm(B[:, None, :] - B[None, :, :], axis=2)
    np.fill_diagonal(d, math.inf)
    return d.min(axis=1)


def _split_with_pending(liar: bool) -> tuple[TPESearcher, rung.Study, list[list[int]]]:
    study = make_study({"name": "tpe", "params": {"constant_liar": liar}}, BRANIN_SPACE, seed=0)
    run_sequential(study, branin, 20)
    pending = [study.ask() for _ in range(3)]
    s = study.engine.searcher
    assert isinstance(s, TPESearcher)
    from rung.searchers._common import gather

    h = study.engine.history
    below, above, liars = s._split(h, gather(h, 1))
    return s, study, [below, above, liars, [t.id for t in pending if t is not None]]


def test_pending_trials_join_the_above_group_as_light_liars() -> None:
    s, study, (below, above, liars, ids) = _split_with_pending(True)
    assert len(below) == 2 and len(above) == 18 and liars == ids and len(ids) == 3
    assert not set(ids) & set(below + above)
    g = s._density(study.engine.history, above, liars)
    assert g.n_kernels == 18 + 3 + 1  # the observations, the liars, the prior
    assert np.allclose(g.w[18:21] / g.w[:18].max(), 0.01)  # the heaviest observation weighs 1


def test_without_the_liar_pending_trials_are_left_out() -> None:
    _, _, (below, above, liars, ids) = _split_with_pending(False)
    assert len(below) == 2 and len(above) == 18 and liars == [] and len(ids) == 3
    assert not set(ids) & set(below + above)


def _suggest_with_pending(liar: bool, n_pending: int) -> dict[str, object] | None:
    """The suggestion for one fixed request (index 20, one rng stream) after 20 results and
    ``n_pending`` trials still running."""
    from rung.core.components import SuggestRequest
    from rung.core.rng import derive_rng

    study = make_study({"name": "tpe", "params": {"constant_liar": liar}}, BRANIN_SPACE, seed=3)
    run_sequential(study, branin, 20)
    for _ in range(n_pending):
        assert study.ask() is not None
    rng = derive_rng(0, "test")
    return study.engine.searcher.suggest(SuggestRequest(99, 20, study.engine.history, rng))


def test_pending_trials_move_a_suggestion_only_with_the_liar() -> None:
    """Without the liar a suggestion depends on the results only."""
    assert _suggest_with_pending(False, 3) == _suggest_with_pending(False, 0)
    assert _suggest_with_pending(True, 3) != _suggest_with_pending(True, 0)


def test_a_wave_of_pending_suggestions_is_spread_out_by_the_liar() -> None:
    """With the constant liar the 8 suggestions of a wave (one candidate set each, from its own
    stream) are distinct and farther apart than the same wave made blind to pending trials, the
    default, whose suggestions still differ (each draws its own candidates)."""
    liar = [_nearest(_batch(True, seed)) for seed in range(4)]
    blind = [_nearest(_batch(False, seed)) for seed in range(4)]
    assert all(d.min() > 0.004 for d in liar)
    assert all(d.min() > 0.0 for d in blind)
    assert np.median(np.concatenate(liar)) > np.median(np.concatenate(blind))


def test_joint_kernels_are_a_normalized_density_on_a_conditional_space() -> None:
    """How conditional parameters enter TPE's joint kernels: an observation that did not use
    ``k`` is uniform in ``k``'s coordinate and a configuration without ``k`` ignores it, so the
    probabilities of all configurations of the tree (``c = a``, or ``c = b`` with each ``k``)
    sum to one, and with no observation that used ``k``, ``k`` given ``c = b`` is uniform."""
    space = rung.SearchSpace({"c": rung.Categorical(["a", "b"]),
                              "k": rung.Int(1, 5, when={"c": "b"})})
    dims = dims_of(space)
    configs = [{"c": "a"}] + [{"c": "b", "k": k} for k in range(1, 6)]
    U = np.array([space.to_unit(p) for p in configs])
    seen = [{"c": "a"}, {"c": "b", "k": 2}, {"c": "b", "k": 2}, {"c": "b", "k": 4}]
    X = np.array([space.to_unit(p) for p in seen])
    for rows in ([0, 1, 2, 3], [0, 0, 1], [0, 0]):
        est = Parzen(X[rows], np.ones(len(rows)), dims, prior_weight=1.0)
        p = np.exp(est.log_pdf(U))
        assert p.sum() == pytest.approx(1.0)
    # only c = a observed, kernels that leave their category with probability 1/2 and no
    # prior: half the mass on c = b, spread evenly over k
    est = Parzen(X[[0, 0]], np.ones(2), dims, prior_weight=0.0,
                 cat_bandwidth=np.full((2, 2), 0.5))
    p = np.exp(est.log_pdf(U))
    assert p[0] == pytest.approx(0.5) and np.allclose(p[1:], 0.1)
