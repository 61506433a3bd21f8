"""rung: hyperparameter search that spends compute where it pays.

A pure engine decides, a journal remembers, executors (local processes, Ray, a simulated clock)
do the work. See ``Study`` for the facade and ``run`` for the one-call shorthand.

Every public name is exported lazily: reading ``rung.X`` imports just the module that defines
``X``, so a process that never touches a model-based searcher never imports SciPy. ``import
rung`` imports the core (NumPy included) and the two component packages, which declare every
built-in searcher and scheduler by name without importing one. ``__all__`` and ``dir(rung)``
list every name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# the built-in components' names must be known before any lookup by name (``searcher="tpe"``),
# whichever module of rung is imported first; declaring them imports no component module
for _package in ("rung.searchers", "rung.schedulers", "rung.cost"):
    importlib.import_module(_package)
del _package
# rung's warnings read "rung: ..." when the application configures no logging
importlib.import_module("rung._last_resort").install()

if TYPE_CHECKING:
    from rung.callbacks import Callback
    from rung.core.events import Action, Decision
    from rung.core.records import (
        Budget,
        Checkpoint,
        Constraint,
        Objective,
        Outcome,
        Result,
        Trial,
        TrialStatus,
    )
    from rung.core.rng import derive_rng
    from rung.core.versions import RUNG_VERSION as __version__
    from rung.cost.prices import Prices
    from rung.cost.stop_rule import StopRule
    from rung.dbr import optimize
    from rung.errors import (
        ConfigError,
        JournalError,
        PauseTrial,
        ReplayDivergenceError,
        RunFailed,
        RungError,
        SpaceError,
        StopTrial,
    )
    from rung.executors.local import LocalExecutor
    from rung.executors.ray import RayExecutor
    from rung.executors.simulated import SimulatedExecutor
    from rung.executors.worker import TrialContext
    from rung.planning import Plan, plan
    from rung.reporter import Reporter
    from rung.schedulers.asha import ASHA
    from rung.schedulers.async_hyperband import AsyncHyperband
    from rung.schedulers.fifo import FIFOScheduler
    from rung.schedulers.hyperband import Hyperband
    from rung.schedulers.median import MedianStoppingRule
    from rung.schedulers.mo_asha import MOASHA
    from rung.schedulers.pb2 import PB2
    from rung.schedulers.pbt import PBT
    from rung.schedulers.successive_halving import SuccessiveHalving
    from rung.searchers.bohb import BOHBSearcher
    from rung.searchers.gp import GPSearcher
    from rung.searchers.grid import GridSearcher
    from rung.searchers.random import RandomSearcher
    from rung.searchers.sobol import SobolSearcher
    from rung.searchers.tpe import TPESearcher
    from rung.shorthand import run
    from rung.space import Categorical, Fidelity, Fixed, Float, Int, SearchSpace
    from rung.study import Study
    from rung.study_delete import delete_study

# public name -> the module that defines it (and the attribute's name there, when it differs)
_EXPORTS: dict[str, str] = {
    "Callback": "rung.callbacks",
    "Action": "rung.core.events",
    "Decision": "rung.core.events",
    "Budget": "rung.core.records",
    "Checkpoint": "rung.core.records",
    "Constraint": "rung.core.records",
    "Objective": "rung.core.records",
    "Outcome": "rung.core.records",
    "Result": "rung.core.records",
    "Trial": "rung.core.records",
    "TrialStatus": "rung.core.records",
    "derive_rng": "rung.core.rng",
    "__version__": "rung.core.versions",
    "Prices": "rung.cost.prices",
    "StopRule": "rung.cost.stop_rule",
    "ConfigError": "rung.errors",
    "JournalError": "rung.errors",
    "PauseTrial": "rung.errors",
    "ReplayDivergenceError": "rung.errors",
    "RunFailed": "rung.errors",
    "RungError": "rung.errors",
    "SpaceError": "rung.errors",
    "StopTrial": "rung.errors",
    "LocalExecutor": "rung.executors.local",
    "RayExecutor": "rung.executors.ray",  # imports Ray only when an executor starts
    "SimulatedExecutor": "rung.executors.simulated",
    "TrialContext": "rung.executors.worker",
    "Plan": "rung.planning",
    "plan": "rung.planning",
    "Reporter": "rung.reporter",
    "ASHA": "rung.schedulers.asha",
    "AsyncHyperband": "rung.schedulers.async_hyperband",
    "FIFOScheduler": "rung.schedulers.fifo",
    "Hyperband": "rung.schedulers.hyperband",
    "MedianStoppingRule": "rung.schedulers.median",
    "MOASHA": "rung.schedulers.mo_asha",
    "PB2": "rung.schedulers.pb2",
    "PBT": "rung.schedulers.pbt",
    "SuccessiveHalving": "rung.schedulers.successive_halving",
    "BOHBSearcher": "rung.searchers.bohb",
    "GPSearcher": "rung.searchers.gp",
    "GridSearcher": "rung.searchers.grid",
    "RandomSearcher": "rung.searchers.random",
    "SobolSearcher": "rung.searchers.sobol",
    "TPESearcher": "rung.searchers.tpe",
    "Categorical": "rung.space",
    "Fixed": "rung.space",
    "Float": "rung.space",
    "Fidelity": "rung.space",
    "optimize": "rung.dbr",
    "Int": "rung.space",
    "SearchSpace": "rung.space",
    "Study": "rung.study",
    "delete_study": "rung.study_delete",
    "run": "rung.shorthand",
}
_RENAMED = {"__version__": "RUNG_VERSION"}

__all__ = [
    "ASHA",
    "MOASHA",
    "PB2",
    "PBT",
    "Action",
    "AsyncHyperband",
    "BOHBSearcher",
    "Budget",
    "Callback",
    "Categorical",
    "Checkpoint",
    "ConfigError",
    "Constraint",
    "Decision",
    "FIFOScheduler",
    "Fidelity",
    "Fixed",
    "Float",
    "GPSearcher",
    "GridSearcher",
    "Hyperband",
    "Int",
    "JournalError",
    "LocalExecutor",
    "MedianStoppingRule",
    "Objective",
    "Outcome",
    "PauseTrial",
    "Plan",
    "Prices",
    "RandomSearcher",
    "RayExecutor",
    "ReplayDivergenceError",
    "Reporter",
    "Result",
    "RunFailed",
    "RungError",
    "SearchSpace",
    "SimulatedExecutor",
    "SobolSearcher",
    "SpaceError",
    "StopRule",
    "StopTrial",
    "Study",
    "SuccessiveHalving",
    "TPESearcher",
    "Trial",
    "TrialContext",
    "TrialStatus",
    "__version__",
    "delete_study",
    "derive_rng",
    "optimize",
    "plan",
    "run",
]


if not TYPE_CHECKING:  # hidden from type checkers, so that they flag unknown names

    def __getattr__(name: str) -> Any:
        """Import the module that defines ``name`` on first access, and keep the value here.
        A name that is no export but one of rung's submodules (``rung.dbr``, ``rung.planning``,
        ``rung.executors``...) is that submodule, imported now, as type checkers assume after
        ``import rung`` (they see the imports above); anything else is an ``AttributeError``.
        A submodule that fails to import (a missing extra) raises its own error."""
        module = _EXPORTS.get(name)
        if module is None:
            if not name.startswith("_"):  # (dunders are probed by tools: never a submodule)
                try:
                    return importlib.import_module(f"{__name__}.{name}")  # sets it here too
                except ModuleNotFoundError as e:
                    if e.name != f"{__name__}.{name}":  # the submodule's own import failed
                        raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), _RENAMED.get(name, name))
        globals()[name] = value  # later reads skip this function
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
