"""Finite spaces (every parameter integer, stepped or categorical) and all-discrete branches:
sobol and the model-based searchers (bohb's random configurations too) propose a
configuration no trial has, in any state, while one is free."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from searcher_helpers import make_study

import rung
from rung.searchers._common import why_exhausted


def run(study: rung.Study, n: int, fail: Any = None) -> list[dict[str, Any]]:
    """``n`` sequential trials; a trial fails when ``fail(params)`` is true."""
    out = []
    for _ in range(n):
        t = study.ask()
        assert t is not None
        p = dict(t.params)
        out.append(p)
        if fail is not None and fail(p):
            study.tell(t.id, "failed", error="diverged")
        else:
            study.tell(t.id, "completed", {"loss": loss(p)})
    return out


def loss(p: Mapping[str, Any]) -> float:
    return float(sum((v - 2) ** 2 if isinstance(v, int) else len(str(v)) for v in p.values()))


def keys(configs: list[dict[str, Any]]) -> list[str]:
    return [repr(sorted(c.items())) for c in configs]


@pytest.mark.parametrize(("searcher", "space", "seed"), [
    # before: tpe repeated 15 of the 36; gp 2 of the 12 and 2 of Int(0, 4)'s 5
    ("tpe", {"k": rung.Int(0, 5), "j": rung.Int(0, 5)}, 0),
    ("gp", {"k": rung.Int(0, 5), "c": rung.Categorical(["a", "b"])}, 0),
    ("gp", {"k": rung.Int(0, 4)}, 0),
    ("tpe", {"c": rung.Categorical(["a", "b", "c"]), "s": rung.Float(0, 1, step=0.5)}, 0),
    # sobol: its first two points fell in one third of the unit interval ('b', 'b')
    ("sobol", {"c": rung.Categorical(["a", "b", "c"])}, 0),
    ("sobol", {"k": rung.Int(0, 5), "j": rung.Int(0, 5)}, 1),
    # bohb's random configurations: 7 of these 36 repeated
    ("bohb", {"k": rung.Int(0, 5), "j": rung.Int(0, 5)}, 0),
])
def test_a_finite_space_is_covered_before_anything_repeats(
    searcher: str, space: dict[str, Any], seed: int
) -> None:
    size = rung.SearchSpace(space).grid_size(100)
    configs = run(make_study(searcher, space, seed=seed), size)
    assert len(set(keys(configs))) == size


@pytest.mark.parametrize("searcher", ["tpe", "gp"])
def test_a_failed_configuration_is_not_proposed_again(searcher: str) -> None:
    # every third integer fails: those trials have no result, but were tried all the same
    configs = run(make_study(searcher, {"k": rung.Int(0, 11)}, seed=2), 12,
                  fail=lambda p: p["k"] % 3 == 0)
    assert sorted(c["k"] for c in configs) == list(range(12))


def test_a_fully_tried_branch_gives_way_to_an_untried_configuration() -> None:
    # 15 configurations; tpe's minimum share of the 'adam' branch forces it when all three
    # 'adam' configurations were tried already (before: suggestion 12 repeated one)
    space = {"opt": rung.Categorical(["adam", "sgd"]),
             "m": rung.Int(0, 3, when={"opt": "sgd"}), "w": rung.Int(1, 3)}
    configs = run(make_study("tpe", space, seed=0), 15)
    assert len(set(keys(configs))) == 15


SEARCHERS = ["tpe", "gp", "sobol", "bohb", "random"]


class Quadratic:
    """``loss = (k - 2)^2`` (plus the length of ``o``), one step of one second."""

    max_step = 1

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        return {"loss": loss(params)}, 1.0


def _searcher(name: str, repeats: bool) -> dict[str, Any]:
    return {"name": name, "params": {"repeats": repeats}}


@pytest.mark.parametrize("searcher", SEARCHERS)
@pytest.mark.parametrize(("space", "size"), [
    ({"k": rung.Int(0, 4)}, 5),
    # a conditional finite space: 1 'b' configuration and 3 'a' ones
    ({"o": rung.Categorical(["a", "b"]), "n": rung.Int(1, 3, when={"o": "a"})}, 4),
])
def test_an_exhausted_finite_space_ends_the_search(
    searcher: str, space: dict[str, Any], size: int
) -> None:
    """Before: 20 trials, 15 of them repeats (tpe on Int(0, 4): 0, 1 twice, 2 six times...)."""
    study = make_study(_searcher(searcher, False), space, n_trials=20, scheduler="fifo",
                       max_step=1)
    study.simulate(Quadratic(), n_workers=2, progress=False)
    configs = [dict(t.params) for t in study.trials()]
    assert len(configs) == size
    assert len(set(keys(configs))) == size
    assert study.summary()["exhausted"] is True
    assert why_exhausted(study.engine.searcher, study.history) == (
        f"the {searcher} searcher tried every one of the space's {size} configurations "
        "(repeats=True tries them again, for a noisy objective)")


@pytest.mark.parametrize("searcher", SEARCHERS)
def test_repeats_opts_into_trying_configurations_again(searcher: str) -> None:
    study = make_study(_searcher(searcher, True), {"k": rung.Int(0, 2)}, n_trials=9,
                       scheduler="fifo", max_step=1)
    study.simulate(Quadratic(), n_workers=1, progress=False)
    ks = [t.params["k"] for t in study.trials()]
    assert len(ks) == 9 and sorted(ks[:3]) == [0, 1, 2]  # every one before any repeat
    assert why_exhausted(study.engine.searcher, study.history) is None


@pytest.mark.parametrize("searcher", SEARCHERS)
def test_failed_trials_count_as_tried(searcher: str) -> None:
    study = make_study(searcher, {"k": rung.Int(0, 3)}, seed=3)
    configs = run(study, 4, fail=lambda p: p["k"] % 2 == 0)
    assert sorted(c["k"] for c in configs) == [0, 1, 2, 3]
    assert study.ask() is None  # exhausted: ask has nothing to give


@pytest.mark.parametrize("searcher", [pytest.param("tpe", marks=pytest.mark.slow),  # 2-3 s
                                      "bohb", "random", "sobol"])
def test_a_larger_finite_space_is_covered_to_its_last_configuration(searcher: str) -> None:
    """Near the end of 240 configurations random draws almost always meet tried ones: the
    last untried are picked from the space's list (before: about a fifth of the 240 trials
    were repeats for random, and tpe and sobol repeated too)."""
    space = {"k": rung.Int(0, 59), "c": rung.Categorical(["a", "b", "c", "d"])}
    configs = run(make_study(searcher, space, seed=0, n_trials=400), 240)
    assert len(set(keys(configs))) == 240


def test_multi_fidelity_promotions_go_on_after_the_space_is_exhausted() -> None:
    """ASHA keeps promoting the 9 configurations once tpe has none left to start."""
    study = make_study("tpe", {"k": rung.Int(0, 8)}, n_trials=50,
                       scheduler=rung.ASHA(reduction_factor=3), max_step=9)
    study.simulate(Curve(), n_workers=3, progress=False)
    trials = study.trials()
    assert sorted(t.params["k"] for t in trials) == list(range(9))
    assert max(study.history.last_step(t.id) for t in trials) == 9


class Curve:
    max_step = 9

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        return {"loss": abs(params["k"] - 4) + 1.0 / step}, 1.0


@pytest.mark.parametrize("searcher", SEARCHERS)
def test_repeats_must_be_a_boolean(searcher: str) -> None:
    with pytest.raises(rung.ConfigError) as e:
        make_study({"name": searcher, "params": {"repeats": "yes"}}, {"k": rung.Int(0, 2)})
    assert e.value.key == "searcher.params.repeats"


def test_an_infinite_or_very_large_space_never_exhausts() -> None:
    from rung.searchers._common import EXHAUSTIBLE, FiniteConfigs

    assert FiniteConfigs(rung.SearchSpace({"x": rung.Float(0, 1)})).size is None
    big = rung.SearchSpace({"a": rung.Int(0, 99), "b": rung.Int(0, 100)})  # 10,100
    assert FiniteConfigs(big).size is None and EXHAUSTIBLE == 10_000
    assert FiniteConfigs(rung.SearchSpace({"a": rung.Int(0, 99), "b": rung.Int(0, 99)})).size \
        == 10_000


def test_grid_says_why_too() -> None:
    study = make_study("grid", {"k": rung.Int(0, 2)}, n_trials=9, scheduler="fifo",
                       max_step=1)
    study.simulate(Quadratic(), n_workers=1, progress=False)
    assert why_exhausted(study.engine.searcher, study.history) == (
        "the grid searcher proposed every one of its 3 points")


@pytest.mark.parametrize("searcher", ["tpe", "gp", "sobol"])
def test_an_all_discrete_branch_of_a_continuous_space_is_not_repeated(searcher: str) -> None:
    # 'a' is best and has 3 configurations; 'b' has a continuous child. Before, tpe proposed
    # ('a', 1) 13 times in 25 trials, and gp repeated too
    space = {"o": rung.Categorical(["a", "b"]), "m": rung.Float(0, 1, when={"o": "b"}),
             "n": rung.Int(1, 3, when={"o": "a"})}
    configs = run(make_study(searcher, space, seed=0), 16)
    assert len(set(keys(configs))) == 16
    assert sorted(c["n"] for c in configs if c["o"] == "a") == [1, 2, 3]


def test_random_search_exhausts_a_space_with_a_one_value_float() -> None:
    """``Float(2.0, 2.0)`` is one value (it takes no coordinate): random search took the space
    for continuous, repeated configurations and never ran out (20 trials over 5 values). Found
    by an audit."""
    import rung

    s = rung.Study.create("r", {"k": rung.Int(0, 4), "g": rung.Float(2.0, 2.0)},
                          searcher="random", scheduler="fifo", seed=0,
                          budget=rung.Budget(n_trials=20))
    seen = []
    while (t := s.ask()) is not None:
        seen.append(t.params["k"])
        s.tell(t.id, "completed", {"loss": 0.0})
    assert sorted(seen) == [0, 1, 2, 3, 4]
    assert s.engine.exhausted
