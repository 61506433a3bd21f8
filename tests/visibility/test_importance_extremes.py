"""``rung.analysis.param_importance`` on scores at the edges of the float range: the same
importances as the same study's scores at an ordinary scale, no RuntimeWarning, no nan."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

import rung
from rung.analysis import param_importance


@pytest.fixture(autouse=True)
def numpy_warnings_are_errors() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


def study(loss: Callable[[Mapping[str, Any], int], float], n: int = 40) -> rung.Study:
    s = rung.Study.create("imp", {"a": rung.Float(0, 1), "c": rung.Categorical(["x", "y"])},
                          searcher="random", scheduler="fifo", seed=3,
                          budget=rung.Budget(n_trials=n))
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"loss": loss(t.params, t.id)})
    return s


def shape(p: Mapping[str, Any], tid: int) -> float:
    return float(2 * p["a"] - 1 + 0.6 * (p["c"] == "x"))


@pytest.mark.parametrize("scale", [1e308, -1.1e308, 1e200, 1e-310])
def test_scores_near_the_float_range_edges_keep_their_importances(scale: float) -> None:
    """Before: for 1e308 and 1e200, 'overflow encountered' RuntimeWarnings and every
    importance 0.0; for 1e-310 (subnormal), every importance 0.0."""
    expected = param_importance(study(shape).history).importances
    assert expected["a"] > expected["c"] > 0.1  # the reference is not degenerate
    got = param_importance(study(lambda p, tid: scale * shape(p, tid)).history)
    assert got.n_trials == 40
    assert got.importances == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_non_finite_scores_are_left_out(bad: float) -> None:
    def loss(p: Mapping[str, Any], tid: int) -> float:
        return bad if tid % 5 == 0 else 1e308 * shape(p, tid) / 1.6

    got = param_importance(study(loss).history)
    assert got.n_trials == 32
    assert all(math.isfinite(v) for v in got.importances.values())
    assert sum(got.importances.values()) == pytest.approx(1.0)
    assert got.importances["a"] > got.importances["c"] > 0.0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"step": -1}, "step: must be an integer >= 1, got -1"),
    ({"step": "x"}, "step: must be an integer >= 1, got 'x'"),
    ({"step": True}, "step: must be an integer >= 1, got True"),
    ({"n_bins": -1}, "n_bins: must be an integer >= 0, got -1"),
    ({"n_bins": 1}, "n_bins: must be 0 (automatic) or an integer >= 2 (one bin explains "
                    "nothing), got 1"),
    ({"n_bins": "x"}, "n_bins: must be an integer >= 0, got 'x'"),
])
def test_bad_arguments_name_themselves(kwargs: dict[str, Any], message: str) -> None:
    """They returned all-zero importances from no trials (step -1, 'x'), read True as step 1,
    or raised NumPy's TypeError (n_bins 'x'). Found by an audit."""
    s = study(shape, n=10)
    with pytest.raises(rung.errors.ConfigError) as e:
        param_importance(s.history, **kwargs)
    assert str(e.value) == message
    assert param_importance(s.history, step=1, n_bins=2).n_trials == 10


def test_a_study_is_taken_as_its_history_and_anything_else_is_named() -> None:
    """``param_importance(study)`` as ``rung.plot.param_importance(study)`` takes it (it was
    ``AttributeError: 'Study' object has no attribute 'steps'``)."""
    s = study(shape)
    assert param_importance(s) == param_importance(s.history)
    with pytest.raises(TypeError, match="expected a Study or its History .*got dict"):
        param_importance({"x": 1})
