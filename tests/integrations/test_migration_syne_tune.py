"""The Syne Tune migration guide (``docs/migrate-syne-tune.md``): its rung code runs as written,
and what it says about rung holds.

rung's blocks run as the page shows them, after a prelude that defines what the page leaves to
the reader (``build``, ``fit_one_epoch``): the ones that start worker processes as a script in a
subprocess (the workers import it), the others in this process. Syne Tune is not installed here
(its requirements pull xgboost and a CUDA stack), so its two blocks are checked for what they
name: every import and keyword is one the guide's facts were checked against in Syne Tune
0.16.0's source, and the launcher sets up the same study as rung's port. The page's scheduler
rows and decision rules: ``test_migration_syne_tune_rules.py``.
"""

from __future__ import annotations

import ast
import contextlib
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rung
from _docs_output import _cli, _flat
from doc_blocks import MIGRATION_PAGES, MLP_PRELUDE, ROOT, blocks, page_path, run_script

PAGE = "migrate-syne-tune"
TEXT = _flat(PAGE)

#: the Python blocks of the page, by index: what runs them (rung's) or checks them (Syne Tune's)
COVERED = {
    0: "Syne Tune's script and launcher: test_syne_tune_blocks_name_what_was_checked, "
       "test_the_port_sets_up_the_same_study",
    1: "rung's port: test_port_and_results_blocks",
    2: "Syne Tune's simulator: test_syne_tune_blocks_name_what_was_checked",
    3: "rung's simulation: test_simulation_block",
    4: "reading the results: test_port_and_results_blocks",
    5: "checkpoints and the promotion variant: test_checkpoint_block",
}

#: what the page imports from Syne Tune 0.16, each checked in Syne Tune 0.16.0's source (the
#: module and class, and the keywords the page passes)
SYNE_TUNE_NAMES = {
    "syne_tune": {"Reporter", "StoppingCriterion", "Tuner"},
    "syne_tune.backend": {"LocalBackend"},
    "syne_tune.config_space": {"lograndint", "loguniform"},
    "syne_tune.optimizer.baselines": {"ASHA"},
    "syne_tune.blackbox_repository": {"BlackboxRepositoryBackend"},
    "syne_tune.backend.simulator_backend.simulator_callback": {"SimulatorCallback"},
    "argparse": {"ArgumentParser"},
}
SYNE_TUNE_KEYWORDS = {
    "ASHA": {"metric", "do_minimize", "time_attr", "max_t", "grace_period", "reduction_factor",
             "brackets", "random_seed", "points_to_evaluate"},
    "Tuner": {"trial_backend", "scheduler", "stop_criterion", "n_workers", "sleep_time",
              "callbacks", "tuner_name", "suffix_tuner_name", "save_tuner", "max_failures",
              "results_update_interval", "print_update_interval",
              "wait_trial_completion_when_stopping"},
    "StoppingCriterion": {"max_wallclock_time", "max_num_evaluations", "max_num_trials_started",
                          "max_num_trials_completed", "max_cost", "max_num_trials_finished",
                          "min_metric_value", "max_metric_value"},
    "LocalBackend": {"entry_point"},
    "BlackboxRepositoryBackend": {"blackbox_name", "dataset", "elapsed_time_attr"},
}

#: what a guide's MLP placeholders stand for: a model whose loss falls with its epochs and
#: depends on lr and width, saved and loaded as its epoch count (so a trial resumed from a
#: checkpoint reports the loss of its true epoch, and one restarted from scratch would not)


def _loss(params: Mapping[str, Any], epoch: int) -> float:
    """The prelude's loss of ``params`` after ``epoch`` epochs."""
    return (math.log10(params["lr"]) + 3) ** 2 / epoch + 1 / params["width"]


