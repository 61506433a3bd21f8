"""An unknown key's "did you mean" names a key the mapping does not hold yet (``close_hint``'s
``given``), in every mapping a user writes: a configuration, an enqueued partial one and grid
points per parameter (an objective mapping passes its keys too)."""

from __future__ import annotations

import pytest

import rung
from rung import ConfigError, Float, SearchSpace, SpaceError

SPACE = SearchSpace({"rate1": Float(0, 1), "rate2": Float(0, 1)})


@pytest.mark.parametrize("call", [
    lambda: SPACE.validate({"rate2": 0.5, "rate3": 0.5}),
    lambda: SPACE.check_partial({"rate2": 0.5, "rate3": 0.5}),
    lambda: SPACE.grid(points={"rate2": 2, "rate3": 2}),
])
def test_space_hint_skips_a_key_already_given(call: object) -> None:
    # rate3 is as close to rate1 as to rate2; rate2 is given already, so the typo is rate1's
    with pytest.raises(SpaceError) as e:
        call()  # type: ignore[operator]
    assert "'rate3'" in str(e.value)
    assert "(did you mean 'rate1'?)" in str(e.value)


def test_space_hint_without_the_given_key_names_the_closest() -> None:
    with pytest.raises(SpaceError, match=r"\(did you mean 'rate2'\?\)"):
        SPACE.validate({"rate1": 0.5, "rate3": 0.5})


def test_objective_mapping_hint() -> None:
    with pytest.raises(ConfigError) as e:
        rung.Study.create("x", space=SPACE, objective={"metrc": "loss", "mode": "min"},
                          storage=":memory:")
    assert str(e.value) == ("objective.metrc: unknown key (did you mean 'metric'?) "
                            "(known: metric, mode, nan)")
