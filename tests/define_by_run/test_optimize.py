"""``rung.optimize``: define-by-run objectives on real workers, with every searcher."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rung
from rung.core.events import Launch, ParamsUsed
from rung.core.records import TrialStatus
from rung.dbr import Trial
from rung.errors import ConfigError

OPT = {"type": "categorical", "choices": ["adam", "sgd"]}
LEARNED = {
    "opt": OPT,
    "lr": {"type": "float", "low": 0.0001, "high": 0.1, "log": True},
    "momentum": {"type": "float", "low": 0.0, "high": 0.9, "when": {"opt": "sgd"}},
    "width": {"type": "int", "low": 8, "high": 64, "log": True},
}


def branching(trial: Trial) -> float:
    """momentum exists only on the sgd branch; everything else on both."""
    opt = trial.suggest_categorical("opt", ["adam", "sgd"])
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    momentum = trial.suggest_float("momentum", 0.0, 0.9) if opt == "sgd" else 0.0
    width = trial.suggest_int("width", 8, 64, log=True)
    loss = 0.0
    for step in range(trial.start_step, trial.max_step + 1):
        loss = (lr - 0.01) ** 2 + momentum / step + 1.0 / width
        trial.report(step, loss)
    return loss


def run(searcher: str, storage: Path, n_trials: int = 14) -> rung.Study:
    """Seed 1: the first two trials (launched together, before anything is learned) draw
    opt = adam and sgd, so the learned space is the same whatever order events arrive in."""
    return rung.optimize(branching, n_trials=n_trials, searcher=searcher, scheduler="asha",
                         max_step=4, n_workers=2, storage=storage, seed=1, name=searcher,
                         start_method="fork", progress=False)


def both_branches(study: rung.Study) -> None:
    """The learned space, and every trial's params: momentum on the sgd branch only."""
    assert study.engine.space.to_json() == LEARNED
    trials = study.trials()
    assert [t.id for t in trials] == list(range(len(trials)))
    for t in trials:
        assert t.status in (TrialStatus.COMPLETED, TrialStatus.STOPPED)
        expected = ["opt", "lr", "momentum", "width"] if t.params["opt"] == "sgd" \
            else ["opt", "lr", "width"]
        assert list(t.params) == expected, t
        assert study.engine.space.validate(t.params) == dict(t.params)
    assert {t.params["opt"] for t in trials} == {"adam", "sgd"}


@pytest.mark.parametrize("searcher", ["random", "tpe", "gp", "bohb"])
def test_every_searcher_runs_a_define_by_run_objective(searcher: str, tmp_path: Path) -> None:
    n = 14 if searcher != "gp" else 10
    study = run(searcher, tmp_path / "j.db", n)
    assert len(study.trials()) == n
    both_branches(study)
    # the journal holds what each trial used: the history's params are exactly those
    used: dict[int, dict[str, Any]] = {}
    for r in study.journal.read(study.name):
        if isinstance(r, ParamsUsed):
            used[r.trial_id] = dict(r.params)
    assert used == {t.id: dict(t.params) for t in study.trials()}
    # replay from the journal rebuilds the same space, params, results and statuses
    again = rung.Study.load(searcher, tmp_path / "j.db")
    assert again.engine.space == study.engine.space
    assert again.trials() == study.trials()
    # and `rung show` lists the learned space
    from rung.cli.report import show_text

    prefix = "  space      learned from the trials: "
    line = next(x for x in show_text(again, "j.db").splitlines() if x.startswith(prefix))
    # (in first-declared order, which depends on which of the first two trials reported first)
    assert sorted(line[len(prefix):].split(", ")) == [
        "lr", "momentum (when opt in ['sgd'])", "opt", "width"]


def test_the_searcher_proposes_on_the_learned_space(tmp_path: Path) -> None:
    study = run("random", tmp_path / "j.db", 10)
    launches = [r for r in study.journal.read(study.name) if isinstance(r, Launch)]
    assert [dict(r.params) for r in launches[:2]] == [{}, {}]  # nothing known yet: drawn
    known = [r for r in launches if r.params]
    assert known, "later trials get the searcher's proposals"
    for r in known:  # proposals are valid configurations of the space learned so far
        assert set(r.params) <= set(LEARNED)
        assert r.params["opt"] in ("adam", "sgd")
    # a proposed value is the one the trial used
    for r in known:
        t = study.trial(r.trial_id)
        assert all(t.params[k] == v for k, v in r.params.items() if k in t.params)


