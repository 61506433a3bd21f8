"""An int too large for a float (``10**400``) as a metric is a non-finite number wherever
metrics enter: a reported or returned one fails its trial as ``inf`` does (the search goes
on), ``Study.tell`` / ``report`` refuse it naming the metric, and a journal that already holds
one replays without an ``OverflowError``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rung
from rung.core.events import ResultReported
from rung.core.metric_value import as_float, metric_problem
from rung.core.records import Objective, TrialStatus
from rung.errors import ConfigError
from rung.executors.report_input import needs_plain, plain_metrics

HUGE = 10**400


def reports_huge(ctx: rung.TrialContext) -> None:
    ctx.report(1, loss=HUGE if ctx.trial_id == 0 else ctx.params["x"])


def returns_huge(ctx: rung.TrialContext) -> Any:
    return -HUGE if ctx.trial_id == 0 else ctx.params["x"]


def test_scored_and_judged_as_the_infinity_it_converts_to() -> None:
    assert as_float(HUGE) == float("inf") and as_float(-HUGE) == float("-inf")
    assert Objective("loss").score({"loss": HUGE}) == float("inf")
    assert Objective("loss", "max").score({"loss": -HUGE}) == float("inf")
    assert metric_problem("loss", HUGE) == "metric 'loss' is inf"
    assert metric_problem("loss", -HUGE) == "metric 'loss' is -inf"
    assert Objective("loss").problem({"loss": 2**1023}) is None  # a float holds it


def test_reports_make_it_the_infinity_of_its_sign() -> None:
    assert needs_plain({"loss": HUGE}) and not needs_plain({"loss": 10**300})
    assert plain_metrics({"loss": HUGE, "n": -HUGE, "k": 3}) == {
        "loss": float("inf"), "n": float("-inf"), "k": 3}


@pytest.mark.parametrize(("objective", "error"), [
    (reports_huge, "metric 'loss' is inf at step 1"),
    (returns_huge, "metric 'loss' is -inf at step 1"),
])
def test_a_reported_or_returned_one_fails_its_trial_and_the_search_goes_on(
        tmp_path: Path, objective: Any, error: str) -> None:
    study = rung.Study.create("h", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                              scheduler="fifo", max_step=1, budget=rung.Budget(n_trials=3),
                              storage=tmp_path / "h.db", seed=0)
    study.run(objective, n_workers=1, start_method="fork", progress=False)
    statuses = [(t.id, t.status, t.error) for t in study.trials()]
    assert statuses == [(0, TrialStatus.FAILED, error), (1, TrialStatus.COMPLETED, None),
                        (2, TrialStatus.COMPLETED, None)]
    study.close()
    again = rung.Study.load("h", tmp_path / "h.db")  # replays; resume would too
    assert again.trial(0).error == error and again.best_trial is not None
    again.close()


@pytest.mark.parametrize("how", ["tell", "report"])
def test_tell_and_report_refuse_it_naming_the_metric(how: str) -> None:
    study = rung.Study.create("t", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                              scheduler="fifo", max_step=2, budget=rung.Budget(n_trials=2))
    t = study.ask()
    assert t is not None
    with pytest.raises(ConfigError) as e:
        if how == "tell":
            study.tell(t.id, "completed", {"loss": HUGE})
        else:
            study.report(t.id, 1, {"loss": HUGE})
    assert str(e.value) == ("metrics['loss']: must be a real number a float can hold (the "
                            "objective's metric), got an int of 401 digits")
    assert study.trial(t.id).status is TrialStatus.RUNNING and not study.trial(t.id).results


def test_a_journal_holding_one_replays(tmp_path: Path) -> None:
    """Written as a study before the check wrote it (the event straight to the engine)."""
    study = rung.Study.create("old", {"x": rung.Float(0.0, 1.0)},
                              rung.Objective("loss", nan="worst"), searcher="random",
                              scheduler="fifo", max_step=1, budget=rung.Budget(n_trials=3),
                              storage=tmp_path / "old.db")
    a, b = study.ask(), study.ask()
    assert a is not None and b is not None
    study._turn([ResultReported(a.id, 1, {"loss": HUGE, "n": HUGE}, study._now())])
    study.tell(a.id, "completed")
    study.tell(b.id, "completed", {"loss": 0.25})
    study.close()
    again = rung.Study.load("old", tmp_path / "old.db")
    assert again.trial(a.id).score == float("inf") and again.trial(a.id).value is None
    assert again.best_trial is not None and again.best_trial.id == b.id
    again.close()
