"""The two extension points, ``Searcher`` (what to try) and ``Scheduler`` (when, and how far).

They never call each other and see nothing but a read-only ``History`` and the objects passed to
their hooks: no engine, no executor, no storage, no clock, no global random state. Components are
plain values: the constructor only stores its arguments (scikit-learn style), ``bind`` is called
once by the engine before any other hook, and ``to_json`` persists a component as
``{"name": ..., "params": {...}}``.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from rung.core.events import Decision
from rung.core.frozen import record
from rung.core.history import History
from rung.core.records import ComponentSpec, Objective, Outcome, Result, TrialStatus
from rung.space import SearchSpace


@record
class BindContext:
    """What a component learns once, before its first hook call."""

    space: SearchSpace
    objective: Objective
    max_step: int
    seed: int


class Component:
    """Shared plumbing: constructor-parameter introspection, JSON persistence and versions.

    ``version`` is the component's algorithm version, recorded in the journal with the study
    (``rung.core.versions``). Bump it whenever the same calls could produce different decisions
    or suggestions (a tie rule, a rounding, a default), and say what changed in ``changes``::

        class ASHA(Scheduler):
            version = 2
            changes = {2: "ties at a rung's cutoff now fill the quota"}

    Replaying a journal written with another version still works when the change does not
    touch it; when it does, ``ReplayDivergenceError`` names the versions and quotes ``changes``.
    A component built on another one's code (BOHB on TPE's density estimates, say) bumps its own
    version too when that code changes its behaviour.
    """

    name: ClassVar[str] = ""
    version: ClassVar[int] = 1
    changes: ClassVar[Mapping[int, str]] = {}

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments, read back from same-named attributes."""
        out: dict[str, Any] = {}
        for p in inspect.signature(type(self).__init__).parameters.values():
            if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            out[p.name] = getattr(self, p.name)
        return out

    def to_spec(self) -> ComponentSpec:
        return ComponentSpec(self.name, self.get_params())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


# --- searcher -------------------------------------------------------------------------------


@dataclass(slots=True)  # not frozen: built on every hook call, and frozen init is slower
class SuggestRequest:
    """One call of ``Searcher.suggest``.

    Attributes:
        trial_id: id the new trial will get.
        index: how many configurations the searcher has proposed before this one (a grid
            searcher proposes its ``index``-th point).
        history: the study so far, including pending (launched or running) trials.
        rng: a generator derived from ``(seed, "searcher", trial_id)``: the only randomness a
            searcher may use. It is valid during the call only (the engine re-seeds one
            generator for every request): do not keep it.
    """

    trial_id: int
    index: int
    history: History
    rng: np.random.Generator


class Searcher(Component, ABC):
    """Proposes configurations.

    Contract: ``suggest`` is called by the engine when the scheduler asks for a new trial. Its
    output must depend only on the request and the bind context (not on earlier calls), because
    on replay the engine takes launched trials' params from the journal and does not call it.
    Returning ``None`` means the searcher is exhausted (for now).
    """

    space: SearchSpace
    objective: Objective
    max_step: int
    seed: int

    #: True when the searcher runs out of configurations by itself (``suggest`` returns
    #: ``None`` for good after finitely many, as a grid does), so a study using it ends
    #: without a budget. Read by ``Study`` before a run; a class attribute, not state.
    exhausts: bool = False

    def bind(self, ctx: BindContext) -> None:
        """Called once by the engine before any ``suggest``."""
        self.space = ctx.space
        self.objective = ctx.objective
        self.max_step = ctx.max_step
        self.seed = ctx.seed

    @abstractmethod
    def suggest(self, request: SuggestRequest) -> dict[str, Any] | None:
        """Return the params of the next trial (valid in the space), or ``None``."""


# --- scheduler ------------------------------------------------------------------------------


@record
class StartNew:
    """Start a new trial with a configuration from the searcher, running to ``until_step``
    before waiting for a decision. ``tags`` are recorded on the trial (a bracket, a rung)."""

    until_step: int
    tags: Mapping[str, Any] = field(default_factory=dict)


@record
class Resume:
    """Resume a paused or interrupted trial from its checkpoint (from step 1 if it has none)."""

    trial_id: int
    until_step: int


@record
class Fork:
    """Start a new trial with ``params`` from the checkpoint of ``parent_id`` (PBT exploit)."""

    parent_id: int
    params: Mapping[str, Any]
    until_step: int
    tags: Mapping[str, Any] = field(default_factory=dict)


NextTrial = StartNew | Resume | Fork


@dataclass(slots=True)  # not frozen: built on every hook call, and frozen init is slower
class ResultRequest:
    """One call of ``Scheduler.on_result``: trial ``trial_id`` reported ``result``, whose
    lower-is-better score is ``score``; ``until_step`` is the trial's current lease."""

    trial_id: int
    result: Result
    score: float
    until_step: int
    history: History


@dataclass(slots=True)  # not frozen: built on every hook call, and frozen init is slower
class EndRequest:
    """One call of ``Scheduler.on_trial_end``."""

    trial_id: int
    outcome: Outcome
    history: History


