"""``GPSearcher(fidelities="all")``: which steps join the ensemble, how they are weighted, how
they combine, and what the searcher then proposes (``rung.searchers._fidelities``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from searcher_helpers import branin, make_study

import rung
import rung.benchmarks
import rung.schedulers
from rung.errors import ConfigError
from rung.searchers._fidelities import (
    Ensemble,
    loo_posterior,
    member_steps,
    ranking_weights,
)
from rung.searchers._gp import GP


class _Counts:
    """The two reads ``member_steps`` makes of a history: its steps and results per step."""

    def __init__(self, counts: dict[int, int]) -> None:
        self.counts = counts

    def steps(self) -> list[int]:
        return sorted(self.counts)

    def n_at_step(self, step: int) -> int:
        return self.counts[step]


def test_members_are_the_steps_a_scheduler_decided_at() -> None:
    # ASHA, eta 3, max_step 27, top modelled step 9: rungs 1 and 3 hold 3x the results each;
    # steps between rungs (2, 4-8) are reached by the same trials as the rung above them,
    # and steps above the top (10-27) are not members
    counts = {1: 90, 2: 31, 3: 30, **{s: 10 for s in range(4, 10)}, **{s: 3 for s in range(10, 28)}}
    assert member_steps(_Counts(counts), 9, min_points=3) == [3, 1]
    # FIFO: every step has the same results, so the top step is modelled alone
    assert member_steps(_Counts({s: 12 for s in range(1, 10)}), 9, min_points=3) == []
    # a step with fewer than min_points results never joins, and at most max_low do
    assert member_steps(_Counts({1: 2, 2: 1}), 2, min_points=3) == []
    many = {s: 2 ** (10 - s) for s in range(1, 10)}
    assert member_steps(_Counts(many), 9, min_points=1, max_low=2) == [8, 7]
    # growth measured from the last member: 10 -> 14 (x1.4) is no member, 10 -> 16 is
    assert member_steps(_Counts({1: 16, 2: 14, 3: 10}), 3, min_points=3) == [1]


def _gp(Z: np.ndarray, y: np.ndarray) -> GP:
    ys = (y - y.mean()) / (y.std() or 1.0)
    gp = GP(Z, ys, np.arange(Z.shape[1]), Z.shape[1])
    gp.condition(gp.fit())
    return gp


def _f(Z: np.ndarray) -> np.ndarray:
    return np.asarray((Z[:, 0] - 0.8) ** 2 + (Z[:, 1] - 0.2) ** 2)


def test_weights_go_to_a_low_fidelity_that_ranks_the_top_results_and_never_to_one_that_inverts_them(
) -> None:
    rng = np.random.default_rng(1)
    Zt = rng.random((8, 2))
    top = _gp(Zt, _f(Zt))
    Zl = rng.random((60, 2))
    agree = _gp(Zl, _f(Zl) + 0.01 * rng.standard_normal(60))
    invert = _gp(Zl, -_f(Zl))
    yt = top.y
    w = ranking_weights(top, [agree, invert], Zt, yt, np.random.default_rng(7))
    assert w.shape == (3,) and math.isclose(float(w.sum()), 1.0)
    assert w[2] == 0.0  # ranks the top results backwards: RGPE's dilution guard drops it
    assert w[1] > 0.5  # 60 points of the same function rank 8 top points better than their LOO
    # the weights are a function of the draws: the same generator state gives the same ones
    again = ranking_weights(top, [agree, invert], Zt, yt, np.random.default_rng(7))
    assert again.tolist() == w.tolist()
    # alone, the top member takes all the weight
    assert ranking_weights(top, [], Zt, yt, np.random.default_rng(7)).tolist() == [1.0]


def test_a_lower_step_is_judged_without_the_configurations_own_results() -> None:
    """A lower member fitted on the very trials and values the top member holds predicts them
    back almost exactly; judged that way it would take all the weight, although it knows no
    more than the top member. Judged by its leave-one-out posterior it is the top member's
    equal, and takes no more than its share."""
    rng = np.random.default_rng(2)
    Z = rng.random((12, 2))
    top = _gp(Z, _f(Z) + 0.3 * rng.standard_normal(12))
    copy = _gp(Z, _f(Z) + 0.3 * rng.standard_normal(12))
    copy.y, copy_y = top.y.copy(), top.y.copy()
    assert top.hyper is not None
    copy.condition(top.hyper)
    ids = list(range(12))
    in_sample = ranking_weights(top, [copy], Z, copy_y, np.random.default_rng(0))
    fair = ranking_weights(top, [copy], Z, copy_y, np.random.default_rng(0), ids=ids,
                           low_ids=[ids])
    assert in_sample[1] > 0.9
    assert 0.2 < fair[1] < 0.7


def test_leave_one_out_posterior_equals_refitting_without_the_point() -> None:
    rng = np.random.default_rng(0)
    Z = rng.random((15, 2))
    gp = _gp(Z, _f(Z))
    assert gp.hyper is not None
    noise = math.exp(gp.hyper.log_noise)
    m, v = loo_posterior(gp)
    for i in (0, 7, 14):
        keep = np.arange(15) != i
        other = GP(Z[keep], gp.y[keep], gp.group, gp.n_groups)
        other.condition(gp.hyper)
        mu, var = other.predict(Z[i:i + 1])
        assert m[i] == pytest.approx(float(mu[0]), abs=1e-6)
        assert v[i] == pytest.approx(float(var[0]) + noise + 1e-8, rel=1e-4)


@pytest.mark.parametrize("fantasies", [0, 5])
def test_ensemble_is_the_weighted_product_of_its_members_with_exact_gradients(
        fantasies: int) -> None:
    rng = np.random.default_rng(3)
    Z1, Z2 = rng.random((12, 3)), rng.random((30, 3))
    a, b = _gp(Z1, _f(Z1)), _gp(Z2, _f(Z2) + Z2[:, 2])
    if fantasies:
        assert a.hyper is not None
        Y = np.repeat(a.y[:, None], fantasies, 1) + 0.1 * rng.standard_normal((12, fantasies))
        a = GP(Z1, Y, a.group, a.n_groups)
        a.condition(b.hyper)  # type: ignore[arg-type]
    w = np.array([0.3, 0.7])
    ens = Ensemble([a, b], w)
    Zc = rng.random((6, 3))
    mean, var = ens.predict(Zc)
    (ma, va), (mb, vb) = a.predict(Zc), b.predict(Zc)
    prec = w[0] / va + w[1] / vb
    expect = ((w[0] / va)[:, None] * ma + (w[1] * mb / vb)[:, None]) / prec[:, None] \
        if fantasies else (w[0] * ma / va + w[1] * mb / vb) / prec
    np.testing.assert_allclose(mean, expect)
    np.testing.assert_allclose(var, 1.0 / prec)
    cols = np.arange(3)
    m2, v2, dm, dv = ens.predict_grad(Zc, cols)
    np.testing.assert_allclose(m2, mean)
    np.testing.assert_allclose(v2, var)
    h = 1e-6
    for c in cols:
        Zh = Zc.copy()
        Zh[:, c] += h
        mh, vh = ens.predict(Zh)
        np.testing.assert_allclose((mh - mean) / h, dm[:, c], atol=2e-4)
        np.testing.assert_allclose((vh - var) / h, dv[:, c], atol=2e-4)
    # one member of weight 1 is that member
    one_m, one_v = Ensemble([b], np.ones(1)).predict(Zc)
    np.testing.assert_allclose(one_m, mb)
    np.testing.assert_allclose(one_v, vb)


def test_fidelities_is_checked_and_persisted_only_when_set() -> None:
    with pytest.raises(ConfigError, match="fidelities"):
        make_study({"name": "gp", "params": {"fidelities": "every"}})
    from rung.searchers.gp import GPSearcher

    assert "fidelities" not in GPSearcher().get_params()  # specs written before it, unchanged
    assert GPSearcher(fidelities="all").get_params()["fidelities"] == "all"
    study = make_study(GPSearcher(fidelities="all"))
    assert study.spec.searcher.params["fidelities"] == "all"


def test_with_one_fidelity_all_proposes_exactly_what_top_does() -> None:
    """FIFO, every trial reports every step: no lower step has more results than the top, so
    ``"all"`` is the one-step model, draw for draw."""
    got = []
    for fid in ("top", "all"):
        study = make_study({"name": "gp", "params": {"n_initial": 4, "n_candidates": 64,
                                                     "fidelities": fid}},
                           max_step=3, scheduler="fifo", n_trials=12)
        for _ in range(12):
            t = study.ask()
            assert t is not None
            for s in (1, 2):
                study.report(t.id, s, {"loss": branin(t.params) + 3 - s})
            study.tell(t.id, "completed", {"loss": branin(t.params)})
        got.append([t.params for t in study.trials()])
    assert got[0] == got[1]


def _scripted(fid: str) -> rung.Study:
    """x1, x2 in [0, 1], loss (x1 - 0.8)^2 + (x2 - 0.2)^2 at every step. Step 3: 4 trials, all
    in the corner far from the optimum; step 1: those and 36 more, spread over the square and
    still running. The top step alone knows nothing of the optimum; step 1 ranks the top
    trials as step 3 does."""
    space = {"x1": rung.Float(0.0, 1.0), "x2": rung.Float(0.0, 1.0)}
    study = make_study({"name": "gp", "params": {"n_initial": 0, "fidelities": fid}}, space,
                       max_step=3, scheduler="fifo", n_trials=100, seed=5)
    rng = np.random.default_rng(0)
    far = [(0.05, 0.95), (0.2, 0.9), (0.1, 0.7), (0.3, 0.85)]
    pts = far + [tuple(p) for p in rng.random((36, 2))]
    for i, (x1, x2) in enumerate(pts):
        study.enqueue({"x1": x1, "x2": x2})
        t = study.ask()
        assert t is not None and t.params == {"x1": x1, "x2": x2}
        loss = (x1 - 0.8) ** 2 + (x2 - 0.2) ** 2
        study.report(t.id, 1, {"loss": loss})
        if i < 4:
            study.report(t.id, 2, {"loss": loss})
            study.tell(t.id, "completed", {"loss": loss})
    return study


def test_all_fidelities_place_by_the_low_step_where_it_ranks_like_the_top() -> None:
    study = _scripted("all")
    picks = []
    for _ in range(3):
        t = study.ask()
        assert t is not None
        picks.append((t.params["x1"], t.params["x2"]))
        study.tell(t.id, "stopped")
    dist = [math.hypot(x1 - 0.8, x2 - 0.2) for x1, x2 in picks]
    assert max(dist) < 0.2, picks
    # the one-step model cannot see the optimum: its first proposal is far from it
    top = _scripted("top").ask()
    assert top is not None
    assert math.hypot(top.params["x1"] - 0.8, top.params["x2"] - 0.2) > 0.3


def test_asha_study_with_all_fidelities_is_deterministic() -> None:
    """MF-Branin under ASHA on 2 simulated workers: lower rungs join the model, and the same
    seed gives the same trials (the weights' draws come from the suggestion's generator)."""
    bench = rung.benchmarks.MFBranin(max_step=27, seed=0)
    runs = []
    for _ in range(2):
        study = make_study({"name": "gp", "params": {"fidelities": "all", "n_candidates": 128}},
                           bench.space, n_trials=40, scheduler=rung.schedulers.ASHA(3),
                           max_step=27)
        study.simulate(bench, n_workers=2)
        runs.append([(t.params, t.status, t.last_step) for t in study.trials()])
    assert runs[0] == runs[1]
    assert len(runs[0]) == 40
    assert len({tuple(sorted(p.items())) for p, _, _ in runs[0]}) == 40
