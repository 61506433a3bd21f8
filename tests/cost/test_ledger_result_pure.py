"""``_Fold.result()`` leaves the fold as it was: the dashboard feeds one fold a live journal's
new records at each refresh and asks for the ledger each time, so the answer after any number of
such refreshes must be the ledger a fresh fold of the same records gives, the runs open at the
time of the call included, and calling it twice must give the same answer. (It charged and
closed the open runs on the fold itself, so the dashboard deep-copied the whole fold first: 200
ms a refresh at 20,000 trials; without the copy, every call counted the open runs once more.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

import rung
from rung.core.events import (
    CapacityChanged,
    CheckpointSaved,
    Launch,
    Record,
    ResultReported,
    TrialEnded,
)
from rung.core.records import ComponentSpec, Objective, Outcome, StudySpec
from rung.cost.ledger import ledger
from rung.cost.ledger_fold import _Fold


class _Bench:
    max_step = 9

    def evaluate(self, params: dict[str, float], step: int) -> tuple[dict[str, float], float]:
        return {"loss": params["x"] + 1.0 / step}, 30.0 + 60.0 * params["x"]


def _simulated(scheduler: Any) -> tuple[StudySpec, list[Record]]:
    """A simulated study on 3 workers with prices: runs overlap, so most prefixes of its
    journal end with runs open."""
    study = rung.Study.create(
        "p", {"x": rung.Float(0.0, 1.0)}, objective="loss", searcher="random",
        scheduler=scheduler, max_step=9, budget=rung.Budget(n_trials=14), seed=3,
        prices={"cpu": 2.0})
    study.simulate(_Bench(), n_workers=3)
    return study.spec, list(study._journal_records())


def _scripted() -> tuple[StudySpec, list[Record]]:
    """By hand: a checkpoint, a pause and a resume from it, a driver killed with two runs in
    flight (a second session ends them interrupted), a failure."""
    spec = StudySpec(
        name="k", space=rung.SearchSpace({"x": rung.Float(0.0, 1.0)}),
        objective=Objective("loss"), searcher=ComponentSpec("random"),
        scheduler=ComponentSpec("fifo"), max_step=3, budget=rung.Budget(n_trials=4),
        prices={"cpu": 3.0})
    p = {"x": 0.5}
    recs: list[Record] = [
        CapacityChanged(2, 0.0, True),
        Launch(0, p, 1, 3, 3, None), Launch(1, p, 1, 3, 3, None),
        ResultReported(0, 1, {"loss": 0.9}, 100.0),
        ResultReported(1, 1, {"loss": 0.8}, 120.0),
        CheckpointSaved(0, 1, "c/0", 150.0),
        TrialEnded(0, Outcome.PAUSED, 150.0),
        Launch(2, p, 1, 3, 3, None),
        ResultReported(1, 2, {"loss": 0.7}, 240.0),
        ResultReported(2, 1, {"loss": 0.6}, 300.0),
        CapacityChanged(2, 1000.0, True),  # the driver was killed: 1 and 2 were in flight
        TrialEnded(1, Outcome.INTERRUPTED, 1000.0),
        TrialEnded(2, Outcome.INTERRUPTED, 1000.0),
        Launch(0, p, 2, 3, 3, "c/0"),
        Launch(3, p, 1, 3, 3, None),
        ResultReported(0, 2, {"loss": 0.5}, 1200.0),
        TrialEnded(3, Outcome.FAILED, 1250.0, "ValueError: boom"),
        ResultReported(0, 3, {"loss": 0.4}, 1300.0),
        TrialEnded(0, Outcome.COMPLETED, 1300.0),
    ]
    return spec, recs


JOURNALS = {
    "asha": lambda: _simulated(rung.ASHA(reduction_factor=3)),
    "successive-halving": lambda: _simulated(rung.SuccessiveHalving(reduction_factor=3)),
    "scripted": _scripted,
}


def _json(led: Any) -> str:
    return json.dumps(led.to_json(), sort_keys=True)


@pytest.mark.parametrize("journal", list(JOURNALS))
def test_result_after_incremental_feeding_is_a_fresh_folds(journal: str) -> None:
    spec, records = JOURNALS[journal]()
    fold = _Fold(spec)
    open_at_a_call = 0
    for k, rec in enumerate(records, start=1):
        fold.feed(rec)
        if k % 3 and k != len(records):
            continue  # ask every third record, as a refresh would, and at the end
        open_at_a_call += bool(fold.active)
        first = fold.result()
        want = _json(ledger(spec, records[:k]))
        assert _json(first) == want, f"after {k} records"
        assert _json(fold.result()) == want, f"asked twice after {k} records"
    assert open_at_a_call >= 3  # the calls did happen with runs open


@pytest.mark.parametrize("journal", list(JOURNALS))
def test_a_ledger_given_out_does_not_change_as_the_fold_goes_on(journal: str) -> None:
    spec, records = JOURNALS[journal]()
    half = len(records) // 2
    fold = _Fold(spec)
    for rec in records[:half]:
        fold.feed(rec)
    assert fold.active  # runs open at the call
    given = fold.result()
    before = _json(given)
    for rec in records[half:]:
        fold.feed(rec)
    assert _json(given) == before
    assert _json(fold.result()) == _json(ledger(spec, records))
