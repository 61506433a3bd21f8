"""rung.integrations.lightgbm against the real LightGBM, inside real studies (local executor)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

lgb = pytest.importorskip("lightgbm")

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
from rung.errors import ConfigError, PauseTrial, StopTrial  # noqa: E402
from rung.integrations import lightgbm as rlgb  # noqa: E402
from rung.integrations._framework import require  # noqa: E402

SPACE = {"lr": Float(0.02, 0.5, log=True), "leaves": Int(2, 12)}


def data() -> tuple[Any, Any]:
    x, y = tree_data(0)
    train = lgb.Dataset(x[:160], y[:160], params={"verbose": -1})
    valid = lgb.Dataset(x[160:], y[160:], reference=train)
    return train, valid


def booster_params(p: Any) -> dict[str, Any]:
    return {"objective": "regression", "learning_rate": p["lr"], "num_leaves": p["leaves"],
            "min_data_in_leaf": 5, "num_threads": 1, "deterministic": True, "verbose": -1,
            "seed": 0}


def objective(ctx: TrialContext) -> None:
    train, valid = data()
    log: dict[str, Any] = {}
    try:
        rlgb.train(ctx, booster_params(ctx.params), train, valid_sets=[valid],
                   valid_names=["valid"], callbacks=[lgb.record_evaluation(log)])
    finally:  # StopTrial / PauseTrial pass through: LightGBM's own log of this run
        write_log(ctx.params, ctx.trial_id, ctx.start_step, log["valid"]["l2"])


def test_asha_stops_trials_at_its_rungs_and_reports_lightgbm_values(tmp_path: Path) -> None:
    study = make_study("lgb", SPACE, tmp_path, "valid-l2", max_step=9, n_trials=8)
    study.run(objective, executor="local", n_workers=1)
    # LightGBM logged exactly the rounds rung recorded, with the same values
    check_logged_values(study, tmp_path, "valid-l2")


@pytest.mark.slow  # a study on local workers with checkpoints (~4 s)
def test_pause_saves_the_booster_and_resume_continues_it(tmp_path: Path) -> None:
    study = make_study("lgb-pause", SPACE, tmp_path, "valid-l2", max_step=9, n_trials=9,
                       variant="promotion")
    study.run(objective, executor="local", n_workers=1)

    def uninterrupted(t: Trial) -> list[float]:
        train, valid = data()
        full: dict[str, Any] = {}
        lgb.train(booster_params(t.params), train, num_boost_round=t.last_step,
                  valid_sets=[valid], valid_names=["valid"],
                  callbacks=[lgb.record_evaluation(full)])
        return list(full["valid"]["l2"])

    # the resumed curve is the uninterrupted one: training continued from the saved trees
    assert check_resumes(study, tmp_path, "valid-l2", uninterrupted, rtol=1e-9,
                         every_trial=True) >= 2


def test_rounds_per_step_and_cv_metrics() -> None:
    train, valid = data()
    ctx = FakeContext(max_step=3)
    log: dict[str, Any] = {}
    rlgb.train(ctx, booster_params({"lr": 0.1, "leaves": 4}), train, rounds_per_step=2,
               valid_sets=[train, valid], valid_names=["training", "valid"],
               callbacks=[lgb.record_evaluation(log)])
    assert ctx.steps == [1, 2, 3]  # rounds 2, 4, 6
    assert [m["valid-l2"] for _, m, _ in ctx.reports] == log["valid"]["l2"][1::2]
    assert [m["training-l2"] for _, m, _ in ctx.reports] == log["training"]["l2"][1::2]
    assert all(saves for _, _, saves in ctx.reports)
    # lightgbm.cv: mean and standard deviation; a CVBooster cannot be saved
    cv_ctx = FakeContext(max_step=3, stop_at=2)
    with pytest.raises(StopTrial):
        lgb.cv(booster_params({"lr": 0.1, "leaves": 4}), train, num_boost_round=3, nfold=3,
               stratified=False, callbacks=[rlgb.LightGBMCallback(cv_ctx)])
    assert cv_ctx.steps == [1, 2]
    assert set(cv_ctx.reports[0][1]) == {"valid-l2", "valid-l2-stdv"}
    assert not any(saves for _, _, saves in cv_ctx.reports)


def test_a_resumed_trial_that_restarts_boosting_is_refused() -> None:
    train, valid = data()
    ctx = FakeContext(start_step=3, max_step=5)
    with pytest.raises(ConfigError, match="init_model") as e:
        lgb.train(booster_params({"lr": 0.1, "leaves": 4}), train, num_boost_round=3,
                  valid_sets=[valid], callbacks=[rlgb.LightGBMCallback(ctx)])
    assert e.value.key == "checkpoint" and ctx.reports == []
    with pytest.raises(ConfigError) as e2:
        rlgb.train(ctx, {}, train, num_boost_round=3)
    assert e2.value.key == "num_boost_round"
    with pytest.raises(ConfigError) as e3:
        rlgb.LightGBMCallback(ctx, rounds_per_step=0)
    assert e3.value.key == "rounds_per_step"


def test_a_missing_framework_names_the_extra() -> None:
    with pytest.raises(ImportError, match=r"pip install 'rung\[nothing\]'"):
        require("rung_no_such_module", "nothing", "rung.integrations.nothing")


def test_an_installed_framework_missing_a_dependency_says_so(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    # Keras with KERAS_BACKEND=tensorflow and no TensorFlow said "needs keras, which is not
    # installed: pip install 'rung[keras]'", which installs nothing it lacks
    (tmp_path / "rung_fake_framework.py").write_text("import rung_fake_backend_missing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError) as e:
        require("rung_fake_framework", "fake", "rung.integrations.fake", broken="set X=y")
    assert str(e.value) == (
        "rung.integrations.fake: rung_fake_framework is installed but cannot be imported (No "
        "module named 'rung_fake_backend_missing'): set X=y")


def test_the_scikit_learn_api_takes_the_callback_too() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(120, 3)), rng.normal(size=120)
    ctx = FakeContext(max_step=4)
    model = lgb.LGBMRegressor(n_estimators=4, num_leaves=4, min_child_samples=5, verbose=-1)
    model.fit(x[:80], y[:80], eval_set=[(x[80:], y[80:])], callbacks=[rlgb.LightGBMCallback(ctx)])
    assert ctx.steps == [1, 2, 3, 4]
    assert [m["valid_0-l2"] for _, m, _ in ctx.reports] == model.evals_result_["valid_0"]["l2"]


def test_training_ends_at_max_step() -> None:
    """More rounds than the study's max_step end at it, as LightGBM's early stopping ends
    boosting; a number of rounds in params is refused by rlgb.train. Before, boosting went on
    and reported steps 5, 6, ... past max_step 4 (and a params 'num_iterations' silently
    overrode the rounds rlgb.train set)."""
    train, valid = data()
    ctx = FakeContext(max_step=4)
    booster = lgb.train(booster_params({"lr": 0.1, "leaves": 4}), train, num_boost_round=10,
                        valid_sets=[valid], callbacks=[rlgb.LightGBMCallback(ctx)])
    assert ctx.steps == [1, 2, 3, 4]
    assert booster.current_iteration() == 4 and booster.best_iteration == 4
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(120, 3)), rng.normal(size=120)
    sk = FakeContext(max_step=3)
    model = lgb.LGBMRegressor(n_estimators=8, num_leaves=4, min_child_samples=5, verbose=-1)
    model.fit(x[:80], y[:80], eval_set=[(x[80:], y[80:])], callbacks=[rlgb.LightGBMCallback(sk)])
    assert sk.steps == [1, 2, 3] and model.booster_.current_iteration() == 3
    for alias in ("num_iterations", "n_estimators", "num_boost_round"):
        with pytest.raises(ConfigError) as e:
            rlgb.train(FakeContext(max_step=4), {**booster_params({"lr": 0.1, "leaves": 4}),
                                                 alias: 30}, train)
        assert e.value.key == f"params.{alias}"


def test_training_without_a_validation_set_says_what_to_pass() -> None:
    """Without valid_sets LightGBM evaluates nothing; the trial failed at step 1 with "metric
    'valid-l2' was not reported (reported: none)", which does not say what was missing."""
    train, _ = data()
    ctx = FakeContext(max_step=4)
    with pytest.raises(ConfigError) as e:
        rlgb.train(ctx, booster_params({"lr": 0.1, "leaves": 4}), train)
    assert str(e.value) == (
        "valid_sets: nothing to report at step 1 (no evaluation results): pass "
        "valid_sets=[...] (and valid_names=[...]) to lightgbm.train, or eval_set to the "
        "scikit-learn API's fit, so that LightGBM evaluates the metrics rung reports")
    assert ctx.reports == []


