"""The blocks of ``docs/define-by-run.md`` run as written, after a prelude defining the names
the page leaves to the reader (``build``, ``evaluate``, ``fit_one_epoch``), and the messages
they show are the ones rung gives (``test_docs_blocks.py`` lists which blocks of each page are
covered, and how).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

import rung
from _docs_output import SPACE, _flat
from doc_blocks import blocks, fences, in_main, run_script

#: define-by-run's placeholders: ``build(opt, lr, momentum, width)``, then the same loss
DBR_PRELUDE = '''\
import math


class _Model:
    def __init__(self, opt, lr, momentum, width):
        self.opt, self.lr, self.momentum, self.width, self.epoch = opt, lr, momentum, width, 0


def build(opt, lr, momentum, width):
    return _Model(opt, lr, momentum, width)


def evaluate(model):
    return (math.log10(model.lr) + 3) ** 2 / model.epoch + 1 / model.width + model.momentum / 10


def fit_one_epoch(model):
    model.epoch += 1
    return evaluate(model)
'''


# --- define-by-run -------------------------------------------------------------------------------
@pytest.mark.slow
def test_define_by_run_optimize_block(tmp_path: Path) -> None:
    """The first block, 100 trials on 4 workers: the space it learns is the one the page
    describes (``momentum`` conditional on ``opt == "sgd"``, ``lr`` unconditional)."""
    block = blocks("define-by-run")[0]
    epilogue = in_main("""
        print(len(study.trials()), study.spec.scheduler.name, study.spec.max_step)
        print(repr(study.engine.space["momentum"]), repr(study.engine.space["lr"]))
    """)
    out = run_script(tmp_path, "dbr.py", DBR_PRELUDE + block + epilogue).strip().splitlines()
    assert out[-2:] == [
        "100 asha 27",
        "Float(low=0.0, high=0.99, when={'opt': 'sgd'}) Float(low=1e-05, high=0.1, log=True)"]
    assert "`momentum` becomes `Float(0, 0.99, when={\"opt\": \"sgd\"})`" in _flat("define-by-run")
    assert (tmp_path / "runs" / "dbr.db").exists()


def test_define_by_run_fixed_trial_block() -> None:
    """The FixedTrial block runs the first block's objective (its asserts hold), and the
    mistakes the text names are ConfigErrors naming the parameter."""
    first, fixed = blocks("define-by-run")[0], blocks("define-by-run")[2]
    ns: dict[str, Any] = {"__name__": "docs"}  # not "__main__": the study does not run
    exec(DBR_PRELUDE + first + fixed, ns)
    trial = ns["trial"]
    assert ns["final"] == trial.reports[-1][1]["loss"]
    assert trial.params == {"opt": "sgd", "lr": 0.01, "momentum": 0.9, "width": 64}
    from rung.dbr import FixedTrial

    with pytest.raises(rung.ConfigError, match="^width"):
        ns["objective"](FixedTrial({"opt": "sgd", "lr": 0.01, "momentum": 0.9}))
    with pytest.raises(rung.ConfigError, match="^width"):
        ns["objective"](FixedTrial({"opt": "sgd", "lr": 0.01, "momentum": 0.9, "width": 1000}))


def test_define_by_run_refusals(tmp_path: Path) -> None:
    """What the page says rung.optimize and a Trial refuse, with the names it says."""
    from rung.dbr import FixedTrial

    def objective(trial: Any) -> float:
        return float(trial.suggest_float("x", 0.0, 1.0))

    db = tmp_path / "dbr.db"
    for kwargs, start in (
        ({"searcher": "grid"}, "searcher: a grid needs its space up front"),
        ({"scheduler": rung.PBT()}, "scheduler: PBT perturbs hyperparameters of a space "
                                    "declared up front"),
        ({"direction": "minimize"}, "direction: not an argument of rung.optimize, nor of "
                                    "Study.run or the local executor; here it is mode="),
        ({"n_jobs": 2}, "n_jobs: not an argument of rung.optimize, nor of Study.run or the "
                        "local executor; here it is n_workers"),
    ):
        with pytest.raises(rung.ConfigError) as err:
            rung.optimize(objective, n_trials=2, storage=str(db), **kwargs)
        assert str(err.value).startswith(start)
        assert not db.exists()  # refused before anything is written
    trial = FixedTrial({"x": 0.5})
    for name, instead in (("suggest_uniform", "suggest_float(name, low, high)"),
                          ("suggest_loguniform", "log=True"),
                          ("suggest_discrete_uniform", "step=q")):
        with pytest.raises(AttributeError, match=re.escape(instead)):
            getattr(trial, name)
    # Optuna's 'if trial.should_prune(): raise TrialPruned()' runs unchanged (the page says so)
    assert trial.should_prune() is False


def test_define_by_run_bounds_block() -> None:
    """The objective whose ``units`` range depends on ``depth``: a value in the range it
    declares is used, one outside it is a ConfigError naming ``units``."""
    from rung.dbr import FixedTrial

    ns: dict[str, Any] = {}
    exec(blocks("define-by-run")[1], ns)
    trial = FixedTrial({"depth": 3, "units": 2})
    assert ns["objective"](trial) is None and trial.params == {"depth": 3, "units": 2}
    with pytest.raises(rung.ConfigError, match="^units"):
        ns["objective"](FixedTrial({"depth": 3, "units": 6}))


@pytest.mark.slow
def test_define_by_run_messages(tmp_path: Path) -> None:
    """The two errors the page shows are what ``rung.optimize`` raises; and the bounds block's
    objective, run by ``rung.optimize``, learns ``units`` over every range it was declared
    with, and never uses a value outside the range its trial asked for; a step counted from 0
    and Optuna's ``TrialPruned`` end trials as "Coming from Optuna" says."""
    bounds = blocks("define-by-run")[1]
    code = bounds + textwrap.dedent('''

        def scored(trial):
            objective(trial)
            return float(trial.suggest_int("depth", 1, 8))   # the first call's value


        def log_changes(trial):
            return trial.suggest_float("x", 0.1, 1.0, log=trial.id >= 1)


        def returns_bool(trial):
            return trial.suggest_float("x", 0.0, 1.0) > 2.0


        def from_zero(trial):  # Optuna's loop, unchanged
            x = trial.suggest_float("x", 0.0, 1.0)
            for step in range(3):
                trial.report(step, x)


        def pruned(trial):
            import optuna

            trial.report(1, trial.suggest_float("x", 0.0, 1.0))
            raise optuna.TrialPruned("not promising")


        if __name__ == "__main__":
            study = rung.optimize(scored, n_trials=30, n_workers=1, seed=0)
            trials = study.trials()
            print(all(1 <= t.params["units"] <= t.params["depth"] for t in trials),
                  max(t.params["depth"] for t in trials), repr(study.engine.space["units"]))
            for f in (log_changes, returns_bool, from_zero):
                try:
                    rung.optimize(f, n_trials=2, n_workers=1)
                except rung.ConfigError as e:
                    print(e)
            study = rung.optimize(pruned, n_trials=2, n_workers=1)
            print([(t.status.value, t.error) for t in study.trials()])
    ''')
    out = run_script(tmp_path, "dbr_messages.py", "import rung\n\n" + code)
    lines = out.strip().splitlines()[-5:]
    assert lines[0] == "True 8 Int(low=1, high=8)"  # "Int(1, 8) once depth = 8 has run"
    shown = [text.strip() for lang, text in fences("define-by-run") if lang == ""]
    assert lines[1:3] == shown
    # "a step that is not an integer >= 1 fails the trial and rung.optimize raises a
    # ConfigError naming it"; "an optuna.TrialPruned ... ends the trial as stopped (its message
    # is the trial's reason)"
    assert lines[3].startswith("step: must be >= 1 ") and lines[3].endswith("got 0 (trial 0)")
    assert lines[4] == "[('stopped', 'not promising'), ('stopped', 'not promising')]"


