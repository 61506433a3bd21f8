"""``Study.set_budget``: a study's budget from now on, journaled as a ``BudgetChanged`` event.

A study's budget is stored with it when it is created; a change is an event of its journal
(``rung.core.events.BudgetChanged``), so replay meets it where it happened and the study
replays as it ran (``Engine.created_spec`` is what every replay starts from). The engine
applies it (``Engine._on_budget``): its limits count what the study has spent so far, and a
study whose ``n_trials`` was spent may start new trials again (``Scheduler.on_budget_raised``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rung.ask_tell import serialized
from rung.core.budget import Budget
from rung.errors import ConfigError

if TYPE_CHECKING:
    from rung.core.engine import Engine
    from rung.core.events import Command, Event
    from rung.core.records import StudySpec
    from rung.storage.base import Journal


class StudyBudget:
    """The ``set_budget`` of a ``Study`` (a mixin: the attributes below are the study's)."""

    spec: StudySpec
    engine: Engine
    journal: Journal

    if TYPE_CHECKING:
        def _turn(self, events: list[Event]) -> list[Command]: ...  # ``AskTell._turn``

        def _why_over(self) -> str: ...  # ``StudyViews._why_over``

    @serialized
    def set_budget(self, budget: Budget | Mapping[str, Any] | None = None,
                   **limits: Any) -> None:
        """The study's budget from now on, journaled (a ``BudgetChanged`` event): a study
        whose budget is spent goes on at its next ``run`` / ``simulate`` (or ``ask``), and
        every reader (``rung show``, the ledger, the dashboard, a later ``Study.load``) sees
        the new one. Either a whole ``budget`` (``rung.Budget`` or a mapping, as
        ``Study.create`` takes it), or ``limits`` that change only themselves
        (``set_budget(n_trials=200)`` keeps the study's ``max_time``). Limits count what the
        study has spent so far: ``n_trials=200`` after 100 trials is 100 more (PBT's forks
        are not trials of ``n_trials``). The stop rule stays the one the study was created
        with (``stop`` left out, or the same). A budget equal to the study's journals nothing.
        Nothing runs here; call it while no session of this study runs.

        Raises:
            ConfigError: nothing is journaled. Not a budget (keyed ``budget.<key>``), both
                ``budget`` and ``limits`` or neither, a budget with no limit (for a searcher
                that never runs out), ``max_cost`` without the study's prices, a ``stop``
                other than the study's; a search that would stay over whatever its budget
                (``budget``): the stop rule or the scheduler ended it, its searcher has no
                configuration left, or its scheduler starts no trial once its work is
                fixed (PBT's population) and ``n_trials`` is what was spent.
            StudyBusyError: another process drives the study (``rung.storage.sqlite``);
                the study is as it was.
        """
        from rung.core.events import BudgetChanged
        from rung.storage.lock_scope import outside_session
        from rung.study_checks import check_given_resources
        from rung.study_session import check_budget

        old = self.spec.budget
        new = _wanted(old, budget, limits)
        if new == old:
            return
        self._refuse_reopening(new)
        spec = dataclasses.replace(self.spec, budget=new)  # checked as at create
        check_budget(spec, self.engine)
        check_given_resources(spec)
        with outside_session(self.journal, self.spec.name):  # (a lock it took is given back)
            self._turn([BudgetChanged(new.to_json(), self.engine.now)])  # (restored on failure)
        self.spec = self.engine.spec

    def _refuse_reopening(self, new: Budget) -> None:
        """``ConfigError`` (key ``budget``) for a study over for a reason no budget changes."""
        e = self.engine
        if e.stopped is not None:
            raise ConfigError(key="budget", message=(
                f"the stop rule ended this search ({e.stopped.reason}): a new budget does not "
                "re-open it"))
        if e.active or not (e.exhausted or not e.budget_left()):  # (``over``, any capacity)
            return
        why = self._why_over()
        if why != "the budget is spent":
            raise ConfigError(key="budget", message=f"{why}: a new budget runs nothing more")
        n = e.spec.budget.n_trials
        if (not type(e.scheduler).reopens and n is not None
                and e.history.n_suggested >= n and new.n_trials != n):
            raise ConfigError(key="budget.n_trials", message=(
                f"{e.scheduler.name} starts no new trial once its work is fixed (its "
                "population): a larger n_trials runs nothing more (raise max_steps or "
                "max_time for members cut by those, or create a new study)"))


def _wanted(old: Budget, budget: Any, limits: Mapping[str, Any]) -> Budget:
    """The budget ``set_budget`` is asked for: ``budget``, or ``old`` with ``limits``; the
    study's stop rule when it names none."""
    from rung.study_checks import as_budget

    if (budget is None) == (not limits):
        raise ConfigError(key="budget", message=(
            "give a budget (rung.Budget(...) or a mapping) or the limits to change "
            f"(set_budget(n_trials=200)), not {'both' if limits else 'neither'}"))
    new = (Budget.from_json({**old.to_json(), **limits}) if budget is None
           else as_budget(budget))
    if new.stop is None and old.stop is not None:
        new = dataclasses.replace(new, stop=old.stop)
    if new.stop != old.stop:
        raise ConfigError(key="budget.stop", message=(
            f"is the study's own ({old.stop.name if old.stop else None!r}) and stays so: a "
            "budget change keeps the stop rule the study was created with"))
    return new


__all__ = ["StudyBudget"]
