"""Exceptions raised by rung.

``RungError`` is the root of everything rung raises on purpose. ``StopTrial`` and ``PauseTrial``
are not errors: they are raised inside a user's objective by ``TrialContext.report`` to unwind it
when the scheduler decides to stop or pause the trial, and the worker runtime catches them.
"""

from __future__ import annotations


class RungError(Exception):
    """Base class of every error rung raises deliberately."""


class ConfigError(RungError, ValueError):
    """An invalid study specification, component name or parameter.

    ``ConfigError(key="scheduler.params.eta", message="must be an integer >= 2, got 1")``
    carries the offending key as data: ``key`` is its dotted path relative to the study spec
    (``budget.n_trials``, ``searcher.params.gamma``, ``metric[1]``) and ``message`` says what is
    wrong with it; ``str(error)`` is ``"<key>: <message>"``. The CLI prefixes ``key`` with
    ``spec.`` to name the key of a YAML spec.

    ``ConfigError("text")`` (no key) is accepted too: ``key`` is then ``None`` and ``message``
    the text.
    """

    key: str | None
    message: str

    def __init__(
        self, text: str | None = None, *, key: str | None = None, message: str | None = None
    ) -> None:
        if text is not None and message is not None:
            raise TypeError("give the text positionally or as message=, not both")
        self.key = key or None
        self.message = message if message is not None else (text or "")
        super().__init__(self._render())

    def _render(self) -> str:
        return f"{self.key}: {self.message}" if self.key else self.message

    def __reduce__(self) -> tuple[object, ...]:
        # exceptions pickle as ``cls(*args)``; keep the key across processes
        return (_rebuild, (type(self), self.key, self.message, self.__dict__.copy()))


class SpaceError(ConfigError):
    """An invalid search space or an invalid parameter assignment.

    ``key`` is relative to the search space: the parameter's name, optionally followed by the
    offending field (``"lr.low"``); ``param`` is the parameter's name (``None`` for an error
    about the space as a whole). ``str(error)`` quotes the name, since names may hold any
    character: ``"'lr'.low: must be < high (got low=1.0, high=0.1)"``.
    """

    param: str | None

    def __init__(
        self,
        text: str | None = None,
        *,
        key: str | None = None,
        message: str | None = None,
        param: str | None = None,
    ) -> None:
        self.param = param if param is not None else key
        super().__init__(text, key=key, message=message)

    def _render(self) -> str:
        if not self.key:
            return self.message
        p = self.param
        where = f"{p!r}{self.key[len(p):]}" if p and self.key.startswith(p) else self.key
        return f"{where}: {self.message}"


def _rebuild(
    cls: type[ConfigError], key: str | None, message: str, state: dict[str, object]
) -> ConfigError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    ConfigError.__init__(err, key=key, message=message)
    return err


class JournalError(RungError):
    """The journal cannot be read or written (missing study, bad record, wrong version)."""


class ReplayDivergenceError(JournalError):
    """Replaying a journal regenerated commands that differ from the journaled ones."""


class RunFailed(RungError):
    """A run produced nothing usable: every trial failed, or none reported the objective
    metric (they failed, or reported NaN, or another metric), or more trials failed than
    ``max_failures`` allows (the run was stopped early). ``counts`` holds the trials by
    status when it was raised (``{"failed": 12, "completed": 0, ...}``)."""

    def __init__(self, message: str, counts: dict[str, int] | None = None) -> None:
        super().__init__(message)
        self.counts = dict(counts or {})


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
