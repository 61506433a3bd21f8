"""A name that is a typo of a known one (a component, an executor, a benchmark, a tracker or
its option) is refused with the known name it is close to."""

from __future__ import annotations

from typing import Any

import pytest

from rung.cli.spec import SpecError, parse_spec


def _local(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "cm", "objective": "m:f", "path": ".", "metric": "loss", "max_step": 3,
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}}, "budget": {"n_trials": 2},
    }
    return {**spec, **changes}


@pytest.mark.parametrize(("spec", "line"), [
    (_local(scheduler="ashaa"), "spec.scheduler: unknown scheduler 'ashaa' (did you mean "
     "'asha'?) (known: auto, asha, async_hyperband, curve, fifo, hyperband, median, mo_asha, "
     "pb2, pbt, successive_halving)"),
    (_local(searcher={"name": "TPE"}), "spec.searcher: unknown searcher 'TPE' (did you "
     "mean 'tpe'?) (known: auto, bohb, gp, grid, optuna, random, sobol, tpe)"),
    (_local(executor="locl"), "spec.executor: must be one of local, ray, simulated, got 'locl' "
     "(did you mean 'local'?)"),
    ({"name": "b", "benchmark": "mf-branim"}, "spec.benchmark.name: unknown benchmark "
     "'mf-branim' (did you mean 'mf-branin'?) (one of counting-ones, curve-table, mf-branin, "
     "mf-hartmann3, mf-hartmann6)"),
    # the hint before the known names, as every other unknown-key error has it
    (_local(tracking={"tensorbord": {}}), "spec.tracking.tensorbord: unknown tracker (did you "
     "mean 'tensorboard'?) (known: mlflow, tensorboard, wandb)"),
    (_local(tracking={"tensorboard": {"log_dir": "x"}}), "spec.tracking.tensorboard.log_dir: "
     "unknown option (did you mean 'logdir'?) (known: logdir)"),
    # a key not given yet is preferred: 'lgo' beside 'low' is a typo of 'log'
    (_local(space={"x": {"type": "float", "low": 0.1, "high": 1.0, "lgo": True}}),
     "spec.space.x.lgo: unknown key for a float parameter (did you mean 'log'?) (known: low, "
     "high, log, step, when)"),
    (_local(space={"x": {"type": "float", "low": 0.1, "high": 1.0, "log": True, "lgo": 1}}),
     "spec.space.x.lgo: unknown key for a float parameter (did you mean 'low'?) (known: low, "
     "high, log, step, when)"),  # both given: the closest
    (_local(seed=1, seedd=2), "spec.seedd: unknown key (did you mean 'seed'?) (known: "
     "name, objective, path, space, metric, mode, max_step, searcher, scheduler, budget, "
     "executor, n_workers, storage, seed, keep_checkpoints, benchmark, max_failures, "
     "trial_timeout, checkpoint_every, constraints, fidelity, points_to_evaluate, "
     "executor_options, prices, resources_per_trial, tracking)"),
    # a given key closer than any other is still named: 'sede' beside 'seed' is a second seed
    # (the not-given-first rule said 'scheduler', and 'prices' for 'spce' beside 'space')
    (_local(seed=1, sede=2), "spec.sede: unknown key (did you mean 'seed'?) (known: "
     "name, objective, path, space, metric, mode, max_step, searcher, scheduler, budget, "
     "executor, n_workers, storage, seed, keep_checkpoints, benchmark, max_failures, "
     "trial_timeout, checkpoint_every, constraints, fidelity, points_to_evaluate, "
     "executor_options, prices, resources_per_trial, tracking)"),
    (_local(spce={}), "spec.spce: unknown key (did you mean 'space'?) (known: "
     "name, objective, path, space, metric, mode, max_step, searcher, scheduler, budget, "
     "executor, n_workers, storage, seed, keep_checkpoints, benchmark, max_failures, "
     "trial_timeout, checkpoint_every, constraints, fidelity, points_to_evaluate, "
     "executor_options, prices, resources_per_trial, tracking)"),
    (_local(storage="a.db", strage=1), "spec.strage: unknown key (did you mean 'storage'?) "
     "(known: name, objective, path, space, metric, mode, max_step, searcher, scheduler, "
     "budget, executor, n_workers, storage, seed, keep_checkpoints, benchmark, max_failures, "
     "trial_timeout, checkpoint_every, constraints, fidelity, points_to_evaluate, "
     "executor_options, prices, resources_per_trial, tracking)"),
])
def test_a_typo_names_the_close_name(spec: dict[str, Any], line: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(spec)
    assert str(info.value) == line


def test_a_name_close_to_none_is_left_to_the_registry() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(_local(searcher="zzz"))
    assert str(info.value) == ("spec.searcher: unknown searcher 'zzz' (known: auto, bohb, gp, "
                               "grid, optuna, random, sobol, tpe)")



# --- the library: the registry names the close match, once, for Study.create and the CLI ------
def _create(**kw: Any) -> None:
    import rung

    rung.Study.create("cm", {"x": rung.Float(0.0, 1.0)}, objective=rung.Objective("loss", "min"),
                      max_step=3, **kw)


SEARCHERS = "auto, bohb, gp, grid, optuna, random, sobol, tpe"  # Study.create takes auto too
def _accepted(kind: str, name: str) -> str:
    """A component's parameters as the registry lists them (they change as components grow)."""
    import inspect

    from rung.core.registry import lookup

    return ", ".join(sorted(p for p in inspect.signature(lookup(kind, name).__init__).parameters
                            if p != "self"))


TPE_PARAMS = _accepted("searcher", "tpe")
GP_PARAMS = _accepted("searcher", "gp")


@pytest.mark.parametrize(("kw", "line"), [
    ({"searcher": "tpee"}, f"searcher: unknown searcher 'tpee' (did you mean 'tpe'?) (known: "
     f"{SEARCHERS})"),
    ({"scheduler": "ashaa"}, "scheduler: unknown scheduler 'ashaa' (did you mean 'asha'?) "
     "(known: auto, asha, async_hyperband, curve, fifo, hyperband, median, mo_asha, pb2, pbt, "
     "successive_halving)"),
    ({"searcher": "zzz"}, f"searcher: unknown searcher 'zzz' (known: {SEARCHERS})"),
    ({"searcher": {"name": "tpe", "params": {"n_inital": 5}}}, "searcher.params.n_inital: 'tpe' "
     f"takes no parameter 'n_inital' (did you mean 'n_initial'?) (accepted: {TPE_PARAMS})"),
    ({"searcher": {"name": "tpe", "params": {"n_startup": 5}}}, "searcher.params.n_startup: "
     f"'tpe' takes no parameter 'n_startup' (accepted: {TPE_PARAMS})"),
    # 'm_points' is as close to min_points as to max_points: the one not given yet
    ({"searcher": {"name": "gp", "params": {"min_points": 5, "m_points": 50}}},
     "searcher.params.m_points: 'gp' takes no parameter 'm_points' (did you mean "
     f"'max_points'?) (accepted: {GP_PARAMS})"),
    ({"searcher": {"name": "gp", "params": {"m_points": 50}}}, "searcher.params.m_points: 'gp' "
     f"takes no parameter 'm_points' (did you mean 'min_points'?) (accepted: {GP_PARAMS})"),
    ({"scheduler": {"name": "asha", "parms": {}}}, "scheduler.parms: unknown key (did you mean "
     "'params'?) (use 'name' and 'params')"),
])
def test_library_errors_name_the_close_match(kw: dict[str, Any], line: str) -> None:
    from rung.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        _create(**kw)
    assert str(info.value) == line


def test_the_cli_says_the_library_line_once() -> None:
    # the same typo through a spec: the registry's line under spec., one "did you mean"
    with pytest.raises(SpecError) as info:
        parse_spec(_local(searcher={"name": "tpe", "params": {"n_inital": 5}}))
    assert str(info.value) == ("spec.searcher.params.n_inital: 'tpe' takes no parameter "
                               f"'n_inital' (did you mean 'n_initial'?) (accepted: {TPE_PARAMS})")
    assert str(info.value).count("did you mean") == 1


@pytest.mark.parametrize("params", [[1], "x", [("gamma", 0.5)]])
def test_component_params_that_are_no_mapping(params: Any) -> None:
    from rung.core.registry import to_spec
    from rung.errors import ConfigError

    # were TypeError / ValueError from dict(...), or accepted as pairs
    with pytest.raises(ConfigError) as info:
        to_spec("searcher", {"name": "tpe", "params": params})
    assert str(info.value) == (f"searcher.params: must be a mapping of parameter names to "
                               f"values, got {params!r}")


def test_a_constructor_error_is_one_line() -> None:
    from rung.core.components import Searcher
    from rung.core.registry import register, to_spec
    from rung.errors import ConfigError

    @register("searcher", "_two_lines")
    class TwoLines(Searcher):
        def __init__(self, k: int = 0) -> None:
            raise ValueError("first line\n  second line")

        def suggest(self, request: Any) -> None:  # never called: construction fails
            return None

    with pytest.raises(ConfigError) as info:
        to_spec("searcher", {"name": "_two_lines", "params": {"k": 1}})
    assert str(info.value) == "searcher.params: '_two_lines': first line second line"
