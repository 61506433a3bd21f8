"""The wrappers a study puts around a define-by-run objective carry the user's function's
name: executors name it in their errors, and tell one from an interactive session by it."""

from __future__ import annotations

import sys
import types

import pytest

import rung
from rung.dbr import Trial
from rung.dbr.objective import DefineByRun, WithFidelity
from rung.errors import ConfigError
from rung.executors.pool import callable_name


def objective(trial: Trial) -> float:
    return trial.suggest_float("x", 0.0, 1.0)


def test_the_wrappers_are_named_after_the_objective() -> None:
    """Before: 'rung.dbr.objective.DefineByRun' in every error about the objective."""
    wrapped = DefineByRun(objective, ["loss"], 0)
    assert callable_name(wrapped) == f"{__name__}.objective"
    fidelity = rung.Fidelity("n", [1, 3, 9])
    assert callable_name(WithFidelity(wrapped, fidelity)) == f"{__name__}.objective"


def test_an_objective_from_an_interactive_session_is_refused_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A notebook's ``__main__`` has no ``__file__``: spawn workers cannot import a function
    defined there. Before, the wrapper's module hid it: the study started workers, which
    failed with 'worker processes cannot load the objective rung.dbr.objective.DefineByRun'
    and a traceback."""
    main = types.ModuleType("__main__")  # no __file__, as in a notebook

    def in_notebook(trial: Trial) -> float:
        return trial.suggest_float("x", 0.0, 1.0)

    in_notebook.__module__ = "__main__"
    in_notebook.__qualname__ = "in_notebook"
    main.in_notebook = in_notebook  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "__main__", main)
    with pytest.raises(ConfigError) as e:
        rung.optimize(in_notebook, n_trials=2, searcher="random", scheduler="fifo",
                      n_workers=1, start_method="spawn", progress=False)
    assert str(e.value) == (
        "objective __main__.in_notebook: defined in an interactive session, where spawn "
        "worker processes cannot import it; define it at module level in an importable "
        "module (spawn workers import it by name), or use start_method='fork'")


class Scorer:
    """A callable instance: no ``__qualname__`` of its own."""

    def __call__(self, ctx: object) -> float:
        return 0.5


def test_a_callable_instance_is_named_after_its_class() -> None:
    """Before: '...ReturnsMetrics' (the wrapper's own name) for an instance's errors."""
    from rung.dbr.objective import ReturnsMetrics

    assert callable_name(ReturnsMetrics(Scorer(), ["loss"])) == f"{__name__}.Scorer"
