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


# --- conditional spaces: groups of co-active parameters, and every branch keeps a share ------

NESTED = rung.SearchSpace({
    "optimizer": rung.Categorical(["sgd", "adam", "rmsprop"]),
    "lr": rung.Float(1e-5, 1e-1, log=True),
    "dropout": rung.Float(0.0, 0.8),
    "momentum": rung.Float(0.0, 0.99, when={"optimizer": "sgd"}),
    "nesterov": rung.Categorical([False, True], when={"optimizer": "sgd"}),
    "beta1": rung.Float(0.5, 0.999, when={"optimizer": "adam"}),
    "beta2": rung.Float(0.9, 0.9999, when={"optimizer": "adam"}),
    "rho": rung.Float(0.5, 0.99, when={"optimizer": "rmsprop"}),
    "centered": rung.Categorical([False, True], when={"optimizer": "rmsprop"}),
})


def nested_loss(p: dict) -> float:
    """Issue 14's lock-in problem (9 parameters, optimizer-dependent children): adam is broad
    and mediocre (0.30 at best) and looks best early; rmsprop is poor almost everywhere but
    holds the optimum (about -0.05) in a valley of lr and rho."""
    lr = math.log10(p["lr"])
    shared = 0.05 * (p["dropout"] - 0.3) ** 2
    if p["optimizer"] == "adam":
        return 0.30 + 0.02 * (lr + 3) ** 2 + 0.1 * (p["beta1"] - 0.9) ** 2 + shared
    if p["optimizer"] == "sgd":
        return (0.45 + 0.03 * (lr + 1.5) ** 2 + 0.2 * (p["momentum"] - 0.9) ** 2
                - 0.05 * p["nesterov"] + shared)
    d = (lr + 2.5) ** 2 + ((p["rho"] - 0.9) / 0.15) ** 2
    return 0.7 - 0.7 * math.exp(-d) - 0.05 * p["centered"] + shared


def _nested_run(searcher: object, seed: int, n: int) -> tuple[list[str], float]:
    study = make_study(searcher, NESTED, seed=seed)
    chosen, best = [], math.inf
    for _ in range(n):
        t = study.ask()
        assert t is not None
        v = nested_loss(dict(t.params))
        study.tell(t.id, "completed", {"loss": v})
        chosen.append(t.params["optimizer"])
        best = min(best, v)
    return chosen, best


def test_every_branch_is_tried_after_trial_30() -> None:
    runs = [_nested_run("tpe", seed, 60) for seed in range(3)]
    for chosen, _ in runs:
        assert set(chosen[30:]) == {"sgd", "adam", "rmsprop"}
    # most seeds leave adam's plateau (0.30) for the rmsprop valley (version 1: none did)
    assert sum(best < 0.2 for _, best in runs) >= 2


def test_without_the_branch_share_a_branch_can_be_abandoned() -> None:
    """The share is what guarantees the visits (the groups alone leave some seeds on adam)."""
    runs = [_nested_run({"name": "tpe", "params": {"min_branch_share": 0.0}}, s, 60)[0]
            for s in range(3)]
    assert any(set(c[30:]) != {"sgd", "adam", "rmsprop"} for c in runs)


def test_activity_groups_and_grouped_densities() -> None:
    from rung.searchers._parzen import GroupedParzen, activity_groups

    dims = dims_of(NESTED)
    seen = [NESTED.sample(np.random.default_rng(i)) for i in range(12)]
    X = np.array([NESTED.to_unit(p) for p in seen])
    groups = activity_groups(X)
    names = [[NESTED.dims[j] for j in g] for g in groups]
    assert ["optimizer", "lr", "dropout"] in names
    assert ["momentum", "nesterov"] in names and ["rho", "centered"] in names
    # one group (no condition): the same density and the same draws as one joint Parzen
    plain = X[:, [1, 2]]
    pdims = dims_of(rung.SearchSpace({"lr": NESTED["lr"], "dropout": NESTED["dropout"]}))
    w = np.linspace(0.5, 1.0, 12)
    a = Parzen(plain, w, pdims, 1.0)
    b = GroupedParzen(plain, w, pdims, activity_groups(plain), 1.0)
    assert np.allclose(a.log_pdf(plain), b.log_pdf(plain))
    assert np.array_equal(a.sample(np.random.default_rng(3), 5),
                          b.sample(np.random.default_rng(3), 5))
    # a branch's density is its children's, fitted on the rows that used them only
    g = GroupedParzen(X, np.ones(12), dims, groups, 1.0)
    rms = [i for i, p in enumerate(seen) if p["optimizer"] == "rmsprop"]
    part = next(p for grp, p in g.parts if NESTED.dims[grp[0]] == "rho")
    assert part.n_kernels == len(rms) + 1  # + the prior
