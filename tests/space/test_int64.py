"""An ``Int`` parameter's bounds, step and span fit an int64 (searchers encode its values in
int64 arrays): beyond, the space refuses it at construction, naming the parameter and the
bound; inside, every searcher draws from it."""

from __future__ import annotations

import pytest

import rung
from rung import Float, Int, SearchSpace, SpaceError

I64 = "must be inside int64's range [-2**63, 2**63 - 1], got"


@pytest.mark.parametrize(("param", "line"), [
    (Int(0, 2**70), f"'n'.high: {I64} 1180591620717411303424"),
    (Int(-(2**63) - 1, 0), f"'n'.low: {I64} -9223372036854775809"),
    (Int(0, 10, step=2**63), f"'n'.step: {I64} 9223372036854775808"),
    (Int(-(2**62), 2**62), "'n'.high: spans 9,223,372,036,854,775,809 values, more than an "
     "int64 holds (2**63 - 1): narrow the range or give a larger step"),
    (Float(0, 2**1100), "'n'.high: must be a finite number, got an integer of 332 digits"),
])
def test_out_of_int64_is_refused_by_name(param: rung.Int, line: str) -> None:
    with pytest.raises(SpaceError) as e:
        SearchSpace({"n": param})
    assert str(e.value) == line


@pytest.mark.parametrize("searcher", ["random", "tpe", "sobol", "grid", "gp"])
def test_every_searcher_draws_from_the_widest_ranges(searcher: str) -> None:
    space = {"a": Int(0, 2**62), "b": Int(-(2**62), 2**62 - 2), "c": Int(1, 2**62, log=True)}
    study = rung.Study.create("w", space, objective=rung.Objective("loss", "min"),
                              searcher=searcher, scheduler="fifo", seed=0)
    for _ in range(3):
        t = study.ask()
        assert t is not None
        assert 0 <= t.params["a"] <= 2**62 and -(2**62) <= t.params["b"] <= 2**62 - 2
        assert 1 <= t.params["c"] <= 2**62
        study.tell(t.id, "completed", {"loss": float(t.params["a"] % 7)})


def test_grid_of_the_widest_span_stays_inside() -> None:
    assert Int(-(2**62), 2**62 - 2)._bind("b").grid(3) == [-(2**62), 0, 2**62 - 2]
