"""Callbacks: user code told about a run as it happens (tracking integrations build on this).

A ``Callback`` is handed to ``Study.run(callbacks=[...])`` or ``Study.simulate(callbacks=[...])``.
For one driver session (a run, a resume, a simulation) it is called:

- ``on_start(study)`` once, before the session's first turn;
- ``on_turn(events, commands, history)`` after every driver turn, once the turn is journaled:
  the events the turn handled and the commands they caused, each in journal order (a ``Reply``
  carries the scheduler's ``Decision`` and its ``reason``); ``history`` is the engine's state
  after the turn;
- ``on_end(study)`` once, after the session ended, whichever way it ended (budget spent,
  ``RunFailed``, ``KeyboardInterrupt``, any other exception, including one of a callback).

Callbacks read; they must not change the study, the history or the records they are given,
with one exception: ``study.stop()`` (the study ``on_start`` was given) ends the session once
its trials in flight have ended, no trial starting after it (Optuna's ``study.stop()``; the
study goes on at its next run). They run in the driver's thread, between two turns, so a slow
one slows the run down (the workers keep computing, but their results wait): send anything slow
to a thread of your own.

**A callback that raises stops the run.** The turn that caused the call is already journaled
and its commands handed to the executor, so the journal is intact and ``Study.load(...).run``
resumes; the executor is shut down, every callback's ``on_end`` is still called, and the
callback's exception propagates out of ``run`` (as Optuna does with its callbacks). An ``on_end``
that raises while the run is ending because of another exception is logged on the
``rung.callbacks`` logger and the first exception propagates; otherwise the first ``on_end``
exception propagates after every ``on_end`` was called.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rung.core.events import Command, Event
    from rung.core.history import History
    from rung.study import Study

log = logging.getLogger("rung.callbacks")


class Callback:
    """Base class of callbacks: every method does nothing; override the ones you need."""

    def on_start(self, study: Study) -> None:
        """Before the first turn of a ``run`` / ``simulate`` session."""

    def on_turn(
        self, events: Sequence[Event], commands: Sequence[Command], history: History
    ) -> None:
        """After a driver turn is journaled: its events and the commands they caused.

        Args:
            events: what the executor reported and the turn handled, in journal order: frozen
                records of ``rung.core.events``, each with ``time`` (the executor's clock):
                ``TrialStarted(trial_id)``, ``ResultReported(trial_id, step, metrics)``,
                ``CheckpointSaved(trial_id, step, path, size)``, ``TrialEnded(trial_id,
                outcome, error)`` (``outcome``: a ``rung.Outcome``), ``CapacityChanged``,
                ``Tick``, ``TrialRetried``, ``ParamsUsed`` (a define-by-run trial's
                parameters), ``TrialEnqueued`` (``Study.enqueue``) and ``BudgetChanged``
                (``Study.set_budget``).
            commands: what the engine decided in answer, in journal order:
                ``Launch(trial_id, params, start_step, until_step, max_step, checkpoint)``,
                ``Reply(trial_id, step, decision)`` (``decision``: the scheduler's
                ``rung.Decision``, with its ``action``, a ``rung.Action``, and its
                ``reason``), ``Cancel(trial_id, reason)``, ``DeleteCheckpoint(trial_id,
                path)`` and ``StopSearch(reason, evidence)`` (the stop rule ended the search).
            history: the engine's ``rung.core.history.History`` after the turn, to read only:
                ``history.trial(trial_id)`` is the ``rung.Trial`` (its ``status``, a
                ``rung.TrialStatus``), ``history.best_trial()`` the study's best so far.
        """

    def on_end(self, study: Study) -> None:
        """After the session ended (normally or not)."""


_HOOKS = ("on_start", "on_turn", "on_end")


def as_callbacks(callbacks: Any) -> tuple[Any, ...]:
    """The ``callbacks`` argument of ``Study.run`` / ``simulate`` as a tuple: one callback
    (an object with every hook) counts as a list of one.

    Raises:
        ConfigError: ``callbacks`` is neither a callback nor an iterable of them (key
            ``callbacks``); the entries themselves are checked by ``start_all``.
    """
    from rung.errors import ConfigError

    if all(callable(getattr(callbacks, h, None)) for h in _HOOKS):
        return (callbacks,)
    if isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
        raise ConfigError(key="callbacks", message=f"a list of rung.Callback objects, got "
                          f"{type(callbacks).__name__}")
    return tuple(callbacks)


def start_all(callbacks: Sequence[Callback], study: Study) -> None:
    """Call every callback's ``on_start`` in order (an exception propagates at once).

    Raises:
        ConfigError: an entry is not a callback (it lacks ``on_start`` / ``on_turn`` /
            ``on_end``; key ``callbacks[i]``), before any ``on_start`` is called. A plain
            function (Optuna's ``callback(study, trial)``) is named as such.
    """
    from rung.errors import ConfigError

    for i, cb in enumerate(callbacks):
        missing = [h for h in _HOOKS if not callable(getattr(cb, h, None))]
        if missing:
            what = ("a function: rung calls a callback's on_turn(events, commands, history) "
                    "after each turn, not callback(study, trial) as Optuna does; subclass "
                    "rung.Callback" if callable(cb) else
                    f"it has no {', '.join(missing)}: subclass rung.Callback")
            raise ConfigError(key=f"callbacks[{i}]", message=f"{cb!r} is not a rung.Callback "
                              f"({what})")
    for cb in callbacks:
        cb.on_start(study)


def end_all(callbacks: Sequence[Callback], study: Study, failing: bool) -> None:
    """Call every callback's ``on_end``, all of them even when some raise.

    Args:
        failing: the session is ending because of an exception, which must win: ``on_end``
            exceptions are then logged, not raised.

    Raises:
        Exception: the first ``on_end`` exception, when ``failing`` is false.
    """
    first: BaseException | None = None
    for cb in callbacks:
        if not callable(getattr(cb, "on_end", None)):
            continue  # refused by start_all: it was never started
        try:
            cb.on_end(study)
        except Exception as e:
            if failing:
                log.error("callback %r raised in on_end (ignored: the run was already "
                          "failing)", cb, exc_info=True)
            elif first is None:
                first = e
    if first is not None:
        raise first


__all__ = ["Callback", "as_callbacks", "end_all", "start_all"]
