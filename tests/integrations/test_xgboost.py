"""rung.integrations.xgboost against the real XGBoost, inside real studies (local executor)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

xgb = pytest.importorskip("xgboost")

from framework_study import (  # noqa: E402
    FakeContext,
    check_logged_values,
    check_resumes,
    make_study,
    tree_data,
    write_log,
)

from rung import Float, Int, TrialContext  # noqa: E402
from rung.core.records import Trial  # noqa: E402
from rung.errors import ConfigError, StopTrial  # noqa: E402
from rung.integrations import xgboost as rxgb  # noqa: E402

SPACE = {"eta": Float(0.02, 0.6, log=True), "depth": Int(1, 5)}


def data() -> tuple[Any, Any]:
    x, y = tree_data(1)
    return xgb.DMatrix(x[:160], y[:160]), xgb.DMatrix(x[160:], y[160:])


def booster_params(p: Any) -> dict[str, Any]:
    return {"objective": "reg:squarederror", "eta": p["eta"], "max_depth": p["depth"],
            "tree_method": "hist", "nthread": 1, "seed": 0}


class Recorder(xgb.callback.TrainingCallback):  # type: ignore[misc]
    """XGBoost's own evaluation log as training goes (``evals_result`` is filled only at the
    end of a training that was not interrupted)."""

    def __init__(self) -> None:
        super().__init__()
        self.log: dict[str, Any] = {}

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self.log = {d: {m: list(v) for m, v in s.items()} for d, s in evals_log.items()}
        return False


def objective(ctx: TrialContext) -> None:
    dtrain, dvalid = data()
    rec = Recorder()
    try:
        rxgb.train(ctx, booster_params(ctx.params), dtrain, evals=[(dvalid, "valid")],
                   callbacks=[rec], verbose_eval=False)
    finally:  # StopTrial / PauseTrial pass through: XGBoost's own log of this run
        write_log(ctx.params, ctx.trial_id, ctx.start_step, rec.log["valid"]["rmse"])


def test_asha_stops_trials_at_its_rungs_and_reports_xgboost_values(tmp_path: Path) -> None:
    study = make_study("xgb", SPACE, tmp_path, "valid-rmse", max_step=9, n_trials=8)
    study.run(objective, executor="local", n_workers=1)
    check_logged_values(study, tmp_path, "valid-rmse")


@pytest.mark.slow  # a study on local workers with checkpoints (~3 s)
def test_pause_saves_the_booster_and_resume_continues_it(tmp_path: Path) -> None:
    study = make_study("xgb-pause", SPACE, tmp_path, "valid-rmse", max_step=9, n_trials=9,
                       variant="promotion")
    study.run(objective, executor="local", n_workers=1)

    def uninterrupted(t: Trial) -> list[float]:
        dtrain, dvalid = data()
        full: dict[str, Any] = {}
        xgb.train(booster_params(t.params), dtrain, num_boost_round=t.last_step,
                  evals=[(dvalid, "valid")], evals_result=full, verbose_eval=False)
        return list(full["valid"]["rmse"])

    # continued from the saved trees: the uninterrupted curve
    assert check_resumes(study, tmp_path, "valid-rmse", uninterrupted, rtol=1e-6,
                         every_trial=True) >= 2


def test_rounds_per_step_stop_and_cv_metrics() -> None:
    dtrain, dvalid = data()
    ctx = FakeContext(max_step=3, stop_at=2)
    rec = Recorder()
    with pytest.raises(StopTrial):
        rxgb.train(ctx, booster_params({"eta": 0.3, "depth": 2}), dtrain, rounds_per_step=2,
                   evals=[(dtrain, "train"), (dvalid, "valid")], callbacks=[rec],
                   verbose_eval=False)
    log = rec.log
    assert ctx.steps == [1, 2]  # rounds 2 and 4; stopped at 4
    assert [m["valid-rmse"] for _, m, _ in ctx.reports] == log["valid"]["rmse"][1::2]
    assert [m["train-rmse"] for _, m, _ in ctx.reports] == log["train"]["rmse"][1::2]
    assert all(saves for _, _, saves in ctx.reports)
    cv_ctx = FakeContext(max_step=3)
    xgb.cv(booster_params({"eta": 0.3, "depth": 2}), dtrain, num_boost_round=3, nfold=3,
           callbacks=[rxgb.XGBoostCallback(cv_ctx)])
    assert cv_ctx.steps == [1, 2, 3]
    assert set(cv_ctx.reports[0][1]) == {"train-rmse", "train-rmse-std", "test-rmse",
                                         "test-rmse-std"}
    assert not any(saves for _, _, saves in cv_ctx.reports)


def test_a_resumed_trial_that_restarts_boosting_is_refused() -> None:
    dtrain, _ = data()
    ctx = FakeContext(start_step=3, max_step=5)
    with pytest.raises(ConfigError, match="xgb_model") as e:
        rxgb.train(ctx, booster_params({"eta": 0.3, "depth": 2}), dtrain)
    assert e.value.key == "checkpoint" and ctx.reports == []
    with pytest.raises(ConfigError) as e2:
        rxgb.train(ctx, {}, dtrain, xgb_model="m.ubj")
    assert e2.value.key == "xgb_model"


def test_training_ends_at_max_step() -> None:
    """More rounds than the study's max_step end at it (the callback returns True there).
    Before, boosting went on and reported steps past max_step."""
    x, y = tree_data(1)
    dtrain = xgb.DMatrix(x[:160], label=y[:160])
    dvalid = xgb.DMatrix(x[160:], label=y[160:])
    ctx = FakeContext(max_step=4)
    booster = xgb.train({"max_depth": 2, "nthread": 1}, dtrain, num_boost_round=10,
                        evals=[(dvalid, "valid")], verbose_eval=False,
                        callbacks=[rxgb.XGBoostCallback(ctx)])
    assert ctx.steps == [1, 2, 3, 4] and booster.num_boosted_rounds() == 4


@pytest.mark.parametrize("save_best", [False, True])
def test_the_round_xgboosts_early_stopping_ends_at_is_reported(save_best: bool) -> None:
    """XGBoost stops calling callbacks at the first whose ``after_iteration`` returns True: with
    ``EarlyStopping`` before rung's (as ``rxgb.train(callbacks=[...])`` orders them), the round
    it stopped at was not reported and the trial ended one step short of its booster."""
    dtrain, dvalid = data()
    ctx = FakeContext(max_step=200)
    rec = Recorder()
    booster = rxgb.train(ctx, booster_params({"eta": 0.5, "depth": 5}), dtrain,
                         evals=[(dvalid, "valid")], verbose_eval=False,
                         callbacks=[rec, xgb.callback.EarlyStopping(rounds=3,
                                                                    save_best=save_best)])
    rounds = len(rec.log["valid"]["rmse"])
    assert 4 <= rounds < 200
    assert ctx.steps == list(range(1, rounds + 1))
    assert [m["valid-rmse"] for _, m, _ in ctx.reports] == rec.log["valid"]["rmse"]
    assert booster.num_boosted_rounds() == (booster.best_iteration + 1 if save_best else rounds)
    # the last report saves the whole booster, never one EarlyStopping cut to its best round
    assert ctx.reports[-1][2] is not save_best


def test_training_without_evals_says_what_to_pass() -> None:
    """Without evals XGBoost evaluates nothing; the trial failed at step 1 with "metric
    'valid-rmse' was not reported (reported: none)", which does not say what was missing."""
    dtrain, _ = data()
    ctx = FakeContext(max_step=4)
    with pytest.raises(ConfigError) as e:
        rxgb.train(ctx, booster_params({"eta": 0.3, "depth": 2}), dtrain)
    assert str(e.value) == (
        "evals: nothing to report at step 1 (no evaluation results): pass "
        "evals=[(dvalid, 'valid')] to xgboost.train, or eval_set to the scikit-learn API's "
        "fit, so that XGBoost evaluates the metrics rung reports")
    assert ctx.reports == []