def test_a_draw_depends_only_on_seed_trial_and_name(tmp_path: Path) -> None:
    a = run("random", tmp_path / "a.db", 4)
    b = run("random", tmp_path / "b.db", 4)
    assert [t.params for t in a.trials()[:2]] == [t.params for t in b.trials()[:2]]


def conflicting(trial: Trial) -> float:
    return trial.suggest_float("x", 0.1, 1.0, log=trial.id != 0)


def test_two_kinds_of_distribution_for_one_name_is_a_config_error(tmp_path: Path) -> None:
    """Bounds may vary between trials (``test_dependent_bounds``); the log scale may not."""
    with pytest.raises(ConfigError) as e:
        rung.optimize(conflicting, n_trials=3, searcher="random", scheduler="fifo",
                      n_workers=1, storage=tmp_path / "j.db", start_method="fork",
                      progress=False)
    assert e.value.key == "x"
    assert str(e.value) == ("x: declared as float(low=0.1, high=1.0) before, now as "
                            "float(low=0.1, high=1.0, log=True): a parameter keeps its log "
                            "scale (only its bounds and step may change from call to call) "
                            "(trial 1)")


def twice(trial: Trial) -> float:
    a = trial.suggest_float("x", 0.0, 1.0)
    assert trial.suggest_float("x", 0.0, 1.0) == a  # the same value within a trial
    assert trial.suggest_float("x", 0.0, 3.0) == a  # a range that holds it: the same too
    trial.suggest_int("x", 0, 3)
    return a


def test_a_second_distribution_within_a_trial_fails_it_naming_the_parameter(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match=r"^x: declared as float\(low=0.0, high=1.0\) before, "
                       r"now as int\(low=0, high=3\): a parameter keeps its kind"):
        rung.optimize(twice, n_trials=1, searcher="random", scheduler="fifo", n_workers=1,
                      storage=tmp_path / "j.db", start_method="fork", progress=False)


def test_optimize_resumes_an_existing_study(tmp_path: Path) -> None:
    first = run("random", tmp_path / "j.db", 4)
    assert len(first.trials()) == 4
    trials = first.trials()
    first.close()  # the driver stopped: another one may continue the study
    again = rung.optimize(branching, n_trials=4, storage=tmp_path / "j.db", name="random",
                          n_workers=2, start_method="fork", progress=False)
    assert again.trials() == trials  # the budget was spent: nothing new


def multi(trial: Trial) -> tuple[float, float]:
    x = trial.suggest_float("x", 0.0, 1.0)
    return x, 1.0 - x


def test_multi_objective_values_are_returned_per_metric(tmp_path: Path) -> None:
    study = rung.optimize(multi, n_trials=3, metric=["a", "b"], mode="min",
                          searcher="random", scheduler="fifo", n_workers=1,
                          storage=tmp_path / "j.db", start_method="fork", progress=False)
    for t in study.trials():
        assert t.metrics == {"a": t.params["x"], "b": 1.0 - t.params["x"]}


def with_samples(trial: Trial) -> None:
    x = trial.suggest_float("x", 0.0, 1.0)
    for step, n in trial.ctx.fidelities():
        assert trial.fidelity == n
        trial.report(step, x + 1.0 / n, n=n)


def test_define_by_run_with_a_fidelity(tmp_path: Path) -> None:
    f = rung.Fidelity("samples", [10, 30, 90])
    study = rung.optimize(with_samples, n_trials=3, searcher="random", scheduler="fifo",
                          fidelity=f, n_workers=1, storage=tmp_path / "j.db",
                          start_method="fork", progress=False)
    assert study.spec.max_step == 9
    for t in study.trials():
        assert [(r.step, r.metrics["n"]) for r in t.results] == [(1, 10), (3, 30), (9, 90)]
        assert t.value == t.params["x"] + 1.0 / 90


def quadratic(trial: Trial) -> float:
    return (trial.suggest_float("x", -1.0, 1.0) - 0.5) ** 2


