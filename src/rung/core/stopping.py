"""The stop-searching extension point: ``SearchStopRule`` decides when more search is not worth
its cost.

A rule is a component like a searcher or a scheduler: a plain value persisted as ``{"name",
"params"}`` (``Budget.stop``), bound once, then asked by the engine after every trial ends. It
sees the read-only ``History`` and what the study has spent so far (measured by the engine from
the journal's times), nothing else: no clock, no I/O, no global random state. When it answers
with a ``StopVerdict``, the engine journals a ``StopSearch`` command carrying the verdict's
reason and evidence, launches nothing more and stops running trials at their next report.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

from rung.core.components import BindContext, Component
from rung.core.frozen import record
from rung.core.history import History


@dataclass(slots=True)
class StopRequest:
    """One call of ``SearchStopRule.check``, made after a trial ended.

    Attributes:
        history: the study so far.
        trial_id: the trial that just ended.
        cost: money spent by trials so far (0 when the study has no prices).
        device_hours: device-hours held by trials so far (every device counted).
        ended: trial runs ended so far (the denominator of a cost per trial).
    """

    history: History
    trial_id: int
    cost: float
    device_hours: float
    ended: int


@record
class StopVerdict:
    """Why a rule stops the search: a one-line ``reason`` for humans and the numbers it rests
    on (``evidence``: plain JSON numbers, journaled with the ``StopSearch`` command)."""

    reason: str
    evidence: Mapping[str, float]


class SearchStopRule(Component, ABC):
    """Decides, after each trial ends, whether the search should stop.

    Contract: ``check`` is called by the engine once per ended trial run, in journal order; its
    answer must depend only on the requests it has seen and the bind context. Replay does not
    call it: the verdict journaled with the ``StopSearch`` command is taken as it is (a model's
    floating-point evidence can differ in its last bits between processes), as launched
    trials' params are. Return ``None`` to go on.
    """

    def bind(self, ctx: BindContext) -> None:
        """Called once by the engine before any ``check``."""
        self.ctx = ctx

    @abstractmethod
    def check(self, request: StopRequest) -> StopVerdict | None:
        """``None`` to go on, a ``StopVerdict`` to stop the search."""


__all__ = ["SearchStopRule", "StopRequest", "StopVerdict"]
