"""The code of the migration guides and the integrations page runs as written, and what the
guides claim about the peers holds.

Each Python block of ``docs/migrate-*.md`` and ``docs/integrations.md`` is run here, as the page
shows it, after a prelude that defines the names the page leaves to the reader (``build``,
``fit_one_epoch``, ``X, y``, ``train_set``, an Optuna ``objective``): blocks that start worker
processes run as a script in a subprocess (the workers import it), the others in this process.
A peer's own block (the "before" of a migration) runs too when that is cheap; Ray Tune's takes
minutes, so its names are resolved against the installed Ray instead. A block added to a page
fails ``test_every_block_is_covered`` until a test here runs it.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path
from typing import Any

import pytest

import rung
from doc_blocks import MIGRATION_PAGES as PAGES
from doc_blocks import MLP_PRELUDE, blocks, in_main, run_script

#: blocks no test here runs, and why
NOT_RUN = {
    ("integrations", 0): "the tracking callbacks' block (tests/integrations/test_mlflow.py, "
                         "test_tensorboard.py run them)",
    ("integrations", 5): "fragments of objectives (ctx, model and data are the reader's); "
                         "tests/integrations/test_lightning.py, test_transformers.py and "
                         "test_keras.py run the same calls",
    **{("migrate-syne-tune", i): "run or checked by test_migration_syne_tune.py" for i in range(6)},
}

def test_every_block_is_covered() -> None:
    found = {(page, i) for page in PAGES for i in range(len(blocks(page)))}
    covered = {
        ("migrate-optuna", 0), ("migrate-optuna", 1),
        ("migrate-ray-tune", 0), ("migrate-ray-tune", 1),
        ("migrate-sklearn", 0), ("migrate-sklearn", 1), ("migrate-sklearn", 2),
        ("integrations", 1), ("integrations", 2), ("integrations", 3), ("integrations", 4),
        ("integrations", 6),
    }
    assert found == covered | set(NOT_RUN), "a block was added or removed: cover it here"


# --- Optuna --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_optuna_guide_rung_block(tmp_path: Path) -> None:
    block = blocks("migrate-optuna")[1]
    assert block.rstrip().endswith("print(study.best_trial.params, study.best_trial.value)")
    out = run_script(tmp_path, "mlp_rung.py", MLP_PRELUDE + block).strip().splitlines()[-1]
    # the table's resume line: a finished study has nothing left to run
    study = rung.Study.load("mlp", storage=str(tmp_path / "mlp.db"))
    trials = study.trials()
    assert len(trials) == 200 and study.spec.searcher.name == "tpe"
    assert (study.spec.scheduler.name, study.engine.scheduler.get_params()["reduction_factor"],
            study.spec.max_step) == ("asha", 4, 27)
    best = study.best_trial
    assert best.value == min(t.value for t in trials if t.value is not None)
    assert out == f"{best.params} {best.value}"
    assert {t.status.value for t in trials} == {"completed", "stopped"}


@pytest.mark.slow
def test_optuna_guide_optuna_block_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    monkeypatch.chdir(tmp_path)
    ns: dict[str, Any] = {}
    exec(MLP_PRELUDE + blocks("migrate-optuna")[0], ns)
    study = ns["study"]
    assert len(study.trials) == 200 and (tmp_path / "mlp.db").exists()
    assert capsys.readouterr().out.strip() == f"{study.best_params} {study.best_value}"


def _curves(seed: int, n: int, steps: int) -> list[list[float]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.5, 2.0, n), rng.uniform(0.0, 1.0, n)
    return [[float(a[i] / s + b[i] + 0.05 * rng.normal()) for s in range(1, steps + 1)]
            for i in range(n)]


@pytest.mark.parametrize("seed", range(3))
def test_successive_halving_pruner_is_asha_with_eta_4(seed: int) -> None:
    """The Optuna guide's table: ``SuccessiveHalvingPruner(min_resource=1)`` (reduction factor
    4) prunes the same trials at the same steps as ``rung.ASHA(reduction_factor=4)``, trial
    after trial (the curves have no ties)."""
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    steps, curves = 27, _curves(seed, 30, 27)

    def optuna_prunes(**kwargs: Any) -> list[int | None]:
        study = optuna.create_study(pruner=optuna.pruners.SuccessiveHalvingPruner(**kwargs))
        out: list[int | None] = []
        for curve in curves:
            trial, pruned_at = study.ask(), None
            for step in range(1, steps + 1):  # the guide's loop: epochs 1..27
                trial.report(curve[step - 1], step)
                if trial.should_prune():
                    pruned_at = step
                    break
            study.tell(trial, None if pruned_at else curve[-1],
                       state=optuna.trial.TrialState.PRUNED if pruned_at else None)
            out.append(pruned_at)
        return out

    study = rung.Study.create("shp", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                              scheduler=rung.ASHA(reduction_factor=4), max_step=steps,
                              budget={"n_trials": len(curves)})
    rung_stops: list[int | None] = []
    for curve in curves:
        t, stopped_at = study.ask(), None
        for step in range(1, steps + 1):
            if study.report(t.id, step, {"loss": curve[step - 1]}).action.value == "stop":
                stopped_at = step
                break
        study.tell(t.id, "stopped" if stopped_at else "completed")
        rung_stops.append(stopped_at)
    assert sum(s is not None for s in rung_stops) >= 15
    assert optuna_prunes(min_resource=1) == rung_stops
    assert optuna_prunes(min_resource=1, reduction_factor=3) != rung_stops


# --- Ray Tune ------------------------------------------------------------------------------------
def _resolve_names(code: str, namespace: dict[str, Any]) -> list[str]:
    """Every ``name.attr.attr`` of ``code`` whose root the imports of ``code`` bind, resolved
    in ``namespace`` (after running those imports); the ones that do not resolve."""
    tree = ast.parse(code)
    imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    exec(compile(ast.Module(body=imports, type_ignores=[]), "<imports>", "exec"), namespace)
    bound = {a.asname or a.name.split(".")[0] for n in imports for a in n.names}
    missing = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            chain, root = [], node
            while isinstance(root, ast.Attribute):
                chain.append(root.attr)
                root = root.value
            if isinstance(root, ast.Name) and root.id in bound:
                obj: Any = namespace[root.id]
                for attr in reversed(chain):
                    if not hasattr(obj, attr):
                        missing.append(".".join([root.id, *reversed(chain)]))
                        break
                    obj = getattr(obj, attr)
    return missing


def test_ray_tune_guide_ray_block_uses_what_ray_has() -> None:
    """Ray Tune's own block (200 trials take minutes on Ray): every ``tune.*`` it uses exists
    in the installed Ray, and ``ASHAScheduler`` takes its arguments."""
    pytest.importorskip("ray.tune")
    block = blocks("migrate-ray-tune")[0]
    ns: dict[str, Any] = {}
    assert _resolve_names(block, ns) == []
    for name in ("get_checkpoint", "report", "Tuner", "with_resources", "TuneConfig",
                 "loguniform", "lograndint"):
        assert f"tune.{name}" in block
    ns["ASHAScheduler"](grace_period=1, max_t=100, reduction_factor=3)


@pytest.mark.slow
def test_ray_tune_guide_rung_block(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    block = blocks("migrate-ray-tune")[1]
    assert block.rstrip().endswith("best = study.best_trial")
    epilogue = in_main("""
        print(len(study.trials()), study.spec.scheduler.name,
              sorted(study.engine.scheduler.get_params().items()), study.spec.max_step)
        print(best.value == min(t.value for t in study.trials() if t.value is not None))
    """)
    out = run_script(tmp_path, "mlp_ray.py", MLP_PRELUDE + block + epilogue,
                     env={"HOME": str(tmp_path)}).strip().splitlines()
    assert out[-2:] == [
        "200 asha [('min_step', 1), ('reduction_factor', 3)] 100", "True"]


# --- scikit-learn --------------------------------------------------------------------------------
@pytest.mark.slow
def test_sklearn_guide_estimator_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The two estimator blocks, one after the other as the page reads (the second uses the
    first's imports): the same candidates, and the same scores on the first iteration."""
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_iris

    monkeypatch.chdir(tmp_path)
    X, y = load_iris(return_X_y=True)
    ns: dict[str, Any] = {"X": X, "y": y}
    theirs, ours = blocks("migrate-sklearn")[:2]
    exec(theirs, ns)
    halving = ns["search"]
    exec(ours, ns)
    search = ns["search"]
    assert type(search).__name__ == "RungSearchCV" and search is not halving
    a, b = halving.cv_results_, search.cv_results_
    first = [i for i, it in enumerate(a["iter"]) if it == 0]
    assert [a["params"][i] for i in first] == [b["params"][i] for i in first]
    assert [a["mean_test_score"][i] for i in first] == [b["mean_test_score"][i] for i in first]
    assert search.n_resources_ == halving.n_resources_
    assert rung.Study.load(search.study_name_, storage=str(tmp_path / "search.db")).trials()