class Scheduler(Component, ABC):
    """Decides which trial takes a free slot, how far it runs and whether it goes on.

    Contract:
      - ``next_trial(history)`` is called by the engine whenever a slot is free (after a trial
        ends, when capacity grows, on a tick); ``None`` means "nothing to start now".
      - ``on_result(request)`` is called for every result of an active trial that has not been
        told to stop or pause; it returns the ``Decision``.
      - ``on_trial_end(request)`` is called once for every run of a trial that ends.
      - ``retired()`` is called right after each ``on_result``, ``on_trial_end`` and
        ``on_start_refused``: paused
        trials it names will never be resumed, so the engine ends them as stopped and releases
        their checkpoints.
      - ``on_budget_raised(history)`` is called when new trials may start again after
        ``on_start_refused`` (``Study.set_budget`` raised ``n_trials``).
    A scheduler may keep internal state: on replay the engine feeds it the same calls in the same
    order. ``state()`` must be JSON-serializable (for the CLI and the dashboard). ``replaying``
    is True while the engine replays a journaled event other than the last one replayed: the
    commands regenerated there are the journal's and a trial launched there takes the
    journal's params, so work whose only product is a new trial's params may wait (PB2's fit).

    The default ``next_trial`` resumes interrupted trials (oldest first, at most
    ``max_interruptions`` times each) before starting new ones.
    """

    max_step: int
    objective: Objective
    seed: int
    max_interruptions: ClassVar[int] = 3
    replaying: bool = False  # set by the engine's replay (``rung.core.replay``)

    def bind(self, ctx: BindContext) -> None:
        self.max_step = ctx.max_step
        self.objective = ctx.objective
        self.seed = ctx.seed

    def next_trial(self, history: History) -> NextTrial | None:
        resume = self.resume_interrupted(history)
        if resume is not None:
            return resume
        return StartNew(self.lease(1))

    def resume_interrupted(self, history: History) -> Resume | None:
        """Resume the oldest interrupted trial that has not been interrupted too often."""
        if not history.count(TrialStatus.INTERRUPTED):
            return None
        for tid in history.ids(TrialStatus.INTERRUPTED):
            if history.interruptions(tid) <= self.max_interruptions:
                ckpt = history.checkpoint(tid)
                return Resume(tid, self.lease(ckpt.step + 1 if ckpt else 1))
        return None

    def lease(self, start_step: int) -> int:
        """The step at which a trial started at ``start_step`` first waits for a decision."""
        return self.max_step

    @abstractmethod
    def on_result(self, request: ResultRequest) -> Decision:
        """Decide on one result."""

    def on_trial_end(self, request: EndRequest) -> None:
        """Note that a run of a trial ended (default: nothing)."""

    def retired(self) -> list[int]:
        """Paused trials this scheduler has given up on for good, named once each (default:
        none). Called by the engine after every ``on_result``, ``on_trial_end`` and
        ``on_start_refused``; a named trial
        that is paused then ends with status ``stopped`` (no ``on_trial_end`` call follows: the
        scheduler already knows) and its checkpoint is deleted unless ``keep_checkpoints`` keeps
        it. Names of trials that are not paused (running, already ended) are ignored. Synchronous
        successive halving uses this for the losers of a completed rung."""
        return []

    def needs_checkpoint(self, trial_id: int) -> bool:
        """Whether a trial this scheduler has yet to start will start from ``trial_id``'s
        checkpoint (default: never). Asked by the engine as ``trial_id`` ends for good: a
        needed checkpoint is kept, and retired as usual after the first event once it is no
        longer needed (the fork launched, holding its own reference). PBT names the donors
        of its planned forks."""
        return False

    def paused_decision(self, trial_id: int) -> Decision | None:
        """The decision this scheduler took on paused ``trial_id`` while it was not reporting
        (default: ``None``, none): asked by the engine once as it retires the trial (a
        ``STOP``, whose reason it journals in a ``Cancel`` of the trial) and once as it resumes
        it (a ``CONTINUE``, journaled as a ``Reply`` on its last result with the launch's
        lease), so that ``rung show``, the frames and the dashboard give the decision's own
        reason (a rung's rank and quota, a PBT exploit) instead of the pause's. The scheduler
        may forget the answer once asked."""
        return None

    def ended(self) -> str | None:
        """Why this scheduler ended the search before its budget, in one line, once it will
        launch nothing more for a reason the user should act on (default: ``None``, never).
        PBT ends this way when members save no checkpoints. ``rung show``, ``rung ls``, the
        dashboard and the line after a session (``Study.run``) say it as the reason the
        search is over; it changes no decision."""
        return None

    def on_start_refused(self, history: History) -> bool:
        """Called by the engine when it could not start the new trial ``next_trial`` asked for
        (``Budget.n_trials`` is spent, or the searcher is exhausted). Return True to be asked
        once more in the same turn (say, to resume paused trials that were waiting for a rung to
        fill with new trials); the default, False, ends the turn."""
        return False

    #: whether new trials it asks for after ``on_start_refused`` can run once the engine may
    #: start them again (a raised ``Budget.n_trials``: ``on_budget_raised``); False for a
    #: scheduler whose work was fixed up front (PBT's population), which then runs nothing
    #: more, so ``Study.set_budget`` refuses to raise ``n_trials`` of such a study when over
    reopens: ClassVar[bool] = True

    def on_budget_raised(self, history: History) -> None:
        """The engine may start new trials again after it refused one (``on_start_refused``):
        ``Study.set_budget`` raised ``Budget.n_trials``. A scheduler that stopped opening work
        there (final rungs, closed brackets) may open it again; the default does nothing."""

    def state(self) -> dict[str, Any]:
        """JSON-serializable view of internal state (rung tables, brackets)."""
        return {}


# what the API accepts where a component is named (``Study.create(searcher=...)``, ``rung.run``):
# an instance, its persisted form, a registry name, or a ``{"name": ..., "params": {...}}`` mapping
SearcherLike = Searcher | ComponentSpec | str | Mapping[str, object]
SchedulerLike = Scheduler | ComponentSpec | str | Mapping[str, object]
