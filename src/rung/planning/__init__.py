"""Capacity planning: ``rung.plan(pilot, workers=[1, 8, 64])`` predicts what a whole study
takes (wall-clock, cost, utilization, regret) from a pilot's fitted curves and measured step
costs, by running the study's own searcher and scheduler on the simulated executor.

The package is ``rung.planning`` so that ``rung.plan`` can be the function.
"""

from __future__ import annotations

from rung.planning.planner import Plan, PlanRow, fit_pilot, plan

__all__ = ["Plan", "PlanRow", "fit_pilot", "plan"]
