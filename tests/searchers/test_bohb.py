"""BOHB's model (Falkner, Klein and Hutter 2018, section 3.2): fitted on the observations at
the largest step with enough of them for both densities, and on nothing else."""

from __future__ import annotations

import numpy as np
from searcher_helpers import BRANIN_SPACE, branin, make_study

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
    from rung.searchers._common import model_step

    h = study.engine.history
    assert model_step(h, 2 * 2) == 3
    assert study.engine.searcher.version == 2
