"""Optuna's and Ray Tune's names on a rung ``Study`` or ``Trial`` raise an ``AttributeError``
naming rung's equivalent, as the define-by-run ``Trial`` does for ``suggest_uniform``. Before,
``study.best_params`` and ``study.best_trial.number`` raised bare AttributeErrors."""

from __future__ import annotations

from typing import Any

import pytest

import rung
from rung.core.peer_names import STUDY, TRIAL


@pytest.fixture
def study() -> rung.Study:
    s = rung.Study.create("h", {"x": rung.Float(0.0, 1.0)}, objective="loss", max_step=2)
    for x in (0.2, 0.7):
        s.enqueue({"x": x})
        t = s.ask()
        assert t is not None
        s.report(t.id, 1, {"loss": x + 1})
        s.tell(t.id, "completed", {"loss": x})
    return s


@pytest.mark.parametrize(("name", "message"), [
    ("best_params", "rung's Study has no 'best_params' (Optuna's): study.best_trial.params"),
    ("best_trials", "rung's Study has no 'best_trials' (Optuna's): study.pareto_front() (the "
                    "trials no other dominates; study.best_trial is the best on the first "
                    "objective)"),
    ("study_name", "rung's Study has no 'study_name' (Optuna's): study.name"),
    ("get_best_result", "rung's Study has no 'get_best_result' (Ray Tune's): study.best_trial "
                        "(its .params and .metrics)"),
    ("enqueue_trial", "rung's Study has no 'enqueue_trial' (Optuna's): study.enqueue(params)"),
])
def test_a_peers_name_on_a_study_names_rungs(study: rung.Study, name: str,
                                             message: str) -> None:
    with pytest.raises(AttributeError) as e:
        getattr(study, name)
    assert str(e.value) == message
    assert (e.value.name, e.value.obj) == (name, study)


@pytest.mark.parametrize(("name", "message"), [
    ("number", "rung's Trial has no 'number' (Optuna's): trial.id (counted from 0, as Optuna's "
               "number)"),
    ("user_attrs", "rung's Trial has no 'user_attrs' (Optuna's): trial.metrics (extra values "
                   "are reported as metrics: ctx.report(step, name=value)) and trial.tags"),
    ("intermediate_values", "rung's Trial has no 'intermediate_values' (Optuna's): "
                            "{r.step: r.metrics[metric] for r in trial.results}"),
    ("config", "rung's Trial has no 'config' (Ray Tune's): trial.params"),
])
def test_a_peers_name_on_a_trial_names_rungs(study: rung.Study, name: str,
                                             message: str) -> None:
    best = study.best_trial
    assert best is not None and best.id == 0
    with pytest.raises(AttributeError) as e:
        getattr(best, name)
    assert str(e.value) == message


def test_other_names_keep_pythons_message(study: rung.Study) -> None:
    with pytest.raises(AttributeError, match=r"^'Study' object has no attribute 'nope'$"):
        getattr(study, "nope")  # noqa: B009
    trial = study.trial(0)
    with pytest.raises(AttributeError, match=r"^'Trial' object has no attribute 'nope'$"):
        getattr(trial, "nope")  # noqa: B009
    assert not hasattr(trial, "__array__") and getattr(study, "_nope", 1) == 1
    # every hinted name is a name rung's classes lack (a hint never hides an attribute)
    assert not set(STUDY) & set(dir(rung.Study)) and not set(TRIAL) & set(dir(rung.Trial))


def test_a_property_that_raises_keeps_its_own_error() -> None:
    """Python calls ``__getattr__`` when a property raises ``AttributeError``: the property's
    own error propagates, not one saying the study has no ``best_trial``."""
    bare = object.__new__(rung.Study)  # no engine
    with pytest.raises(AttributeError, match=r"^'Study' object has no attribute 'engine'$"):
        bare.best_trial  # noqa: B018


@pytest.mark.parametrize(("objective", "modes"), [
    ("loss", ["min"]), (["loss", rung.Objective("acc", "max")], ["min", "max"])])
def test_the_directions_hint_works_for_one_objective_and_several(
        objective: Any, modes: list[str]) -> None:
    """Before: '[o.mode for o in study.spec.objectives]', which is [] for one objective."""
    s = rung.Study.create("d", {"x": rung.Float(0.0, 1.0)}, objective=objective)
    name = "directions"
    with pytest.raises(AttributeError) as e:
        getattr(s, name)
    hint = str(e.value).split("(Optuna's): ", 1)[1]
    assert hint == "[o.mode for o in study.spec.objectives or (study.spec.objective,)]"
    assert eval(hint, {"study": s}) == modes


@pytest.mark.parametrize(("name", "message", "works"), [
    ("dataframe", "rung's Study has no 'dataframe' (Ray Tune's): study.trials_dataframe(), or "
                  "study.results_dataframe() for every reported result",
     "study.trials_dataframe()"),
    ("results_df", "rung's Study has no 'results_df' (Ray Tune's): study.trials_dataframe()",
     "study.trials_dataframe()"),
    ("trial_dataframes", "rung's Study has no 'trial_dataframes' (Ray Tune's): "
                         "study.results_dataframe() (one row per result, with trial_id)",
     "study.results_dataframe()"),
    ("best_config", "rung's Study has no 'best_config' (Ray Tune's): study.best_trial.params",
     "study.best_trial.params"),
    ("best_result", "rung's Study has no 'best_result' (Ray Tune's): study.best_trial.metrics",
     "study.best_trial.metrics"),
])
def test_ray_tunes_experiment_analysis_names_say_rungs(study: rung.Study, name: str,
                                                       message: str, works: str) -> None:
    """``tune.run`` returned an ``ExperimentAnalysis`` (``.dataframe()``, ``.best_config``):
    before, ``study.dataframe()`` was a bare AttributeError (core-install audit)."""
    pytest.importorskip("pandas")
    with pytest.raises(AttributeError) as e:
        getattr(study, name)
    assert str(e.value) == message
    assert eval(works, {"study": study}) is not None  # what it suggests runs
