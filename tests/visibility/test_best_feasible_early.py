"""With constraints, a feasible trial that completed below ``max_step`` (its objective
returned early: its last result is final) competes for the best trial, as it does without
constraints: ``best_trial`` named a worse trial at ``max_step`` (found by the cost audit; the
ledger already listed the early one)."""

from __future__ import annotations

import rung


def study() -> rung.Study:
    return rung.Study.create(
        "c", {"x": rung.Float(0.0, 1.0)}, objective="loss", searcher="random",
        scheduler="fifo", max_step=10, budget=rung.Budget(n_trials=4),
        constraints=["mem <= 100"])


def test_a_feasible_early_completion_beats_a_worse_final_result() -> None:
    s = study()
    t0 = s.ask()
    assert t0 is not None
    s.report(t0.id, 2, {"loss": 0.1, "mem": 1})
    s.tell(t0.id, "completed")  # final at step 2
    t1 = s.ask()
    assert t1 is not None
    s.tell(t1.id, "completed", {"loss": 0.5, "mem": 1})  # final at max_step
    best = s.best_trial
    assert best is not None and (best.id, best.value) == (t0.id, 0.1)
    assert [i.trial_id for i in s.ledger().incumbent][-1] == t0.id


def test_an_infeasible_early_completion_does_not_count() -> None:
    s = study()
    t0 = s.ask()
    assert t0 is not None
    s.report(t0.id, 2, {"loss": 0.1, "mem": 500})
    s.tell(t0.id, "completed")
    t1 = s.ask()
    assert t1 is not None
    s.tell(t1.id, "completed", {"loss": 0.5, "mem": 1})
    best = s.best_trial
    assert best is not None and best.id == t1.id


def test_a_better_final_result_beats_an_early_completion() -> None:
    s = study()
    t0 = s.ask()
    assert t0 is not None
    s.report(t0.id, 2, {"loss": 0.3, "mem": 1})
    s.tell(t0.id, "completed")
    t1 = s.ask()
    assert t1 is not None
    s.tell(t1.id, "completed", {"loss": 0.2, "mem": 1})
    best = s.best_trial
    assert best is not None and best.id == t1.id
