"""The scheduler's saving counts only the trials its own decisions stopped: a trial the engine
stopped because the budget was spent or the stop rule ended the search is its own outcome in
the ledger (``stopped-by-budget``, ``stopped-by-rule``) and counts at what it spent. (Every
stopped trial was extrapolated to ``max_step``: FIFO under ``max_cost`` "saved 72%".)"""

from __future__ import annotations

import pytest

import rung
from rung.cli.ledger import render
from rung.core.events import (
    CapacityChanged,
    Decision,
    Launch,
    Record,
    Reply,
    ResultReported,
    TrialEnded,
)
from rung.core.records import ComponentSpec, Objective, Outcome, StudySpec
from rung.cost.ledger import ledger
from rung.cost.ledger_fold import BUDGET_REASON, RULE_PREFIX, stop_cause


class _Bench:
    max_step = 20
    space = rung.SearchSpace({"x": rung.Float(0.0, 2.0)})

    def evaluate(self, params: dict[str, float], step: int) -> tuple[dict[str, float], float]:
        return {"loss": 1.0 / step + params["x"]}, 360.0 * (1 + params["x"])


def test_fifo_under_max_cost_saved_nothing() -> None:
    study = rung.Study.create("b", _Bench.space, objective="loss", searcher="random",
                              scheduler="fifo", max_step=20, seed=1,
                              budget=rung.Budget(max_cost=8.0), prices={"gpu": 2.0},
                              resources_per_trial={"gpu": 1})
    study.simulate(_Bench(), n_workers=4)
    led = study.ledger()
    assert list(led.by_outcome) == ["stopped-by-budget"]
    assert led.by_outcome["stopped-by-budget"].runs == 4
    assert led.full_cost == pytest.approx(led.total.cost, rel=1e-12)
    assert abs(led.saving) < 1e-12 and abs(led.saved_fraction) < 1e-12
    lines = render(led, "b").splitlines()
    assert lines[3] == ("stopped-by-budget      4       24      4.753    4.753         9.51")
    assert ("trained to max_step (20) every trial would have cost 9.51 (4.753 device-h): "
            "the scheduler saved 0.00 (0.0%)") in lines
    assert ("  the 4 run(s) stopped by the budget count at what they spent: the engine "
            "stopped them, not the scheduler") in lines


class _Flat:
    max_step = 5
    space = rung.SearchSpace({"x": rung.Float(0.0, 1.0), "y": rung.Float(0.0, 1.0)})

    def evaluate(self, params: dict[str, float], step: int) -> tuple[dict[str, float], float]:
        return {"loss": 0.5}, 60.0 * (1.0 + params["x"])  # desynchronized workers


def test_runs_the_stop_rule_ended_are_not_the_schedulers_saving() -> None:
    """A constant objective on 4 workers: the rule stops the search once a step has 20 tied
    results (18 trials completed), and the 3 trials then running are stopped at their next
    report."""
    study = rung.Study.create("r", _Flat.space, objective="loss", searcher="random",
                              scheduler="fifo", max_step=5, seed=0, prices={"cpu": 3600.0},
                              budget=rung.Budget(n_trials=100, stop="auto"))
    study.simulate(_Flat(), n_workers=4)
    led = study.ledger()
    assert study.engine.stopped is not None
    assert {k: v.runs for k, v in led.by_outcome.items()} == {"completed": 18,
                                                             "stopped-by-rule": 3}
    assert led.full_cost == pytest.approx(led.total.cost, rel=1e-12)
    assert "  the 3 run(s) stopped by the stop rule count at what they spent: the engine " \
        "stopped them, not the scheduler" in render(led, "r").splitlines()


def _spec() -> StudySpec:
    return StudySpec(
        name="s", space=rung.SearchSpace({"x": rung.Float(0.0, 1.0)}),
        objective=Objective("loss"), searcher=ComponentSpec("random"),
        scheduler=ComponentSpec("asha"), max_step=4, budget=rung.Budget(max_cost=1.0),
        prices={"cpu": 3600.0},
    )


def test_a_scripted_journal_extrapolates_only_the_schedulers_stop() -> None:
    """Three runs of one step (100 s each, 100 money at 3600 an hour): the scheduler stopped
    trial 0 (extrapolated to 4 steps: 400), the budget trial 1 and the stop rule trial 2
    (100 each, as spent)."""
    recs: list[Record] = [CapacityChanged(3, 0.0, True)]
    recs += [Launch(i, {"x": 0.5}, 1, 1, 4, None) for i in range(3)]
    for tid, reason in ((0, "below the rung-1 cutoff 0.4"), (1, BUDGET_REASON),
                        (2, RULE_PREFIX + "regret bound 0 <= threshold 1")):
        recs += [ResultReported(tid, 1, {"loss": 0.5}, 100.0),
                 Reply(tid, 1, Decision.stop(reason)),
                 TrialEnded(tid, Outcome.STOPPED, 100.0)]
    led = ledger(_spec(), recs)
    assert {k: v.runs for k, v in led.by_outcome.items()} == {
        "stopped": 1, "stopped-by-budget": 1, "stopped-by-rule": 1}
    assert [v.cost for v in led.by_outcome.values()] == pytest.approx([100.0] * 3)
    assert led.full_cost == pytest.approx(400.0 + 100.0 + 100.0)
    assert led.saving == pytest.approx(300.0)
    # the same journal without the replies (an older rung's, say, or told by hand): the
    # scheduler's stops, as before
    plain = ledger(_spec(), [r for r in recs if not isinstance(r, Reply)])
    assert list(plain.by_outcome) == ["stopped"] and plain.full_cost == pytest.approx(1200.0)


def test_stop_cause_reads_the_engines_own_reasons() -> None:
    assert stop_cause("budget exhausted") == "stopped-by-budget"
    assert stop_cause("search stopped: regret bound 0.1 <= ...") == "stopped-by-rule"
    assert stop_cause("below the rung-1 cutoff 0.52") is None
