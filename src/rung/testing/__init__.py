"""Public conformance suites (every searcher, scheduler, journal and executor must pass them),
and an in-process population driver for tests and benchmarks."""

from rung.testing.conformance import (
    ToyBenchmark,
    check_journal,
    check_scheduler,
    check_searcher,
    default_space,
    sample_records,
)
from rung.testing.executors import (
    ScriptedBenchmark,
    check_executor,
    scripted_metrics,
    scripted_objective,
)
from rung.testing.population import PopulationRun, run_population
from rung.testing.purity import forbid_impurity

__all__ = [
    "PopulationRun",
    "ScriptedBenchmark",
    "ToyBenchmark",
    "check_executor",
    "check_journal",
    "check_scheduler",
    "check_searcher",
    "default_space",
    "forbid_impurity",
    "run_population",
    "sample_records",
    "scripted_metrics",
    "scripted_objective",
]
