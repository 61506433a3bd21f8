"""rung: hyperparameter search that spends compute where it pays.

A pure engine decides, a journal remembers, executors (local processes, Ray, a simulated clock)
do the work. See ``Study`` for the facade and ``run`` for the one-call shorthand.
"""

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
from rung.errors import (
    ConfigError,
    JournalError,
    PauseTrial,
    ReplayDivergenceError,
    RungError,
    SpaceError,
    StopTrial,
)
from rung.executors.ray import RayExecutor  # imports Ray only when one is started
from rung.executors.runtime import TrialContext
from rung.executors.simulated import SimulatedExecutor
from rung.schedulers import (
    ASHA,
    PBT,
    AsyncHyperband,
    FIFOScheduler,
    Hyperband,
    MedianStoppingRule,
    SuccessiveHalving,
)
from rung.searchers import (
    BOHBSearcher,
    GPSearcher,
    GridSearcher,
    RandomSearcher,
    SobolSearcher,
    TPESearcher,
)
from rung.space import Categorical, Fixed, Float, Int, SearchSpace
from rung.study import Study, run

__version__ = "0.1.0"

__all__ = [
    "ASHA",
    "PBT",
    "Action",
    "AsyncHyperband",
    "BOHBSearcher",
    "Budget",
    "Categorical",
    "Checkpoint",
    "ConfigError",
    "Constraint",
    "Decision",
    "FIFOScheduler",
    "Fixed",
    "Float",
    "GPSearcher",
    "GridSearcher",
    "Hyperband",
    "Int",
    "JournalError",
    "MedianStoppingRule",
    "Objective",
    "Outcome",
    "PauseTrial",
    "RandomSearcher",
    "RayExecutor",
    "ReplayDivergenceError",
    "Result",
    "RungError",
    "SearchSpace",
    "SimulatedExecutor",
    "SobolSearcher",
    "SpaceError",
    "StopTrial",
    "Study",
    "SuccessiveHalving",
    "TPESearcher",
    "Trial",
    "TrialContext",
    "TrialStatus",
    "__version__",
    "derive_rng",
    "run",
]
