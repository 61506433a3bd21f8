"""``RungPruner`` learns every trial in Optuna's storage: an earlier session's (a restarted
script, ``load_if_exists=True``) and another process's (two studies sharing a database), as
Optuna's own pruners do. Before, each pruner saw only the trials it had been asked about in
its own process: a restarted script's bad trials ran to the end, where ``MedianPruner``
pruned them at their first step."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from rung import ASHA  # noqa: E402
from rung.core.records import TrialStatus  # noqa: E402
from rung.integrations.optuna import median_pruner  # noqa: E402
from rung.integrations.optuna_sampler import RungPruner  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)

STEPS = 8
State = optuna.trial.TrialState


def _curves(n: int, seed: int) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    return [[round(float(rng.uniform(0.1, 1.0) + np.exp(-rng.uniform(0.2, 0.8) * (s + 1))), 4)
             for s in range(STEPS)] for _ in range(n)]


def _objective(curves: list[list[float]]) -> Any:
    def objective(trial: Any) -> float:
        curve = curves[trial.number]
        for step, value in enumerate(curve):
            trial.report(value, step)
            if step < STEPS - 1 and trial.should_prune():  # rung's max_step: never pruned
                raise optuna.TrialPruned()
        return float(curve[-1])
    return objective


def _ends(study: Any) -> list[tuple[int, str, int]]:
    """(trial number, state, last step reported) of every trial."""
    return [(t.number, t.state.name, max(t.intermediate_values)) for t in study.trials]


def _sessions(make: Any, curves: list[list[float]], url: str, split: int) -> list[Any]:
    """``split`` trials, then a restarted script (a new pruner, ``load_if_exists``) runs the
    rest on the same storage."""
    first = optuna.create_study(storage=url, study_name="s", pruner=make(),
                                sampler=optuna.samplers.RandomSampler(seed=0))
    first.optimize(_objective(curves), n_trials=split)
    again = optuna.create_study(storage=url, study_name="s", pruner=make(),
                                load_if_exists=True,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    again.optimize(_objective(curves), n_trials=len(curves) - split)
    return _ends(again)


@pytest.mark.parametrize("seed", range(3))
def test_a_restarted_script_prunes_what_optunas_median_pruner_prunes(
        tmp_path: Any, seed: int) -> None:
    curves = _curves(16, seed)
    theirs = _sessions(lambda: optuna.pruners.MedianPruner(n_startup_trials=3), curves,
                       f"sqlite:///{tmp_path}/optuna.db", split=8)
    ours = _sessions(lambda: RungPruner(median_pruner(n_startup_trials=3), max_step=STEPS),
                     curves, f"sqlite:///{tmp_path}/rung.db", split=8)
    assert ours == theirs
    # the second session pruned: its first trials were judged on the first session's
    assert any(state == "PRUNED" for n, state, _ in ours[8:])


def test_a_restarted_scripts_first_trials_are_judged_on_the_earlier_ones(tmp_path: Any) -> None:
    """The audit's script: six trials (the sixth pruned), then a restart enqueues three bad
    ones; Optuna's MedianPruner prunes them at step 0, and so does RungPruner (they ran to
    COMPLETE)."""
    url = f"sqlite:///{tmp_path}/m.db"

    def objective(trial: Any) -> float:
        x = trial.suggest_float("x", 0, 1)
        for s in range(10):
            trial.report(x + 1.0 / (s + 1), s)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(x)

    study = optuna.create_study(storage=url, study_name="s",
                                pruner=RungPruner(median_pruner(), max_step=10))
    for x in [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]:
        study.enqueue_trial({"x": x})
    study.optimize(objective, n_trials=6)
    pruner = RungPruner(median_pruner(), max_step=10)
    study = optuna.create_study(storage=url, study_name="s", pruner=pruner,
                                load_if_exists=True)
    for x in [0.9, 0.95, 0.99]:
        study.enqueue_trial({"x": x})
    study.optimize(objective, n_trials=3)
    assert _ends(study)[5:] == [(n, "PRUNED", 0) for n in range(5, 9)]
    # the rung study behind the new pruner holds all nine, as Optuna ended them
    emb = pruner.embedded(study)
    assert [t.status for t in emb.study.trials()] == [TrialStatus.COMPLETED] * 5 + [
        TrialStatus.STOPPED] * 4
    assert [len(t.results) for t in emb.study.trials()] == [10] * 5 + [1] * 4


def test_asha_after_a_restart_decides_as_one_session(tmp_path: Any) -> None:
    """With ASHA a restart changed nothing before: the worst configuration so far ran to the
    last step. A restarted script's trials are now judged as in one uninterrupted session."""
    curves = _curves(18, seed=7)
    curves[12] = [9.0] * STEPS  # the worst at every step

    def make() -> RungPruner:
        return RungPruner(ASHA(reduction_factor=3), max_step=STEPS)

    one = optuna.create_study(pruner=make(), sampler=optuna.samplers.RandomSampler(seed=0))
    one.optimize(_objective(curves), n_trials=len(curves))
    resumed = _sessions(make, curves, f"sqlite:///{tmp_path}/a.db", split=12)
    assert resumed == _ends(one)
    assert resumed[12] == (12, "PRUNED", 0)


