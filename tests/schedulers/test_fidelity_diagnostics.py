"""Fidelity diagnostics: Spearman, incremental pairs, Study.diagnostics(), the guard rule."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from random_world import SmallBench
from scipy.stats import spearmanr

import rung
from rung import ASHA, Budget, Float, SearchSpace, Study
from rung.analysis import default_steps, diagnose, fidelity_steps
from rung.schedulers import AsyncHyperband, Hyperband
from rung.schedulers._guard import FidelityGuard, PairTracker, spearman


def test_spearman_matches_scipy_including_ties_and_infinities() -> None:
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(2, 40))
        x = rng.integers(0, 6, n).astype(float)
        y = x + rng.integers(0, 4, n)
        if rng.random() < 0.3:
            x[0] = math.inf
            y[-1] = math.inf
        ours, ref = spearman(x, y), spearmanr(x, y)[0]
        assert (math.isnan(ours) and math.isnan(ref)) or ours == pytest.approx(ref, abs=1e-12)
    assert math.isnan(spearman([1.0], [2.0]))
    assert math.isnan(spearman([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))


class _Scores:
    """The one History read the tracker needs."""

    def __init__(self) -> None:
        self.s: dict[int, dict[int, float]] = {}

    def scores(self, tid: int) -> dict[int, float]:
        return self.s.setdefault(tid, {})


def test_pair_tracker_adds_and_replaces_pairs() -> None:
    h = _Scores()
    t = PairTracker([1, 3, 9])
    for tid in range(5):
        h.scores(tid)[1] = float(tid)
        assert t.observe(tid, 1, float(tid), h) is None  # type: ignore[arg-type]
        h.scores(tid)[3] = float(-tid)
        assert t.observe(tid, 3, float(-tid), h) == 0  # type: ignore[arg-type]
    assert t.n_pairs(0) == 5 and t.spearman(0) == pytest.approx(-1.0)
    assert t.observe(0, 2, 0.0, h) is None  # type: ignore[arg-type]  # not a fidelity step
    h.scores(0)[3] = -10.0
    t.observe(0, 3, -10.0, h)  # a re-report replaces the trial's pair
    assert t.n_pairs(0) == 5 and t.spearman(0) == pytest.approx(0.0)
    assert t.n_pairs(1) == 0 and math.isnan(t.spearman(1))


def test_guard_checks_on_a_geometric_schedule_and_never_goes_down() -> None:
    h = _Scores()
    g = FidelityGuard([1, 3, 9], threshold=0.6, min_pairs=10)
    checks = []
    for tid in range(40):
        h.scores(tid)[1] = float(tid)
        h.scores(tid)[3] = float(tid if tid < 30 else -tid)  # agreement, then disagreement
        raised = g.observe(tid, 3, h.scores(tid)[3], h)  # type: ignore[arg-type]
        checks.append(raised)
    assert g.level == 1 and sum(checks) == 1 and g.min_step == 3
    assert g.raises[0]["from_step"] == 1 and g.raises[0]["spearman"] < 0.6
    # later agreement at (1, 3) cannot lower it; only pair (3, 9) matters now
    for tid in range(40, 80):
        h.scores(tid)[1] = float(tid)
        h.scores(tid)[3] = float(tid)
        g.observe(tid, 3, float(tid), h)  # type: ignore[arg-type]
    assert g.level == 1


def test_a_low_pair_higher_up_raises_the_level_above_it() -> None:
    h = _Scores()
    g = FidelityGuard([1, 3, 9, 27])
    for tid in range(12):  # (1, 3) agree, (3, 9) disagree
        h.scores(tid).update({1: float(tid), 3: float(tid), 9: float(-tid)})
        g.observe(tid, 3, float(tid), h)  # type: ignore[arg-type]
        g.observe(tid, 9, float(-tid), h)  # type: ignore[arg-type]
    assert g.level == 2 and g.min_step == 9
    assert [r["from_step"] for r in g.raises] == [3]


def test_fidelity_steps_follow_the_scheduler() -> None:
    assert default_steps(27) == [1, 3, 9, 27]
    assert default_steps(10) == [1, 3, 9, 10]
    a = ASHA(3, 2)
    s = Study.create("a", SearchSpace({"x": Float(0, 1)}), "loss", scheduler=a, max_step=20)
    assert fidelity_steps(s.engine.scheduler, 20) == [2, 6, 18, 20]
    hb = Study.create("h", SearchSpace({"x": Float(0, 1)}), "loss", scheduler=Hyperband(3),
                      max_step=27)
    assert fidelity_steps(hb.engine.scheduler, 27) == [1, 3, 9, 27]
    ahb = Study.create("b", SearchSpace({"x": Float(0, 1)}), "loss",
                       scheduler=AsyncHyperband(3), max_step=27)
    assert fidelity_steps(ahb.engine.scheduler, 27) == [1, 3, 9, 27]
    fifo = Study.create("f", SearchSpace({"x": Float(0, 1)}), "loss", scheduler="fifo",
                        max_step=27)
    assert fidelity_steps(fifo.engine.scheduler, 27) == [1, 3, 9, 27]


class _Reversed:
    """Low fidelities rank configurations in the reverse order of the top one."""

    def __init__(self, max_step: int) -> None:
        self.max_step = max_step
        self.space = SearchSpace({"x": Float(0.0, 1.0)})

    def evaluate(self, params: dict, step: int) -> tuple[dict[str, float], float]:
        x = float(params["x"])
        return {"loss": x if step == self.max_step else -x + 0.001 * step}, 1.0


def test_study_diagnostics_warns_on_low_correlation(caplog: pytest.LogCaptureFixture) -> None:
    s = Study.create("d", _Reversed(9).space, "loss", scheduler="fifo", max_step=9,
                     budget=Budget(n_trials=30))
    s.simulate(_Reversed(9), n_workers=4)
    with caplog.at_level(logging.WARNING, logger="rung.diagnostics"):
        d = s.diagnostics()
    assert [(p.low_step, p.high_step) for p in d.pairs] == [(1, 3), (3, 9)]
    p13, p39 = d.pairs
    assert p13.n_pairs == 30 and p13.spearman == pytest.approx(1.0) and not p13.low
    assert p39.spearman == pytest.approx(-1.0) and p39.low
    assert d.low and len(d.warnings) == 1 and "between steps 3 and 9" in d.warnings[0]
    assert "between steps 3 and 9" in caplog.text
    j = d.to_json()
    assert j["pairs"][1]["low"] is True and j["guard"] is None


def test_few_pairs_are_not_flagged() -> None:
    s = Study.create("d", _Reversed(9).space, "loss", searcher="random", scheduler="fifo",
                     max_step=9, budget=Budget(n_trials=9))
    s.simulate(_Reversed(9), n_workers=2)
    d = s.diagnostics(emit=False)
    assert d.pairs[1].n_pairs == 9 and d.pairs[1].spearman == pytest.approx(-1.0)
    assert not d.low and d.warnings == ()


def test_guard_on_a_misleading_problem_turns_asha_into_fifo_and_replays() -> None:
    bench = _Reversed(9)
    # 120 trials: the guard needs 10 trials to pass both rungs before it can judge step 3
    # against step 9, and only the top floor(n/3) of each rung pass
    plain = Study.create("p", bench.space, "loss", searcher="random", scheduler=ASHA(3),
                         max_step=9,
                         budget=Budget(n_trials=120), seed=1).simulate(bench, n_workers=4)
    guarded = Study.create("g", bench.space, "loss", searcher="random",
                           scheduler=ASHA(3, guard=True), max_step=9,
                           budget=Budget(n_trials=120), seed=1).simulate(bench, n_workers=4)
    g = guarded.engine.scheduler.state()["guard"]
    assert g["level"] == 2 and g["min_step"] == 9  # both rungs skipped
    assert guarded.diagnostics(emit=False).guard == g
    # plain ASHA keeps the trials that look best early, which are the worst at the end
    assert guarded.best_value() < plain.best_value()  # type: ignore[operator]
    again = rung.Study.load("g", guarded.journal)
    assert again.engine.scheduler.state() == guarded.engine.scheduler.state()


def test_diagnose_on_a_plain_history() -> None:
    s = Study.create("x", SmallBench(9).space, "loss", searcher="random", scheduler="fifo",
                     max_step=9, budget=Budget(n_trials=20))
    s.simulate(SmallBench(9), n_workers=3)
    d = diagnose(s.history, [1, 3, 9], emit=False)
    assert [p.n_pairs for p in d.pairs] == [20, 20]
    assert all(-1.0 <= p.spearman <= 1.0 for p in d.pairs)
