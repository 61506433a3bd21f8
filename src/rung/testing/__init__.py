"""Public conformance suites: every searcher, scheduler and journal must pass them."""

from rung.testing.conformance import (
    ToyBenchmark,
    check_journal,
    check_scheduler,
    check_searcher,
    default_space,
    sample_records,
)
from rung.testing.purity import forbid_impurity

__all__ = [
    "ToyBenchmark",
    "check_journal",
    "check_scheduler",
    "check_searcher",
    "default_space",
    "forbid_impurity",
    "sample_records",
]