def _interleaved(make: Any, curves: list[list[float]], url: str) -> list[tuple[int, str, int]]:
    """Two processes sharing ``url``, each with its own pruner, one trial running in each;
    they take turns reporting one step (a deterministic stand-in for two processes)."""
    studies = [optuna.create_study(storage=url, study_name="s", pruner=make(),
                                   load_if_exists=True) for _ in range(2)]
    running: list[tuple[Any, int] | None] = [None, None]
    started = 0
    while started < len(curves) or any(running):
        for i, study in enumerate(studies):
            if running[i] is None:
                if started == len(curves):
                    continue
                running[i] = (study.ask(), 0)
                started += 1
            cur = running[i]
            assert cur is not None
            trial, step = cur
            value = curves[trial.number][step]
            trial.report(value, step)
            if step < STEPS - 1 and trial.should_prune():  # rung's max_step: never pruned
                study.tell(trial, state=State.PRUNED)
                running[i] = None
            elif step == STEPS - 1:
                study.tell(trial, value)
                running[i] = None
            else:
                running[i] = (trial, step + 1)
    return _ends(studies[0])


@pytest.mark.parametrize("seed", range(3))
def test_two_processes_prune_what_optunas_median_pruner_prunes(tmp_path: Any, seed: int) -> None:
    """Each process's pruner judges its trials on the other's completed trials too (before,
    each pruned against its own only)."""
    curves = _curves(20, seed + 20)
    theirs = _interleaved(lambda: optuna.pruners.MedianPruner(n_startup_trials=2), curves,
                          f"sqlite:///{tmp_path}/optuna.db")
    ours = _interleaved(lambda: RungPruner(median_pruner(n_startup_trials=2), max_step=STEPS),
                        curves, f"sqlite:///{tmp_path}/rung.db")
    assert ours == theirs
    assert sum(state == "PRUNED" for _, state, _ in ours) >= 5


def test_a_call_looks_only_at_trials_not_yet_ended_in_rung(monkeypatch: Any) -> None:
    """Syncing is incremental: once 30 trials have ended in rung, a ``should_prune`` looks at
    the trial it asks about (and any other running trial), not at every trial again."""
    curves = _curves(31, seed=3)
    pruner = RungPruner(median_pruner(), max_step=STEPS)
    study = optuna.create_study(pruner=pruner)
    study.optimize(_objective(curves), n_trials=30)
    pruner.embedded(study)
    fed: list[int] = []
    feed = RungPruner._feed

    def counting(self: RungPruner, run: Any, t: Any) -> None:
        fed.append(t.number)
        feed(self, run, t)

    monkeypatch.setattr(RungPruner, "_feed", counting)
    other = study.ask()  # another process's running trial
    other.report(0.5, 0)
    trial = study.ask()
    trial.report(0.4, 0)
    trial.should_prune()
    assert fed == [30, 31]
    fed.clear()
    trial.report(0.3, 1)
    trial.should_prune()
    assert fed == [30, 31]
    emb = pruner.embedded(study)
    assert [len(emb.study.history.results(emb.ids[n])) for n in (30, 31)] == [1, 2]
