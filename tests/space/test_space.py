from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rung import Categorical, Fixed, Float, Int, SearchSpace, SpaceError


def mixed() -> SearchSpace:
    return SearchSpace(
        {
            "lr": Float(1e-5, 1e-1, log=True),
            "width": Int(16, 512, log=True),
            "layers": Int(1, 9, step=2),
            "drop": Float(0.0, 0.5, step=0.1),
            "opt": Categorical(["adam", "sgd"]),
            "momentum": Float(0.0, 0.99, when={"opt": "sgd"}),
            "nesterov": Categorical([True, False], when={"opt": "sgd"}),
            "seed": Fixed(7),
        }
    )


@pytest.mark.parametrize(
    ("params", "key", "fragment"),
    [
        ({}, None, "empty"),
        ({"a": Float(2.0, 1.0)}, "'a'", "low"),
        ({"a": Int(2, 1)}, "'a'", "low"),
        ({"a": Float(0.0, 1.0, log=True)}, "'a'", "log"),
        ({"a": Int(-1, 5, log=True)}, "'a'", "log"),
        ({"a": Int(1, 5, step=0)}, "'a'", "step"),
        ({"a": Float(0.0, 0.5, step=0.7)}, "'a'", "0.7 is larger than high - low (0.5)"),
        ({"a": Int(0, 3, step=5)}, "'a'", "5 is larger than high - low (3)"),
        ({"a": Float(0.0, float("inf"))}, "'a'", "finite"),
        ({"a": Categorical([])}, "'a'", "empty"),
        ({"a": Categorical(["x", "x"])}, "'a'", "duplicate"),
        ({"a": Categorical([[1], [2]])}, "'a'", "JSON scalar"),
        ({"a": Float(0, 1, when={"zz": 1})}, "'a'", "unknown parameter 'zz'"),
        ({"a": Float(0, 1, when={"b": "nope"}), "b": Categorical(["x"])}, "'a'", "never be taken"),
        ({"a": Float(0, 1, when={"b": 0.5}), "b": Float(0, 1, when={"a": 0.5})}, "'a'", "cyclic"),
        ({"a": Float(0, 1, when={"a": 0.5})}, "'a'", "itself"),
        ({"a": object()}, "'a'", "cannot make"),
    ],
)
def test_invalid_spaces_name_the_key(params: dict, key: str | None, fragment: str) -> None:
    with pytest.raises(SpaceError) as e:
        SearchSpace(params)
    msg = str(e.value)
    if key:
        assert key in msg
    assert fragment in msg


def test_plain_dict_is_accepted_everywhere() -> None:
    s = SearchSpace(
        {"lr": {"type": "float", "low": 0.001, "high": 0.1, "log": True}, "opt": ["a", "b"], "k": 3}
    )
    assert isinstance(s["opt"], Categorical) and isinstance(s["k"], Fixed)
    assert s.dims == ["lr", "opt"]
    assert SearchSpace.coerce(s) is s


def test_sample_respects_conditions_and_types() -> None:
    s = mixed()
    rng = np.random.default_rng(0)
    seen_sgd = seen_adam = False
    for _ in range(200):
        p = s.sample(rng)
        assert s.validate(p) == p
        assert isinstance(p["width"], int) and 16 <= p["width"] <= 512
        assert p["layers"] in (1, 3, 5, 7, 9)
        assert any(math.isclose(p["drop"], v) for v in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5))
        if p["opt"] == "sgd":
            seen_sgd = True
            assert "momentum" in p and "nesterov" in p
        else:
            seen_adam = True
            assert "momentum" not in p and "nesterov" not in p
        assert p["seed"] == 7
    assert seen_sgd and seen_adam


def test_log_sampling_is_log_uniform() -> None:
    s = SearchSpace({"lr": Float(1e-4, 1.0, log=True)})
    rng = np.random.default_rng(1)
    xs = np.array([s.sample(rng)["lr"] for _ in range(4000)])
    # a quarter of the mass in each decade
    frac = np.mean(xs < 1e-3)
    assert 0.22 < frac < 0.28


def test_validate_errors_name_the_key() -> None:
    s = mixed()
    good = {"lr": 0.01, "width": 32, "layers": 3, "drop": 0.2, "opt": "adam"}
    assert s.validate(good)["seed"] == 7
    cases = [
        ({**good, "zz": 1}, "'zz'"),
        ({k: v for k, v in good.items() if k != "lr"}, "'lr'"),
        ({**good, "lr": 1.0}, "'lr'"),
        ({**good, "width": 3.5}, "'width'"),
        ({**good, "layers": 2}, "'layers'"),
        ({**good, "opt": "rmsprop"}, "'opt'"),
        ({**good, "momentum": 0.5}, "'momentum'"),
        ({**good, "opt": "sgd"}, "'momentum'"),
        ({**good, "seed": 8}, "'seed'"),
        ({**good, "lr": True}, "'lr'"),
    ]
    for params, key in cases:
        with pytest.raises(SpaceError, match=key):
            s.validate(params)


