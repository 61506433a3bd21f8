"""``Study.create``'s ``objective`` and ``mode`` (``rung.study_checks``): what was silently
ignored or misread is refused naming the key, and a list of objectives takes one mode per
objective."""

from __future__ import annotations

from typing import Any

import pytest

import rung
from rung.core.records import Objective
from rung.errors import ConfigError
from rung.study_checks import as_objectives


def create(**kw: Any) -> rung.Study:
    return rung.Study.create("o", {"x": rung.Float(0.0, 1.0)}, budget=rung.Budget(n_trials=2),
                             searcher="random", scheduler="fifo", **kw)


@pytest.mark.parametrize(("kw", "message"), [
    ({"objective": {"metric": "acc", "direction": "maximize"}},
     "objective.direction: unknown key (Optuna's direction is rung's mode: 'min' or 'max') "
     "(known: metric, mode, nan)"),
    ({"objective": {"metric": "acc", "mdoe": "max"}},
     "objective.mdoe: unknown key (did you mean 'mode'?) (known: metric, mode, nan)"),
    ({"objective": "loss", "mode": ["max"]},
     "mode: one objective takes one mode, 'min' or 'max', got ['max']"),
])
def test_create_refuses_what_it_ignored(kw: dict[str, Any], message: str) -> None:
    """Before: the mapping's direction was dropped (the study minimized an accuracy), a list
    of one mode was 'objective.mode: must be one of ...'."""
    with pytest.raises(ConfigError) as e:
        create(**kw)
    assert str(e.value) == message


def test_a_mode_for_all_leaves_the_objectives_that_give_their_own() -> None:
    s = create(objective=[Objective("acc", "max"), "latency", {"metric": "f1", "mode": "max"}],
               mode="min")
    assert [(o.metric, o.mode) for o in s.spec.objectives] == [
        ("acc", "max"), ("latency", "min"), ("f1", "max")]


@pytest.mark.parametrize(("objective", "mode", "expect"), [
    ("loss", None, ("loss", [])),
    (["loss", "acc"], ["min", "max"], ("loss", [("loss", "min"), ("acc", "max")])),
    (("loss", "acc"), "max", ("loss", [("loss", "max"), ("acc", "max")])),
    ([{"metric": "acc", "mode": "max"}], None, ("acc", [])),
])
def test_as_objectives(objective: Any, mode: Any, expect: tuple[str, list[Any]]) -> None:
    first, every = as_objectives(objective, mode)
    assert (first.metric, [(o.metric, o.mode) for o in every]) == expect


@pytest.mark.parametrize(("objective", "mode", "message"), [
    (("loss", "max"), None,
     "objective[1]: 'max' is a mode, not a metric: give rung.Objective('loss', 'max') (or "
     "mode='max')"),
    (["loss", "acc"], ["min"],
     "mode: a list of modes needs one per objective (2), got 1: ['min']; or give one "
     "string, 'min' or 'max', for all of them"),
    (["loss", 3], None,
     "objective[1]: expected rung.Objective(metric, mode) or a metric name, got 3"),
    (["loss", {"metric": "a", "mode": "up"}], None,
     "objective[1].mode: must be one of 'min', 'max', got 'up'"),
    (["loss", Objective("acc", "max")], ["min", "min"],
     "mode[1]: 'min' contradicts the objective's own mode 'max' (rung.Objective('acc', "
     "'max')): give one of them"),
    ([], None, "objective: the list of objectives is empty"),
    (["loss", "acc"], ["min", 1], "mode[1]: one objective takes one mode, 'min' or 'max', "
                                  "got 1"),
    (["loss", "acc"], ["min", "up"], "mode[1]: must be one of 'min', 'max', got 'up'"),
    (["loss", "acc"], ["min", "maximize"], "mode[1]: must be one of 'min', 'max', got "
                                           "'maximize' (did you mean 'max'?)"),
    (["loss", "acc"], "maximize", "mode: must be one of 'min', 'max', got 'maximize' (did you "
                                  "mean 'max'?)"),
    ("loss", "maximize", "mode: must be one of 'min', 'max', got 'maximize' (did you mean "
                         "'max'?)"),
    (Objective("loss", "min"), "max",
     "mode: 'max' contradicts the objective's own mode 'min' (rung.Objective('loss', 'min')): "
     "give one of them"),
    ({"metric": "loss", "mode": "min"}, "max",
     "mode: 'max' contradicts the objective's own mode 'min' (rung.Objective('loss', 'min')): "
     "give one of them"),
])
def test_as_objectives_refuses_naming_the_item(objective: Any, mode: Any, message: str) -> None:
    """Before (Study.create): ('loss', 'max') was two objectives, the second a metric named
    'max'; a list of modes was 'objective.mode: must be one of ..., got [...]'; a mode beside
    an Objective with another was dropped; a mode the caller gave that is not one was keyed
    by the objective it was for ('objective[1].mode', 'objective[0].mode' for
    ``mode='maximize'``), a key the caller never wrote."""
    with pytest.raises(ConfigError) as e:
        as_objectives(objective, mode)
    assert str(e.value) == message


def test_a_numpy_string_mode_is_the_string_it_is() -> None:
    """Before: ``np.str_('min')`` was refused ("got np.str_('min') (did you mean 'min'?)")."""
    import numpy as np

    _, every = as_objectives(["a", "b"], [np.str_("min"), np.str_("max")])
    assert [(o.metric, o.mode, type(o.mode)) for o in every] == [("a", "min", str),
                                                                 ("b", "max", str)]
    one, _ = as_objectives("a", np.str_("max"))
    assert (one.mode, type(one.mode)) == ("max", str)
    assert Objective("a", np.str_("max")) == Objective("a", "max")
    assert create(objective=["a", "b"], mode=np.str_("max")).spec.to_json()["objectives"] == [
        {"metric": "a", "mode": "max", "nan": "fail"},
        {"metric": "b", "mode": "max", "nan": "fail"}]