@pytest.mark.parametrize(("keyword", "message"), [
    ("direction", "direction: not an argument of rung.optimize, nor of Study.run or the local "
                  "executor; here it is mode='min' | 'max'"),
    ("n_jobs", "n_jobs: not an argument of rung.optimize, nor of Study.run or the local "
               "executor; here it is n_workers"),
    ("bogus", "bogus: not an argument of rung.optimize, nor of Study.run or the local "
              "executor"),
    # Optuna's study.optimize arguments (before: no hint)
    ("catch", "catch: not an argument of rung.optimize, nor of Study.run or the local "
              "executor; here it is nothing: a trial that raises fails, and the search goes "
              "on"),
    ("show_progress_bar", "show_progress_bar: not an argument of rung.optimize, nor of "
                          "Study.run or the local executor; here it is progress=True"),
    ("gc_after_trial", "gc_after_trial: not an argument of rung.optimize, nor of Study.run or "
                       "the local executor; here it is nothing: each trial runs in a worker "
                       "process"),
])
def test_an_unknown_keyword_is_refused_before_anything_is_written(
    keyword: str, message: str, tmp_path: Path
) -> None:
    """Before, it reached the executor's constructor (a TypeError) after the study was
    created, so the corrected call silently continued the study of the failed one."""
    db = tmp_path / "j.db"
    extra: dict[str, Any] = {keyword: "maximize"}
    with pytest.raises(ConfigError) as e:
        rung.optimize(quadratic, n_trials=2, storage=db, n_workers=1, start_method="fork",
                      progress=False, **extra)
    assert str(e.value) == message
    assert e.value.key == keyword
    assert not db.exists()


@pytest.mark.parametrize(("changed", "key", "was", "now"), [
    ({"mode": "max"}, "mode", "mode='min'", "'max'"),
    ({"metric": "acc"}, "metric", "metric='loss'", "'acc'"),
    ({"max_step": 3}, "max_step", "max_step=2", "3"),
    ({"seed": 4}, "seed", "seed=0", "4"),
    ({"fidelity": rung.Fidelity("n", [1, 2])}, "fidelity", "fidelity=None",
     "Fidelity('n', [1, 2])"),
    ({"searcher": "random"}, "searcher", "searcher='tpe'", "'random'"),
    ({"scheduler": "median"}, "scheduler", "scheduler='asha'", "'median'"),
    ({"scheduler": rung.ASHA(reduction_factor=4)}, "scheduler.params.reduction_factor",
     "asha(reduction_factor=3)", "asha(reduction_factor=4)"),
])
def test_continuing_a_study_with_other_arguments_is_refused(
    changed: dict[str, Any], key: str, was: str, now: str, tmp_path: Path
) -> None:
    """The stored study would go on with its own arguments (before: silently; a larger
    n_trials ran nothing, mode='max' went on minimizing)."""
    db = tmp_path / "j.db"
    args: dict[str, Any] = {"n_trials": 3, "scheduler": rung.ASHA(reduction_factor=3),
                            "max_step": 2, "n_workers": 1, "storage": db,
                            "start_method": "fork", "progress": False}
    first = rung.optimize(quadratic, **args)
    trials = first.trials()
    first.close()
    with pytest.raises(ConfigError) as e:
        rung.optimize(quadratic, **{**args, **changed})
    assert e.value.key == key
    assert str(e.value) == (
        f"{key}: study 'rung' in {db} was created with {was}, not {now}; rung.optimize "
        "continues an existing study with the arguments it was created with: give the same "
        "(or leave it out), or another name=")
    # the same arguments, or arguments left out, continue it
    again = rung.optimize(quadratic, **args)
    again.close()
    left_out = rung.optimize(quadratic, storage=db, n_workers=1, start_method="fork",
                             progress=False)
    assert left_out.trials() == trials
    left_out.close()


def grid_objective(trial: Trial) -> float:
    return float(trial.suggest_int("n", 1, 3))


@pytest.mark.parametrize("searcher", ["grid", {"name": "grid"}])
def test_a_grid_is_refused(searcher: Any, tmp_path: Path) -> None:
    """Before: the first trial ran off the grid (launched before the space was known), the
    grid's points were then skipped or repeated, and the study ended early."""
    db = tmp_path / "j.db"
    with pytest.raises(ConfigError) as e:
        rung.optimize(grid_objective, n_trials=6, searcher=searcher, storage=db, n_workers=1,
                      start_method="fork", progress=False)
    assert e.value.key == "searcher"
    assert str(e.value).startswith("searcher: a grid needs its space up front")
    assert not db.exists()


def log_step(trial: Trial) -> float:
    return float(trial.suggest_int("n", 1, 30, log=True, step=2))


def test_a_bad_distribution_names_its_field(tmp_path: Path) -> None:
    """A SpaceError renders the name quoted ('n'.step); the key was mangled to "n'.step"."""
    with pytest.raises(ConfigError) as e:
        rung.optimize(log_step, n_trials=1, storage=tmp_path / "j.db", n_workers=1,
                      start_method="fork", progress=False)
    assert e.value.key == "n.step"
    assert str(e.value) == "n.step: step and log=True cannot be combined (trial 0)"