def test_the_scikit_learn_api_resumed_without_its_model_is_told_what_to_pass() -> None:
    """A paused trial resumed through ``LGBMRegressor.fit`` without ``init_model``: the message
    names the scikit-learn API's ``fit`` too (it named ``lightgbm.train`` only)."""
    x, y = tree_data(0)
    ctx = FakeContext(start_step=3, max_step=5)
    model = lgb.LGBMRegressor(n_estimators=4, num_leaves=4, min_child_samples=5, verbose=-1)
    with pytest.raises(ConfigError) as e:
        model.fit(x[:160], y[:160], eval_set=[(x[160:], y[160:])],
                  callbacks=[rlgb.LightGBMCallback(ctx)])
    assert str(e.value) == (
        "checkpoint: the trial resumes at step 3 (after 2 boosting rounds) but training starts "
        "after 0: pass init_model=rung.integrations.lightgbm.resume_model(ctx) to "
        "lightgbm.train or to the scikit-learn API's fit (or use "
        "rung.integrations.lightgbm.train)")
    assert ctx.reports == []


def _curve(ctx: FakeContext, train: Any, valid: Any) -> list[float]:
    rlgb.train(ctx, booster_params({"lr": 0.1, "leaves": 4}), train, valid_sets=[valid],
               valid_names=["valid"])
    return [m["valid-l2"] for _, m, _ in ctx.reports]


