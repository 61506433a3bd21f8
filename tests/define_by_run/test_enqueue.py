"""``Study.enqueue`` and ``points_to_evaluate``: configurations launched first, in order, once
each (also across a driver restart), completed by the searcher when partial."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.core.events import Launch, TrialEnqueued
from rung.dbr import Trial
from rung.errors import ConfigError

SPACE = {
    "opt": rung.Categorical(["adam", "sgd"]),
    "lr": rung.Float(1e-4, 1e-1, log=True),
    "momentum": rung.Float(0.0, 0.9, when={"opt": "sgd"}),
    "width": rung.Int(8, 64),
}
A = {"opt": "adam", "lr": 0.01, "width": 16}
B = {"opt": "sgd", "lr": 0.001, "momentum": 0.5, "width": 32}


def create(storage: Path, searcher: str = "tpe", **kw: object) -> rung.Study:
    return rung.Study.create("s", SPACE, searcher=searcher, scheduler="fifo",
                             budget={"n_trials": 6}, storage=storage, **kw)


@pytest.mark.parametrize("searcher", ["random", "sobol", "tpe", "gp", "bohb", "grid"])
def test_points_to_evaluate_run_first_in_order_with_any_searcher(
    searcher: str, tmp_path: Path
) -> None:
    study = create(tmp_path / "j.db", searcher, points_to_evaluate=[A, B])
    first, second, third = study.ask(), study.ask(), study.ask()
    assert first.params == A
    assert second.params == B
    assert set(third.params) <= set(SPACE)  # then the searcher's own suggestion
    assert third.params != A or third.params != B


def test_enqueued_configurations_run_once_across_a_driver_restart(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    study = create(path)
    study.enqueue(A)
    study.enqueue(B)
    study.enqueue({"opt": "sgd", "momentum": 0.25})  # partial: completed by the searcher
    t0 = study.ask()
    study.tell(t0.id, "completed", {"loss": 1.0})
    study.close()  # the driver stops with two configurations still queued
    again = rung.Study.load("s", path)
    t1, t2, t3 = again.ask(), again.ask(), again.ask()
    assert (t0.params, t1.params) == (A, B)
    assert t2.params["opt"] == "sgd" and t2.params["momentum"] == 0.25
    assert set(t2.params) == {"opt", "lr", "momentum", "width"}
    assert again.engine.space.validate(t2.params) == t2.params
    assert t3.params not in (A, B)
    again.close()
    # a third driver replays all of it and launches none of them again
    third = rung.Study.load("s", path)
    assert [t.params for t in third.trials()] == [A, B, t2.params, t3.params]
    t4 = third.ask()
    assert t4.params not in (A, B)
    records = list(third.journal.read("s"))
    assert sum(isinstance(r, TrialEnqueued) for r in records) == 3
    assert [r.trial_id for r in records if isinstance(r, Launch)] == [0, 1, 2, 3, 4]


def test_enqueued_configurations_run_first_on_real_workers(tmp_path: Path) -> None:
    study = create(tmp_path / "j.db", "random", points_to_evaluate=[A])
    study.enqueue(B)
    study.run(fit, n_workers=2, start_method="fork", progress=False)
    trials = study.trials()
    assert len(trials) == 6
    assert [dict(t.params) for t in trials[:2]] == [A, B]
    assert all(dict(t.params) not in (A, B) for t in trials[2:])


def fit(ctx: rung.TrialContext) -> dict[str, float]:
    return {"loss": float(ctx.params["lr"])}


@pytest.mark.parametrize(("params", "message"), [
    ({"lr": 0.01, "depth": 3}, "params.depth: not a parameter of this space"),
    ({"lr": 7.0}, "params.lr: 7.0 is outside [0.0001, 0.1]"),
    ({"momentum": 0.5}, "params.momentum: conditional on 'opt': give 'opt' too"),
    ({"opt": "adam", "momentum": 0.5}, "params.momentum: given, but inactive here"),
])
def test_enqueue_validates_against_the_space(params: dict, message: str,
                                             tmp_path: Path) -> None:
    study = create(tmp_path / "j.db")
    with pytest.raises(ConfigError) as e:
        study.enqueue(params)
    assert str(e.value).startswith(message), str(e.value)
    assert "\n" not in str(e.value)
    assert not any(isinstance(r, TrialEnqueued) for r in study.journal.read("s"))


def test_points_to_evaluate_are_validated_naming_the_entry(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        create(tmp_path / "j.db", points_to_evaluate=[A, {"opt": "rmsprop"}])
    assert e.value.key is not None and e.value.key.startswith("points_to_evaluate[1].")
    assert "opt" in e.value.key


def dbr(trial: Trial) -> float:
    opt = trial.suggest_categorical("opt", ["adam", "sgd"])
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    return lr if opt == "adam" else 2 * lr


def test_define_by_run_points_to_evaluate_are_used_by_suggest(tmp_path: Path) -> None:
    study = rung.optimize(dbr, n_trials=4, searcher="tpe", scheduler="fifo", n_workers=1,
                          storage=tmp_path / "j.db", start_method="fork", progress=False,
                          points_to_evaluate=[{"opt": "sgd", "lr": 0.05}, {"lr": 0.002}])
    trials = study.trials()
    assert dict(trials[0].params) == {"opt": "sgd", "lr": 0.05}
    assert trials[0].value == pytest.approx(0.1)
    assert trials[1].params["lr"] == 0.002  # partial: opt completed
    assert len(trials) == 4


def out_of_range(trial: Trial) -> float:
    return trial.suggest_float("lr", 1e-4, 1e-1)


def test_an_enqueued_value_outside_the_declared_distribution_fails_naming_it(
    tmp_path: Path,
) -> None:
    """Its trial fails; the search goes on (``test_enqueued_values``)."""
    study = rung.optimize(out_of_range, n_trials=2, searcher="random", scheduler="fifo",
                          n_workers=1, storage=tmp_path / "j.db", start_method="fork",
                          progress=False, points_to_evaluate=[{"lr": 5.0}])
    first, second = study.trials()
    assert first.status is rung.TrialStatus.FAILED and second.status is rung.TrialStatus.COMPLETED
    assert first.error is not None and first.error.startswith(
        "EnqueuedValueError: lr: the enqueued value 5.0 does not fit")
    study.close()


def test_rung_run_takes_points_to_evaluate(tmp_path: Path) -> None:
    study = rung.run(fit, SPACE, points_to_evaluate=[A, {"opt": "sgd", "momentum": 0.1}],
                     searcher="random", scheduler="fifo", n_trials=3, n_workers=1,
                     storage=tmp_path / "j.db")
    trials = study.trials()
    assert dict(trials[0].params) == A
    assert trials[1].params["opt"] == "sgd" and trials[1].params["momentum"] == 0.1
    assert trials[0].value == 0.01


class Crash(Exception):
    """Stands for the driver dying mid-run."""


def crash_after_first_launch(engine: object) -> None:
    if len(engine.history) >= 1:  # type: ignore[attr-defined]
        raise Crash


C = {"opt": "adam", "lr": 0.05, "width": 60}


def test_a_real_driver_crash_and_resume_launches_each_enqueued_one_once(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    study = create(path, "random", points_to_evaluate=[A, B, C])
    with pytest.raises(Crash):
        study.run(fit, n_workers=2, start_method="fork", progress=False,
                  on_turn=crash_after_first_launch)
    launched = [dict(t.params) for t in study.trials()]
    assert launched and launched == [A, B, C][: len(launched)]
    study.close()
    again = rung.Study.load("s", path)
    again.run(fit, n_workers=2, start_method="fork", progress=False)
    params = [dict(t.params) for t in again.trials()]
    assert len(params) == 6
    assert params[:3] == [A, B, C]
    assert all(p not in (A, B, C) for p in params[3:])
