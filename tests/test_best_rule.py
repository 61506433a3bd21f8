"""One rule for which trials count for the best (``History.best_candidates``), read alike by
``Study.best_trial`` (with and without constraints) and ``Study.pareto_front``.

Before, the rule was written three times (``History.best_trial_id``, the constrained loop in
``study_views.best_trial_id``, ``pareto_ids``) and they disagreed: a trial whose final result
was NaN was the best trial while the Pareto front fell back to a trial stopped early (whose
result was not final); and ``History.best_trial_id`` (so ``Engine.summary``) named an
infeasible trial where ``Study.best_trial`` named the feasible best.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rung
from rung.core.history import History
from rung.core.records import Constraint, Objective, Result, TrialStatus
from rung.space import Float, SearchSpace
from rung.study_views import best_trial_id, pareto_ids

MAX_STEP = 10
CONSTRAINT = "mem <= 1"


def study(constraints: bool, objectives: int = 1, n: int = 4) -> rung.Study:
    objs = [rung.Objective("loss", "min", nan="worst"), rung.Objective("acc", "max", nan="worst")]
    return rung.Study.create("b", {"x": rung.Float(0.0, 1.0)}, objective=objs[:objectives],
                             constraints=[CONSTRAINT] if constraints else (),
                             searcher="random", scheduler="fifo", max_step=MAX_STEP,
                             budget=rung.Budget(n_trials=n), seed=0)


def metrics(loss: float, mem: float = 0.5) -> dict[str, float]:
    # acc mirrors loss: a two-objective front is then the best loss and its ties
    return {"loss": loss, "acc": -loss, "mem": mem}


def play(s: rung.Study, script: list[tuple[str, int, float, float]]) -> None:
    """``(how, step, loss, mem)`` per trial: ``completed`` tells the result at ``step`` as
    final; ``stopped`` reports it and tells the trial stopped."""
    trials = [s.ask() for _ in script]
    for t, (how, step, loss, mem) in zip(trials, script, strict=True):
        assert t is not None
        if how == "completed":
            s.tell(t.id, "completed", metrics(loss, mem), step=step)
        else:
            s.report(t.id, step, metrics(loss, mem))
            s.tell(t.id, how)


def views(s: rung.Study) -> tuple[int | None, list[int], list[int]]:
    best = s.best_trial
    return (None if best is None else best.id, [t.id for t in s.pareto_front()],
            s.history.best_candidates())


# (script, best trial, Pareto front, candidates): the same with and without constraints
# (every trial feasible), with one objective and with two
CASES: list[tuple[str, list[tuple[str, int, float, float]], int | None, list[int]]] = [
    ("completed below max_step counts, and beats a worse result at max_step",
     [("completed", MAX_STEP, 0.5, 0.5), ("completed", 3, 0.2, 0.5)], 1, [1]),
    ("a better result at max_step beats a completion below it",
     [("completed", MAX_STEP, 0.1, 0.5), ("completed", 3, 0.2, 0.5)], 0, [0]),
    ("stopped below max_step does not count while a final result exists",
     [("stopped", 5, 0.01, 0.5), ("completed", 3, 0.4, 0.5)], 1, [1]),
    ("stopped at max_step is final",
     [("stopped", MAX_STEP, 0.3, 0.5), ("completed", 3, 0.4, 0.5)], 0, [0]),
    ("no final result: the highest step any trial reached",
     [("stopped", 5, 0.3, 0.5), ("stopped", 2, 0.01, 0.5), ("stopped", 5, 0.2, 0.5)], 2, [2]),
    ("NaN is worst among final results",
     [("completed", MAX_STEP, math.nan, 0.5), ("completed", 3, 0.9, 0.5)], 1, [1]),
    ("a NaN final result is no value: a trial stopped early with one is the best",
     [("completed", 3, math.nan, 0.5), ("stopped", 5, 0.2, 0.5)], 1, [1]),
    ("every result NaN: no best trial, an empty front",
     [("completed", MAX_STEP, math.nan, 0.5), ("stopped", 5, math.nan, 0.5)], None, []),
    ("ties: the earlier trial is the best; both are on the front",
     [("completed", MAX_STEP, 0.2, 0.5), ("completed", 4, 0.2, 0.5)], 0, [0, 1]),
    ("a failed trial is never the best, however good its result at max_step",
     [("failed", MAX_STEP, 0.01, 0.5), ("completed", MAX_STEP, 0.3, 0.5)], 1, [1]),
    ("no final result: the highest step a trial that did not fail reached",
     [("failed", 7, 0.01, 0.5), ("stopped", 5, 0.3, 0.5), ("stopped", 2, 0.1, 0.5)], 1, [1]),
    ("only failed trials: no best trial, an empty front",
     [("failed", MAX_STEP, 0.1, 0.5), ("failed", 3, 0.05, 0.5)], None, []),
]


@pytest.mark.parametrize("objectives", [1, 2])
@pytest.mark.parametrize("constraints", [False, True])
@pytest.mark.parametrize(("why", "script", "best", "front"), CASES, ids=[c[0] for c in CASES])
def test_best_trial_and_front_read_one_rule(why: str, script: Any, best: int | None,
                                            front: list[int], constraints: bool,
                                            objectives: int) -> None:
    s = study(constraints, objectives, n=len(script))
    play(s, script)
    got_best, got_front, _ = views(s)
    assert (got_best, got_front) == (best, front), why
    assert s.summary()["best_trial"] == best
    assert s.engine.summary()["best_trial"] == best
    assert best_trial_id(s.history, MAX_STEP) == best  # what the dashboard reads
    assert pareto_ids(s.history) == front


# with the constraint: (script, best trial, Pareto front)
CONSTRAINED: list[tuple[str, list[tuple[str, int, float, float]], int | None, list[int]]] = [
    ("an infeasible final result does not count, however good",
     [("completed", MAX_STEP, 0.01, 5.0), ("completed", MAX_STEP, 0.3, 0.5)], 1, [1]),
    ("a feasible completion below max_step beats a worse feasible final result",
     [("completed", MAX_STEP, 0.5, 0.5), ("completed", 3, 0.2, 0.5)], 1, [1]),
    ("an infeasible completion below max_step does not count",
     [("completed", MAX_STEP, 0.5, 0.5), ("completed", 3, 0.2, 5.0)], 0, [0]),
    ("no final result: the best feasible one at the highest step",
     [("stopped", 7, 0.1, 5.0), ("stopped", 7, 0.3, 0.5), ("stopped", 7, 0.2, 0.5)], 2, [2]),
    ("an infeasible final result at max_step hides no feasible trial below it",
     [("completed", MAX_STEP, 0.1, 5.0), ("stopped", 7, 0.2, 0.5)], 1, [1]),
    ("an infeasible trial further on hides no feasible one: the highest feasible step counts",
     [("completed", MAX_STEP, 0.1, 5.0), ("stopped", 7, 0.2, 0.5), ("stopped", 3, 0.01, 0.5),
      ("stopped", 7, 0.3, 0.5)], 1, [1]),
    ("no feasible trial at all: no best trial, an empty front",
     [("completed", MAX_STEP, 0.1, 5.0), ("stopped", 5, 0.2, 5.0)], None, []),
    ("a NaN feasible final result is no value: the feasible non-final one is the best",
     [("completed", 4, math.nan, 0.5), ("completed", MAX_STEP, 0.1, 5.0),
      ("stopped", MAX_STEP - 1, 0.1, 0.5)], 2, [2]),
]


@pytest.mark.parametrize("objectives", [1, 2])
@pytest.mark.parametrize(("why", "script", "best", "front"), CONSTRAINED,
                         ids=[c[0] for c in CONSTRAINED])
def test_constraints_filter_before_the_rule(why: str, script: Any, best: int | None,
                                            front: list[int], objectives: int) -> None:
    s = study(True, objectives, n=len(script))
    play(s, script)
    assert views(s)[:2] == (best, front), why
    assert s.history.best_trial_id() == best
    assert s.engine.summary()["best_trial"] == best


def test_the_highest_step_fallback_is_the_highest_feasible_step() -> None:
    """No trial has a final result; the feasible trials stopped at steps 4 and 2 are below
    the highest step (9, reached by an infeasible one): the one at step 4 is the best, in all
    three views (an audit found the infeasible trial hiding it: best_trial None while
    `rung show` listed feasible trials under "no feasible trial yet")."""
    s = study(True, 2, n=3)
    play(s, [("stopped", 4, 0.1, 0.5), ("stopped", 9, 0.3, 5.0), ("stopped", 2, 0.01, 0.5)])
    assert views(s) == (0, [0], [0])


# --- the fast path without constraints is the rule (property) -----------------------------
STATUSES = [TrialStatus.COMPLETED, TrialStatus.STOPPED, TrialStatus.FAILED, TrialStatus.PAUSED,
            None, "cut"]  # None: still running; "cut": failed as the session's max_time ran out
CUT = "timeout: still running 1 s after max_time (25 s) was reached"
TRIAL = st.tuples(st.lists(st.sampled_from([0.1, 0.2, 0.3, math.nan]), max_size=4),
                  st.sampled_from([0.5, 2.0]), st.sampled_from(STATUSES))


def history(trials: list[tuple[list[float], float, TrialStatus | str | None]],
            constraints: bool) -> History:
    h = History(SearchSpace({"x": Float(0.0, 1.0)}), Objective("loss", "min", nan="worst"), 4,
                constraints=[Constraint("mem", "<=", 1.0)] if constraints else ())
    for tid, (losses, mem, status) in enumerate(trials):
        h._create(tid, {"x": 0.5}, None, {}, suggested=True)
        h._launch(tid)
        h._start(tid)
        for step, loss in enumerate(losses, start=1):
            h._add_result(tid, Result(step, {"loss": loss, "mem": mem}, 0.0), 1)
        if status == "cut":
            h._end(tid, TrialStatus.FAILED, CUT)
        elif isinstance(status, TrialStatus):
            h._end(tid, status, None)
    return h


@settings(max_examples=300, deadline=None)
@given(st.lists(TRIAL, max_size=6), st.booleans())
def test_best_trial_id_is_the_best_candidate(trials: Any, constraints: bool) -> None:
    h = history(trials, constraints)
    cands = h.best_candidates()
    # the rule, spelled out once more from its definition
    feasible = [t for t in h if h.last_step(t) > 0 and trials[t][2] is not TrialStatus.FAILED
                and (not constraints or trials[t][1] <= 1.0) and math.isfinite(h.score(t))]
    final = [t for t in feasible if h.last_step(t) == 4 or h.status(t) is TrialStatus.COMPLETED]
    top = max((h.last_step(t) for t in feasible), default=0)
    assert cands == (final or [t for t in feasible if h.last_step(t) == top])
    expect = min(((h.score(t), t) for t in cands), default=(math.inf, None))[1]
    assert h.best_trial_id() == expect
    # one objective: the front is the best trial and its ties, unless the best scores NaN
    front = pareto_ids(h)
    if expect is None or not math.isfinite(h.score(expect)):
        assert front == []
    else:
        assert front == [t for t in cands if h.score(t) == h.score(expect)]


def test_results_told_to_a_failed_trial_do_not_make_it_the_best() -> None:
    """A NaN report fails the trial (``nan="fail"``, the default); metrics ``tell`` records
    afterwards, or told with ``"failed"``, are kept but never make the trial the best."""
    s = rung.Study.create("b", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                          scheduler="fifo", max_step=3, budget=rung.Budget(n_trials=3), seed=0)
    a, b = s.ask(), s.ask()
    assert a is not None and b is not None
    s.tell(a.id, "completed", {"loss": 0.5})
    assert s.report(b.id, 1, {"loss": math.nan}).reason == "failed: metric 'loss' is nan at step 1"
    assert s.tell(b.id, "completed", {"loss": 0.01}).status is TrialStatus.FAILED
    c = s.ask()
    assert c is not None
    s.tell(c.id, "failed", {"loss": 0.001})
    assert s.history.score(c.id) == 0.001  # recorded
    best = s.best_trial
    assert best is not None and (best.id, best.value) == (a.id, 0.5)
    assert [t.id for t in s.pareto_front()] == [a.id]
    assert s.summary()["best_trial"] == a.id


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["completed", "stopped"]),
                          st.sampled_from([3, MAX_STEP]), st.sampled_from([0.1, 0.2]),
                          st.sampled_from([0.5, 0.7, 0.9])), min_size=1, max_size=6))
def test_with_two_objectives_a_tie_on_the_first_goes_to_the_next(script: Any) -> None:
    """Trials tied on the first objective: the best is the one best on the next (the earlier
    on a tie there too), so it is never a trial another candidate dominates: on the front.
    (It was the earlier trial: a dominated one when a later trial tied and was better.)"""
    s = rung.Study.create("m", {"x": rung.Float(0.0, 1.0)},
                          objective=[rung.Objective("loss", "min"), rung.Objective("acc", "max")],
                          searcher="random", scheduler="fifo", max_step=MAX_STEP,
                          budget=rung.Budget(n_trials=len(script)), seed=0)
    trials = [s.ask() for _ in script]
    for t, (how, step, loss, acc) in zip(trials, script, strict=True):
        assert t is not None
        if how == "completed":
            s.tell(t.id, "completed", {"loss": loss, "acc": acc}, step=step)
        else:
            s.report(t.id, step, {"loss": loss, "acc": acc})
            s.tell(t.id, "stopped")
    h = s.history
    cands = h.best_candidates()
    expect = min(cands, key=lambda t: (h.values(t), t))
    best = s.best_trial
    assert best is not None and best.id == expect
    assert expect in [t.id for t in s.pareto_front()]
