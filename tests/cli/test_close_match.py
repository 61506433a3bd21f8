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
     "pbt, successive_halving)"),
    (_local(searcher={"name": "TPE"}), "spec.searcher: unknown searcher 'TPE' (did you "
     "mean 'tpe'?) (known: auto, bohb, gp, grid, optuna, random, sobol, tpe)"),
    (_local(executor="locl"), "spec.executor: must be one of local, ray, simulated, got 'locl' "
     "(did you mean 'local'?)"),
    ({"name": "b", "benchmark": "mf-branim"}, "spec.benchmark.name: unknown benchmark "
     "'mf-branim' (did you mean 'mf-branin'?) (one of counting-ones, curve-table, mf-branin, "
     "mf-hartmann3, mf-hartmann6)"),
    (_local(tracking={"tensorbord": {}}), "spec.tracking.tensorbord: unknown tracker (known: "
     "mlflow, tensorboard, wandb) (did you mean 'tensorboard'?)"),
    (_local(tracking={"tensorboard": {"log_dir": "x"}}), "spec.tracking.tensorboard.log_dir: "
     "unknown option (known: logdir) (did you mean 'logdir'?)"),
])
def test_a_typo_names_the_close_name(spec: dict[str, Any], line: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(spec)
    assert str(info.value) == line


def test_a_name_close_to_none_is_left_to_the_registry() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(_local(searcher="zzz"))
    assert str(info.value) == ("spec.searcher: unknown searcher 'zzz' (known: bohb, gp, grid, "
                               "optuna, random, sobol, tpe)")

