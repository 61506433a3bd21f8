"""The ports of peers' examples (``examples/ports``) run end to end on a tiny budget, on real
worker processes, and each does what its original is for."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

import rung
from rung import TrialStatus

PORTS = Path(__file__).resolve().parent.parent / "examples" / "ports"


def load(name: str) -> ModuleType:
    """The example as a module of its own name: spawned workers import the objective by
    that name, from the parent's ``sys.path`` (which multiprocessing passes on)."""
    if str(PORTS) not in sys.path:
        sys.path.insert(0, str(PORTS))
    return importlib.import_module(name)


def statuses(study) -> dict[str, int]:  # type: ignore[no-untyped-def]
    out: dict[str, int] = {}
    for t in study.trials():
        out[t.status.value] = out.get(t.status.value, 0) + 1
    return out


def test_ray_tune_async_hyperband(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = load("ray_tune_async_hyperband")
    study = m.main(["--trials", "9", "--max-step", "20", "--workers", "2",
                    "--storage", str(tmp_path / "s.db")])
    # Ray's AsyncHyperBandScheduler(grace_period=5, max_t=100): one bracket, eta 4
    assert (study.spec.scheduler.name, study.engine.scheduler.get_params()) == (
        "asha", {"reduction_factor": 4, "min_step": 5})
    s = statuses(study)
    assert s.get("stopped", 0) >= 1 and sum(s.values()) == 9  # the scheduler cut some trials
    for t in study.trials():  # stopped only at the rung (step 5), never at another step
        if t.status is TrialStatus.STOPPED:
            assert t.results[-1].step == 5
    best = study.best_trial
    assert best.value == min(t.value for t in study.trials() if t.value is not None)
    assert "best: width=" in capsys.readouterr().out


def test_ray_tune_bohb(tmp_path: Path) -> None:
    m = load("ray_tune_bohb")
    study = m.main(["--trials", "12", "--max-step", "16", "--workers", "2",
                    "--storage", str(tmp_path / "s.db")])
    assert study.spec.searcher.name == "bohb" and study.spec.scheduler.name == "hyperband"
    trials = study.trials()
    assert len(trials) == 12 and any(t.status is TrialStatus.COMPLETED for t in trials)
    for t in trials:  # paused at a rung, resumed from its checkpoint: no step trained twice
        assert [r.step for r in t.results] == list(range(1, len(t.results) + 1))
    assert any(len(t.results) > 1 for t in trials)  # some trial went past the first rung
    best = study.best_trial
    assert best.value == pytest.approx(m.reward(16, best.params["width"], best.params["height"],
                                                best.params["activation"]))


def test_ray_tune_bohb_default_trials_are_four_hyperband_iterations() -> None:
    from rung.schedulers.successive_halving import bracket_plan

    m = load("ray_tune_bohb")
    brackets = [bracket_plan(s, 3, 4, 100, ceil=False)[0][0] for s in (3, 2, 1, 0)]
    assert brackets == [64, 22, 8, 4]
    assert m.TRIALS == 4 * sum(brackets) == 392
    hb = rung.Hyperband(reduction_factor=4)
    study = rung.Study.create("hb", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                              scheduler=hb, max_step=100, budget={"n_trials": m.TRIALS})
    assert study.engine.scheduler.state()["s_max"] == 3


def test_ray_tune_pbt_exploits_and_returns_the_best_member(tmp_path: Path) -> None:
    m = load("ray_tune_pbt")
    study = m.main(["--population", "4", "--workers", "2", "--max-step", "40",
                    "--storage", str(tmp_path / "s.db")])
    trials = study.trials()
    forks = [t for t in trials if t.parent_id is not None]
    assert forks, "PBT never exploited"
    assert not [t for t in trials if t.status is TrialStatus.PAUSED]  # nobody left behind
    best = study.best_trial
    latest = {t.id: t.results[-1].metrics["acc"] for t in trials if t.results}
    assert best.value == max(latest.values())


def test_optuna_multi_objective_pareto_front(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    m = load("optuna_multi_objective")
    study = m.main(["--trials", "6", "--workers", "2", "--epochs", "5",
                    "--storage", str(tmp_path / "s.db")])
    front = study.pareto_front()
    assert front
    pts = [(t.results[-1].metrics["n_weights"], -t.results[-1].metrics["accuracy"])
           for t in study.trials()]
    for t in front:  # nobody dominates a front member
        a = (t.results[-1].metrics["n_weights"], -t.results[-1].metrics["accuracy"])
        assert not any(b[0] <= a[0] and b[1] <= a[1] and b != a for b in pts)
    for t in study.trials():  # conditional parameters follow n_layers
        assert ("n_units_l2" in t.params) == (t.params["n_layers"] == 3)


def test_optuna_lightgbm_pruning_prunes_with_optunas_median_rule(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("lightgbm")
    m = load("optuna_lightgbm_pruning")
    study = m.main(["--trials", "10", "--rounds", "30", "--workers", "2",
                    "--storage", str(tmp_path / "s.db")])
    # the worker processes write to the same file descriptors: LightGBM says nothing, least of
    # all "[Fatal] Reducing `min_data_in_leaf` with `feature_pre_filter=true`" for the trials
    # that reuse a worker's cached Dataset with a smaller min_child_samples
    out, err = capfd.readouterr()
    assert "[LightGBM]" not in out + err, (out + err)[:2000]
    assert "AUC" in out
    trials = study.trials()
    # Optuna's MedianPruner(n_warmup_steps=10) with its defaults; Optuna's steps are
    # LightGBM's 0-based iterations, so its first prunable step (10) is rung's step 11
    assert study.spec.scheduler.name == "median"
    assert study.engine.scheduler.get_params() == {
        "min_step": 11, "min_trials": 1, "rule": "optuna", "startup_trials": 5}
    stopped = [t for t in trials if t.status is TrialStatus.STOPPED]
    assert stopped, "the median rule pruned nothing"
    for t in stopped:  # never before Optuna's n_warmup_steps
        assert t.results[-1].step >= 11
    for t in trials:  # one result per boosting round, both metrics of the evaluation list
        steps = [r.step for r in t.results]
        assert steps == list(range(1, len(steps) + 1))
        assert {"valid-auc", "valid-binary_error"} <= set(t.results[-1].metrics)


@pytest.mark.slow  # fits scikit-learn models for every iteration (~8 s)
def test_sklearn_successive_halving_iterates_like_halving_random_search(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV

    m = load("sklearn_successive_halving")
    out = tmp_path / "it.png"
    rsh = m.main(["--samples", "200", "--storage", str(tmp_path / "s.db"), "--plot", str(out)])
    X, y = make_classification(n_samples=200, n_features=12, random_state=0)
    ref = HalvingRandomSearchCV(RandomForestClassifier(n_estimators=20, random_state=0),
                                m.param_dist(), factor=2, random_state=0).fit(X, y)
    assert rsh.n_resources_ == ref.n_resources_  # the same halving schedule
    assert rsh.n_candidates_ == ref.n_candidates_
    assert rsh.best_params_ == rsh.cv_results_["params"][rsh.best_index_]
    assert out.stat().st_size > 0
