"""Behaviour of the synthetic benchmark problems in ``rung.benchmarks``."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr
from toy_table import write_toy_table

from rung.benchmarks import (
    BENCHMARKS,
    PRESETS,
    Benchmark,
    CountingOnes,
    MFBranin,
    MFHartmann3,
    MFHartmann6,
    benchmark_from_json,
    get_benchmark,
    regret,
)
from rung.benchmarks.base import ConfigCache
from rung.benchmarks.branin import ARGMINS
from rung.errors import ConfigError, SpaceError
from rung.space import SearchSpace

HARTMANNS = [MFHartmann3, MFHartmann6]
ORDERED_PRESETS = ["good", "moderate", "bad", "terrible"]


def loss(bench: Benchmark, params: Mapping[str, Any], step: int) -> float:
    return bench.evaluate(params, step)[0][bench.metric]


def unit_configs(dims: int, n: int, seed: int) -> list[dict[str, float]]:
    rows = np.random.default_rng(seed).random((n, dims))
    return [{f"x{i}": float(v) for i, v in enumerate(row)} for row in rows]


def hartmann_argmin(cls: type[MFHartmann3] | type[MFHartmann6]) -> dict[str, float]:
    return {f"x{i}": v for i, v in enumerate(cls.argmin)}


def sample(bench: Benchmark, seed: int) -> dict[str, Any]:
    return bench.space.sample(np.random.default_rng(seed))


unit = st.floats(0.0, 1.0, allow_nan=False)


# --- protocol and registry ------------------------------------------------------------------


def build(name: str, directory: Any) -> Any:
    """``get_benchmark(name)`` with default arguments (the toy table for ``curve-table``)."""
    kwargs = {"path": str(write_toy_table(directory / "toy.npz"))} if name == "curve-table" else {}
    return get_benchmark(name, **kwargs)


@pytest.mark.parametrize("name", BENCHMARKS)
def test_registry_builds_conforming_benchmarks(name: str, tmp_path: Any) -> None:
    bench = build(name, tmp_path)
    assert isinstance(bench, Benchmark)
    assert bench.name == name
    assert isinstance(bench.space, SearchSpace)
    assert bench.mode in ("min", "max")
    assert bench.max_step >= 1
    assert bench.optimum is not None
    metrics, seconds = bench.evaluate(sample(bench, 0), 1)
    assert set(metrics) >= {bench.metric}
    assert all(isinstance(v, float) and math.isfinite(v) for v in metrics.values())
    assert seconds > 0


def test_registry_names() -> None:
    assert set(BENCHMARKS) == {
        "mf-branin", "mf-hartmann3", "mf-hartmann6", "counting-ones", "curve-table"
    }


def test_registry_rejects_unknown_name_and_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="unknown benchmark 'nope'"):
        get_benchmark("nope")
    with pytest.raises(ConfigError, match="mf-branin"):
        get_benchmark("mf-branin", preset="good")
    with pytest.raises(ConfigError, match="unknown preset 'great'"):
        get_benchmark("mf-hartmann3", preset="great")
    with pytest.raises(ConfigError, match="max_step"):
        MFHartmann6(max_step=0)
    with pytest.raises(ConfigError, match="noise"):
        MFHartmann3(noise=-1.0)
    with pytest.raises(ConfigError, match="at least one parameter"):
        CountingOnes(n_categorical=0, n_continuous=0)


@pytest.mark.parametrize(
    "bench",
    [
        MFHartmann3(preset="bad", max_step=9, seed=3),
        MFHartmann6(bias=1.0, noise=0.5, seed=1, cost_spread=0.0),
        MFBranin(max_step=10, seed=2, noise=0.3),
        CountingOnes(n_categorical=3, n_continuous=5, max_step=20, samples_per_step=4, seed=7),
    ],
    ids=repr,
)
def test_to_json_round_trips(bench: Any) -> None:
    data = bench.to_json()
    again: Any = benchmark_from_json(data)
    assert again.to_json() == data
    for seed in range(5):
        params = sample(bench, seed)
        for step in (1, bench.max_step // 2 + 1, bench.max_step):
            assert again.evaluate(params, step) == bench.evaluate(params, step)


# --- optimum ------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", list(PRESETS))
@pytest.mark.parametrize("cls", HARTMANNS)
def test_hartmann_optimum_at_argmin_at_max_step(cls: Any, preset: str) -> None:
    for seed in (0, 1):
        bench = cls(preset=preset, seed=seed)
        value = loss(bench, hartmann_argmin(cls), bench.max_step)
        assert value == pytest.approx(bench.optimum, abs=1e-4)
        assert regret(bench, value) < 1e-4


def test_known_optima() -> None:
    assert MFHartmann3().optimum == pytest.approx(-3.86278)
    assert MFHartmann6().optimum == pytest.approx(-3.32237)
    assert MFBranin().optimum == pytest.approx(0.397887)
    assert CountingOnes(n_categorical=4, n_continuous=6).optimum == -10.0


@pytest.mark.parametrize("argmin", ARGMINS)
def test_branin_optimum_at_each_argmin(argmin: tuple[float, float]) -> None:
    bench = MFBranin()
    params = {"x1": argmin[0], "x2": argmin[1]}
    assert loss(bench, params, bench.max_step) == pytest.approx(0.397887, abs=1e-4)
    # Below the top fidelity the coefficients are perturbed, so the value moves.
    assert abs(loss(bench, params, 1) - 0.397887) > 1e-3


@pytest.mark.parametrize("step", [1, 2, 27, 81])
def test_counting_ones_optimum_is_exact_at_every_step(step: int) -> None:
    bench = CountingOnes()
    best = {**{f"cat{i}": 1 for i in range(8)}, **{f"cont{j}": 1.0 for j in range(8)}}
    assert loss(bench, best, step) == -16.0 == bench.optimum
    worst = {**{f"cat{i}": 0 for i in range(8)}, **{f"cont{j}": 0.0 for j in range(8)}}
    assert loss(bench, worst, step) == 0.0


@settings(max_examples=200, deadline=None)
@given(xs=st.lists(unit, min_size=6, max_size=6))
def test_no_configuration_beats_the_hartmann_optimum(xs: list[float]) -> None:
    for cls in HARTMANNS:
        bench = cls()
        params = {f"x{i}": x for i, x in enumerate(xs[: cls.dims])}
        assert bench.optimum is not None
        assert loss(bench, params, bench.max_step) >= bench.optimum - 1e-4


@settings(max_examples=200, deadline=None)
@given(x1=st.floats(-5.0, 10.0), x2=st.floats(0.0, 15.0))
def test_no_configuration_beats_the_branin_optimum(x1: float, x2: float) -> None:
    bench = MFBranin()
    assert bench.optimum is not None
    assert loss(bench, {"x1": x1, "x2": x2}, bench.max_step) >= bench.optimum - 1e-4


# --- determinism and noise ------------------------------------------------------------------


def noisy_benchmarks(seed: int) -> list[Any]:
    return [
        MFHartmann3(preset="good", seed=seed),
        MFHartmann6(preset="terrible", seed=seed),
        MFBranin(noise=1.0, seed=seed),
        CountingOnes(seed=seed),
    ]


@pytest.mark.parametrize("index", range(4))
def test_same_call_twice_gives_the_same_answer(index: int) -> None:
    a, b = noisy_benchmarks(0)[index], noisy_benchmarks(0)[index]
    for s in range(10):
        params = sample(a, s)
        for step in range(1, a.max_step + 1, 4):
            first = a.evaluate(params, step)
            assert a.evaluate(params, step) == first
            assert b.evaluate(params, step) == first  # a separate instance agrees too


@pytest.mark.parametrize("index", range(4))
def test_answers_do_not_depend_on_the_order_of_calls(index: int) -> None:
    params = sample(noisy_benchmarks(0)[index], 11)
    forward, backward, shuffled = (noisy_benchmarks(0)[index] for _ in range(3))
    steps = list(range(1, forward.max_step + 1))
    want = {s: forward.evaluate(params, s) for s in steps}
    assert {s: backward.evaluate(params, s) for s in reversed(steps)} == want
    random.Random(5).shuffle(steps)
    assert {s: shuffled.evaluate(params, s) for s in steps} == want


@pytest.mark.parametrize("index", range(4))
def test_different_seeds_give_different_noise_at_low_fidelity(index: int) -> None:
    a, b = noisy_benchmarks(0)[index], noisy_benchmarks(1)[index]
    differ = 0
    for s in range(10):
        params = sample(a, s)
        if isinstance(a, CountingOnes):  # x_j in {0, 1} would be noiseless
            params = {**params, "cont0": 0.5}
        differ += loss(a, params, 1) != loss(b, params, 1)
    # counting ones draws a binomial count at step 1, so two seeds may agree by chance
    assert differ >= 7


def test_numpy_integer_step_and_numpy_floats_are_accepted() -> None:
    bench = MFHartmann3(preset="moderate")
    params = hartmann_argmin(MFHartmann3)
    as_numpy = {k: np.float64(v) for k, v in params.items()}
    step: Any = np.int64(3)
    assert bench.evaluate(as_numpy, step) == bench.evaluate(params, 3)


def test_negative_zero_is_the_same_configuration_as_zero() -> None:
    first, second = CountingOnes(), CountingOnes()
    base = sample(first, 3)
    negative = {**base, "cont1": -0.0, "cont2": 0.5}
    positive = {**base, "cont1": 0.0, "cont2": 0.5}
    assert first.evaluate(negative, 2) == first.evaluate(positive, 2)
    assert second.evaluate(positive, 2) == first.evaluate(negative, 2)


def test_evaluate_leaves_global_random_state_alone() -> None:
    np_state: Any = np.random.get_state()
    py_state = random.getstate()
    for bench in noisy_benchmarks(0):
        for s in range(3):
            bench.evaluate(sample(bench, s), 1)
    assert random.getstate() == py_state
    after: Any = np.random.get_state()
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1])
    assert after[2:] == np_state[2:]


# --- fidelity -------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", HARTMANNS)
def test_hartmann_max_fidelity_is_noiseless_true_hartmann(cls: Any) -> None:
    for params in unit_configs(cls.dims, 20, seed=1):
        values = {
            loss(cls(preset=preset, seed=seed), params, 27)
            for preset in PRESETS
            for seed in (0, 1, 2)
        }
        assert len(values) == 1  # no seed and no preset changes the top fidelity
        assert values.pop() == cls().true_value(params)


def test_branin_max_fidelity_is_noiseless() -> None:
    for s in range(20):
        params = sample(MFBranin(), s)
        values = {loss(MFBranin(noise=n, seed=seed), params, 27) for n in (0, 2) for seed in (0, 1)}
        assert len(values) == 1


@settings(max_examples=100, deadline=None)
@given(xs=st.lists(unit, min_size=6, max_size=6), step=st.integers(1, 27), seed=st.integers(0, 99))
def test_hartmann_low_fidelity_is_the_truth_plus_shrinking_bias_and_noise(
    xs: list[float], step: int, seed: int
) -> None:
    for cls in HARTMANNS:
        params = {f"x{i}": x for i, x in enumerate(xs[: cls.dims])}
        bench = cls(preset="bad", seed=seed)
        truth = bench.true_value(params)
        # Bias and half-normal noise only make a configuration look worse...
        assert loss(bench, params, step) >= truth - 1e-12
        # ...and both scale with 1 - log(step) / log(max_step).
        flat = cls(preset="bad", seed=seed, noise=0.0)
        gap_here = loss(flat, params, step) - truth
        gap_first = loss(flat, params, 1) - truth
        expected = gap_first * (1.0 - math.log(step) / math.log(27))
        assert gap_here == pytest.approx(expected, rel=1e-9, abs=1e-12)


def spearman_at(bench: Any, configs: list[dict[str, float]], step: int) -> float:
    top = [loss(bench, c, bench.max_step) for c in configs]
    low = [loss(bench, c, step) for c in configs]
    return float(spearmanr(low, top)[0])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("cls", HARTMANNS)
def test_presets_order_the_rank_correlation_at_the_lowest_fidelity(cls: Any, seed: int) -> None:
    configs = unit_configs(cls.dims, 200, seed=100 + seed)
    rho = {p: spearman_at(cls(preset=p, seed=seed), configs, 1) for p in PRESETS}
    for better, worse in itertools.pairwise(ORDERED_PRESETS):
        assert rho[better] > rho[worse], rho
    # "default" (bias 0.5, noise 0.1) is informative from the very first step.
    assert rho["default"] > 0.7, rho


@pytest.mark.parametrize("cls", HARTMANNS)
def test_good_preset_correlation_grows_with_fidelity(cls: Any) -> None:
    # mfpbench's preset names are relative: with bias > 1 the lowest fidelity of every named
    # preset is nearly uninformative; "good" recovers quickly as the fidelity grows.
    configs = unit_configs(cls.dims, 200, seed=7)
    bench = cls(preset="good")
    rhos = [spearman_at(bench, configs, step) for step in (1, 3, 9, 18)]
    assert rhos == sorted(rhos), rhos
    assert rhos[-1] > 0.6, rhos
    if cls is MFHartmann3:
        assert rhos[2] > 0.5, rhos


def test_counting_ones_noise_shrinks_with_budget() -> None:
    bench = CountingOnes(n_categorical=2, n_continuous=4)
    assert bench.budget(1) == 9 and bench.budget(81) == 729
    configs = [{**sample(bench, s), "cont0": 0.5} for s in range(300)]
    err_low = [loss(bench, c, 1) - bench.true_value(c) for c in configs]
    err_high = [loss(bench, c, 81) - bench.true_value(c) for c in configs]
    assert np.std(err_high) < 0.25 * np.std(err_low)
    assert abs(np.mean(err_low)) < 0.1  # unbiased estimates
    # The theoretical standard deviation at 9 samples is at most sqrt(4 * 0.25 / 9) = 0.33.
    assert 0.1 < np.std(err_low) < 0.4


def test_counting_ones_space() -> None:
    bench = CountingOnes(n_categorical=2, n_continuous=3)
    assert list(bench.space) == ["cat0", "cat1", "cont0", "cont1", "cont2"]
    only_categorical = CountingOnes(n_categorical=3, n_continuous=0)
    params = {"cat0": 1, "cat1": 0, "cat2": 1}
    assert {loss(only_categorical, params, s) for s in range(1, 82)} == {-2.0}


# --- cost -----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(index=st.integers(0, 3), config_seed=st.integers(0, 10_000), data=st.data())
def test_cost_is_positive_finite_and_constant_per_configuration(
    index: int, config_seed: int, data: st.DataObject
) -> None:
    bench = noisy_benchmarks(0)[index]
    params = sample(bench, config_seed)
    step = data.draw(st.integers(1, bench.max_step))
    _, seconds = bench.evaluate(params, step)
    assert seconds > 0 and math.isfinite(seconds)
    assert bench.evaluate(params, 1)[1] == seconds == bench.evaluate(params, bench.max_step)[1]


def test_cost_depends_on_the_configuration_within_a_documented_range() -> None:
    bench = MFHartmann3(seconds_per_step=2.0, cost_spread=1.0)
    assert bench.evaluate({"x0": 0.0, "x1": 0.0, "x2": 0.0}, 1)[1] == pytest.approx(2.0)
    assert bench.evaluate({"x0": 1.0, "x1": 1.0, "x2": 1.0}, 1)[1] == pytest.approx(4.0)
    branin = MFBranin(seconds_per_step=1.0, cost_spread=0.0)
    assert branin.evaluate({"x1": 10.0, "x2": 15.0}, 3)[1] == 1.0


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BENCHMARKS)
@pytest.mark.parametrize("step", [0, -1, "top", 2.5, True, None])
def test_evaluate_rejects_bad_steps_naming_them(name: str, step: Any, tmp_path: Any) -> None:
    bench = build(name, tmp_path)
    with pytest.raises(ValueError, match=rf"step {step!r} is outside 1\.\.{bench.max_step}"):
        bench.evaluate(sample(bench, 0), step)


@pytest.mark.parametrize("name", BENCHMARKS)
def test_evaluate_rejects_step_past_max_step(name: str, tmp_path: Any) -> None:
    bench = build(name, tmp_path)
    with pytest.raises(ValueError, match=f"step {bench.max_step + 1} is outside"):
        bench.evaluate(sample(bench, 0), bench.max_step + 1)
    bench.evaluate(sample(bench, 0), bench.max_step)  # the top step itself is fine


def test_evaluate_names_a_missing_parameter() -> None:
    with pytest.raises(SpaceError, match="'x2'"):
        MFHartmann3().evaluate({"x0": 0.5, "x1": 0.5}, 1)
    with pytest.raises(SpaceError, match="'cont0'"):
        CountingOnes().evaluate({f"cat{i}": 1 for i in range(8)}, 1)


def test_single_step_benchmarks_work() -> None:
    bench = MFHartmann3(max_step=1, preset="terrible")
    params = hartmann_argmin(MFHartmann3)
    assert loss(bench, params, 1) == pytest.approx(-3.86278, abs=1e-4)


# --- regret and cache -----------------------------------------------------------------------


class _Fake:
    name = "fake"
    space = SearchSpace({"x": [0, 1]})
    max_step = 1
    metric = "acc"
    mode = "max"
    optimum: float | None = 1.0

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        return {"acc": 0.5}, 1.0


def test_regret() -> None:
    bench = MFHartmann3()
    assert regret(bench, -3.86278) == 0.0
    assert regret(bench, -3.0) == pytest.approx(0.86278)
    assert regret(bench, -5.0) == 0.0  # overshooting the optimum clamps to zero
    fake = _Fake()
    assert isinstance(fake, Benchmark)
    assert regret(fake, 0.75) == pytest.approx(0.25)
    assert regret(fake, 1.5) == 0.0
    fake.optimum = None
    with pytest.raises(ValueError, match="no known optimum"):
        regret(fake, 0.5)


def test_config_cache_evicts_oldest_and_recomputes_identically() -> None:
    calls: list[int] = []

    def make(k: int) -> list[int]:
        calls.append(k)
        return [k * 2]

    cache: ConfigCache[int, list[int]] = ConfigCache(make, size=2)
    assert cache.get(1) == [2] and cache.get(2) == [4] and cache.get(1) == [2]
    assert calls == [1, 2]
    cache.get(3)  # evicts 1, the oldest entry
    assert cache.get(1) == [2]
    assert calls == [1, 2, 3, 1]
