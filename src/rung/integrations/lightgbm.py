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
saved: a paused ``cv`` trial restarts from scratch. Continuing needs the Datasets' raw data
(LightGBM predicts the saved model on it): ``train`` keeps it (``free_raw_data=False`` before
LightGBM constructs them), refuses a resumed trial's Dataset whose raw data was freed, and
leaves the Datasets as it found them, so the worker's later trials are unaffected.

**Early stopping.** LightGBM's ``early_stopping`` callback ends a trial as completed at the
round it chose. Its state (the best score, the rounds since) is not in the checkpoint: after a
resume it starts counting again from the first resumed round, so a paused and resumed trial
can stop at another round than uninterrupted training (later, when its best round was before
the pause). With ``rounds_per_step > 1`` the rounds after the last full step (up to the round
it stopped at) are trained but never reported.
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

    The ``lightgbm.Dataset``s (``train_set``, ``valid_sets``) may be shared by every trial a
    worker runs: they keep their raw data (``free_raw_data`` is set to ``False`` before
    LightGBM constructs them), which a resumed trial needs (LightGBM predicts the saved model
    on it, as the init score to boost from), and a resumed trial leaves them as it found them
    (LightGBM's init score and predictor removed), so a later fresh trial boosts from the
    average as in a new process.

    Returns:
        The booster, when the trial ran to ``max_step`` (a stopped or paused trial raises).

    Raises:
        ConfigError: a managed argument was passed, or a number of rounds in ``params``
            (key ``params.<alias>``); a resumed trial's Dataset was constructed before with
            ``free_raw_data=True``, its raw data gone (key ``free_raw_data``).
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
    init_model = resume_model(ctx)
    datasets = _datasets(train_set, kwargs.get("valid_sets"))
    for data in datasets:
        data.free_raw_data = False  # (no effect on one constructed already)
    if init_model is not None:
        for data in datasets:
            _check_raw_data(data)
    # LightGBM has no public way to take a predictor back out of a Dataset: its own attributes
    kept = [(d, d._predictor, d.init_score) for d in datasets] if init_model else []
    try:
        return lgb.train(params, train_set, num_boost_round=rounds, init_model=init_model,
                         callbacks=[*callbacks, LightGBMCallback(ctx, units)], **kwargs)
    finally:
        for data, predictor, init_score in kept:
            _restore(data, predictor, init_score)


def _datasets(train_set: Any, valid_sets: Any) -> list[Any]:
    """The distinct ``lightgbm.Dataset``s among ``train_set`` and ``valid_sets``."""
    out: list[Any] = []
    for data in [train_set, *(valid_sets or ())]:
        if isinstance(data, lgb.Dataset) and all(data is not d for d in out):
            out.append(data)
    return out


def _check_raw_data(data: Any) -> None:
    """Refuse a Dataset LightGBM cannot continue boosting on: constructed with its raw data
    freed (it would raise "Cannot set predictor after freed raw data")."""
    if data.data is not None:
        return
    reference = data.reference  # a subset predicts on its reference's data
    if data.used_indices is None or reference is None or reference.data is None:
        raise ConfigError(key="free_raw_data", message=(
            "a resumed trial continues boosting from its saved model, which LightGBM predicts "
            "on the Dataset's raw data, but this lightgbm.Dataset was constructed with "
            "free_raw_data=True and its raw data freed: build it with free_raw_data=False, or "
            "leave its construction to rung.integrations.lightgbm.train, which keeps the raw "
            "data"))


def _restore(data: Any, predictor: Any, init_score: Any) -> None:
    """Undo what ``lightgbm.train(init_model=...)`` left in a Dataset: the saved model's
    predictions as its init score, and the predictor (through LightGBM's own
    ``_set_predictor(None)`` a later fresh run would get an init score of zeros instead of
    none, and skip ``boost_from_average``)."""
    data._predictor = predictor
    data.init_score = init_score
    if data._handle is not None:
        data.set_field("init_score", init_score)  # None: cleared


__all__ = ["MODEL_FILE", "LightGBMCallback", "resume_model", "train"]
