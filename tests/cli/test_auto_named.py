"""``auto`` is a value ``searcher`` / ``scheduler`` accept in a spec and in ``Study.create``,
so an unknown name lists it and a typo of it is suggested, in the registry's one message.
Before: ``Study.create(searcher="aut")`` said ``unknown searcher 'aut' (known: bohb, ...)``
(no auto), a spec's ``searcher: zzz`` listed no auto, ``{"name": "auto", "params": {...}}``
was an "unknown searcher 'auto'", and a spec's ``budget: [1]`` listed three of the six keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rung
from rung.cli.spec import SpecError, parse_spec
from rung.core.records import ComponentSpec
from rung.errors import ConfigError

SEARCHERS = "auto, bohb, gp, grid, optuna, random, sobol, tpe"
SCHEDULERS = ("auto, asha, async_hyperband, curve, fifo, hyperband, median, mo_asha, pb2, pbt, "
              "successive_halving")


def _spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "an", "objective": "m:f", "path": ".", "metric": "loss", "max_step": 3,
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}}, "budget": {"n_trials": 2},
    }
    return {**spec, **changes}


@pytest.mark.parametrize(("changes", "line"), [
    ({"searcher": "aut"}, "spec.searcher: unknown searcher 'aut' (did you mean 'auto'?) "
     f"(known: {SEARCHERS})"),
    ({"scheduler": {"name": "Auto"}}, "spec.scheduler: unknown scheduler 'Auto' (did you mean "
     f"'auto'?) (known: {SCHEDULERS})"),
    ({"searcher": "zzz"}, f"spec.searcher: unknown searcher 'zzz' (known: {SEARCHERS})"),
    ({"searcher": {"name": "auto", "params": {"n": 1}}},
     "spec.searcher.params: 'auto' takes no parameters, got {'n': 1}"),
    ({"budget": [1]}, "spec.budget: must be a mapping of n_trials, max_time, max_steps, "
     "max_cost, max_gpu_hours, stop, got a list"),
])
def test_a_spec_names_auto_with_the_components(changes: dict[str, Any], line: str) -> None:
    with pytest.raises(SpecError) as e:
        parse_spec(_spec(**changes))
    assert str(e.value) == line


@pytest.mark.parametrize(("kw", "line"), [
    ({"searcher": "aut"}, f"searcher: unknown searcher 'aut' (did you mean 'auto'?) (known: "
     f"{SEARCHERS})"),
    ({"scheduler": "AUTO"}, "scheduler: unknown scheduler 'AUTO' (did you mean 'auto'?) "
     f"(known: {SCHEDULERS})"),
    ({"searcher": {"name": "aut"}}, "searcher: unknown searcher 'aut' (did you mean 'auto'?) "
     f"(known: {SEARCHERS})"),
    ({"searcher": {"name": "auto", "params": {"n": 1}}},
     "searcher.params: 'auto' takes no parameters, got {'n': 1}"),
    ({"scheduler": {"name": ""}}, "scheduler.name: must be a scheduler's name, got '' (known: "
     f"{SCHEDULERS})"),
])
def test_study_create_names_auto_and_writes_nothing(
    kw: dict[str, Any], line: str, tmp_path: Path
) -> None:
    db = tmp_path / "an.db"
    with pytest.raises(ConfigError) as e:
        rung.Study.create("an", {"x": rung.Float(0.0, 1.0)}, "loss", max_step=3, storage=db,
                          **kw)
    assert str(e.value) == line
    assert not db.exists()


def test_auto_as_a_component_spec_is_the_automatic_choice() -> None:
    study = rung.Study.create("an", {"x": rung.Float(0.0, 1.0)}, "loss", max_step=3,
                              searcher=ComponentSpec("auto", {}), scheduler="fifo",
                              budget=rung.Budget(n_trials=20))
    assert study.spec.searcher.name == "gp"
    assert study.auto_reason is not None and study.auto_reason.startswith("auto: searcher gp")