def test_active() -> None:
    s = mixed()
    assert "momentum" not in s.active({"opt": "adam"})
    assert "momentum" in s.active({"opt": "sgd"})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=7, max_size=7))
def test_unit_round_trip(u: list[float]) -> None:
    s = mixed()
    p = s.from_unit(np.array(u))
    assert s.validate(p) == p
    v = s.to_unit(p)
    for name in s.dims:
        i = s.dim_index(name)
        if name in p:
            assert 0.0 <= v[i] <= 1.0
        else:
            assert math.isnan(v[i])
    assert s.from_unit(v) == p


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_sampled_points_round_trip(seed: int) -> None:
    s = mixed()
    p = s.sample(np.random.default_rng(seed))
    assert s.from_unit(s.to_unit(p)) == p


def test_grid_is_exhaustive_and_respects_conditions() -> None:
    s = SearchSpace(
        {
            "opt": Categorical(["adam", "sgd"]),
            "m": Float(0.0, 1.0, when={"opt": "sgd"}),
            "k": Int(1, 3),
        }
    )
    g = s.grid({"m": 2, "k": 5})
    assert len(g) == 3 * (1 + 2)
    assert all(s.validate(p) == p for p in g)
    assert len({repr(sorted(p.items())) for p in g}) == len(g)
    assert {p["k"] for p in g} == {1, 2, 3}  # fewer values than points: all
    with pytest.raises(SpaceError, match="'zz'"):
        s.grid({"zz": 3})


def test_json_round_trip() -> None:
    s = mixed()
    s2 = SearchSpace.from_json(s.to_json())
    assert s2 == s
    import json

    assert SearchSpace.from_json(json.dumps(s.to_json())) == s
    with pytest.raises(SpaceError, match="'a'"):
        SearchSpace.from_json({"a": {"type": "complex"}})


def test_numpy_arguments_are_normalized_for_json() -> None:
    """A NumPy step or log flag is stored as a Python value: the journal's JSON must hold it."""
    import json

    space = SearchSpace({"a": Float(1, 2, step=np.float32(0.5)), "b": Int(1, 9, log=np.bool_(True))})
    assert json.loads(json.dumps(space.to_json())) == {
        "a": {"type": "float", "low": 1.0, "high": 2.0, "step": 0.5},
        "b": {"type": "int", "low": 1, "high": 9, "log": True},
    }
    assert type(space["a"].step) is float and type(space["b"].log) is bool


@pytest.mark.parametrize("value", [float("nan"), float("inf"), np.float64("-inf")])
def test_non_finite_fixed_values_and_choices_are_refused(value: float) -> None:
    with pytest.raises(SpaceError, match="not a finite number"):
        SearchSpace({"a": Fixed(value)})
    with pytest.raises(SpaceError, match="not a finite number"):
        SearchSpace({"a": Categorical([1.0, value])})
    with pytest.raises(SpaceError, match="not a finite number"):
        SearchSpace({"a": value})  # a scalar is a Fixed parameter


def test_numpy_choices_and_stepped_tops_validate_as_sampled() -> None:
    """Found by the fuzz suite: a np.float64 choice was sampled as itself but validated as a
    float; the top point of a step grid (low + k * step) could exceed high by rounding."""
    space = SearchSpace({
        "c": [19, "[", np.float64(2.0), np.int64(4)],
        "f": Float(2.9724442480656285e-259, 226.51081362635657, step=22.651081362635658),
        "g": Float(-517.2571751638702, 317.7527169869094, step=(317.7527169869094 + 517.2571751638702) / 7),
    })
    assert space["c"].to_json()["choices"] == [19, "[", 2.0, 4]
    rng = np.random.default_rng(0)
    for _ in range(200):
        cfg = space.sample(rng)
        assert space.validate(cfg) == cfg
        assert cfg["f"] <= 226.51081362635657 and cfg["g"] <= 317.7527169869094
    assert space.validate(space.from_unit([1.0, 1.0, 1.0]))["f"] == 226.51081362635657
    assert max(space["g"].grid(100)) == 317.7527169869094