@pytest.mark.slow
def test_sklearn_guide_study_block(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    block = blocks("migrate-sklearn")[2]
    out = run_script(tmp_path, "boosting.py", block).strip().splitlines()[-1]
    assert out.startswith("{'learning_rate': ")


# --- the integrations page -----------------------------------------------------------------------
def test_integrations_optuna_searcher_block() -> None:
    pytest.importorskip("optuna")
    ns: dict[str, Any] = {"rung": rung, "space": {"x": rung.Float(-2.0, 2.0),
                                                  "y": rung.Float(-2.0, 2.0)}}
    exec(blocks("integrations")[1], ns)
    study = ns["study"]
    assert (study.spec.searcher.name, study.spec.searcher.params) == (
        "optuna", {"sampler": "CmaEsSampler", "kwargs": {"popsize": 8}})
    for _ in range(3):
        t = study.ask()
        assert -2.0 <= t.params["x"] <= 2.0
        study.tell(t.id, "completed", {"loss": t.params["x"] ** 2 + t.params["y"] ** 2})


def test_integrations_rung_sampler_and_pruner_block() -> None:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    curves = _curves(7, 100, 27)

    def objective(trial: Any) -> float:  # "reports steps 0..26 and asks should_prune()"
        x = trial.suggest_float("x", 0.0, 1.0)
        for step in range(27):
            value = curves[trial.number][step] + x
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    ns: dict[str, Any] = {"objective": objective}
    exec(blocks("integrations")[2], ns)
    study = ns["study"]
    states = [t.state.name for t in study.trials]
    assert len(states) == 100 and "PRUNED" in states and "COMPLETE" in states
    rung_trials = study.pruner.embedded(study).study.trials()
    assert len(rung_trials) == 100
    stopped = {t.id for t in rung_trials if t.status.value == "stopped"}
    assert stopped == {t.number for t in study.trials if t.state.name == "PRUNED"}


@pytest.mark.slow
def test_integrations_ray_tune_adapter_block(tmp_path: Path) -> None:
    pytest.importorskip("ray.tune")
    prelude = textwrap.dedent("""\
        from ray import tune


        def train_fn(config):
            for epoch in range(1, 28):
                tune.report({"loss": (config["lr"] - 0.01) ** 2 + 1.0 / epoch})
    """)
    epilogue = textwrap.dedent("""
        results = tuner.fit()
        print(len(results), results.get_best_result().metrics["training_iteration"])
    """)
    out = run_script(tmp_path, "tune_adapter.py", prelude + blocks("integrations")[3] + epilogue,
                     env={"HOME": str(tmp_path)}).strip().splitlines()
    n, best_iteration = out[-1].split()
    assert (n, best_iteration) == ("50", "27")
    study = rung.Study.load("ray-tune", storage=str(tmp_path / "rung.db"))
    statuses = [t.status.value for t in study.trials()]
    assert len(statuses) == 50 and "stopped" in statuses and "completed" in statuses


@pytest.mark.slow
def test_integrations_lightgbm_block(tmp_path: Path) -> None:
    pytest.importorskip("lightgbm")
    prelude = textwrap.dedent("""\
        import lightgbm
        from sklearn.datasets import load_breast_cancer

        X, y = load_breast_cancer(return_X_y=True)
        train_set = lightgbm.Dataset(X[:400], y[:400])
        valid_set = lightgbm.Dataset(X[400:], y[400:], reference=train_set)
    """)
    epilogue = in_main("""
        print(len(study.trials()), sorted(study.best_trial.results[-1].metrics))
    """)
    out = run_script(tmp_path, "gbm.py", prelude + blocks("integrations")[4] + epilogue)
    assert out.strip().splitlines()[-1] == "30 ['valid-binary_logloss']"


def test_integrations_rung_search_cv_block() -> None:
    """``n_resources_`` is ``[6, 18, 54, 162]`` on 270 samples, as the page says."""
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    ns: dict[str, Any] = {"X": X[:270], "y": y[:270]}
    exec(blocks("integrations")[6], ns)
    assert ns["search"].n_resources_ == [6, 18, 54, 162]
    assert ns["search"].n_candidates_ == [27, 9, 3, 1]
