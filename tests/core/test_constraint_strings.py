"""``constraints`` from Python read as a spec's do (``"metric <= bound"`` strings, mappings,
``rung.Constraint``), in ``Study.create`` and ``rung.run``; bad items name their key."""

from __future__ import annotations

from typing import Any

import pytest

import rung
from rung.errors import ConfigError
from rung.executors.simulated import SimulatedExecutor

SPACE = {"x": rung.Categorical([0.1, 0.5, 0.9])}


class Bench:
    """loss = x; mem = 200 (1 - x): the lowest loss (x=0.1, mem 180) breaks mem <= 100."""

    max_step = 1

    def evaluate(self, params: dict[str, Any], step: int) -> tuple[dict[str, float], float]:
        x = float(params["x"])
        return {"loss": x, "mem": 200.0 * (1.0 - x)}, 1.0


def _best(constraints: Any) -> float:
    study = rung.Study.create("c", SPACE, objective="loss", searcher="grid", scheduler="fifo",
                              budget=rung.Budget(n_trials=3), constraints=constraints)
    study.simulate(Bench(), n_workers=1)
    assert len(study.trials()) == 3
    best = study.best_trial
    assert best is not None
    return float(best.params["x"])


def test_study_create_takes_the_string_form() -> None:
    assert _best(()) == 0.1
    assert _best(["mem <= 100"]) == 0.5
    assert _best(["mem >= 100", "mem<=150"]) == 0.5
    assert _best([rung.Constraint("mem", "<=", 50)]) == 0.9
    assert _best([{"metric": "mem", "op": "<=", "bound": 50}]) == 0.9
    study = rung.Study.create("s", SPACE, objective="loss", searcher="grid",
                              scheduler="fifo", constraints=("mem <= 100",))
    assert study.spec.constraints == (rung.Constraint("mem", "<=", 100.0),)


def test_rung_run_takes_the_string_form() -> None:
    def run(constraints: Any) -> float:
        study = rung.run(lambda ctx: None, SPACE, metric="loss", searcher="grid",
                         scheduler="fifo", n_trials=3, constraints=constraints,
                         executor=SimulatedExecutor(Bench(), 1))
        best = study.best_trial
        assert best is not None
        return float(best.params["x"])

    assert run([]) == 0.1
    assert run(["mem <= 100"]) == 0.5


@pytest.mark.parametrize(
    ("constraints", "line"),
    [
        (["mem < 100"], "constraints[0]: must read 'metric <= bound' or 'metric >= bound', "
                        "got 'mem < 100'"),
        (["mem <= 100", "mem >= lots"], "constraints[1].bound: must be a number, got 'lots'"),
        ([{"metric": "mem", "op": "<", "bound": 1}],
         "constraints[0].op: must be one of '<=', '>=', got '<'"),
        ([{"metric": "mem", "op": "<="}], "constraints[0].bound: missing"),
        ([3], "constraints[0]: must be a string or a mapping, got an integer"),
        ("mem <= 100", "constraints: must be a list (e.g. [\"latency_ms <= 100\"]), got a "
                       "string"),
    ],
)
def test_bad_constraints_name_the_key(constraints: Any, line: str) -> None:
    with pytest.raises(ConfigError) as e:
        rung.Study.create("bad", SPACE, objective="loss", searcher="grid", scheduler="fifo",
                          constraints=constraints)
    assert str(e.value) == line
