"""Ray Tune adapters: every result that holds the metric counts, or is refused in one line.
Ray-free (the adapters' hooks are called directly, as Tune's controller calls them)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("ray.tune")

from rung import ConfigError, Float, SearchSpace
from rung.integrations.ray_tune import RungScheduler, RungSearcher


def _tt(trial_id: str) -> Any:  # a stand-in for a Tune Trial
    return SimpleNamespace(trial_id=trial_id)


def test_scheduler_refuses_a_result_without_its_time_attr() -> None:
    """A result with the metric but no ``time_attr`` (a misspelt key) was continued without a
    word, as Ray's ASHA does: the trial was never reported, so never stopped."""
    s = RungScheduler("asha", max_step=9, metric="loss", mode="min", time_attr="epochs")
    s.on_trial_add(None, _tt("a"))
    with pytest.raises(ConfigError) as e:
        s.on_trial_result(None, _tt("a"), {"epoch": 1, "training_iteration": 1, "loss": 0.5})
    assert str(e.value) == (
        "epochs: Tune trial a: a result with 'loss' has no 'epochs' (the step, time_attr) "
        "(did you mean 'epoch'?): report it in every result, or leave "
        "time_attr='training_iteration', which Tune sets")
    # a result without the metric still continues (Tune's own check names the metric)
    assert s.on_trial_result(None, _tt("a"), {"training_iteration": 1}) == "CONTINUE"


def test_searcher_refuses_a_result_without_its_time_attr_and_an_integer_step_0() -> None:
    """RungSearcher read a missing ``time_attr`` as step 0, and skipped any step below 1
    without a word (the scheduler refused an integer 0 already)."""
    s = RungSearcher(SearchSpace({"x": Float(0.0, 1.0)}), "random", metric="loss",
                     mode="min", max_step=9, time_attr="epoch")
    assert s.suggest("a") is not None
    with pytest.raises(ConfigError) as e:
        s.on_trial_result("a", {"training_iteration": 1, "loss": 0.5})
    assert str(e.value) == (
        "epoch: Tune trial a: a result with 'loss' has no 'epoch' (the step, time_attr): "
        "report it in every result, or leave time_attr='training_iteration', which Tune sets")
    with pytest.raises(ConfigError) as e:
        s.on_trial_result("a", {"epoch": 0, "loss": 0.5})
    assert str(e.value) == (
        "epoch: Tune trial a: must be >= 1 (rung counts steps from 1: in a loop over "
        "range(n), report epoch + 1), got 0")
    s.on_trial_result("a", {"epoch": 1, "loss": 0.5})
    with pytest.raises(ConfigError):
        s.on_trial_complete("a", {"training_iteration": 2, "loss": 0.4})
    (trial,) = s.embedded.study.trials()
    assert [(r.step, r.metrics["loss"]) for r in trial.results] == [(1, 0.5)]
    # a time in seconds before 1 s is no step yet: skipped, as by the scheduler
    t = RungSearcher(SearchSpace({"x": Float(0.0, 1.0)}), "random", metric="loss",
                     mode="min", max_step=9, time_attr="time_total_s")
    assert t.suggest("b") is not None
    t.on_trial_result("b", {"time_total_s": 0.4, "loss": 0.5})
    assert t.embedded.study.trials()[0].results == ()


def test_searcher_with_one_step_needs_no_time_attr() -> None:
    s = RungSearcher(SearchSpace({"x": Float(0.0, 1.0)}), "random", metric="loss",
                     mode="min", time_attr="epoch")
    assert s.suggest("a") is not None
    s.on_trial_result("a", {"loss": 0.5})
    s.on_trial_complete("a", {"loss": 0.25})
    (trial,) = s.embedded.study.trials()
    assert [(r.step, r.metrics["loss"]) for r in trial.results] == [(1, 0.25)]


def test_a_failed_tune_trial_is_recorded_failed_with_tunes_error(tmp_path: Any) -> None:
    """``Embedded.end`` took no error: a Tune trial that raised was a failed rung trial with no
    error text (``rung show`` could not say why)."""
    from rung.core.records import TrialStatus

    error_file = tmp_path / "error.txt"
    error_file.write_text("Failure # 1 (occurred at 2026-12-03_15-00-00)\nold\n"
                          "Failure # 2 (occurred at 2026-12-03_15-00-09)\n"
                          "ray.exceptions.RayTaskError(ValueError): boom\n")
    s = RungScheduler("fifo", max_step=9, metric="loss", mode="min")
    failed = SimpleNamespace(trial_id="a", error_file=str(error_file))
    s.on_trial_add(None, failed)
    s.on_trial_result(None, failed, {"training_iteration": 1, "loss": 0.5})
    s.on_trial_error(None, failed)
    s.on_trial_add(None, _tt("b"))
    s.on_trial_error(None, _tt("b"))  # no error file (Tune had no local path)
    a, b = s.embedded.study.trials()
    assert a.status is b.status is TrialStatus.FAILED
    # the last failure, without Tune's "Failure # 2 (occurred at ...)" header
    # (tests/integrations/test_ray_tune_errors.py: a traceback's exception line)
    assert a.error == "ray.exceptions.RayTaskError(ValueError): boom"
    assert b.error == "the Tune trial errored (Tune wrote no error file)"
    assert s.embedded.study.history.count(TrialStatus.FAILED) == 2
    searcher = RungSearcher(SearchSpace({"x": Float(0.0, 1.0)}), "random", metric="loss",
                            mode="min")
    assert searcher.suggest("c") is not None
    searcher.on_trial_complete("c", None, error=True)
    (c,) = searcher.embedded.study.trials()
    assert c.status is TrialStatus.FAILED
    assert c.error == ("the Tune trial errored (Ray Tune tells a searcher no more: its error "
                       "is in the trial's error.txt)")
