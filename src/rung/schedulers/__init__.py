"""Schedulers: which trial takes a free slot, how far it runs, whether it goes on."""

from rung.core.components import Fork, Resume, Scheduler, StartNew
from rung.schedulers.asha import ASHA
from rung.schedulers.async_hyperband import AsyncHyperband
from rung.schedulers.fifo import FIFOScheduler
from rung.schedulers.hyperband import Hyperband
from rung.schedulers.successive_halving import SuccessiveHalving

__all__ = [
    "ASHA",
    "AsyncHyperband",
    "FIFOScheduler",
    "Fork",
    "Hyperband",
    "Resume",
    "Scheduler",
    "StartNew",
    "SuccessiveHalving",
]
