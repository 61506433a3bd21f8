"""TPE, MOTPE, BOHB and GP rank observations at a step with the ranking rule of
``rung.core.constraints``: a constraint's metric not reported by the step is unknown there and
counts as holding; a reported value is read at or before the step.

Before: a missing metric was infinitely violated, so at a step below the one that reported
it every observation was "infeasible": TPE ranked a trial that had reported an infeasible
value *before* those that had reported none (40 < inf), MOTPE and BOHB ranked by trial id,
and the GP's acquisition was a flat probability of feasibility."""

from __future__ import annotations

from typing import Any

import numpy as np

import rung
from rung.searchers._common import gather
from rung.searchers.bohb import rank_keys
from rung.storage import MemoryJournal

LOSSES = [0.6, 0.2, 0.9, 0.4, 0.1, 0.7]


def _study(searcher: Any, objective: Any = "loss", constraints: Any = ("lat <= 10",),
           ) -> rung.Study:
    return rung.Study.create("s", {"x": rung.Float(0.0, 1.0), "y": rung.Float(0.0, 1.0)},
                             objective=objective, constraints=list(constraints),
                             searcher=searcher, scheduler="fifo", max_step=5,
                             budget={"n_trials": 50}, seed=3, storage=MemoryJournal())


def _stopped_at(study: rung.Study, step: int, rows: list[dict[str, float]]) -> list[int]:
    """One trial per row: reports ``row`` at steps 1..``step``, then is stopped there."""
    ids = []
    for row in rows:
        t = study.ask()
        assert t is not None
        for s in range(1, step + 1):
            study.report(t.id, s, row)
        study.tell(t.id, "stopped")
        ids.append(t.id)
    return ids


def test_tpe_ranks_unreported_constraints_as_holding() -> None:
    s = _study(rung.TPESearcher(n_initial=0))
    rows: list[dict[str, float]] = [{"loss": x} for x in LOSSES]
    rows[4] = {"loss": 0.1, "lat": 50.0}  # the best loss, infeasible
    ids = _stopped_at(s, 1, rows)
    h = s.history
    searcher: Any = s.engine.searcher
    ranked = searcher._rank(h, gather(h, 1))
    assert ranked == [ids[1], ids[3], ids[0], ids[5], ids[2], ids[4]]


def test_motpe_ranks_by_front_when_no_constraint_is_reported() -> None:
    s = _study(rung.TPESearcher(n_initial=0), objective=["loss", {"metric": "acc",
                                                               "mode": "max"}])
    rows = [{"loss": x, "acc": a} for x, a in
            [(0.6, 0.5), (0.2, 0.9), (0.9, 0.1), (0.4, 0.95), (0.1, 0.2), (0.7, 0.3)]]
    ids = _stopped_at(s, 2, rows)
    h = s.history
    searcher: Any = s.engine.searcher
    ranked = searcher._rank(h, gather(h, 2))
    # front 0: trials 1, 3, 4; front 1: trial 0, 5; front 2: trial 2 (ties by id)
    assert ranked == [ids[1], ids[3], ids[4], ids[0], ids[5], ids[2]]


def test_bohb_keys_count_unreported_constraints_as_holding() -> None:
    s = _study(rung.BOHBSearcher())
    rows: list[dict[str, float]] = [{"loss": x} for x in LOSSES]
    rows[2] = {"loss": 0.9, "lat": 12.0}
    _stopped_at(s, 1, rows)
    keys = rank_keys(s.history, gather(s.history, 1))
    assert keys.tolist() == [[0.0, y] for y in LOSSES[:2]] + [[2.0, 0.9]] + [
        [0.0, y] for y in LOSSES[3:]]


def test_gp_constraint_targets_leave_unknown_slacks_out() -> None:
    from rung.searchers._gp_data import constraint_targets

    s = _study(rung.GPSearcher(n_initial=0))
    rows: list[dict[str, float]] = [{"loss": x} for x in LOSSES]
    rows[1] = {"loss": 0.2, "lat": 4.0}
    ids = _stopped_at(s, 2, rows)
    feasible, targets = constraint_targets(s.history, 2, ids)
    assert feasible.tolist() == [True] * 6
    assert targets == []  # one known slack: no GP for the constraint
    rows = [{"loss": 0.3, "lat": 16.0}, {"loss": 0.8}]
    ids += _stopped_at(s, 2, rows)
    feasible, targets = constraint_targets(s.history, 2, ids)
    assert feasible.tolist() == [True] * 6 + [False, True]
    [(c, rows_known, sc, thr)] = targets
    assert c == 0 and rows_known.tolist() == [1, 6]
    assert sc.tolist() == [-1.0, 1.0] and thr == 0.0  # slacks -6 and 6, standardized


def test_gp_proposes_as_without_constraints_while_none_is_reported() -> None:
    """At the modelled step no trial has reported 'lat': the constrained study's proposal is
    the unconstrained one's (before: a flat probability of feasibility replaced LogEI)."""
    proposals = []
    for constraints in (("lat <= 10",), ()):
        s = _study(rung.GPSearcher(n_initial=4), constraints=constraints)
        _stopped_at(s, 2, [{"loss": x} for x in LOSSES])
        t = s.ask()
        assert t is not None
        proposals.append(t.params)
    assert proposals[0] == proposals[1]
    assert np.isfinite(list(proposals[0].values())).all()