def _rows(table_first_cell: str) -> str:
    """The page's table row whose first cell starts with ``table_first_cell``."""
    text = page_path(PAGE).read_text()
    found = [line for line in text.splitlines() if line.startswith(f"| {table_first_cell}")]
    assert len(found) == 1, table_first_cell
    return found[0]


# --- the page, its blocks and its place in the site ---------------------------------------------
def test_every_block_is_covered() -> None:
    assert set(range(len(blocks(PAGE)))) == set(COVERED), \
        "a block was added or removed: cover it here"


def test_the_page_is_a_migration_guide_in_the_nav() -> None:
    assert PAGE in MIGRATION_PAGES
    nav = (ROOT / "mkdocs.yml").read_text().splitlines()
    i = nav.index("      - From Syne Tune: migrate-syne-tune.md")
    assert nav[i - 1] == "      - From Ray Tune: migrate-ray-tune.md"
    assert nav[i + 1] == "      - From scikit-learn: migrate-sklearn.md"


def _imports_and_calls(code: str) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    tree = ast.parse(code)
    imported: dict[str, set[str]] = {}
    calls: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.setdefault(node.module or "", set()).update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            imported.setdefault("", set()).update(a.name for a in node.names)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            calls.setdefault(node.func.id, set()).update(
                k.arg for k in node.keywords if k.arg is not None)
    return imported, calls


def test_syne_tune_blocks_name_what_was_checked() -> None:
    """Syne Tune's blocks import only names whose facts were checked in its source, and pass
    them only keywords that were (a misspelt import or keyword fails here)."""
    for i in (0, 2):
        imported, calls = _imports_and_calls(blocks(PAGE)[i])
        assert "" not in imported, "a plain import in a Syne Tune block: check its facts"
        for module, names in imported.items():
            assert names <= SYNE_TUNE_NAMES[module], (module, names)
        for name, keywords in calls.items():
            if name in SYNE_TUNE_KEYWORDS:
                assert keywords <= SYNE_TUNE_KEYWORDS[name], (name, keywords)
    # the stopping criteria the table maps are StoppingCriterion's fields, none misspelt
    syne_tune_cell = _rows("`max_num_trials_completed`").split(" | ")[0]
    named = set(re.findall(r"`((?:max|min)_[a-z_]+)`", syne_tune_cell))
    named |= {"max_num_trials_started", "max_wallclock_time", "max_cost"}
    assert named == SYNE_TUNE_KEYWORDS["StoppingCriterion"]


def _literals(code: str) -> dict[str, Any]:
    """Every keyword argument of ``code`` given as a literal, by keyword (a keyword given twice
    has one value), and the literal positional arguments of each call, by ``name()``."""
    out: dict[str, Any] = {}
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call):
            for k in node.keywords:
                if k.arg is not None:
                    try:
                        value = ast.literal_eval(k.value)
                    except ValueError:
                        continue
                    assert out.setdefault(k.arg, value) == value, k.arg
            if isinstance(node.func, ast.Attribute | ast.Name) and node.args:
                name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
                with contextlib.suppress(ValueError):  # a name among the arguments
                    out[f"{name}()"] = tuple(ast.literal_eval(a) for a in node.args)
    return out


def test_the_port_sets_up_the_same_study() -> None:
    """The launcher and its port name the same study: 50 trials on 4 workers, epochs 1..27,
    rungs from step 1 with reduction factor 3, random search, the same ranges (Syne Tune's
    ``lograndint(16, 512)`` includes 512, as ``rung.Int(16, 512, log=True)`` does)."""
    st, port = _literals(blocks(PAGE)[0]), _literals(blocks(PAGE)[1])
    assert st["max_num_trials_started"] == port["n_trials"] == 50
    assert st["n_workers"] == port["n_workers"] == 4
    assert st["max_t"] == port["max_step"] == 27
    assert st["grace_period"] == port["min_step"] == 1
    assert st["reduction_factor"] == port["reduction_factor"] == 3
    assert (st["metric"], st["do_minimize"]) == (port["metric"], port["mode"] == "min")
    assert st["lograndint()"] == port["Int()"] == (16, 512)
    assert st["loguniform()"] == port["Float()"] == (1e-5, 1e-1)
    assert port["searcher"] == "random"  # Syne Tune's ASHA proposes at random


