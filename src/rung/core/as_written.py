"""Read a journal as written: the state of a study whose replay diverged, from its own records.

Part of the engine's replay (``rung.core.replay`` calls ``follow`` when a read-only replay
diverges). A journal written by another algorithm version of a component (``docs/versions.md``)
may stop replaying: from some event on, this rung's searcher or scheduler decides otherwise than
the journal says. A reader (``rung show``, ``rung ls``, ``rung export``, the dashboard,
``Study.load(..., readonly=True)``) still wants the study as it happened, so from the first
divergent event on the engine **follows the journal**: its scheduler is replaced by a
``JournalScheduler`` that answers every question the engine asks from the commands the journal
holds for the event being replayed, and the searcher is never asked (launched trials' params
come from the journal, as on every replay). Everything else the engine does itself, exactly as on
an exact replay: the history, leases, the budget and its meter, checkpoints, failures of invalid
metrics, the stop rule's verdicts (taken from the journal there too). So:

- a journal that replays exactly gives the same state either way (``follow`` from any event on
  yields what replay yields, up to the tags noted below);
- every trial, result, status, error, decision, checkpoint and ledger number of a divergent
  journal is the one it wrote.

What the journal does not hold cannot be followed: the scheduler's internal state (rung tables,
brackets) is not rebuilt past the divergence (``JournalScheduler.state()`` is empty, so
``rung show`` has no rung occupancy), trials launched after it carry no scheduler tags
(``bracket``; PBT's ``replaces`` / ``from_step``; a fork's parent is found from the checkpoint it
starts from), and a paused trial the scheduler gave up on after it with no record saying so (no
``Cancel`` and no ``DeleteCheckpoint`` of its checkpoint: a pause without a checkpoint) still
reads as paused.

An engine that follows its journal decides nothing new: any event handled outside replay (a
``run``, an ``ask``, a ``tell``) raises the divergence's ``ReplayDivergenceError``
(``refuse``). ``engine.read_as_written`` holds the summary (``this rung decides differently
from event #i (<version note>)``); ``None`` on an engine that replayed exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from rung.core.components import (
    EndRequest,
    Fork,
    NextTrial,
    ResultRequest,
    Resume,
    Scheduler,
    StartNew,
)
from rung.core.events import (
    Action,
    Cancel,
    Command,
    Decision,
    DeleteCheckpoint,
    Event,
    Launch,
    Reply,
)
from rung.core.history import History
from rung.core.records import TrialStatus
from rung.errors import ReplayDivergenceError

if TYPE_CHECKING:
    from rung.core.engine import Engine

#: what ``JournalScheduler.on_result`` answers for a result the journal holds no reply to
_GO_ON = Decision()


def summary(index: int, version_note: str | None) -> str:
    """``engine.read_as_written``: where and why this rung reads the journal as written."""
    why = version_note if version_note is not None else (
        "the journal records the same code as this rung: either the study's spec was changed "
        "after it was written (a hand edit of the journal) or this is a bug in rung, please "
        "report it")
    return f"this rung decides differently from event #{index} ({why})"


class JournalScheduler(Scheduler):
    """The scheduler of an engine that follows its journal: every answer comes from the
    commands journaled with the event being replayed (``engine._journaled``).

    - ``next_trial``: the event's journaled ``Launch`` commands, in order, each once: a new
      trial (a ``Fork`` of the trial whose checkpoint it starts from, else a ``StartNew``), or
      a ``Resume`` of a paused or interrupted one; ``None`` once they are used up;
    - ``on_result``: the journaled ``Reply`` to that very result, else continue;
    - ``retired``: the paused trials the event ended: a journaled ``Cancel`` of a paused trial,
      or a ``DeleteCheckpoint`` of a paused trial's own checkpoint (a paused trial keeps its
      checkpoint until its scheduler gives up on it);
    - ``paused_decision``: the journaled ``Cancel`` of a retired trial, or the ``Reply`` that
      says why a resumed one was promoted (the engine journals the journal's own note);
    - ``on_trial_end`` / ``on_start_refused``: nothing to note.

    Its ``name``, ``get_params()`` and the attributes not defined here (``fidelity_steps``,
    ``rungs``, ...: what views read of the scheduler's structure) are the replaced
    scheduler's; ``state()`` is empty (not rebuilt past the divergence). Every hook called
    outside replay raises the divergence's error.
    """

    def __init__(self, engine: Engine, replaced: Scheduler, error: str) -> None:
        self._engine = engine
        self._replaced = replaced
        self._error = error
        self._turn: Sequence[Command] | None = None
        self._used: set[int] = set()  # indexes of the turn's launches taken
        # (class variables on schedulers; this one keeps the replaced scheduler's)
        setattr(self, "max_interruptions", replaced.max_interruptions)  # noqa: B010
        setattr(self, "name", replaced.name)  # noqa: B010

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._replaced, name)

    def __repr__(self) -> str:
        return f"JournalScheduler({self._replaced!r})"

    def get_params(self) -> dict[str, Any]:
        return self._replaced.get_params()

    def refuse(self) -> NoReturn:
        """Raise the divergence's ``ReplayDivergenceError`` (an engine that follows its
        journal decides nothing new)."""
        raise ReplayDivergenceError(self._error)

    def _commands(self) -> Sequence[Command]:
        """The journaled commands of the event being replayed (refuses outside replay)."""
        journaled = self._engine._journaled
        if journaled is None:
            self.refuse()
        if journaled is not self._turn:
            self._turn = journaled
            self._used = set()
        return journaled

    # --- the hooks ------------------------------------------------------------------------
    def next_trial(self, history: History) -> NextTrial | None:
        cmds = self._commands()
        for i, c in enumerate(cmds):
            if type(c) is not Launch or i in self._used:
                continue
            self._used.add(i)
            tid = c.trial_id
            if tid == history.next_id:
                parent = self._donor(c.checkpoint)
                if parent is not None:
                    return Fork(parent, c.params, c.until_step)
                return StartNew(c.until_step)
            if tid in history and history.status(tid) in (TrialStatus.PAUSED,
                                                          TrialStatus.INTERRUPTED):
                return Resume(tid, c.until_step)
            # (a launch this state cannot take: skipped, its results are not applied)
        return None

    def _donor(self, path: str | None) -> int | None:
        """The trial that saved the checkpoint at ``path``: the first of those that named it
        (the forks that start from it name it too, and were created after it was saved)."""
        named = self._engine.checkpoints._named.get(path) if path is not None else None
        return min(named) if named else None

    def on_result(self, request: ResultRequest) -> Decision:
        step = request.result.step
        for c in self._commands():
            if type(c) is Reply and c.trial_id == request.trial_id and c.step == step:
                return c.decision
        return _GO_ON

    def on_trial_end(self, request: EndRequest) -> None:
        self._commands()

    def on_start_refused(self, history: History) -> bool:
        self._commands()
        return False

    def retired(self) -> list[int]:
        h = self._engine.history
        out: list[int] = []
        for c in self._commands():
            tid = getattr(c, "trial_id", None)
            if tid is None or tid not in h or h.status(tid) is not TrialStatus.PAUSED:
                continue
            if type(c) is Cancel and tid not in self._engine.active:
                out.append(tid)
            elif type(c) is DeleteCheckpoint:
                own = h.checkpoint(tid)
                if own is not None and own.path == c.path:
                    out.append(tid)
        return out

    def paused_decision(self, trial_id: int) -> Decision | None:
        for c in self._commands():
            if type(c) is Cancel and c.trial_id == trial_id:
                return Decision.stop(c.reason)
        for c in self._commands():
            if (type(c) is Reply and c.trial_id == trial_id
                    and c.decision.action is Action.CONTINUE):
                return c.decision
        return None

    def state(self) -> dict[str, Any]:
        return {}


def follow(engine: Engine, turns: Iterable[tuple[Event, list[Command]]], index: int,
           error: str) -> None:
    """Make ``engine`` follow its journal from event ``index`` on (the first divergent one;
    ``error`` is the divergence's message, raised by anything that would have it decide
    anew) and replay ``turns`` (the events from ``index`` on, with their journaled commands)
    so. Nothing is left in ``engine.tail``: what a reader shows was written."""
    if not isinstance(engine.scheduler, JournalScheduler):
        scheduler = JournalScheduler(engine, engine.scheduler, error)
        engine.scheduler = scheduler
        engine._ask_paused = scheduler.paused_decision
        engine.read_as_written = summary(index, engine.version_note)
    for event, journaled in turns:
        engine._journaled = journaled
        try:
            engine.handle(event)
        finally:
            engine._journaled = None
    engine.tail = []


def refuse(engine: Engine) -> NoReturn:
    """Raise the ``ReplayDivergenceError`` of an engine that follows its journal."""
    scheduler = engine.scheduler
    assert isinstance(scheduler, JournalScheduler)
    scheduler.refuse()


__all__ = ["JournalScheduler", "follow", "refuse", "summary"]
