"""Properties every rung searcher must have: determinism, valid (conditional) suggestions,
replay-safety, pending-awareness. Parametrized over all built-in stochastic searchers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from searcher_helpers import (
    BRANIN_SPACE,
    MIXED_SPACE,
    branin,
    make_study,
    mixed_loss,
    pending_batch,
    run_sequential,
)

import rung
from rung.errors import ConfigError
from rung.storage import MemoryJournal

FAST = {
    "random": "random",
    "sobol": "sobol",
    "tpe": {"name": "tpe", "params": {"n_initial": 5}},
    "tpe-uni": {"name": "tpe", "params": {"n_initial": 5, "multivariate": False}},
    "gp": {"name": "gp", "params": {"n_initial": 5, "n_candidates": 128}},
    "bohb": {"name": "bohb", "params": {"min_points": 3}},
    # past the fantasy cap, pending trials penalize locally
    "gp-lp": {"name": "gp", "params": {"n_initial": 5, "n_candidates": 128, "max_fantasies": 2}},
}
SEARCHERS = list(FAST)


@pytest.mark.parametrize("name", [n for n in SEARCHERS if n != "gp-lp"])
def test_same_seed_same_suggestions(name: str) -> None:
    a = run_sequential(make_study(FAST[name], MIXED_SPACE, seed=3), mixed_loss, 20)
    b = run_sequential(make_study(FAST[name], MIXED_SPACE, seed=3), mixed_loss, 20)
    c = run_sequential(make_study(FAST[name], MIXED_SPACE, seed=4), mixed_loss, 20)
    assert a == b
    assert a != c


@pytest.mark.parametrize("name", [n for n in SEARCHERS if n != "gp-lp"])
def test_suggestions_valid_in_mixed_conditional_space(name: str) -> None:
    study = make_study(FAST[name], MIXED_SPACE, seed=1)
    params = run_sequential(study, mixed_loss, 30)
    space = study.spec.space
    for p in params:
        assert space.validate(p) == p
        u = space.to_unit(p)
        active = ~np.isnan(u)
        assert np.all((u[active] >= 0) & (u[active] <= 1))
        assert ("momentum" in p) == (p["opt"] == "sgd")
    # the conditional branch and every category get explored
    assert {p["opt"] for p in params} == {"adam", "sgd", "rmsprop"}


@pytest.mark.parametrize("name", [n for n in SEARCHERS if n != "gp-lp"])
def test_replay_then_continue_equals_live(name: str) -> None:
    """Suggestions may not depend on state accumulated across calls: a study reloaded from its
    journal half-way continues exactly as the uninterrupted one."""
    live = make_study(FAST[name], MIXED_SPACE, seed=2)
    expected = run_sequential(live, mixed_loss, 24)
    journal = MemoryJournal()
    first = make_study(FAST[name], MIXED_SPACE, seed=2)
    first.journal = journal
    journal.create_study("t", first.spec.to_json())
    got = run_sequential(first, mixed_loss, 12)
    again = rung.Study.load("t", journal)
    got += run_sequential(again, mixed_loss, 12)
    assert got == expected


@pytest.mark.parametrize("name", ["sobol", "tpe", "tpe-uni", "gp", "gp-lp", "bohb"])
def test_parallel_pending_suggestions_are_diverse(name: str) -> None:
    study = make_study(FAST[name], BRANIN_SPACE, seed=0)
    run_sequential(study, branin, 20)
    batch = pending_batch(study, 8)
    dmin = min(np.linalg.norm(a - b) for a, b in itertools.combinations(batch, 2))
    assert dmin > 0.004  # distinct points, not copies (unit cube; ~0.06 in Branin units)


def test_bad_params_raise_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"searcher\.params\.gamma"):
        make_study({"name": "tpe", "params": {"gamma": 2.0}})
    with pytest.raises(ConfigError, match=r"searcher\.params\.n_initial"):
        make_study({"name": "tpe", "params": {"n_initial": -1}})
    with pytest.raises(ConfigError, match=r"searcher\.params\.bandwidth"):
        make_study({"name": "tpe", "params": {"bandwidth": "wide"}})


def test_sobol_points_are_the_seeded_sequence() -> None:
    from scipy.stats import qmc

    study = make_study("sobol", {"a": rung.Float(0.0, 1.0), "b": rung.Float(0.0, 1.0)}, seed=7)
    params = run_sequential(study, lambda p: p["a"], 16)
    u = np.array([[p["a"], p["b"]] for p in params])
    # scrambled Sobol' points: one per cell of a 4x4 grid (a (0, 2, 2)-net in base 2)
    cells = {(int(a * 4), int(b * 4)) for a, b in u}
    assert len(cells) == 16
    assert qmc.discrepancy(u) < 0.01


def test_a_sobol_design_is_built_at_its_first_point_and_gives_the_same_points() -> None:
    """A searcher bound to read a journal never asks for a point: its design imports no
    ``scipy.stats`` and builds no engine; asked, it gives the seeded sequence as it always did
    (``qmc.Sobol`` seeded with the design's own seed)."""
    from scipy.stats import qmc

    from rung.core.rng import derive_rng
    from rung.searchers._common import SobolDesign

    design = SobolDesign(3, 7)
    assert design._engine is None
    seed = int(derive_rng(7, "sobol").integers(2**63))
    expected = qmc.Sobol(3, scramble=True, rng=np.random.default_rng(seed)).random(32)
    np.testing.assert_array_equal(design.point(5), expected[5])
    np.testing.assert_array_equal(design.points(20), expected[:20])
    np.testing.assert_array_equal(design.points(32), expected)


def test_tpe_and_sobol_registered_and_exported() -> None:
    assert rung.TPESearcher.name == "tpe"
    assert rung.SobolSearcher.name == "sobol"


def _median_best(searcher: object, seeds: range, n: int) -> float:
    out = []
    for seed in seeds:
        study = make_study(searcher, BRANIN_SPACE, seed=seed)
        run_sequential(study, branin, n)
        v = study.best_value()
        assert v is not None
        out.append(v)
    return float(np.median(out))


@pytest.mark.slow  # a quality run (minutes on 2 busy cores)
def test_gp_beats_random_on_branin() -> None:
    gp = _median_best({"name": "gp", "params": {"n_initial": 8, "n_candidates": 128}},
                      range(3), 25)
    rnd = _median_best("random", range(3), 25)
    assert gp < rnd
    assert gp - 0.397887 < 0.05


def test_tpe_beats_random_on_branin() -> None:
    tpe = _median_best("tpe", range(5), 50)
    rnd = _median_best("random", range(5), 50)
    assert tpe < rnd


@pytest.mark.parametrize("name", ["tpe", "gp", "bohb"])
def test_multi_fidelity_with_asha_models_the_largest_step(name: str) -> None:
    from rung.benchmarks import MFBranin

    bench = MFBranin(max_step=9)
    study = rung.Study.create(
        "mf", bench.space, rung.Objective(bench.metric, bench.mode), searcher=FAST[name],
        scheduler=rung.ASHA(reduction_factor=3), max_step=9,
        budget=rung.Budget(n_trials=40), seed=0, storage=MemoryJournal(),
    )
    study.simulate(bench, n_workers=4)
    from rung.searchers._common import model_step

    h = study.engine.history
    assert h.n_at_step(9) >= 1
    step = model_step(h, 3)
    assert step is not None and step > 1
    v = study.best_value()
    assert v is not None and np.isfinite(v)


def test_conformance_suite() -> None:
    testing = pytest.importorskip("rung.testing")
    from rung.searchers import BOHBSearcher, GPSearcher, SobolSearcher, TPESearcher

    testing.check_searcher(SobolSearcher)
    testing.check_searcher(lambda: TPESearcher(n_initial=4))
    testing.check_searcher(lambda: TPESearcher(n_initial=4, multivariate=False))
    testing.check_searcher(lambda: GPSearcher(n_initial=4, n_candidates=64), n_trials=12)
    testing.check_searcher(lambda: BOHBSearcher(min_points=2))


def test_bohb_with_hyperband_brackets() -> None:
    from rung.benchmarks import MFBranin

    bench = MFBranin(max_step=9)
    study = rung.Study.create(
        "hb", bench.space, rung.Objective(bench.metric, bench.mode), searcher="bohb",
        scheduler="hyperband", max_step=9, budget=rung.Budget(n_trials=40), seed=1,
        storage=MemoryJournal(),
    )
    study.simulate(bench, n_workers=3)
    assert len(study.trials()) == 40
    assert study.history.n_at_step(9) >= 1


@pytest.mark.slow  # a quality run (minutes on 2 busy cores)
def test_gp_batch_of_100_pending_stays_in_promising_regions() -> None:
    """Past the fantasy cap (64) local penalization takes over: the batch does not collapse
    to random search; most of it lies near one of Branin's three minima."""
    study = make_study({"name": "gp", "params": {"n_candidates": 256}}, BRANIN_SPACE, seed=0)
    run_sequential(study, branin, 30)
    B = pending_batch(study, 100)
    opt = np.array([[(-np.pi + 5) / 15, 12.275 / 15], [(np.pi + 5) / 15, 2.275 / 15],
                    [(9.42478 + 5) / 15, 2.475 / 15]])
    near = np.min(np.linalg.norm(B[:, None, :] - opt[None], axis=2), axis=1) < 0.15
    assert near.mean() > 0.6  # uniform sampling: about 0.21
    assert len({tuple(np.round(u, 6)) for u in B}) == 100
