"""BOHB's model (Falkner, Klein and Hutter 2018, section 3.2): fitted on the observations at
the largest step with enough of them for both densities, and on nothing else."""

from __future__ import annotations

import numpy as np
from searcher_helpers import BRANIN_SPACE, branin, make_study

import rung
from rung.core.components import SuggestRequest


def _study(max_step: int = 9):  # type: ignore[no-untyped-def]
    s = make_study({"name": "bohb", "params": {"random_fraction": 0.0, "min_points": 2}},
                   BRANIN_SPACE, seed=1, max_step=max_step)
    return s


def _suggest(study) -> dict:  # type: ignore[no-untyped-def]
    h = study.engine.history
    req = SuggestRequest(10_000, len(h), h, np.random.default_rng(0))
    return dict(study.engine.searcher.suggest(req))


def _full(study, n: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(n):
        t = study.ask()
        for step in range(1, 10):
            study.report(t.id, step, {"loss": branin(t.params) + 1.0 / step})
        study.tell(t.id, "completed", {"loss": branin(t.params)})


def test_pending_and_stopped_trials_do_not_enter_the_model() -> None:
    study = _study()
    _full(study, 8)
    before = _suggest(study)
    for _ in range(10):  # pending trials (version 1 added them to "bad")
        study.ask()
    assert _suggest(study) == before
    for _ in range(10):  # trials stopped below the modelled step (version 1: "bad" too)
        t = study.ask()
        study.report(t.id, 1, {"loss": 500.0})
        study.tell(t.id, "stopped")
    assert _suggest(study) == before


def test_the_model_step_needs_both_groups_full() -> None:
    """2 * min_points observations at a step (4 here): with 3 at the top step the model uses
    the step below it that has enough."""
    study = _study()
    _full(study, 3)
    for _ in range(5):  # 5 trials that reached step 3 only
        t = study.ask()
        for step in (1, 2, 3):
            study.report(t.id, step, {"loss": branin(t.params) + 1.0 / step})
        study.tell(t.id, "stopped")
    h = study.engine.history
    at3 = sorted((score, tid) for score, tid in h.at_step(3))
    assert len(at3) == 8 and h.n_at_step(9) == 3
    good, bad = study.engine.searcher._split(h)
    assert good == [tid for _, tid in at3[:2]]
    assert bad == [tid for _, tid in at3[2:]]
    assert study.engine.searcher.version == 8


def _at(study, values: list[float], last: int = 9, below: dict[int, float] | None = None):  # type: ignore[no-untyped-def]
    """One trial per value, each reporting ``value`` at ``last`` (and ``below[step]`` at the
    steps before it, default ``value``); returns the trial ids."""
    ids = []
    for v in values:
        t = study.ask()
        for step in range(1, last + 1):
            study.report(t.id, step, {"loss": v if step == last else (below or {}).get(step, v)})
        study.tell(t.id, "completed", {"loss": v})
        ids.append(t.id)
    return ids


def test_results_tied_with_the_worst_good_one_are_all_good() -> None:
    """min_points 2, 8 results: "good" is 2 results by rank, but 3 tie for best; all three are
    good (version 2 took the two lower trial ids), the rest is bad."""
    study = _study()
    ids = _at(study, [5.0, 1.0, 3.0, 1.0, 6.0, 1.0, 4.0, 2.0])
    split = study.engine.searcher._split(study.engine.history)
    assert split is not None
    good, bad = split
    assert good == [ids[1], ids[3], ids[5]]
    assert bad == [ids[7], ids[2], ids[6], ids[0], ids[4]]


def test_a_step_where_every_result_ties_has_no_model_and_the_step_below_is_used() -> None:
    """At step 9 all 8 results tie (no split is defined); at step 8 they differ: the model is
    fitted there (the best two are good)."""
    study = _study()
    below = [{8: float(v)} for v in (7, 3, 5, 1, 8, 2, 6, 4)]
    ids = [_at(study, [0.5], below=b)[0] for b in below]
    good, bad = study.engine.searcher._split(study.engine.history)
    assert good == [ids[3], ids[5]]
    assert bad == [ids[1], ids[7], ids[2], ids[6], ids[0], ids[4]]


def test_every_result_tied_everywhere_means_random_sampling() -> None:
    study = _study()
    _at(study, [1.0] * 10)
    assert study.engine.searcher._split(study.engine.history) is None


GRID_SPACE = {"a": rung.Int(0, 4), "b": rung.Int(0, 4)}


def test_no_configuration_is_proposed_twice() -> None:
    """On a 25-point grid with 12 configurations tried (stopped at step 1 or run to step 9),
    the model's proposals are never one of them: the best candidate already tried is skipped
    (version 2 proposed the best tried point again, a repeat that adds no information)."""
    study = make_study({"name": "bohb", "params": {"random_fraction": 0.0, "min_points": 2}},
                       GRID_SPACE, seed=3, max_step=9)
    tried = []
    for i in range(12):
        t = study.ask()
        loss = (t.params["a"] - 2) ** 2 + (t.params["b"] - 2) ** 2 + 0.01 * i
        last = 9 if i % 2 == 0 else 1
        for step in range(1, last + 1):
            study.report(t.id, step, {"loss": loss})
        study.tell(t.id, "completed" if last == 9 else "stopped", {"loss": loss})
        tried.append((t.params["a"], t.params["b"]))
    h = study.engine.history
    seen = set()
    for seed in range(40):
        req = SuggestRequest(10_000, len(h), h, np.random.default_rng(seed))
        p = study.engine.searcher.suggest(req)
        assert p is not None
        seen.add((p["a"], p["b"]))
    assert not seen & set(tried)
    assert len(seen) > 1


def _bohb(**kw):  # type: ignore[no-untyped-def]
    return rung.Study.create(
        "t", BRANIN_SPACE, searcher={"name": "bohb", "params": {"min_points": 2}},
        budget=rung.Budget(n_trials=100), storage=rung.storage.MemoryJournal(), **kw)


def _tell(study, metrics: list[dict]) -> list[int]:  # type: ignore[no-untyped-def]
    ids = []
    for m in metrics:
        t = study.ask()
        study.tell(t.id, "completed", m)
        ids.append(t.id)
    return ids


def test_constraints_rank_feasible_results_first_then_by_violation() -> None:
    """The lowest losses are infeasible: "good" is the two feasible trials (version 3 ranked
    by loss alone and took trials 0 and 1, ignoring the constraint)."""
    study = _bohb(constraints=[rung.Constraint("mem", "<=", 1.0)])
    ids = _tell(study, [{"loss": 0.1, "mem": 3.0}, {"loss": 0.2, "mem": 1.5},
                        {"loss": 0.9, "mem": 1.0}, {"loss": 0.5, "mem": 0.0},
                        {"loss": 0.3, "mem": 2.0}, {"loss": 0.4, "mem": 5.0}])
    split = study.engine.searcher._split(study.engine.history)
    assert split is not None
    good, bad = split
    assert good == [ids[3], ids[2]]
    assert bad == [ids[1], ids[4], ids[0], ids[5]]


def test_several_objectives_rank_by_front_then_hypervolume_contribution() -> None:
    """a (min) and b (max): trials 0-4 are the non-dominated front (5 is dominated by 2 and
    3); their exclusive hypervolumes (reference a 1.1, b -0.95) are 0.0475, 0.015, 1.47, 1.6
    and 0.1: trials 3 and 2 are good (version 3 ranked by 'a' alone: trials 0 and 1)."""
    study = _bohb(objective=["a", {"metric": "b", "mode": "max"}])
    ids = _tell(study, [{"a": 0.0, "b": 0.0}, {"a": 0.1, "b": 0.1}, {"a": 0.2, "b": 5.0},
                        {"a": 0.5, "b": 9.0}, {"a": 0.9, "b": 9.5}, {"a": 1.0, "b": 1.0}])
    split = study.engine.searcher._split(study.engine.history)
    assert split is not None
    good, bad = split
    assert good == [ids[3], ids[2]]
    assert bad == [ids[4], ids[0], ids[1], ids[5]]
