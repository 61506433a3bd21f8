"""A define-by-run trial that failed or was stopped before its later ``suggest_*`` calls holds
only what it asked for, which may look like a complete configuration of the learned space
(``{"c": "a"}`` once ``n`` was learned as conditional on ``c == "b"``). Such a configuration is
not "tried": before, its branch was never proposed again, and a finite space ended early
claiming every configuration was tried (random: 4 of 20 trials, the optimum on 'a' never run),
and under ASHA (``x`` asked after the first report) 29 of 30 trials went to one branch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rung
from rung.core.history import History
from rung.core.records import Objective, Result, TrialStatus
from rung.dbr import Trial
from rung.searchers._common import UnitCache
from rung.searchers._pending import config_key
from rung.space import SearchSpace
from rung.space.learned import LearnedSpace
from rung.storage.codec import from_body
from rung.storage.memory import MemoryJournal

C = {"type": "categorical", "choices": ["a", "b"]}
N = {"type": "int", "low": 1, "high": 3}


def fails_once_on_a(trial: Trial) -> float:
    """Trial 1 (seed 0: the first on branch 'a') fails before it asks for ``n``."""
    c = trial.suggest_categorical("c", ["a", "b"])
    if c == "a" and trial.id == 1:
        raise RuntimeError("transient failure before n was asked for")
    n = trial.suggest_int("n", 1, 3)
    return (0.0 if c == "a" else 1.0) + n


@pytest.mark.parametrize("searcher", ["random", "sobol", "tpe"])
def test_a_branch_whose_trial_failed_early_is_proposed_again(searcher: str) -> None:
    study = rung.optimize(fails_once_on_a, n_trials=20, searcher=searcher, n_workers=1,
                          start_method="fork", progress=False)
    trials = study.trials()
    assert (trials[1].status, dict(trials[1].params)) == (TrialStatus.FAILED, {"c": "a"})
    # every one of the objective's 6 configurations ran to completion, once, and only then
    # was the space exhausted (before: after 4 trials, the 'a' branch never run)
    done = [(t.params["c"], t.params["n"]) for t in trials if t.status is TrialStatus.COMPLETED]
    assert sorted(done) == [(c, n) for c in "ab" for n in (1, 2, 3)]
    assert len(trials) == 7
    assert study.best_value() == 1.0
    assert study.engine.space.to_json() == {"c": C, "n": N}
    assert study.engine.exhausted
    study.close()


FIXTURE = Path(__file__).with_name("journal_branch_tried.json")


def test_a_journal_written_before_the_rule_replays_as_written_and_goes_on() -> None:
    """``journal_branch_tried.json``: ``fails_once_on_a`` (random, seed 0, 20 trials) run by
    the code before this rule, which ended after 4 trials claiming all 4 configurations of
    {c, n when c == 'b'} tried. It replays so (its reports are of the rule before: its
    searcher counts every trial); a configuration enqueued on the missing branch runs with
    this code, whose reports bring the rule in, and the search goes on until every one of
    the 6 configurations completed."""
    data = json.loads(FIXTURE.read_text())
    journal = MemoryJournal()
    journal.create_study("old", data["spec"])
    journal.append("old", [from_body(kind, body) for kind, body in data["records"]])
    old = rung.Study.load("old", journal)
    assert [dict(t.params) for t in old.trials()] == [
        {"c": "b", "n": 3}, {"c": "a"}, {"c": "b", "n": 2}, {"c": "b", "n": 1}]
    assert old.engine.over and type(old.engine.space) is SearchSpace
    old.enqueue({"c": "a"})
    old.close()
    study = rung.optimize(fails_once_on_a, storage=journal, name="old", n_workers=1,
                          start_method="fork", progress=False)
    trials = study.trials()
    assert [t.params["c"] for t in trials[4:]] == ["a", "a", "a"]
    done = [(t.params["c"], t.params["n"]) for t in trials if t.status is TrialStatus.COMPLETED]
    assert sorted(done) == [(c, n) for c in "ab" for n in (1, 2, 3)]
    study.close()
    # the launch of the enqueued trial, after the turn its searcher was exhausted at, replays
    again = rung.Study.load("old", journal)
    assert again.trials() == trials
    again.close()


def stops_before_x(trial: Trial) -> None:
    """The audit's shape: ``x`` is asked after the first report, which ASHA's rung judges."""
    c = trial.suggest_categorical("c", ["a", "b"])
    trial.report(1, 1.0 + ((trial.id * 7919) % 13) / 13.0)  # unrelated to c
    x = trial.suggest_float("x", 0, 1)
    final = (0.0 if c == "a" else 0.5) + 0.1 * x
    for step in range(2, trial.max_step + 1):
        trial.report(step, final + 1.0 / step)


def test_trials_stopped_before_their_branch_parameter_leave_both_branches_open() -> None:
    """Seed 0, random: before, 29 of the 30 trials took branch 'b' (every trial stopped at
    step 1 on 'a' held a complete-looking {c: 'a'})."""
    study = rung.optimize(stops_before_x, n_trials=30, max_step=9, scheduler="asha",
                          searcher="random", seed=0, n_workers=1, start_method="fork",
                          progress=False)
    branches = "".join(t.params["c"] for t in study.trials())
    assert branches == "baaabbabbababaabaababbaabbaaaa"
    best = study.best_value()
    assert best is not None and best < 0.5  # the better branch, 'a', was found
    study.close()


# --- the rule, on a History ---------------------------------------------------------------------

def history(space: SearchSpace, trials: list[tuple[dict[str, Any], TrialStatus]]) -> History:
    h = History(space, Objective("loss", "min"), 3)
    for tid, (params, status) in enumerate(trials):
        h._create(tid, params, None, {}, suggested=True)
        h._launch(tid)
        if status is TrialStatus.LAUNCHED:
            continue
        h._start(tid)
        if status is TrialStatus.RUNNING:
            continue
        h._add_result(tid, Result(1, {"loss": 1.0}, 0.0), 1)
        h._end(tid, status, "boom" if status is TrialStatus.FAILED else None)
    return h


SPACE = {"c": C, "n": N | {"when": {"c": "b"}}}
TRIALS: list[tuple[dict[str, Any], TrialStatus]] = [
    ({"c": "b", "n": 1}, TrialStatus.COMPLETED),
    ({"c": "a"}, TrialStatus.FAILED),  # failed before n: incomplete
    ({"c": "b", "n": 2}, TrialStatus.STOPPED),  # asked what trial 0 asked: complete
    ({"c": "b"}, TrialStatus.STOPPED),  # stopped before n: incomplete
    ({"c": "b", "n": 3}, TrialStatus.RUNNING),  # pending: its proposal, spread over
    ({"c": "a"}, TrialStatus.PAUSED),  # may resume: counts
]


def key(space: SearchSpace, params: dict[str, Any]) -> bytes:
    return config_key(space.to_unit(params))


def test_a_configuration_counts_as_tried_only_where_it_is_known_complete() -> None:
    space = LearnedSpace.from_json(SPACE)
    h = history(space, TRIALS[:5])
    tried = UnitCache(space).tried(h)
    assert tried == {key(space, p) for p in ({"c": "b", "n": 1}, {"c": "b", "n": 2},
                                             {"c": "b", "n": 3})}
    h = history(space, TRIALS)  # a paused trial on 'a': in flight, so 'a' is taken
    assert key(space, {"c": "a"}) in UnitCache(space).tried(h)


def test_a_declared_space_counts_every_trial_as_before() -> None:
    space = SearchSpace.from_json(SPACE)
    h = history(space, TRIALS[:5])
    assert UnitCache(space).tried(h) == {key(space, p) for p, _ in TRIALS[:5]}


def test_a_completed_trial_on_the_branch_makes_its_stopped_twins_complete() -> None:
    space = LearnedSpace.from_json({"c": C, "n": N})
    trials: list[tuple[dict[str, Any], TrialStatus]] = [
        ({"c": "a"}, TrialStatus.STOPPED), ({"c": "a", "n": 2}, TrialStatus.STOPPED)]
    assert UnitCache(space).tried(history(space, trials)) == set()
    trials.append(({"c": "a", "n": 3}, TrialStatus.COMPLETED))
    assert UnitCache(space).tried(history(space, trials)) == {
        key(space, {"c": "a", "n": 2}), key(space, {"c": "a", "n": 3})}
    # a categorical's value is typed: True is not 1
    space = LearnedSpace.from_json({"f": {"type": "categorical", "choices": [1, True]}})
    trials = [({"f": 1}, TrialStatus.COMPLETED), ({"f": True}, TrialStatus.STOPPED)]
    assert UnitCache(space).tried(history(space, trials)) == {key(space, {"f": 1})}
    assert not np.array_equal(space.to_unit({"f": 1}), space.to_unit({"f": True}))
