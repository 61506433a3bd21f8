"""Schedulers: which trial takes a free slot, how far it runs, whether it goes on."""

from rung.core.components import Fork, Resume, Scheduler, StartNew
from rung.schedulers.asha import ASHA
from rung.schedulers.async_hyperband import AsyncHyperband
from rung.schedulers.curve import CurveASHA
from rung.schedulers.fifo import FIFOScheduler
from rung.schedulers.hyperband import Hyperband
from rung.schedulers.median import MedianStoppingRule
from rung.schedulers.mo_asha import MOASHA
from rung.schedulers.pbt import PBT
from rung.schedulers.successive_halving import SuccessiveHalving

__all__ = [
    "ASHA",
    "MOASHA",
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
