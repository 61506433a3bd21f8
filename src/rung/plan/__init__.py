"""Capacity planning: ``rung.plan(pilot, workers=[1, 8, 64])`` predicts what a whole study
takes (wall-clock, cost, utilization, regret) from a pilot's fitted curves and measured step
costs, by running the study's own searcher and scheduler on the simulated executor.

``rung.plan`` is both this package and its function: the package is callable, so
``rung.plan(...)`` works whichever of the two an import bound to the name first.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from rung.plan.planner import Plan, PlanRow, fit_pilot, plan


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Plan:
        return plan(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["Plan", "PlanRow", "fit_pilot", "plan"]
