"""``Study.enqueue`` in a define-by-run study accepts a number outside the range learned so
far for a known parameter: that range spans only the calls trials have made. Before,
``enqueue({"depth": 8, "units": 8})`` for ``suggest_int("units", 1, depth)`` was refused
("units: 8 is outside [1, 5]") while no trial had drawn depth > 5. The trial's own call checks
the value (a misfit fails that trial, ``test_enqueued_values``)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

import rung
from rung.core.records import TrialStatus
from rung.dbr import Trial
from rung.errors import ConfigError
from rung.storage.memory import MemoryJournal


def units_under_depth(trial: Trial) -> float:
    depth = trial.suggest_int("depth", 1, 5 if trial.id < 3 else 8)
    units = trial.suggest_int("units", 1, depth)
    return (depth - 5) ** 2 + (units - 3) ** 2 / 10


class StopAfter3(rung.Callback):
    """Stops the driver, as a kill would, once 3 trials have completed."""

    def on_turn(self, events: Any, commands: Any, history: Any) -> None:
        if history.count(TrialStatus.COMPLETED) >= 3:
            raise KeyboardInterrupt


def test_a_number_outside_the_learned_range_is_enqueued_and_checked_by_its_call() -> None:
    journal = MemoryJournal()
    options: dict[str, Any] = dict(n_trials=5, n_workers=1, start_method="fork",
                                   progress=False, name="e", storage=journal)
    with contextlib.suppress(KeyboardInterrupt):
        rung.optimize(units_under_depth, callbacks=[StopAfter3()], **options)
    study = rung.Study.load("e", journal)
    assert study.history.count(TrialStatus.COMPLETED) == 3  # (trial 3 was launched)
    assert study.engine.space.to_json()["units"]["high"] <= 5
    study.enqueue({"depth": 8, "units": 8})
    with pytest.raises(ConfigError) as e:  # a known parameter keeps its kind
        study.enqueue({"units": 2.5})
    assert e.value.key == "params.units"
    study.close()
    study = rung.optimize(units_under_depth, **options)
    enqueued = study.trial(4)
    assert (enqueued.status, dict(enqueued.params)) == (TrialStatus.COMPLETED,
                                                        {"depth": 8, "units": 8})
    study.close()
