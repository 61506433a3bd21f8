"""Names a user coming from Optuna or Ray Tune reaches for on a rung ``Study`` or ``Trial``,
and what to write instead: ``study.best_params`` raises ``AttributeError: rung's Study has no
'best_params' (Optuna's): study.best_trial.params`` rather than a bare ``AttributeError``, as
the define-by-run ``Trial`` does for Optuna's ``suggest_uniform``.

``Study``, ``Trial`` and ``TrialContext`` call ``missing`` from ``__getattr__``, which Python
calls only for an attribute they do not have: the names here are never rung's own. Stdlib only
(``Trial`` is a core record).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: ``Study`` attributes of Optuna's ``Study`` and Ray Tune's ``Tuner`` / ``ResultGrid``:
#: name -> (whose, what to write instead)
STUDY: Mapping[str, tuple[str, str]] = {
    "best_params": ("Optuna", "study.best_trial.params"),
    "best_trials": ("Optuna", "study.pareto_front() (the trials no other dominates; "
                              "study.best_trial is the best on the first objective)"),
    "direction": ("Optuna", "study.spec.objective.mode ('min' or 'max')"),
    # spec.objectives is () for one objective: spec.objective is then the one
    "directions": ("Optuna", "[o.mode for o in study.spec.objectives or "
                             "(study.spec.objective,)]"),
    "study_name": ("Optuna", "study.name"),
    "get_trials": ("Optuna", "study.trials(), or study.trials('completed') for one status"),
    "enqueue_trial": ("Optuna", "study.enqueue(params)"),
    "optimize": ("Optuna", "study.run(train, n_workers=...), or rung.optimize(objective, ...) "
                           "for an objective that calls trial.suggest_*"),
    "add_trial": ("Optuna", "study.enqueue(params), then study.ask() and study.tell(...) "
                            "with its results"),
    "user_attrs": ("Optuna", "nothing on the study: a trial's extra values are metrics "
                             "(ctx.report(step, name=value)), its labels trial.tags"),
    "set_user_attr": ("Optuna", "nothing on the study: report extra values as metrics "
                                "(ctx.report(step, name=value))"),
    "sampler": ("Optuna", "study.spec.searcher"),
    "pruner": ("Optuna", "study.spec.scheduler"),
    "get_best_result": ("Ray Tune", "study.best_trial (its .params and .metrics)"),
    "get_dataframe": ("Ray Tune", "study.trials_dataframe(), or study.results_dataframe() "
                                  "for every reported result"),
    # Ray Tune's ExperimentAnalysis (what tune.run returned)
    "dataframe": ("Ray Tune", "study.trials_dataframe(), or study.results_dataframe() "
                              "for every reported result"),
    "results_df": ("Ray Tune", "study.trials_dataframe()"),
    "trial_dataframes": ("Ray Tune", "study.results_dataframe() (one row per result, "
                                     "with trial_id)"),
    "best_config": ("Ray Tune", "study.best_trial.params"),
    "best_result": ("Ray Tune", "study.best_trial.metrics"),
    "fit": ("Ray Tune", "study.run(train, executor=...)"),
    "errors": ("Ray Tune", "[t.error for t in study.trials('failed')]"),
    "num_errors": ("Ray Tune", "len(study.trials('failed'))"),
    "num_terminated": ("Ray Tune", "len(study.trials('completed'))"),
}

#: ``Trial`` attributes of Optuna's ``FrozenTrial`` and Ray Tune's ``Result``
TRIAL: Mapping[str, tuple[str, str]] = {
    "number": ("Optuna", "trial.id (counted from 0, as Optuna's number)"),
    "state": ("Optuna", "trial.status (rung.TrialStatus.COMPLETED, STOPPED, FAILED, ...)"),
    "values": ("Optuna", "trial.metrics[metric] for each objective (trial.value is the "
                         "first's)"),
    "intermediate_values": ("Optuna", "{r.step: r.metrics[metric] for r in trial.results}"),
    "user_attrs": ("Optuna", "trial.metrics (extra values are reported as metrics: "
                             "ctx.report(step, name=value)) and trial.tags"),
    "system_attrs": ("Optuna", "trial.tags"),
    # study.engine.space, not study.spec.space: a define-by-run (rung.optimize) study's spec
    # has no space, its engine the one its trials' suggest_* calls declared
    "distributions": ("Optuna", "{name: study.engine.space[name] for name in trial.params}"),
    "datetime_start": ("Optuna", "the start_time column of study.trials_dataframe()"),
    "datetime_complete": ("Optuna", "the end_time column of study.trials_dataframe()"),
    "duration": ("Optuna", "the duration column of study.trials_dataframe()"),
    "config": ("Ray Tune", "trial.params"),
    "trial_id": ("Ray Tune", "trial.id"),
    "metrics_dataframe": ("Ray Tune", "study.results_dataframe(), the rows of trial.id"),
}

#: ``TrialContext`` (what an objective ``train(ctx)`` gets) attributes of Ray Tune's
#: ``config`` / ``tune.get_context()`` / ``tune.get_checkpoint()`` and Optuna's ``Trial``
CONTEXT: Mapping[str, tuple[str, str]] = {
    "config": ("Ray Tune", "ctx.params"),
    "get_checkpoint": ("Ray Tune", "ctx.checkpoint, the directory to restore from (None: "
                                   "start from scratch), filled by the save(directory) "
                                   "given to ctx.report(step, save=save, ...)"),
    "get_trial_id": ("Ray Tune", "ctx.trial_id"),
    "get_trial_name": ("Ray Tune", "ctx.trial_id"),
    "number": ("Optuna", "ctx.trial_id"),
    "should_prune": ("Optuna", "nothing to check: the scheduler decides at ctx.report(step, "
                               "...), which raises StopTrial itself (let it propagate)"),
    **dict.fromkeys(("suggest_float", "suggest_int", "suggest_categorical"), (
        "Optuna", "ctx.params[name] (the study's space draws it), or rung.optimize(objective) "
                  "for an objective(trial) that calls trial.suggest_*")),
    "set_user_attr": ("Optuna", "report extra values as metrics: ctx.report(step, "
                                "name=value)"),
    "user_attrs": ("Optuna", "extra values are reported as metrics: ctx.report(step, "
                             "name=value)"),
}


def missing(owner: object, name: str, names: Mapping[str, tuple[str, str]]) -> Any:
    """For ``owner.__getattr__(name)``: raise the ``AttributeError`` for a missing attribute,
    naming what to write instead when ``names`` holds it (``"rung's Study has no
    'best_params' (Optuna's): study.best_trial.params"``), else with Python's own message.
    A property of ``owner`` whose getter raised ``AttributeError`` (Python then calls
    ``__getattr__``) is read again, so that its own error propagates, not one naming it."""
    prop = getattr(type(owner), name, None)
    if isinstance(prop, property) and prop.fget is not None:
        return prop.fget(owner)
    kind = type(owner).__name__
    hint = names.get(name)
    if hint is None:
        message = f"{kind!r} object has no attribute {name!r}"
    else:
        message = f"rung's {kind} has no {name!r} ({hint[0]}'s): {hint[1]}"
    raise AttributeError(message, name=name, obj=owner)


__all__ = ["CONTEXT", "STUDY", "TRIAL", "missing"]
