"""A scheduler whose first decision step is ``max_step`` itself never stops a trial (a trial
ends there, and the engine makes no decision at ``max_step``), so ``Study.create`` refuses it
as it refuses one past ``max_step``. Before, ``ASHA(min_step=27)`` and
``MedianStoppingRule(min_step=27)`` with ``max_step=27``, and ``median_pruner(
n_warmup_steps=4)`` with 5 steps, were accepted and ran as FIFO (``rungs: []``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rung.study
from rung import ASHA, Budget, ConfigError, Float, MedianStoppingRule, Study
from rung.benchmarks import get_benchmark
from rung.core.records import ComponentSpec
from rung.integrations.optuna import median_pruner

NEVER_RUNG = "no rung would ever decide"
NEVER_RULE = "the rule would never stop a trial"
# median_pruner's rule (rule="optuna") names its argument
WARMUP = (" (with median_pruner(n_warmup_steps=n, first_step=f), min_step is n - f + 1: give "
          "n_warmup_steps at most 3 + first_step)")


@pytest.mark.parametrize(("scheduler", "max_step", "message"), [
    (ASHA(min_step=27), 27, f"scheduler.params.min_step: 27 is max_step, the step a trial "
                            f"ends at: {NEVER_RUNG}"),
    (ComponentSpec("async_hyperband", {"min_step": 9}), 9,
     f"scheduler.params.min_step: 9 is max_step, the step a trial ends at: {NEVER_RUNG}"),
    (ComponentSpec("mo_asha", {"min_step": 9}), 9,
     f"scheduler.params.min_step: 9 is max_step, the step a trial ends at: {NEVER_RUNG}"),
    (ComponentSpec("curve", {"min_step": 9}), 9,
     f"scheduler.params.min_step: 9 is max_step, the step a trial ends at: {NEVER_RUNG}"),
    (MedianStoppingRule(min_step=27), 27,
     f"scheduler.params.min_step: 27 is max_step, the step a trial ends at: {NEVER_RULE}"),
    (median_pruner(n_warmup_steps=4), 5,
     f"scheduler.params.min_step: 5 is max_step, the step a trial ends at: {NEVER_RULE}"
     f"{WARMUP}"),
])
def test_a_first_decision_at_max_step_is_refused(
        tmp_path: Path, scheduler: Any, max_step: int, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        Study.create("s", {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                     scheduler=scheduler, max_step=max_step, budget=Budget(n_trials=4),
                     storage=tmp_path / "j.db")
    assert str(e.value) == message
    assert not (tmp_path / "j.db").exists()


def _stopped(scheduler: Any, max_step: int) -> int:
    bench = get_benchmark("mf-branin")
    study = Study.create("b", bench.space, objective=bench.metric, mode=bench.mode,
                         searcher="random", scheduler=scheduler, max_step=max_step,
                         budget=Budget(n_trials=30), seed=0)
    study.simulate(bench, n_workers=3)
    return len(study.trials("stopped"))


@pytest.mark.parametrize("make", [
    lambda r: ASHA(min_step=r),
    lambda r: MedianStoppingRule(min_step=r),
    lambda r: MedianStoppingRule(min_step=r, rule="optuna", min_trials=1),
])
def test_one_step_before_max_step_decides_and_at_it_nothing_does(
        monkeypatch: pytest.MonkeyPatch, make: Any) -> None:
    """The boundary, measured: a first decision step of ``max_step - 1`` stops trials; at
    ``max_step`` (the check bypassed) every trial runs to the end, as FIFO. A one-step study
    keeps the defaults (first step 1): nothing can be stopped early there by any scheduler."""
    assert Study.create("one", {"x": Float(0.0, 1.0)}, "loss", scheduler=make(1)).spec.max_step == 1
    assert _stopped(make(8), 9) > 0
    with pytest.raises(ConfigError):
        Study.create("r", {"x": Float(0.0, 1.0)}, "loss", scheduler=make(9), max_step=9)
    monkeypatch.setattr(rung.study, "check_first_rung", lambda spec: None)
    assert _stopped(make(9), 9) == 0


def test_rung_pruner_refuses_it_when_made() -> None:
    """Inside Optuna the study behind ``RungPruner`` is made at the first ``should_prune``:
    the pruner checks its scheduler when it is made, not inside ``study.optimize``."""
    pytest.importorskip("optuna")
    from rung.integrations.optuna_sampler import RungPruner

    with pytest.raises(ConfigError) as e:
        RungPruner(median_pruner(n_warmup_steps=4), max_step=5)
    assert str(e.value) == (f"scheduler.params.min_step: 5 is max_step, the step a trial "
                            f"ends at: {NEVER_RULE}{WARMUP}")
    with pytest.raises(ConfigError) as e:
        RungPruner(ASHA(min_step=30), max_step=27)
    assert str(e.value) == f"scheduler.params.min_step: 30 is above max_step (27): {NEVER_RUNG}"
    assert RungPruner(median_pruner(n_warmup_steps=3), max_step=5).max_step == 5
    assert RungPruner().max_step == 1  # the defaults: a one-step study
