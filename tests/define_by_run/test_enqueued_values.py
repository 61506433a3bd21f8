"""An enqueued value (``points_to_evaluate``, ``Study.enqueue``) that the distribution its
``suggest_*`` call declares does not contain fails that trial, naming the parameter and the
value, and the search goes on; the trial's record holds what it ran with. Before, the whole
``rung.optimize`` run stopped with a ``ConfigError`` after 2 of 10 trials (trial 2 left
``launched``), and trial 1 was recorded with ``x = 5`` though it ran with a draw and reported
a loss."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.core.events import ParamsUsed
from rung.core.records import TrialStatus
from rung.core.rng import derive_rng
from rung.dbr import Trial
from rung.errors import ConfigError
from rung.space import Float


def x_itself(trial: Trial) -> float:
    return trial.suggest_float("x", 0, 1)


def test_an_enqueued_number_outside_its_calls_range_fails_its_trial_only(
    tmp_path: Path,
) -> None:
    study = rung.optimize(x_itself, n_trials=10, n_workers=1, storage=tmp_path / "j.db",
                          points_to_evaluate=[{"x": 0.5}, {"x": 5}, {"x": 0.2}],
                          start_method="fork", progress=False)
    trials = study.trials()
    assert len(trials) == 10
    assert [t.status for t in trials] == [TrialStatus.COMPLETED] + [TrialStatus.FAILED] + \
        [TrialStatus.COMPLETED] * 8
    drawn = Float(0, 1)._bind("x").sample(derive_rng(0, "define-by-run", 1, "x"))
    assert trials[1].error == (
        f"EnqueuedValueError: x: the enqueued value 5 does not fit the distribution declared "
        f"for it here, float(low=0.0, high=1.0): the trial ran with a draw from it instead, "
        f"x={drawn!r}, and fails (an enqueued value must fit its call)")
    # the record is what the trial ran with (its report), not the value it was given
    (report,) = [r for r in study.journal.read(study.name)
                 if isinstance(r, ParamsUsed) and r.trial_id == 1]
    assert dict(trials[1].params) == dict(report.params) == {"x": drawn}
    assert dict(trials[2].params) == {"x": 0.2}
    study.close()


def opt_only(trial: Trial) -> float:
    return 0.0 if trial.suggest_categorical("opt", ["adam", "sgd"]) == "adam" else 1.0


def test_an_enqueued_choice_the_call_does_not_declare_fails_its_trial_only() -> None:
    study = rung.optimize(opt_only, n_trials=3, searcher="random", n_workers=1,
                          points_to_evaluate=[{"opt": "nadam"}], start_method="fork",
                          progress=False)
    first, *rest = study.trials()
    assert first.status is TrialStatus.FAILED and dict(first.params) == {}
    assert first.error is not None and first.error.splitlines()[-1] == (
        "rung.dbr.trial.EnqueuedValueError: opt: the value given for it ('nadam' is not one "
        "of ['adam', 'sgd']) does not fit the distribution declared here")
    assert [t.status for t in rest] == [TrialStatus.COMPLETED] * 2
    study.close()


def other_choices_later(trial: Trial) -> float:
    """An objective whose choices changed: the searcher's proposal no longer fits."""
    choices = ["a", "b"] if trial.id == 0 else ["c", "d"]
    return 0.0 if trial.suggest_categorical("c", choices) in ("a", "c") else 1.0


def test_a_changed_declaration_still_stops_the_run() -> None:
    """The misfit is the searcher's proposal, not an enqueued value: the declaration the
    call made reaches the driver, which calls it the conflict it is."""
    with pytest.raises(ConfigError) as e:
        rung.optimize(other_choices_later, n_trials=5, searcher="random", n_workers=1,
                      start_method="fork", progress=False)
    assert str(e.value) == (
        "c: declared as categorical(choices=['a', 'b']) before, now as categorical(choices="
        "['c', 'd']): a parameter keeps its choices (only its bounds and step may change from "
        "call to call) (trial 1)")
