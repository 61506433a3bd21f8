"""``OptunaSearcher`` hands the study's constraints to the Optuna sampler (Optuna's convention:
one value per constraint, feasible iff ``<= 0``), refuses a sampler that would ignore them, and
refuses a ``constraints_func`` of its own; and refuses, before anything is written, a sampler
that cannot search a study's several objectives. Before: infeasible trials were shown to the
sampler as plain ``COMPLETE`` trials and ``CmaEsSampler`` was accepted for a constrained study,
and for a study of two objectives (failing at its first trial, keyed ``kwargs``: ``rung run``
left a study written that could never run)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

optuna = pytest.importorskip("optuna")

from rung import ConfigError, Float, Study  # noqa: E402
from rung.storage import MemoryJournal  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _study(sampler: str = "TPESampler", kwargs: dict[str, Any] | None = None,
           constraints: tuple[str, ...] = ("c <= 0", "m >= 1")) -> Study:
    return Study.create(
        "o", {"x": Float(0.0, 1.0)}, objective="f", constraints=list(constraints),
        searcher={"name": "optuna", "params": {"sampler": sampler, "kwargs": kwargs or {}}},
        scheduler="fifo", max_step=2, budget={"n_trials": 30}, seed=0, storage=MemoryJournal())


def test_tpe_sees_infeasible_trials_as_infeasible() -> None:
    s = _study()
    told = []
    for _ in range(6):
        t = s.ask()
        assert t is not None
        x = t.params["x"]
        s.tell(t.id, "completed", {"f": x, "c": 0.5 - x, "m": 2.0})
        told.append(x)
    t = s.ask()  # brings the mirror up to date, and asks the sampler with its constraints
    assert t is not None
    s.report(t.id, 1, {"f": 0.3})  # stopped before it reported 'c' and 'm': unknown
    s.tell(t.id, "stopped")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Optuna 5's FutureWarning on constraints_func: silenced
        s.ask()
    searcher: Any = s.engine.searcher
    sampler = searcher._study.sampler
    assert isinstance(sampler, optuna.samplers.TPESampler)
    assert sampler._constraints_func is not None
    trials = searcher._study.get_trials(deepcopy=False)
    assert [tr.constraints for tr in trials[:6]] == [
        {"0": 0.5 - x, "1": -1.0} for x in told]
    assert trials[6].state == optuna.trial.TrialState.PRUNED
    assert trials[6].constraints == {"0": 0.0, "1": 0.0}
    from optuna.study._constrained_optimization import _get_feasible_trials

    feasible = {tr.number for tr in _get_feasible_trials(trials[:6])}
    assert feasible == {i for i, x in enumerate(told) if x >= 0.5}
    assert 0 < len(feasible) < 6
    assert sampler._constraints_func(trials[0]) == (0.5 - told[0], -1.0)


def test_a_sampler_without_constraints_func_is_refused_for_a_constrained_study() -> None:
    with pytest.raises(ConfigError) as e:
        _study("CmaEsSampler")
    assert str(e.value) == (
        "searcher.params.sampler: CmaEsSampler takes no constraints_func, so it would ignore "
        "the study's 2 constraint(s): use a sampler that takes it (TPESampler, NSGAIISampler, "
        "NSGAIIISampler, GPSampler) or searcher='tpe' / 'gp'")
    assert _study("CmaEsSampler", constraints=()).spec.searcher.name == "optuna"


def test_a_constraints_func_of_ones_own_is_refused() -> None:
    with pytest.raises(ConfigError) as e:
        _study(kwargs={"constraints_func": None})
    assert str(e.value) == (
        "searcher.params.kwargs.constraints_func: the sampler is given the study's "
        "constraints (Study.create(constraints=[...])): give them there")


_CANNOT = ("searcher.params.sampler: CmaEsSampler cannot search several objectives (this study "
           "has 2): use a sampler that can (TPESampler, NSGAIISampler, NSGAIIISampler, "
           "GPSampler) or searcher='tpe' / 'gp'")


def test_a_sampler_of_one_objective_is_refused_for_several_before_anything_is_written(
        tmp_path: Path) -> None:
    def study(sampler: str, kwargs: dict[str, Any] | None = None) -> Study:
        return Study.create(
            "o", {"x": Float(0.0, 1.0)}, objective=["loss", "acc"], mode=["min", "max"],
            searcher={"name": "optuna", "params": {"sampler": sampler, "kwargs": kwargs or {}}},
            scheduler="fifo", budget={"n_trials": 3}, storage=tmp_path / "j.db")

    with pytest.raises(ConfigError) as e:
        study("CmaEsSampler")
    assert str(e.value) == _CANNOT
    # a sampler that fails with one objective too: its keyword arguments (here, a space of
    # floats without a step), as the first trial said
    with pytest.raises(ConfigError) as e:
        study("BruteForceSampler")
    assert e.value.key == "searcher.params.kwargs"
    assert str(e.value).startswith("searcher.params.kwargs: BruteForceSampler with {} failed: ")
    assert not (tmp_path / "j.db").exists()
    for sampler in ("TPESampler", "NSGAIISampler", "RandomSampler"):
        s = study(sampler)
        assert s.ask() is not None
        s.close()
        Study.load("o", tmp_path / "j.db").close()
        (tmp_path / "j.db").unlink()


def test_rung_run_refuses_it_with_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from rung.cli.main import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "fit_two.py").write_text(
        "def fit(ctx):\n    ctx.report(1, loss=ctx.params['x'], acc=1 - ctx.params['x'])\n")
    (tmp_path / "s.yaml").write_text(
        "name: m\nobjective: fit_two:fit\nspace: {x: {type: float, low: 0.0, high: 1.0}}\n"
        "metric: [loss, acc]\nmode: [min, max]\n"
        "searcher: {name: optuna, params: {sampler: CmaEsSampler}}\nbudget: {n_trials: 3}\n")
    assert main(["run", "s.yaml", "--no-live"]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"rung: error: spec.{_CANNOT}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit_two.py", "s.yaml"]
