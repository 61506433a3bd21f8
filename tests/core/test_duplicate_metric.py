"""Two objectives on one metric are refused naming the second one's key and the first, in a
sentence. Before: ``objective: duplicate metric among ['loss', 'loss']`` for ``metric=[...]``
(keyed ``objective`` though the user wrote ``metric``), ``rung.run`` and a spec alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rung
from rung.cli.spec import SpecError, parse_spec
from rung.core.records import objectives_from
from rung.errors import ConfigError

WHY = "each objective needs a metric of its own"


@pytest.mark.parametrize(("metric", "mode", "line"), [
    (["loss", "loss"], "min", f"metric[1]: 'loss' is given twice (as metric[0] too): {WHY}"),
    (["loss", "acc", "loss"], ["min", "max", "max"],
     f"metric[2]: 'loss' is given twice (as metric[0] too): {WHY}"),
    (["a", "b", "b", "a"], "min", f"metric[2]: 'b' is given twice (as metric[1] too): {WHY}"),
])
def test_metrics_given_twice(metric: list[str], mode: Any, line: str) -> None:
    with pytest.raises(ConfigError) as e:
        objectives_from(metric, mode)
    assert str(e.value) == line


def test_study_create_objectives_on_one_metric(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    with pytest.raises(ConfigError) as e:
        rung.Study.create("d", {"x": rung.Float(0, 1)},
                          [rung.Objective("loss", "min"), "acc", rung.Objective("loss", "max")],
                          storage=db)
    assert str(e.value) == f"objective[2]: metric 'loss' is objective[0]'s too: {WHY}"
    assert not db.exists()


def test_rung_run_and_a_spec_say_metric() -> None:
    with pytest.raises(ConfigError) as e:
        rung.run(lambda ctx: None, {"x": rung.Float(0, 1)}, metric=["loss", "loss"], n_trials=2)
    assert str(e.value) == f"metric[1]: 'loss' is given twice (as metric[0] too): {WHY}"
    spec = {"name": "d", "objective": "m:f", "path": ".", "metric": ["loss", "loss"],
            "max_step": 1, "space": {"x": [1, 2]}, "budget": {"n_trials": 2}}
    with pytest.raises(SpecError) as s:
        parse_spec(spec)
    assert str(s.value) == f"spec.metric[1]: 'loss' is given twice (as metric[0] too): {WHY}"
