"""First in, first out: every trial runs to ``max_step``; interrupted trials are resumed first."""

from __future__ import annotations

from rung.core.components import ResultRequest, Scheduler
from rung.core.events import CONTINUE, Decision
from rung.core.registry import register


@register("scheduler", "fifo")
class FIFOScheduler(Scheduler):
    """Runs every trial to the end. The worker never waits for a decision."""

    def __init__(self) -> None:
        pass

    def on_result(self, request: ResultRequest) -> Decision:
        return CONTINUE