@pytest.mark.parametrize("free_raw_data", [True, False])
def test_trials_sharing_datasets_get_the_curves_of_a_clean_process(
        tmp_path: Path, free_raw_data: bool) -> None:
    """A worker runs its trials on the same module-level Datasets. With LightGBM's default
    free_raw_data=True every resume failed ("Cannot set predictor after freed raw data");
    with free_raw_data=False the resume left the saved model's predictions in the Datasets as
    their init score, and the next fresh trial in that worker got another curve (no
    boost_from_average). Now each run's curve is the one a new process gets."""
    clean = _curve(FakeContext(max_step=4), *data())
    x, y = tree_data(0)
    train = lgb.Dataset(x[:160], y[:160], params={"verbose": -1}, free_raw_data=free_raw_data)
    valid = lgb.Dataset(x[160:], y[160:], reference=train, free_raw_data=free_raw_data)
    first = FakeContext(trial_id=1, max_step=4, pause_at=2, save_dir=tmp_path / "ckpt")
    with pytest.raises(PauseTrial):
        _curve(first, train, valid)
    resumed = first.resumed()
    assert [m["valid-l2"] for _, m, _ in first.reports] + _curve(resumed, train, valid) \
        == pytest.approx(clean, rel=1e-12)
    assert resumed.steps == [3, 4]
    assert _curve(FakeContext(max_step=4), train, valid) == clean
    assert train.get_init_score() is None and valid.get_init_score() is None


def test_a_resume_on_a_dataset_whose_raw_data_was_freed_is_refused(tmp_path: Path) -> None:
    """A Dataset constructed before rlgb.train saw it (here by a plain lightgbm.train), with
    free_raw_data=True, cannot be boosted from a saved model: refused with the setting to
    change instead of LightGBM's "Cannot set predictor after freed raw data"."""
    first = FakeContext(trial_id=1, max_step=4, pause_at=2, save_dir=tmp_path / "ckpt")
    with pytest.raises(PauseTrial):
        _curve(first, *data())
    train, valid = data()
    lgb.train(booster_params({"lr": 0.1, "leaves": 4}), train, num_boost_round=1)
    assert train.data is None  # freed
    resumed = first.resumed()
    with pytest.raises(ConfigError) as e:
        _curve(resumed, train, valid)
    assert str(e.value) == (
        "free_raw_data: a resumed trial continues boosting from its saved model, which "
        "LightGBM predicts on the Dataset's raw data, but this lightgbm.Dataset was constructed "
        "with free_raw_data=True and its raw data freed: build it with free_raw_data=False, or "
        "leave its construction to rung.integrations.lightgbm.train, which keeps the raw data")
    assert resumed.reports == []
