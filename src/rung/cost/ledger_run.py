"""``_Run``: one run of a trial in the ledger's fold (``rung.cost.ledger_fold``), from its
``Launch`` to its ``TrialEnded``: what it holds, its hourly rate, and what it has been charged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from rung.core.events import Launch
from rung.core.pricing import gpus, hourly_rate
from rung.cost.ledger import Spend


class _Run:
    __slots__ = ("checkpoint", "devices", "first_step", "gpus", "held", "last", "launched",
                 "position", "rate", "resources", "saved", "saves", "since", "slot", "spend",
                 "started")

    def __init__(self, launch: Launch, now: float, resources: Mapping[str, float],
                 prices: Mapping[str, float], slot: int) -> None:
        self.launched = self.since = self.last = now
        self.resources = resources
        self.rate = hourly_rate(prices, resources)
        self.gpus = gpus(resources)
        self.devices = float(sum(resources.values()))
        self.position = launch.start_step - 1
        self.checkpoint = launch.checkpoint is not None
        self.first_step: float | None = None  # seconds from launch to the first result
        self.started: float | None = None  # time of its TrialStarted (the worker took it)
        self.saves = 0.0  # seconds spent saving checkpoints
        self.saved = 0  # checkpoints saved
        self.held = 0.0  # seconds charged
        self.slot = slot
        self.spend = Spend(runs=1)

    def copy(self) -> _Run:
        """A copy to charge and close without changing this run (``_Fold.result``)."""
        run = _Run.__new__(_Run)
        for name in _Run.__slots__:
            setattr(run, name, getattr(self, name))
        run.spend = replace(self.spend)
        return run

    def owed(self, t: float) -> tuple[float, float, float]:
        """Seconds, cost and device-hours held since the last charge, up to ``t``."""
        dt = t - self.since
        if dt <= 0:
            return 0.0, 0.0, 0.0
        h = dt / 3600.0
        return dt, h * self.rate, h * self.devices
