"""Exceptions raised by rung.

``RungError`` is the root of everything rung raises on purpose. ``StopTrial`` and ``PauseTrial``
are not errors: they are raised inside a user's objective by ``TrialContext.report`` to unwind it
when the scheduler decides to stop or pause the trial, and the worker runtime catches them.
"""

from __future__ import annotations


class RungError(Exception):
    """Base class of every error rung raises deliberately."""


class ConfigError(RungError, ValueError):
    """An invalid study specification, component name or parameter (names the offending key)."""


class SpaceError(ConfigError):
    """An invalid search space or an invalid parameter assignment (names the offending key)."""


class JournalError(RungError):
    """The journal cannot be read or written (missing study, bad record, wrong version)."""


class ReplayDivergenceError(JournalError):
    """Replaying a journal regenerated commands that differ from the journaled ones."""


class TrialInterrupt(BaseException):
    """Base of the signals that unwind an objective at a report. Not an ``Exception`` so that a
    user's broad ``except Exception`` around training code does not swallow it."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class StopTrial(TrialInterrupt):
    """Raised by ``TrialContext.report`` when the scheduler stopped the trial."""


class PauseTrial(TrialInterrupt):
    """Raised by ``TrialContext.report`` after the checkpoint is saved, when the trial is paused."""