def test_pbt_is_refused_naming_why(tmp_path: Path) -> None:
    """Before: "scheduler.params.hyperparams: 'lr' is not a tunable parameter of the space
    ([])", about a space the user never wrote."""
    with pytest.raises(ConfigError) as e:
        rung.optimize(grid_objective, n_trials=4, storage=tmp_path / "j.db", n_workers=1,
                      scheduler=rung.PBT(population_size=4, perturbation_interval=2,
                                         hyperparams=["n"]),
                      start_method="fork", progress=False)
    assert str(e.value) == (
        "scheduler: PBT perturbs hyperparameters of a space declared up front, and a "
        "define-by-run study learns its space as trials run: declare a rung.SearchSpace and "
        "use rung.run")
    assert not (tmp_path / "j.db").exists()


@pytest.mark.parametrize("scheduler", [
    "pb2", {"name": "pb2", "params": {"perturbation_interval": 2}},
    rung.PB2(population_size=4, perturbation_interval=2, hyperparams=["n"])])
def test_pb2_is_refused_naming_why(scheduler: Any, tmp_path: Path) -> None:
    """Before: accepted, and its forks ran random configurations (it was bound to the empty
    space the study starts with) while their reasons said "no change"."""
    with pytest.raises(ConfigError) as e:
        rung.optimize(grid_objective, n_trials=4, storage=tmp_path / "j.db", n_workers=1,
                      scheduler=scheduler, start_method="fork", progress=False)
    assert str(e.value) == (
        "scheduler: PB2 perturbs hyperparameters of a space declared up front, and a "
        "define-by-run study learns its space as trials run: declare a rung.SearchSpace and "
        "use rung.run")
    assert not (tmp_path / "j.db").exists()


def test_continuing_with_another_budget_sets_it(tmp_path: Path) -> None:
    """Optuna's optimize(n_trials=...) called again: here n_trials counts the whole study, so
    n_trials=5 after 3 trials runs 2 more (it was refused as contradicting n_trials=3)."""
    db = tmp_path / "j.db"
    args: dict[str, Any] = {"n_workers": 1, "storage": db, "start_method": "fork",
                            "progress": False}
    rung.optimize(quadratic, n_trials=3, **args).close()
    again = rung.optimize(quadratic, n_trials=5, **args)
    assert len(again.trials()) == 5 and again.spec.budget.n_trials == 5
    again.close()
    same = rung.optimize(quadratic, n_trials=5, **args)  # the same budget: nothing to run
    assert len(same.trials()) == 5
    n = len(same.journal.read("rung"))
    same.close()
    with pytest.raises(ConfigError, match="n_trials: must be an integer >= 1"):
        rung.optimize(quadratic, n_trials=0, **args)
    assert len(rung.Study.load("rung", storage=db, readonly=True).journal.read("rung")) == n


def test_no_budget_is_refused_before_the_study_is_written(tmp_path: Path) -> None:
    """Before: Study.run refused it once the study was in storage, so the corrected call
    (n_trials=3) was refused as contradicting the stored study's n_trials=None."""
    db = tmp_path / "j.db"
    with pytest.raises(ConfigError) as e:
        rung.optimize(quadratic, storage=db, n_workers=1, start_method="fork", progress=False)
    assert str(e.value) == ("n_trials: a run needs a limit: give n_trials, max_time (seconds) "
                            "or max_steps")
    assert not db.exists()
    study = rung.optimize(quadratic, n_trials=3, storage=db, n_workers=1, start_method="fork",
                          progress=False)
    assert len(study.trials()) == 3
    study.close()
    again = rung.optimize(quadratic, storage=db, n_workers=1, start_method="fork",
                          progress=False)  # continuing needs no budget: the stored one holds
    assert len(again.trials()) == 3
    again.close()


class CannotStart(rung.Callback):
    """A tracker whose check fails (as a TensorBoard logdir that is a file, a server down)."""

    def check(self, study_name: str) -> None:
        from rung.integrations._tracking import TrackerError

        raise TrackerError(f"CannotStart() cannot start for {study_name}: server down")


def test_a_tracker_that_cannot_start_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    """Before: the study was created in storage, and the run's on_start then failed."""
    from rung.integrations._tracking import TrackerError

    db = tmp_path / "j.db"
    with pytest.raises(TrackerError, match="^CannotStart\\(\\) cannot start for dbr: server "
                                           "down$"):
        rung.optimize(quadratic, n_trials=2, storage=db, name="dbr", n_workers=1,
                      start_method="fork", progress=False, callbacks=[CannotStart()])
    assert not db.exists()