def test_later_callbacks_see_the_round_at_max_step() -> None:
    """The callback ended training by returning True from after_iteration at max_step, so
    XGBoost skipped the later callbacks for that round: a recorder saw 3 of 4 rounds, and an
    EarlyStopping after it (the scikit-learn API appends early_stopping_rounds' there) kept
    best_iteration 2 though round 3 (0-based) was the best. Training now ends before the
    next round."""
    dtrain, dvalid = data()
    ctx = FakeContext(max_step=4)
    rec = Recorder()
    booster = xgb.train(booster_params({"eta": 0.05, "depth": 2}), dtrain, num_boost_round=50,
                        evals=[(dvalid, "valid")], verbose_eval=False,
                        callbacks=[rxgb.XGBoostCallback(ctx), rec,
                                   xgb.callback.EarlyStopping(rounds=10)])
    losses = rec.log["valid"]["rmse"]
    assert ctx.steps == [1, 2, 3, 4] and booster.num_boosted_rounds() == 4
    assert len(losses) == 4 and losses == sorted(losses, reverse=True)  # still improving
    assert booster.best_iteration == 3
    assert [m["valid-rmse"] for _, m, _ in ctx.reports] == losses


def test_the_scikit_learn_api_resumed_without_its_model_is_told_what_to_pass() -> None:
    """A paused trial resumed through ``XGBRegressor.fit`` without ``xgb_model``: the message
    names the scikit-learn API's ``fit`` too (it named ``xgboost.train`` only)."""
    x, y = tree_data(1)
    ctx = FakeContext(start_step=3, max_step=5)
    model = xgb.XGBRegressor(n_estimators=4, max_depth=2, n_jobs=1,
                             callbacks=[rxgb.XGBoostCallback(ctx)])
    with pytest.raises(ConfigError) as e:
        model.fit(x[:160], y[:160], eval_set=[(x[160:], y[160:])], verbose=False)
    assert str(e.value) == (
        "checkpoint: the trial resumes at step 3 (after 2 boosting rounds) but training starts "
        "after 0: pass xgb_model=rung.integrations.xgboost.resume_model(ctx) to xgboost.train "
        "or to the scikit-learn API's fit (or use rung.integrations.xgboost.train)")
    assert ctx.reports == []
