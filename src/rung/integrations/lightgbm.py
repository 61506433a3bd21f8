"""LightGBM: report every boosting round (or every few) to rung, stop or pause boosting.

``pip install 'rung[lightgbm]'``. Typical objective::

    from rung.integrations import lightgbm as rlgb

    def objective(ctx: rung.TrialContext) -> None:
        params = {"objective": "binary", "learning_rate": ctx.params["lr"], "verbose": -1}
        rlgb.train(ctx, params, train_set, valid_sets=[valid_set], valid_names=["valid"])

    study = rung.Study.create(..., objective=rung.Objective("valid-binary_logloss", "min"),
                              max_step=100)   # one step per boosting round

**Steps.** Step ``k`` is the end of boosting round ``k * rounds_per_step`` (rounds counted
from the first tree, also when training continues from a checkpoint).

**Metrics.** Every entry of LightGBM's evaluation list is reported as ``"<data>-<metric>"``
(``"valid-l2"``, ``"training-auc"``); under ``lightgbm.cv`` the mean is reported so, and the
standard deviation as ``"<data>-<metric>-stdv"``. They are the values LightGBM records with
``lightgbm.record_evaluation``.

**Stop.** ``StopTrial`` propagates out of ``lightgbm.train`` (LightGBM has no clean-up to
skip), and the worker ends the trial as stopped.

**The end.** Training ends at the study's ``max_step``: if LightGBM was asked for more rounds
(``num_boost_round``, or an ``n_estimators`` of the scikit-learn API), the callback ends boosting
there as LightGBM's early stopping does (``best_iteration`` is then the last round), so no step
past ``max_step`` is reported. ``train`` refuses a number of rounds in ``params``
(``num_iterations`` and its aliases), which LightGBM would use instead of the rounds it sets.

**Pause.** Before ``PauseTrial`` propagates, ``report`` calls the callback's ``save``, which
writes the booster (every tree so far) to ``model.txt`` in the checkpoint directory. A resumed
trial continues boosting from it: ``train`` passes ``init_model=resume_model(ctx)`` and runs
the rounds that are left, so the resumed curve continues the paused one (and equals an
uninterrupted run's when training is deterministic). A ``lightgbm.cv`` booster cannot be
saved: a paused ``cv`` trial restarts from scratch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rung.errors import ConfigError
from rung.integrations._framework import (
    Reports,
    boosting_rounds,
    check_reported,
    check_start,
    check_units,
    model_saver,
    require,
    saved_file,
)

lgb: Any = require("lightgbm", "lightgbm", "rung.integrations.lightgbm")

#: The file a checkpoint holds (LightGBM's text model format).
MODEL_FILE = "model.txt"

#: LightGBM's names for the number of boosting rounds in ``params`` (``num_iterations``'s
#: aliases), which override ``lightgbm.train``'s ``num_boost_round``
_ROUNDS_ALIASES = ("num_iterations", "num_iteration", "n_iter", "num_tree", "num_trees",
                   "num_round", "num_rounds", "nrounds", "num_boost_round", "n_estimators",
                   "max_iter")

_NO_EVAL_HINT = ("pass valid_sets=[...] (and valid_names=[...]) to lightgbm.train, or eval_set "
                 "to the scikit-learn API's fit, so that LightGBM evaluates the metrics rung "
                 "reports")

_RESUME_HINT = ("pass init_model=rung.integrations.lightgbm.resume_model(ctx) to lightgbm.train "
                "or to the scikit-learn API's fit (or use rung.integrations.lightgbm.train)")


class LightGBMCallback:
    """A LightGBM callback that reports evaluation results to a rung trial.

    Pass it in ``callbacks=[...]`` of ``lightgbm.train``, ``lightgbm.cv`` or a scikit-learn
    estimator's ``fit``. It runs after ``record_evaluation`` and ``log_evaluation`` and before
    ``early_stopping`` (LightGBM orders callbacks by their ``order``), so a round that rung
    stops is still in the evaluation log.

    Args:
        ctx: the trial's ``rung.TrialContext``.
        rounds_per_step: boosting rounds per rung step (the study's ``max_step`` is then the
            number of rounds divided by this).
        checkpoints: give ``report`` a ``save`` callback, so the trial can be paused and
            resumed (``False``: a paused trial restarts from scratch).

    Raises (from training):
        StopTrial, PauseTrial: the scheduler's decision; let them propagate.
        ConfigError: the trial resumes after a checkpoint but boosting starts from another
            round (``init_model`` was not passed).
    """

    def __init__(self, ctx: Reports, rounds_per_step: int = 1, checkpoints: bool = True) -> None:
        # instance attributes: lightgbm.train overwrites a callback's missing ``order`` with its
        # position in the list (record_evaluation is 20, early_stopping 30)
        self.order = 25
        self.before_iteration = False
        self.ctx = ctx
        self.rounds_per_step = check_units("rounds_per_step", rounds_per_step)
        self.checkpoints = checkpoints
        self._checked = False

    def __call__(self, env: Any) -> None:
        if not self._checked:
            self._checked = True
            check_start(self.ctx, env.begin_iteration, self.rounds_per_step, "boosting rounds",
                        _RESUME_HINT)
        rounds = env.iteration + 1
        if rounds % self.rounds_per_step:
            return
        metrics: dict[str, Any] = {}
        for item in env.evaluation_result_list or ():
            data, name, value = item[0], item[1], item[2]
            metrics[f"{data}-{name}"] = float(value)
            if len(item) > 4:  # lightgbm.cv: (data, metric, mean, higher_better, stdv)
                metrics[f"{data}-{name}-stdv"] = float(item[4])
        save = (model_saver(env.model, MODEL_FILE, num_iteration=-1)
                if self.checkpoints and isinstance(env.model, lgb.Booster) else None)
        step = rounds // self.rounds_per_step
        if step > self.ctx.max_step:  # past the end already (another callback went on)
            raise lgb.callback.EarlyStopException(env.iteration - 1, env.evaluation_result_list)
        check_reported(metrics, step, "valid_sets", _NO_EVAL_HINT)
        self.ctx.report(step, save=save, **metrics)
        if step == self.ctx.max_step and env.iteration + 1 < env.end_iteration:
            # the study's full training is done: end boosting as early stopping does
            raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list)


def resume_model(ctx: Reports) -> str | None:
    """The saved model to continue from (``init_model=``), or ``None`` for a fresh trial."""
    return saved_file(ctx, MODEL_FILE)


def train(
    ctx: Reports,
    params: dict[str, Any],
    train_set: Any,
    rounds_per_step: int = 1,
    callbacks: Sequence[Any] = (),
    **kwargs: Any,
) -> Any:
    """``lightgbm.train`` for a rung trial: from its checkpoint (if any) to ``max_step``.

    Runs ``(ctx.max_step - ctx.start_step + 1) * rounds_per_step`` boosting rounds, continuing
    from ``resume_model(ctx)``, with a ``LightGBMCallback`` after ``callbacks``. ``kwargs`` go
    to ``lightgbm.train`` (``valid_sets``, ``valid_names``, ...; not ``num_boost_round`` or
    ``init_model``, which this function sets).

    Returns:
        The booster, when the trial ran to ``max_step`` (a stopped or paused trial raises).
    """
    units, rounds = boosting_rounds(ctx, rounds_per_step, kwargs,
                                    ("num_boost_round", "init_model"),
                                    "rung.integrations.lightgbm.train")
    for alias in _ROUNDS_ALIASES:
        if alias in params:
            raise ConfigError(key=f"params.{alias}", message=(
                "LightGBM would boost that many rounds instead of the study's: "
                "rung.integrations.lightgbm.train runs max_step * rounds_per_step rounds; "
                "leave it out"))
    return lgb.train(params, train_set, num_boost_round=rounds, init_model=resume_model(ctx),
                     callbacks=[*callbacks, LightGBMCallback(ctx, units)], **kwargs)


__all__ = ["MODEL_FILE", "LightGBMCallback", "resume_model", "train"]
