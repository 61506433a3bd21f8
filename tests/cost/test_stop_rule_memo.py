"""The stop rule refits its GPs only when the points they model change: a check whose results
at the modelled step are those of the last check (under ASHA, most runs end at a lower rung)
reuses the last fit, and its evidence is exactly a fresh rule's."""

from __future__ import annotations

from typing import Any

import pytest

import rung
from rung.core.components import BindContext
from rung.cost import stop_rule
from rung.searchers import _gp


def _study() -> rung.Study:
    study = rung.Study.create("m", {"x": rung.Float(0.0, 1.0), "y": rung.Float(0.0, 1.0)},
                              objective="loss", searcher="random", scheduler="fifo",
                              budget=rung.Budget(n_trials=40), seed=5)
    while (t := study.ask()) is not None:
        p = t.params
        study.tell(t.id, "completed", {"loss": (p["x"] - 0.3) ** 2 + 0.5 * p["y"]})
    return study


def _rule(study: rung.Study) -> stop_rule.StopRule:
    rule = stop_rule.StopRule(min_trials=10)
    spec = study.spec
    rule.bind(BindContext(spec.space, spec.objective, spec.max_step, spec.seed))
    return rule


def test_the_same_points_are_not_fitted_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    study = _study()
    h = study.engine.history
    fits: list[int] = []
    real = _gp.GP.fit

    def counted(self: Any, *a: Any, **k: Any) -> Any:
        fits.append(self.Z.shape[0])
        return real(self, *a, **k)

    monkeypatch.setattr(_gp.GP, "fit", counted)
    rule = _rule(study)
    first = stop_rule.evidence(h, 1, rule)
    assert fits == [40, 20]  # measured noise on every point, the bound on the best half
    again = stop_rule.evidence(h, 1, rule)
    assert fits == [40, 20]  # nothing refitted
    assert again == first
    fresh = stop_rule.evidence(h, 1, _rule(study))
    assert fresh == first  # bit for bit a rule that never saw the points
    assert fits == [40, 20, 40, 20]
    # a 41st result: the noise model (every point) changes and is refitted; the bound's (the
    # best half, 20 points) does not, the new result not being among them
    other = rung.Study.create("m2", study.spec.space, objective="loss", searcher="random",
                              scheduler="fifo", budget=rung.Budget(n_trials=41), seed=5)
    while (trial := other.ask()) is not None:
        p = trial.params
        other.tell(trial.id, "completed", {"loss": (p["x"] - 0.3) ** 2 + 0.5 * p["y"]})
    h41 = other.engine.history
    assert sorted(s for s, _ in h41.at_step(1))[19] < h41.trial(40).score
    assert stop_rule.evidence(h41, 1, rule) == stop_rule.evidence(h41, 1, _rule(other))
    assert fits == [40, 20, 40, 20, 41, 41, 20]


def test_curve_jitter_computes_each_ended_trial_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from rung.cost import stop_evidence

    study = rung.Study.create("j", {"x": rung.Float(0.0, 1.0)}, objective="loss",
                              searcher="random", scheduler="fifo", max_step=12,
                              budget=rung.Budget(n_trials=6), seed=3)
    while (t := study.ask()) is not None:
        for step in range(1, 13):  # a curve with jitter
            study.report(t.id, step, {"loss": t.params["x"] + 1.0 / step
                                      + 0.01 * ((step * 7 + t.id) % 3)})
        study.tell(t.id, "completed")
    h = study.engine.history
    plain = stop_evidence.curve_jitter(h, 10)
    assert plain > 0
    cache: dict[int, float | None] = {}
    assert stop_evidence.curve_jitter(h, 10, cache) == plain
    assert sorted(cache) == list(range(6))
    calls: list[int] = []
    real = stop_evidence._jitter
    monkeypatch.setattr(stop_evidence, "_jitter",
                        lambda h, tid, tail: calls.append(tid) or real(h, tid, tail))
    assert stop_evidence.curve_jitter(h, 10, cache) == plain
    assert calls == []  # every ended trial's value came from the cache
