"""``UnusedParams``: say when a define-by-run trial never asked for a value it was given.

An enqueued configuration (``Study.enqueue``, ``points_to_evaluate``) of a define-by-run study
may name parameters the study does not know yet (its space is learned from what trials ask
for), so a misspelt name (``lr`` for ``learning_rate``) is accepted when it is enqueued, and
the objective, which never asks for it, draws ``learning_rate`` instead. This callback, run in
the driver, logs one warning when such a trial ends, naming the trial, the names it never asked
for and the closest name the objective did ask for::

    study mlp, trial 0: the objective never asked for the enqueued parameter 'lr' (did you
    mean 'learning_rate'?): its value was not used

A name is reported when the trial's first launch proposed it, the trial never asked for it
(``ParamsUsed``), and no trial of the study has asked for it so far (it is not in the learned
space): a proposed value for a parameter of a branch the trial did not take is the searcher's
ordinary proposal, not a mistake. Only trials that ran their course are judged (completed or
stopped; a paused one when it ends later in the session): a failed trial may have stopped
before asking for everything. Nothing is journaled for it: the journal holds the launch's
params and the ones used, from which the same warning follows.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from rung._validate import close_hint
from rung.callbacks import Callback
from rung.core.events import Launch, ParamsUsed, TrialEnded
from rung.core.records import Outcome, TrialStatus

if TYPE_CHECKING:
    from rung.core.events import Command, Event
    from rung.core.history import History
    from rung.study import Study

log = logging.getLogger("rung.dbr")

_WORDS = re.compile(r"[^a-z0-9]+")


class UnusedParams(Callback):
    """Warn once per trial of a define-by-run study about proposed parameters its objective
    never asked for (see the module docstring). Reads only the turns it is given."""

    def __init__(self) -> None:
        self._name = ""
        self._proposed: dict[int, tuple[str, ...]] = {}  # unknown names at the first launch
        self._used: dict[int, set[str]] = {}

    def on_start(self, study: Study) -> None:
        self._name = study.name
        self._proposed, self._used = {}, {}

    def on_turn(
        self, events: Sequence[Event], commands: Sequence[Command], history: History
    ) -> None:
        for ev in events:
            if isinstance(ev, ParamsUsed):
                if ev.trial_id in self._proposed:
                    self._used.setdefault(ev.trial_id, set()).update(ev.params)
            elif isinstance(ev, TrialEnded) and ev.trial_id in self._proposed:
                self._ended(ev, history)
        for cmd in commands:
            if isinstance(cmd, Launch) and history.launches(cmd.trial_id) <= 1:
                space = history.space
                unknown = tuple(k for k in cmd.params if k not in space)
                if unknown:
                    self._proposed[cmd.trial_id] = unknown

    def _ended(self, ev: TrialEnded, history: History) -> None:
        tid = ev.trial_id
        if ev.outcome is Outcome.PAUSED:
            return  # judged when it ends for good
        proposed = self._proposed.pop(tid)
        used = self._used.pop(tid, set())
        if history.status(tid) not in (TrialStatus.COMPLETED, TrialStatus.STOPPED):
            return
        space = history.space
        unused = [k for k in proposed if k not in used and k not in space]
        if unused:
            asked = [*used, *(k for k in space.params if k not in used)]
            log.warning("study %s, trial %d: %s", self._name, tid, unused_message(unused, asked))


def unused_message(unused: Sequence[str], asked: Sequence[str]) -> str:
    """The warning's text for the names ``unused``, each with its did-you-mean among
    ``asked`` (the names the objective asked for)."""
    named = ", ".join(f"{k!r}{hint(k, asked)}" for k in unused)
    if len(unused) == 1:
        return (f"the objective never asked for the enqueued parameter {named}: its value was "
                "not used")
    return (f"the objective never asked for the enqueued parameters {named}: their values "
            "were not used")


def hint(name: str, asked: Iterable[str]) -> str:
    """`` (did you mean 'x'?)``: rung's one did-you-mean (``close_hint``), else the one
    asked-for name that ``name`` abbreviates by initials (``lr``: ``learning_rate``) or that
    abbreviates ``name`` so; ``""`` when none is close."""
    asked = list(asked)
    found = close_hint(name, asked)
    if found:
        return found
    short = [a for a in asked if _initials(a) == name.lower() or _initials(name) == a.lower()]
    return f" (did you mean {short[0]!r}?)" if len(short) == 1 else ""


def _initials(name: str) -> str:
    """``"wd"`` for ``weight_decay``; ``""`` for a one-word name."""
    words = [w for w in _WORDS.split(name.lower()) if w]
    return "".join(w[0] for w in words) if len(words) > 1 else ""


__all__ = ["UnusedParams", "hint", "unused_message"]
