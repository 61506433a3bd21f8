"""Finite spaces (every parameter integer, stepped or categorical) and all-discrete branches:
sobol and the model-based searchers (bohb's random configurations too) propose a
configuration no trial has, in any state, while one is free."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from searcher_helpers import make_study

import rung


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


@pytest.mark.parametrize("searcher", ["tpe", "gp", "sobol", "bohb"])
def test_an_exhausted_space_still_gets_suggestions(searcher: str) -> None:
    configs = run(make_study(searcher, {"k": rung.Int(0, 2)}, seed=0), 9)
    assert sorted(c["k"] for c in configs[:3]) == [0, 1, 2]
    assert all(c["k"] in (0, 1, 2) for c in configs[3:])


@pytest.mark.parametrize("searcher", ["tpe", "gp", "sobol"])
def test_an_all_discrete_branch_of_a_continuous_space_is_not_repeated(searcher: str) -> None:
    # 'a' is best and has 3 configurations; 'b' has a continuous child. Before, tpe proposed
    # ('a', 1) 13 times in 25 trials, and gp repeated too
    space = {"o": rung.Categorical(["a", "b"]), "m": rung.Float(0, 1, when={"o": "b"}),
             "n": rung.Int(1, 3, when={"o": "a"})}
    configs = run(make_study(searcher, space, seed=0), 16)
    assert len(set(keys(configs))) == 16
    assert sorted(c["n"] for c in configs if c["o"] == "a") == [1, 2, 3]
