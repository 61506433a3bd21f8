"""ConfigError and SpaceError carry the offending key as data."""

from __future__ import annotations

import pickle

from rung.errors import ConfigError, RungError, SpaceError


def test_config_error_carries_the_key() -> None:
    e = ConfigError(key="scheduler.params.eta", message="must be an integer >= 2, got 1")
    assert e.key == "scheduler.params.eta"
    assert e.message == "must be an integer >= 2, got 1"
    assert str(e) == "scheduler.params.eta: must be an integer >= 2, got 1"
    assert isinstance(e, RungError) and isinstance(e, ValueError)


def test_plain_text_is_still_accepted() -> None:
    e = ConfigError("something is off")
    assert e.key is None and e.message == "something is off" and str(e) == "something is off"


def test_space_error_quotes_the_parameter_name() -> None:
    e = SpaceError(key="lr.low", param="lr", message="must be < high (got low=1.0, high=0.1)")
    assert e.key == "lr.low"
    assert str(e) == "'lr'.low: must be < high (got low=1.0, high=0.1)"
    assert str(SpaceError(key="a.b", message="x")) == "'a.b': x"  # param defaults to the key
    assert str(SpaceError("the search space is empty")) == "the search space is empty"


def test_the_key_survives_pickling() -> None:
    for e in (
        ConfigError(key="budget.n_trials", message="bad"),
        SpaceError(key="lr.low", param="lr", message="bad"),
        ConfigError("plain"),
    ):
        e2 = pickle.loads(pickle.dumps(e))
        assert type(e2) is type(e)
        assert (e2.key, e2.message, str(e2)) == (e.key, e.message, str(e))
