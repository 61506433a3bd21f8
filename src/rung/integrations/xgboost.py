"""XGBoost: report every boosting round (or every few) to rung, stop or pause boosting.

``pip install 'rung[xgboost]'`` (on a machine without a GPU, the ``xgboost-cpu`` package
provides the same module without the CUDA libraries). Typical objective::

    from rung.integrations import xgboost as rxgb

    def objective(ctx: rung.TrialContext) -> None:
        params = {"objective": "binary:logistic", "eta": ctx.params["eta"]}
        rxgb.train(ctx, params, dtrain, evals=[(dvalid, "valid")])

    study = rung.Study.create(..., objective=rung.Objective("valid-logloss", "min"),
                              max_step=100)   # one step per boosting round

**Steps.** Step ``k`` is the end of boosting round ``k * rounds_per_step``, counted from the
model's first tree (also when training continues from a checkpoint).

**Metrics.** Every series of XGBoost's evaluation log is reported as ``"<data>-<metric>"``
(``"valid-rmse"``, the names XGBoost prints); under ``xgboost.cv`` the mean is reported so and
the standard deviation as ``"<data>-<metric>-std"``. They are the values XGBoost returns in
``evals_result``.

**Stop.** ``StopTrial`` propagates out of ``xgboost.train`` from the callback (XGBoost's
``after_training`` hooks are skipped: the trial's model is discarded anyway).

**Early stopping.** XGBoost's ``EarlyStopping`` (or any callback that ends training) ends the
trial as completed at the round it chose. XGBoost calls no later callback's
``after_iteration`` for that round, so the callback reports it from ``after_training``.
Its state (the best score, the rounds since) is not in the checkpoint: after a resume it starts
counting again from the first resumed round, so a paused and resumed trial can stop at another
round than uninterrupted training (later, when its best round was before the pause). With
``rounds_per_step > 1`` the rounds after the last full step (up to the round it stopped at) are
trained but never reported.

**Pause.** Before ``PauseTrial`` propagates, ``report`` calls the callback's ``save``, which
writes the booster to ``model.ubj`` (XGBoost's binary JSON) in the checkpoint directory. A
resumed trial continues boosting from it: ``train`` passes ``xgb_model=resume_model(ctx)`` and
runs the rounds that are left. An ``xgboost.cv`` model cannot be saved: a paused ``cv`` trial
restarts from scratch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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

xgb: Any = require("xgboost", "xgboost", "rung.integrations.xgboost")

#: The file a checkpoint holds.
MODEL_FILE = "model.ubj"

_NO_EVAL_HINT = ("pass evals=[(dvalid, 'valid')] to xgboost.train, or eval_set to the "
                 "scikit-learn API's fit, so that XGBoost evaluates the metrics rung reports")

_RESUME_HINT = ("pass xgb_model=rung.integrations.xgboost.resume_model(ctx) to xgboost.train "
                "or to the scikit-learn API's fit (or use rung.integrations.xgboost.train)")


class XGBoostCallback(xgb.callback.TrainingCallback):  # type: ignore[misc]
    """An XGBoost training callback that reports the evaluation log to a rung trial.

    Pass it in ``callbacks=[...]`` of ``xgboost.train`` / ``xgboost.cv`` (or of a scikit-learn
    estimator's constructor).

    Args:
        ctx: the trial's ``rung.TrialContext``.
        rounds_per_step: boosting rounds per rung step.
        checkpoints: give ``report`` a ``save`` callback, so the trial can be paused and
            resumed (``False``: a paused trial restarts from scratch).

    Raises (from training):
        StopTrial, PauseTrial: the scheduler's decision; let them propagate.
        ConfigError: the trial resumes after a checkpoint but boosting starts from another
            round (``xgb_model`` was not passed).
    """

    def __init__(self, ctx: Reports, rounds_per_step: int = 1, checkpoints: bool = True) -> None:
        super().__init__()
        self.ctx = ctx
        self.rounds_per_step = check_units("rounds_per_step", rounds_per_step)
        self.checkpoints = checkpoints
        self._start = 0  # rounds in the model when training started
        self._log: Any = None  # XGBoost's evaluation log (one dict, filled in place)
        self._reported = 0  # the last step reported

    def before_training(self, model: Any) -> Any:
        self._start = int(model.num_boosted_rounds())
        check_start(self.ctx, self._start, self.rounds_per_step, "boosting rounds",
                    _RESUME_HINT)
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self._log = evals_log
        rounds = int(model.num_boosted_rounds())
        if rounds % self.rounds_per_step:
            return False
        step = rounds // self.rounds_per_step
        if step > self.ctx.max_step:  # past the end already (another callback went on)
            return self._end(model, epoch)
        self._report(model, step, evals_log)
        return False  # at max_step too: before_iteration ends training (see there)

    def before_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        """End training once the study's ``max_step`` is reported: before the next round, not
        by returning ``True`` after the last one, where XGBoost would skip the later callbacks'
        ``after_iteration`` for that round (``EarlyStopping`` would miss it, and keep an
        earlier ``best_iteration`` than the last round when that one is the best)."""
        return self._reported >= self.ctx.max_step

    def after_training(self, model: Any) -> Any:
        """Report the last round if an earlier callback ended training there: XGBoost stops
        calling ``after_iteration`` at the first callback that returns ``True`` (its
        ``EarlyStopping``), so the round it stopped at would be missing from the trial."""
        series = [v for s in (self._log or {}).values() for v in s.values()]
        if series:
            rounds = self._start + max(len(v) for v in series)
            step = rounds // self.rounds_per_step
            if not rounds % self.rounds_per_step and self._reported < step <= self.ctx.max_step:
                # EarlyStopping(save_best=True) may have cut the model already: save it only
                # when it still holds every round
                whole = int(model.num_boosted_rounds()) == rounds
                self._report(model if whole else None, step, self._log)
        return model

    def _report(self, model: Any, step: int, evals_log: Any) -> None:
        metrics: dict[str, float] = {}
        for data, series in evals_log.items():
            for name, values in series.items():
                last = values[-1]
                if isinstance(last, tuple):  # xgboost.cv: (mean, std)
                    metrics[f"{data}-{name}"] = float(last[0])
                    metrics[f"{data}-{name}-std"] = float(last[1])
                else:
                    metrics[f"{data}-{name}"] = float(last)
        check_reported(metrics, step, "evals", _NO_EVAL_HINT)
        save = (model_saver(model, MODEL_FILE)
                if self.checkpoints and isinstance(model, xgb.Booster) else None)
        self._reported = step
        self.ctx.report(step, save=save, **metrics)

    @staticmethod
    def _end(model: Any, epoch: int) -> bool:
        """End training after this round (XGBoost stops when a callback returns ``True``,
        and ``xgboost.cv`` then reads ``best_iteration``, which early stopping would set)."""
        if model.attr("best_iteration") is None:
            model.set_attr(best_iteration=str(epoch))
        return True


def resume_model(ctx: Reports) -> str | None:
    """The saved model to continue from (``xgb_model=``), or ``None`` for a fresh trial."""
    return saved_file(ctx, MODEL_FILE)


def train(
    ctx: Reports,
    params: dict[str, Any],
    dtrain: Any,
    rounds_per_step: int = 1,
    callbacks: Sequence[Any] = (),
    **kwargs: Any,
) -> Any:
    """``xgboost.train`` for a rung trial: from its checkpoint (if any) to ``max_step``.

    Runs ``(ctx.max_step - ctx.start_step + 1) * rounds_per_step`` rounds, continuing from
    ``resume_model(ctx)``, with an ``XGBoostCallback`` after ``callbacks``. ``kwargs`` go to
    ``xgboost.train`` (``evals``, ...; not ``num_boost_round`` or ``xgb_model``).

    Returns:
        The booster, when the trial ran to ``max_step`` (a stopped or paused trial raises).
    """
    units, rounds = boosting_rounds(ctx, rounds_per_step, kwargs,
                                    ("num_boost_round", "xgb_model"),
                                    "rung.integrations.xgboost.train")
    # without a checkpoint, a trial resumed past step 1 is refused before the first round
    # (XGBoostCallback.before_training), so ``rounds`` only matters from a checkpoint
    return xgb.train(params, dtrain, num_boost_round=rounds, xgb_model=resume_model(ctx),
                     callbacks=[*callbacks, XGBoostCallback(ctx, units)], **kwargs)


__all__ = ["MODEL_FILE", "XGBoostCallback", "resume_model", "train"]
