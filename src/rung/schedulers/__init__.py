"""Schedulers: which trial takes a free slot, how far it runs, whether it goes on.

Every built-in scheduler is declared here by name (``rung.core.registry.declare``) and its class
exported lazily: importing this package imports no scheduler module; ``lookup`` / ``build`` by
name, or reading an attribute below, imports just that scheduler's module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rung.core.components import Fork, Resume, Scheduler, StartNew
from rung.core.registry import declare_builtins

if TYPE_CHECKING:
    from rung.schedulers.asha import ASHA
    from rung.schedulers.async_hyperband import AsyncHyperband
    from rung.schedulers.curve import CurveASHA
    from rung.schedulers.fifo import FIFOScheduler
    from rung.schedulers.hyperband import Hyperband
    from rung.schedulers.median import MedianStoppingRule
    from rung.schedulers.mo_asha import MOASHA
    from rung.schedulers.pb2 import PB2
    from rung.schedulers.pbt import PBT
    from rung.schedulers.successive_halving import SuccessiveHalving

# registry name, class name, module (the module registers the class under that name)
_BUILTIN = (
    ("asha", "ASHA", "rung.schedulers.asha"),
    ("async_hyperband", "AsyncHyperband", "rung.schedulers.async_hyperband"),
    ("curve", "CurveASHA", "rung.schedulers.curve"),
    ("fifo", "FIFOScheduler", "rung.schedulers.fifo"),
    ("hyperband", "Hyperband", "rung.schedulers.hyperband"),
    ("median", "MedianStoppingRule", "rung.schedulers.median"),
    ("mo_asha", "MOASHA", "rung.schedulers.mo_asha"),
    ("pb2", "PB2", "rung.schedulers.pb2"),
    ("pbt", "PBT", "rung.schedulers.pbt"),
    ("successive_halving", "SuccessiveHalving", "rung.schedulers.successive_halving"),
)
_getattr = declare_builtins("scheduler", __name__, _BUILTIN)
if not TYPE_CHECKING:  # hidden from type checkers, so that they flag unknown names
    __getattr__ = _getattr


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "ASHA",
    "MOASHA",
    "PB2",
    "PBT",
    "AsyncHyperband",
    "CurveASHA",
    "FIFOScheduler",
    "Fork",
    "Hyperband",
    "MedianStoppingRule",
    "Resume",
    "Scheduler",
    "StartNew",
    "SuccessiveHalving",
]
