"""A driver session that ended with runs in flight (its driver killed): the runs are charged up
to the session's last journaled event, and the ledger says so, with the gap before the next session (what
the workers ran in it is charged nowhere: they may have gone on with their step)."""

from __future__ import annotations

import pytest

import rung
from rung.cli.ledger import render
from rung.core.events import CapacityChanged, Launch, Record, ResultReported, TrialEnded
from rung.core.records import ComponentSpec, Objective, Outcome, StudySpec
from rung.cost.ledger import ledger

SPEC = StudySpec(
    name="k", space=rung.SearchSpace({"x": rung.Float(0.0, 1.0)}), objective=Objective("loss"),
    searcher=ComponentSpec("random"), scheduler=ComponentSpec("fifo"), max_step=4,
    budget=rung.Budget(n_trials=2), prices={"cpu": 3600.0},
)
NOTE = ("1 driver session(s) ended with runs in flight (2 run(s); a driver killed, say), 850 s "
        "in all before the next began: each such run is charged up to its session's last "
        "journaled event; what its worker ran after that (up to about one step per worker per "
        "crash) is charged nowhere, max_cost included")


def _journal(crash: bool) -> list[Record]:
    """Two runs of steps of 100 s and 150 s from 0 s; a second session at 1000 s. With
    ``crash`` the first session ends right after their first results (the driver killed), and
    the second ends them interrupted; else they complete in the first."""
    recs: list[Record] = [CapacityChanged(2, 0.0, True)]
    recs += [Launch(i, {"x": 0.5}, 1, 4, 4, None) for i in range(2)]
    recs += [ResultReported(0, 1, {"loss": 1.0}, 100.0), ResultReported(1, 1, {"loss": 1.0}, 150.0)]
    if not crash:
        recs += [TrialEnded(0, Outcome.COMPLETED, 100.0), TrialEnded(1, Outcome.COMPLETED, 150.0)]
    recs += [CapacityChanged(2, 1000.0, True)]
    if crash:
        recs += [TrialEnded(0, Outcome.INTERRUPTED, 1000.0),
                 TrialEnded(1, Outcome.INTERRUPTED, 1000.0)]
    return recs


def test_a_crash_leaves_the_gap_uncharged_and_says_so() -> None:
    led = ledger(SPEC, _journal(crash=True))
    # both charged up to 150 s, the session's last event; nothing of the 850 s after it
    assert led.by_outcome["interrupted"].cost == pytest.approx(300.0)
    assert led.notes == [NOTE, (
        "no trial has a final result yet (at max_step 4, or completed below it): no "
        "incumbent; best_trial names trial 0 for now, the best at the highest step reached "
        "(loss=1 at step 1), which later steps may change")]
    assert render(led, "k").splitlines()[-2] == "note: " + NOTE
    # sessions that ended their runs: no such note
    clean = ledger(SPEC, _journal(crash=False))
    assert clean.total.cost == pytest.approx(250.0)
    assert clean.notes == []