def test_define_by_run_enqueue_block() -> None:
    ns: dict[str, Any] = {"rung": rung, "space": SPACE}
    exec(blocks("define-by-run")[3], ns)
    study = ns["study"]
    first, second = study.ask(), study.ask()
    assert first is not None and second is not None
    assert first.params == {"lr": 1e-3, "width": 128, "opt": "adam"}
    # partial: the searcher completes it
    assert {k: second.params[k] for k in ("opt", "momentum")} == {"opt": "sgd", "momentum": 0.9}
    assert set(second.params) == {"lr", "width", "opt", "momentum"}
    assert 1e-5 <= second.params["lr"] <= 1e-1


def test_define_by_run_fidelity_block() -> None:
    ns: dict[str, Any] = {"rung": rung, "space": SPACE}
    exec(blocks("define-by-run")[4], ns)
    f, g, study = ns["f"], ns["g"], ns["study"]
    assert (f.steps, f.values) == ((1, 3, 9, 27), (1000, 3000, 9000, 27000))
    assert (g.steps, g.values) == ((1, 3, 9, 10), (0.1, 0.3, 0.9, 1.0))
    assert study.spec.max_step == 27  # Study.create(fidelity=...) sets max_step from it


@pytest.mark.slow
def test_define_by_run_fidelities_block(tmp_path: Path) -> None:
    """``fit`` from the page on the fidelity study above it: every result lies at a rung's
    step and is scored on that rung's sample count."""
    prelude = textwrap.dedent("""\
        import rung

        space = {"c": rung.Float(0.01, 10.0, log=True)}


        def score(params, n_samples):
            return abs(params["c"] - 1.0) + 1000.0 / n_samples


    """)
    epilogue = in_main("""
        study.run(fit, n_workers=2)
        steps = {r.step: round(r.metrics["loss"] - abs(t.params["c"] - 1.0), 9)
                 for t in study.trials() for r in t.results}
        print(len(study.trials()), sorted(steps.items()))
    """)
    # the study is created under the main guard (workers import the script) and, as it has no
    # budget, given one of 12 trials
    study = blocks("define-by-run")[4].replace('"svm", space,', '"svm", space, budget={"n_trials": 12},')
    assert "budget=" in study
    code = (prelude + blocks("define-by-run")[5] + '\n\nif __name__ == "__main__":\n'
            + in_main(study) + epilogue)
    out = run_script(tmp_path, "fidelities.py", code).strip().splitlines()[-1]
    assert out == "12 [(1, 1.0), (3, 0.333333333), (9, 0.111111111), (27, 0.037037037)]"