# --- rung's blocks -------------------------------------------------------------------------------
def test_port_and_results_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The port runs (50 trials, ASHA from step 1), the results block reads its journal as the
    page says, and ``rung resume`` refuses a study created from Python as the page quotes."""
    pytest.importorskip("pandas")
    out = run_script(tmp_path, "mlp_st.py", MLP_PRELUDE + blocks(PAGE)[1]).strip().splitlines()
    study = rung.Study.load("mlp", storage=str(tmp_path / "mlp.db"))
    trials = study.trials()
    assert len(trials) == 50 and study.spec.searcher.name == "random"
    assert (study.spec.scheduler.name, study.engine.scheduler.get_params(),
            study.spec.max_step) == ("asha", {"reduction_factor": 3, "min_step": 1}, 27)
    assert study.spec.space["width"] == rung.Int(16, 512, log=True)
    assert {t.status.value for t in trials} == {"completed", "stopped"}
    best = study.best_trial
    assert best is not None and out[-1] == f"{best.params} {best.value}"
    assert best.value == min(t.value for t in trials if t.last_step == 27)
    # the results block, in the same directory
    monkeypatch.chdir(tmp_path)
    ns: dict[str, Any] = {}
    exec(blocks(PAGE)[4], ns)
    results, frame = ns["results"], ns["trials"]
    assert len(results) == sum(len(t.results) for t in trials)
    assert {"trial_id", "step", "run", "time", "val_loss", "value", "decision", "reason"} \
        <= set(results.columns)
    assert len(frame) == 50
    assert {"params_lr", "params_width", "status", "value", "decision", "reason",
            "parent_id"} <= set(frame.columns)
    assert ns["best"].id == best.id
    # "Resuming": rung resume refuses a study that rung run did not create, in one line
    r = _cli("resume", "mlp", "--storage", "mlp.db", cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr.count("\n")) == (2, "", 1)
    quoted = ("(it was not created by `rung run`); resume it from Python with "
              "Study.load(...).run(objective)")
    assert r.stderr.rstrip().endswith(quoted) and quoted in TEXT


def test_checkpoint_block(tmp_path: Path) -> None:
    """The promotion variant pauses trials at the rungs and resumes them from the checkpoints
    ``save=`` wrote: every result is the loss of its true epoch (a trial restarted from scratch
    at ``ctx.start_step`` would report the loss of fewer epochs)."""
    pytest.importorskip("pandas")
    run_script(tmp_path, "promo.py", MLP_PRELUDE + blocks(PAGE)[5])
    study = rung.Study.load("mlp-promotion", storage=str(tmp_path / "mlp.db"))
    assert study.engine.scheduler.get_params() == {"reduction_factor": 3, "min_step": 1,
                                                   "variant": "promotion"}
    trials = study.trials()
    assert len(trials) == 30
    runs = study.results_dataframe().groupby("trial_id")["run"].max()
    assert (runs > 1).sum() >= 3  # trials continued after a pause, in a later run
    assert any(t.status.value == "completed" and t.last_step == 27 for t in trials)
    for t in trials:
        for r in t.results:
            assert r.metrics["val_loss"] == pytest.approx(_loss(t.params, r.step)), (t.id, r.step)


def test_simulation_block(monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    from rung.benchmarks import CurveTable
    from rung.executors.simulated import MAX_WORKERS

    monkeypatch.chdir(ROOT)  # "from the repository's root"
    ns: dict[str, Any] = {}
    exec(blocks(PAGE)[3], ns)
    study, table = ns["study"], ns["table"]
    assert isinstance(table, CurveTable)
    regret, now = (float(x) for x in capsys.readouterr().out.split())
    assert regret == study.best_trial.value - table.optimum and regret >= 0
    assert now == study.last_executor.now() > 0
    assert len(study.trials()) == 200 and study.spec.max_step == table.max_step == 243
    # the table's claims: ten tables ship; up to 10,000 simulated workers
    assert len(list((ROOT / "benchmarks" / "curves").glob("*.npz"))) == 10
    assert "ten of them in `benchmarks/curves/`" in TEXT
    assert MAX_WORKERS == 10_000 and "up to 10,000 simulated workers" in TEXT


# --- the search space ----------------------------------------------------------------------------
def _draws(param: Any, n: int, seed: int = 0) -> list[Any]:
    rng = np.random.default_rng(seed)
    return [param.sample(rng) for _ in range(n)]


def test_search_space_rows() -> None:
    space = rung.SearchSpace({
        "i": rung.Int(0, 3),
        "log_i": rung.Int(1, 4, log=True),
        "fin": rung.Float(0.0, 1.0, step=0.25),
        "ordinal": rung.Categorical([1, 2, 10], ordered=True),
        "logfin": rung.Categorical(np.geomspace(1e-4, 1e-1, 4), ordered=True),
        "epochs": 27,
    })
    # randint(0, 3) draws 0..3: Int(0, 3) too, both bounds included
    assert set(_draws(space["i"], 2000)) == {0, 1, 2, 3}
    # lograndint's end points: rung gives 1 its whole log interval, log(3) / log(9) = 0.5;
    # Syne Tune's rule (round a log-uniform draw in [1, 4]) gives it log(1.5) / log(4) = 0.29
    assert "`lograndint(1, 4)` draws 1 with probability `log(1.5) / log(4)` = 0.29, " \
           "`rung.Int(1, 4, log=True)` with `log(3) / log(9)` = 0.5" in TEXT
    ours = _draws(space["log_i"], 20000)
    assert ours.count(1) / len(ours) == pytest.approx(math.log(3) / math.log(9), abs=0.015)
    u = np.random.default_rng(0).uniform(0.0, math.log(4), 20000)
    theirs = np.rint(np.exp(u))
    assert (theirs == 1).mean() == pytest.approx(math.log(1.5) / math.log(4), abs=0.015)
    assert round(math.log(1.5) / math.log(4), 2) == 0.29
    # finrange(0.0, 1.0, 5) is Float(0.0, 1.0, step=0.25); in general step (hi - lo) / (size - 1)
    assert space["fin"].grid(100) == [0.0, 0.25, 0.5, 0.75, 1.0]
    for lo, hi, size in ((0.0, 1.0, 5), (-2.0, 3.0, 11), (1e-3, 0.5, 7)):
        p = rung.SearchSpace({"f": rung.Float(lo, hi, step=(hi - lo) / (size - 1))})["f"]
        assert p.grid(1000) == pytest.approx(list(np.linspace(lo, hi, size)))
    # Syne Tune 0.16's ordinal([1, 2, 10]) (kind "nn"): uniform over [1 - g, 10 + g], g half the
    # mean gap (2.25), then the nearest value: 1 below 1.5, 2 up to 6, 10 above
    g = 0.5 * np.mean(np.diff([1, 2, 10]))
    lo, hi = 1 - g, 10 + g
    shares = [(1.5 - lo) / (hi - lo), (6 - 1.5) / (hi - lo), (hi - 6) / (hi - lo)]
    assert [round(s, 2) for s in shares] == [0.20, 0.33, 0.46]
    assert "`ordinal([1, 2, 10])`: 0.20, 0.33 and 0.46" in TEXT
    # rung's ordered Categorical: every choice equally likely
    d = _draws(space["ordinal"], 30000)
    assert space["ordinal"].ordered
    for v in (1, 2, 10):
        assert d.count(v) / len(d) == pytest.approx(1 / 3, abs=0.015)
    # logfinrange: no log scale with a step; a NumPy array of choices is taken as its list
    assert space["logfin"].choices == pytest.approx((1e-4, 1e-3, 1e-2, 1e-1))
    assert all(type(c) is float for c in space["logfin"].choices)
    with pytest.raises(rung.SpaceError, match="step and log=True cannot be combined"):
        rung.SearchSpace({"u": rung.Float(1e-4, 1e-1, log=True, step=0.01)})
    # a constant is Fixed, and the objective gets it in its params
    assert space["epochs"] == rung.Fixed(27)
    study = rung.Study.create("c", space, "loss", searcher="random", scheduler="fifo",
                              budget={"n_trials": 1})
    assert study.ask().params["epochs"] == 27


# --- results -------------------------------------------------------------------------------------
def test_best_trial_is_the_best_final_value_not_the_best_row() -> None:
    """Trial 0 reports the best value of all (0.1) at step 1 and ends at 0.9; trial 1 ends at
    0.3. Syne Tune's ``best_config()`` takes the best row (trial 0's); ``best_trial`` is
    trial 1."""
    pytest.importorskip("pandas")
    study = rung.Study.create("r", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                              scheduler="fifo", max_step=3, budget={"n_trials": 2})
    for curve in ((0.1, 0.5, 0.9), (0.3, 0.3, 0.3)):
        t = study.ask()
        for step, v in enumerate(curve, 1):
            study.report(t.id, step, {"loss": v})
        study.tell(t.id, "completed")
    results = study.results_dataframe()
    best_row = results.loc[results["loss"].idxmin()]
    assert (best_row["trial_id"], best_row["step"]) == (0, 1)
    assert study.best_trial.id == 1 and study.best_trial.value == 0.3


# --- budgets, cost, resuming ---------------------------------------------------------------------
def _objective(ctx: rung.TrialContext) -> None:
    ctx.report(1, loss=0.0)


def test_budget_and_cost_rows() -> None:
    from rung.benchmarks import get_benchmark

    bench = get_benchmark("mf-branin")
    study = rung.Study.create("cost", bench.space, rung.Objective(bench.metric, bench.mode),
                              searcher="random", scheduler=rung.ASHA(), max_step=bench.max_step,
                              budget=rung.Budget(max_cost=0.05), seed=0,
                              prices=rung.Prices({"cpu": 0.04}), resources_per_trial={"cpu": 4})
    assert (study.spec.prices, study.spec.resources_per_trial) == ({"cpu": 0.04}, {"cpu": 4.0})
    study.simulate(bench, n_workers=4)  # "on every executor, the simulated one included"
    ledger = study.ledger()
    assert ledger.budget["max_cost"] == 0.05 and ledger.total.cost >= 0.05
    assert ledger.budget["overshoot_cost"] < 0.01
    # the local executor does not say what a trial holds: one CPU, unpriced here
    local = rung.Study.create("local", {"x": rung.Float(0.0, 1.0)}, "loss",
                              budget=rung.Budget(max_cost=1.0), prices={"gpu": 2.0})
    with pytest.raises(rung.ConfigError, match="would never be spent"):
        local.run(_objective, n_workers=1, progress=False)
    assert not local.trials()


def test_resumed_study_keeps_its_budget(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    rung.Study.create("s", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                      budget={"n_trials": 10}, storage=db)
    with pytest.raises(rung.ConfigError) as err:
        rung.Study.create("s", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                          budget={"n_trials": 20}, storage=db, load_if_exists=True)
    assert err.value.key == "budget"
    assert "`Study.create(..., load_if_exists=True)` with another budget is a `ConfigError` " \
           "naming `budget`" in TEXT


def test_stop_and_pause_are_base_exceptions() -> None:
    for exc in (rung.StopTrial, rung.PauseTrial):
        assert issubclass(exc, BaseException) and not issubclass(exc, Exception)
