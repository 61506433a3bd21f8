"""A search whose scheduler has nothing left to launch while nothing runs is over, though no
budget limit was reached (PBT's population finished under a larger trial budget): the summary
says so, ``rung ls`` calls it done, ``rung show`` says why, and a reload says the same."""

from __future__ import annotations

from pathlib import Path

import rung
from rung import PBT, Budget
from rung.benchmarks import MFBranin
from rung.cli.report import _budget_state, ls_row


def test_a_finished_population_under_a_larger_trial_budget_is_over(tmp_path: Path) -> None:
    b = MFBranin()
    db = tmp_path / "p.db"
    study = rung.Study.create("p", b.space, "loss", searcher="random",
                              scheduler=PBT(population_size=4, perturbation_interval=3),
                              max_step=9, budget=Budget(n_trials=50), seed=0, storage=db)
    study.simulate(b, n_workers=2, progress=False)
    assert len(study.trials()) < 50  # the population ended long before the trial budget
    s = study.summary()
    assert (s["budget_left"], s["exhausted"]) == (False, True)
    assert _budget_state(s, study) == (
        "not spent, but the scheduler has nothing left to run: the search is over")
    assert ls_row(study, str(db), False)[1] == "done"
    study.close()
    again = rung.Study.load("p", storage=db)
    assert (again.summary()["budget_left"], again.summary()["exhausted"]) == (False, True)


def test_a_spent_trial_budget_is_spent_not_exhausted() -> None:
    b = MFBranin()
    study = rung.Study.create("f", b.space, "loss", searcher="random", scheduler="fifo",
                              max_step=3, budget=Budget(n_trials=5), seed=0)
    study.simulate(b, n_workers=2, progress=False)
    s = study.summary()
    assert (s["budget_left"], s["exhausted"]) == (False, False)
    assert _budget_state(s, study) == "spent: n_trials reached"
