"""``rung show``'s "best trials" list ranks trials as ``Study.best_trial`` does: the trials
whose result counts for the best (``History.best_candidates``) first, by score, so the list
starts with the best trial; then the others.

Before, it ranked by the highest step reached, then by score: a trial stopped at step 5 came
before the best trial, which completed by itself at step 3 (the list said ``[1, 0]`` where
``best_trial`` said ``0``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.cli.main import main
from rung.cli.report import top_trials

MAX_STEP = 9


def play(s: rung.Study, script: list[tuple[str, int, float, float]]) -> None:
    """``(how, step, loss, lat)`` per trial: ``completed`` reports steps 1..``step`` and tells
    the trial completed (by itself, below ``max_step`` when ``step`` is); ``stopped`` reports
    them and tells it stopped."""
    for how, step, loss, lat in script:
        t = s.ask()
        assert t is not None
        for k in range(1, step + 1):
            s.report(t.id, k, {"loss": loss + (step - k), "lat": lat})
        s.tell(t.id, how)


def create(storage: Path | None, constraints: bool = False) -> rung.Study:
    return rung.Study.create("o", {"x": rung.Float(0.0, 1.0)}, objective="loss",
                             constraints=["lat <= 1"] if constraints else (),
                             searcher="random", scheduler="fifo", max_step=MAX_STEP,
                             budget=rung.Budget(n_trials=8), seed=0, storage=storage)


def rows(out: str) -> list[list[str]]:
    """The "best trials" table's rows, split in cells (trial, status, step, loss, params)."""
    section = out.split("best trials (top ")[1].split("\n\n")[0]
    return [line.split() for line in section.splitlines()[2:]]


def test_rung_show_lists_the_best_trial_first(isolated: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    s = create(isolated / "o.db")
    play(s, [("completed", 3, 0.5, 0.0),   # #0: completed by itself at step 3: final
             ("stopped", 5, 0.1, 0.0),     # #1: better, but stopped below max_step
             ("completed", MAX_STEP, 0.3, 0.0),  # #2: final at max_step: the best
             ("stopped", 2, 0.05, 0.0)])   # #3: stopped early
    best = s.best_trial
    s.close()
    assert best is not None and best.id == 2
    assert main(["show", "o", "--storage", str(isolated / "o.db")]) == 0
    out = capsys.readouterr().out
    assert "  best loss=0.3 (trial #2, step 9)" in out
    # the final ones by score, then the others by the step they reached
    assert [r[:4] for r in rows(out)] == [["2", "completed", "9", "0.3"],
                                          ["0", "completed", "3", "0.5"],
                                          ["1", "stopped", "5", "0.1"],
                                          ["3", "stopped", "2", "0.05"]]
    # before: 2, 1, 0, 3 (and with #2 left out, 1 before the best trial 0)


def test_a_trial_completed_below_max_step_is_ranked_with_the_final_ones() -> None:
    s = create(None)
    play(s, [("completed", 3, 0.5, 0.0), ("stopped", 5, 0.1, 0.0)])
    assert s.best_trial is not None and s.best_trial.id == 0
    assert [t.id for t in top_trials(s, 10)] == [0, 1]  # before: [1, 0]
    assert [t.id for t in top_trials(s, 1)] == [0]


def test_with_constraints_the_feasible_final_trials_come_first() -> None:
    s = create(None, constraints=True)
    play(s, [("completed", MAX_STEP, 0.4, 0.5),  # #0 feasible, final
             ("completed", MAX_STEP, 0.1, 2.0),  # #1 infeasible, the best score
             ("stopped", 5, 0.05, 0.5),          # #2 feasible, not final
             ("completed", 3, 0.3, 0.5)])        # #3 feasible, final below max_step: the best
    assert s.best_trial is not None and s.best_trial.id == 3
    assert [t.id for t in top_trials(s, 10)] == [3, 0, 2, 1]  # before: [0, 2, 3, 1]


def test_while_no_result_is_final_the_highest_step_ranks_first() -> None:
    s = create(None)
    play(s, [("stopped", 5, 0.3, 0.0), ("stopped", 2, 0.01, 0.0), ("stopped", 5, 0.2, 0.0)])
    assert s.best_trial is not None and s.best_trial.id == 2
    assert [t.id for t in top_trials(s, 10)] == [2, 0, 1]


def test_failed_trials_come_last_however_good() -> None:
    s = create(None)
    play(s, [("failed", MAX_STEP, 0.01, 0.0),     # #0 reached max_step, then failed
             ("stopped", 4, 0.2, 0.0),            # #1 stopped below max_step
             ("completed", MAX_STEP, 0.3, 0.0),   # #2 final: the best
             ("failed", 2, 0.001, 0.0)])          # #3 failed early
    assert s.best_trial is not None and s.best_trial.id == 2
    assert [t.id for t in top_trials(s, 10)] == [2, 1, 0, 3]  # before: [0, 2, 1, 3]


def _ranked_in_full(s: rung.Study, k: int) -> list[int]:
    """The list as ``top_trials`` made it before it ranked only what it lists: every trial's
    snapshot, every trial ranked."""
    import math

    h = s.history
    counted = set(h.best_candidates())
    trials = [t for t in s.trials() if math.isfinite(t.score)]

    def rank(t: rung.Trial) -> tuple[bool, bool, bool, int, float, int]:
        if t.id in counted:
            return (False, False, False, 0, t.score, t.id)
        return (True, not h.counts_for_best(t.id), not s.feasible(t.id), -t.last_step,
                t.score, t.id)

    return [t.id for t in sorted(trials, key=rank)[:k]]


@pytest.mark.parametrize("constraints", [False, True])
def test_the_top_k_are_those_of_the_full_ranking_for_every_k(constraints: bool) -> None:
    s = rung.Study.create("o", {"x": rung.Float(0.0, 1.0)}, objective="loss",
                          constraints=["lat <= 1"] if constraints else (),
                          searcher="random", scheduler="fifo", max_step=MAX_STEP,
                          budget=rung.Budget(n_trials=40), seed=0)
    script = []
    for i in range(40):  # every kind of end, ties of score, NaN values, infeasible ones
        how = ("completed", "stopped", "failed", "completed", "stopped")[i % 5]
        step = MAX_STEP if i % 3 else 1 + i % MAX_STEP
        loss = float("nan") if i % 11 == 7 else round((i * 37 % 13) / 13, 2)
        script.append((how, step, loss, 0.5 + (i % 4) / 2))
    play(s, script)
    for k in [*range(0, 45), -1, -30]:
        assert [t.id for t in top_trials(s, k)] == _ranked_in_full(s, k), k
