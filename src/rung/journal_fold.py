"""A study's journal folded into what its ``History`` does not keep (read-only).

``JournalFold`` reads the journal's records once, incrementally (``update``: O(new records)):
when each run of a trial started and ended, and its outcome; every decision with its reason,
step and time (``DecisionMade``); the results as they were reported (``ResultSeen``); the worker
slot each run occupied (``Run``); which checkpoints were saved and which the engine released.
``retired``, ``last_decision``, ``replaced_by`` and ``decision_marks`` complete it with what
no decision record journals (a paused trial its scheduler gave up on, with the reason the
engine journals in a ``Cancel`` of it; a PBT member's replacement).
``rung.analysis_frames`` builds its rows from it; ``rung.plot`` and the dashboard read it.

**Worker slots.** Events carry no worker identity (a slot is a slot), so the fold reconstructs
one: a started trial takes the lowest-numbered free slot and gives it back when its run ends.
That is exactly a Gantt chart of the executor's capacity: overlapping runs never share a slot,
and a gap in a row is a slot that stood idle.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rung.core.events import (
    COMMAND_TYPES,
    EVENT_TYPES,
    Action,
    Cancel,
    CapacityChanged,
    CheckpointSaved,
    DeleteCheckpoint,
    Launch,
    Record,
    Reply,
    ResultReported,
    Tick,
    TrialEnded,
    TrialStarted,
)
from rung.core.frozen import record
from rung.core.records import Outcome, TrialStatus
from rung.time_kind import session_clock

if TYPE_CHECKING:
    from rung.core.history import History


#: the record kinds with a ``time`` (every event) and without one (every command)
_TIMED = frozenset(EVENT_TYPES)
_UNTIMED = frozenset(COMMAND_TYPES)
#: a decision's action and a run's outcome as the text the fold keeps (their ``value``)
_VALUE: dict[Action | Outcome, str] = {e: e.value for e in (*Action, *Outcome)}


@record
class DecisionMade:
    """One decision on a trial: a scheduler's reply to its result at ``step`` (``action``:
    continue / pause / stop), or a ``Cancel`` (``action`` ``"cancel"``, ``step`` the trial's last
    reported step). Frozen: copies of a fold share them (``JournalFold.copy``)."""

    trial_id: int
    step: int
    action: str
    reason: str
    time: float


@dataclass(slots=True)
class Run:
    """One run of a trial on a worker slot: from ``TrialStarted`` to ``TrialEnded`` (``end`` and
    ``outcome`` are ``None`` while it runs). A run its session's driver left behind (a crash,
    a kill) ends ``interrupted`` at the last record that session wrote: the ``TrialEnded`` the
    next session writes for it carries that session's start time, and nothing ran between."""

    trial_id: int
    slot: int
    start: float
    end: float | None = None
    outcome: str | None = None


@record
class ResultSeen:
    """One reported result as the journal holds it: ``run`` is the trial's launch it came from
    (1-based: its first run, then each resume or restart), so a step re-trained after a
    restart (a kill since its last checkpoint) is a second result under a later run. Frozen:
    copies of a fold share them (``JournalFold.copy``); ``metrics`` is the journaled record's
    own mapping."""

    trial_id: int
    step: int
    metrics: Mapping[str, Any]
    time: float
    run: int = 1


@dataclass
class JournalFold:
    """What the records say beyond the history: runs, slots, decisions, capacity over time.

    Feed it records in journal order with ``update`` (again and again, with the records after
    ``n_records``, to follow a live run): the state after ``update(a)`` then ``update(b)`` is
    the state after ``update(a + b)``. ``copy`` gives an independent one."""

    n_records: int = 0
    now: float = 0.0
    start: float | None = None
    results: list[ResultSeen] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    decisions: list[DecisionMade] = field(default_factory=list)
    capacity: list[tuple[float, int]] = field(default_factory=list)
    #: the decision at (trial, step), the latest one wins
    decision_at: dict[tuple[int, int], DecisionMade] = field(default_factory=dict)
    #: per entry of ``results``, the latest decision on that very result (``None``: none
    #: asked for): a step a resumed trial reported again has its own
    result_decision: list[DecisionMade | None] = field(default_factory=list)
    #: (trial, step) -> the index in ``results`` of its latest report
    _result_index: dict[tuple[int, int], int] = field(default_factory=dict)
    last_decision: dict[int, DecisionMade] = field(default_factory=dict)
    first_start: dict[int, float] = field(default_factory=dict)
    last_end: dict[int, float] = field(default_factory=dict)
    #: how each trial's latest run ended (``TrialEnded.outcome``)
    last_outcome: dict[int, str] = field(default_factory=dict)
    last_step: dict[int, int] = field(default_factory=dict)
    #: checkpoint paths the engine released (``DeleteCheckpoint``) and nobody saved again
    deleted: set[str] = field(default_factory=set)
    #: the clocks of the driver sessions (``rung.time_kind.session_clock``)
    clocks: set[str] = field(default_factory=set)
    #: trial -> the trial that took its place in a PBT population (its ``tags["replaces"]``),
    #: read from the history by ``replaced_by``
    replacements: dict[int, int] = field(default_factory=dict)
    #: trial -> (reason, time) of its scheduler's stop while it was paused: the engine's
    #: ``Cancel`` of a paused trial (``retired`` reads it; journals written before that
    #: record was written hold none)
    retirements: dict[int, tuple[str, float]] = field(default_factory=dict)
    _open: dict[int, Run] = field(default_factory=dict)
    _free: list[int] = field(default_factory=list)
    _n_slots: int = 0
    _tags_seen: int = 0
    #: trial -> its launches so far (``Launch`` commands): the run of its next result
    _launches: dict[int, int] = field(default_factory=dict)

    def update(self, records: Iterable[Record]) -> JournalFold:
        # One pass over every record of a study (seven per trial): the kinds are told apart
        # by exact type, an event's time read as an attribute (a command has none), and the
        # hot containers held in locals.
        results, result_decision, index = self.results, self.result_decision, self._result_index
        last_step, launches = self.last_step, self._launches
        for r in records:
            self.n_records += 1
            kind = type(r)
            t = (r.time if kind in _TIMED  # type: ignore[union-attr]
                 else None if kind in _UNTIMED else getattr(r, "time", None))
            if kind is CapacityChanged and self._open:
                assert isinstance(r, CapacityChanged)
                if r.new_session:
                    # the driver of the last session is gone: its runs ended when the journal
                    # last heard from it (their TrialEnded, written by the next session, is
                    # late)
                    for tid in list(self._open):
                        self._close(tid, self.now, "interrupted")
            if t is not None:
                now = float(t)
                if now > self.now:  # (``max(self.now, now)``: NaN leaves it)
                    self.now = now
                if self.start is None:
                    self.start = float(t)
            if kind is ResultReported:
                assert isinstance(r, ResultReported)
                tid, step = r.trial_id, r.step
                index[(tid, step)] = len(results)
                results.append(ResultSeen(tid, step, r.metrics, r.time, launches.get(tid, 1)))
                result_decision.append(None)
                last_step[tid] = max(last_step.get(tid, 0), step)
            elif kind is Reply:
                assert isinstance(r, Reply)
                d = r.decision
                a = d.action
                action = _VALUE[a] if type(a) is Action else a.value
                self._decide(DecisionMade(r.trial_id, r.step, action, d.reason, self.now))
            elif kind is Cancel:
                assert isinstance(r, Cancel)
                if r.trial_id not in self._open and self.last_outcome.get(r.trial_id) == "paused":
                    # nothing runs: the engine ended a paused trial its scheduler retired
                    self.retirements[r.trial_id] = (r.reason, self.now)
                    continue
                step = last_step.get(r.trial_id, 0)
                self._decide(DecisionMade(r.trial_id, step, "cancel", r.reason, self.now))
            elif kind is Launch:
                assert isinstance(r, Launch)
                launches[r.trial_id] = launches.get(r.trial_id, 0) + 1
            elif kind is TrialStarted:
                assert isinstance(r, TrialStarted)
                self._start(r.trial_id, r.time)
            elif kind is TrialEnded:
                assert isinstance(r, TrialEnded)
                o = r.outcome
                self._end(r.trial_id, r.time, _VALUE[o] if type(o) is Outcome else o.value)
            elif kind is DeleteCheckpoint:
                assert isinstance(r, DeleteCheckpoint)
                self.deleted.add(r.path)
            elif kind is CheckpointSaved:
                assert isinstance(r, CheckpointSaved)
                self.deleted.discard(r.path)
            elif kind is CapacityChanged:
                assert isinstance(r, CapacityChanged)
                self.capacity.append((r.time, r.capacity))
                if (clock := session_clock(r)) is not None:
                    self.clocks.add(clock)
            elif kind is Tick:
                pass
        return self

    def copy(self) -> JournalFold:
        """An independent copy of the fold, in O(its size) with no record read again: every
        list, dict and set its own (shallow), and its own ``Run`` objects (the ones the fold
        mutates: a run open now is closed by a later ``update``), its open runs among them.
        The frozen ``ResultSeen`` and ``DecisionMade`` objects and the journaled metrics are
        shared. Updating or changing either fold leaves the other as it was."""
        new = dataclasses.replace(self)  # the same fields, the scalars copied
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, list | dict | set):
                setattr(new, f.name, type(v)(v))
        runs = [Run(r.trial_id, r.slot, r.start, r.end, r.outcome) for r in self.runs]
        new.runs = runs
        if self._open:  # the same runs, as the copy's own objects
            at = {id(r): i for i, r in enumerate(self.runs)}
            new._open = {tid: runs[at[id(r)]] for tid, r in self._open.items()}
        return new

    def drop_results(self) -> None:
        """Forget the results read so far (``results`` and their decisions), to hold less
        memory where nothing reads them (a run's dashboard snapshot); later ones are kept."""
        self.results.clear()
        self.result_decision.clear()
        self._result_index.clear()

    def _decide(self, d: DecisionMade) -> None:
        self.decisions.append(d)
        self.decision_at[(d.trial_id, d.step)] = d
        self.last_decision[d.trial_id] = d
        i = self._result_index.get((d.trial_id, d.step))
        if i is not None:
            self.result_decision[i] = d

    def _start(self, tid: int, t: float) -> None:
        if tid in self._open:
            return
        if self._free:
            slot = heapq.heappop(self._free)
        else:
            slot = self._n_slots
            self._n_slots += 1
        run = Run(tid, slot, t)
        self.runs.append(run)
        self._open[tid] = run
        self.first_start.setdefault(tid, t)

    def _end(self, tid: int, t: float, outcome: str) -> None:
        self.last_end[tid] = t
        self.last_outcome[tid] = outcome
        self._close(tid, t, outcome)

    def _close(self, tid: int, t: float, outcome: str) -> None:
        run = self._open.pop(tid, None)
        if run is None:
            return  # ended before it started (stopped while launched), or with its session
        run.end = t
        run.outcome = outcome
        heapq.heappush(self._free, run.slot)

    @property
    def n_slots(self) -> int:
        """Worker slots ever used at once."""
        return self._n_slots

    def slot_of(self, trial_id: int) -> int | None:
        """The slot of the trial's latest run (``None`` if it never started)."""
        run = self._open.get(trial_id)
        if run is not None:
            return run.slot
        for r in reversed(self.runs):
            if r.trial_id == trial_id:
                return r.slot
        return None


def fold(records: Iterable[Record]) -> JournalFold:
    """``JournalFold().update(records)``."""
    return JournalFold().update(records)


def retired(history: History, jf: JournalFold, trial_id: int) -> DecisionMade | None:
    """The stop of a trial its scheduler gave up on while it was paused, if it was one.

    Synchronous successive halving and Hyperband pause a trial at a rung until the rung is
    complete and stop the losers then, PBT stops a paused member it replaced by a fork, and the
    curve-aware scheduler stops the trials it never promoted: ``Scheduler.retired``. No ``Reply``
    journals that stop (replay regenerates it), so the journal's last decision on such a
    trial is the pause. A trial that is ``stopped`` while its last run ended
    ``paused`` (no ``TrialEnded`` says it stopped: a user's ``tell(..., "stopped")`` would)
    after a pause decision was stopped so; this is that stop as a decision (``action``
    ``"stop"``, at the step it paused at). Its reason and time are the scheduler's, when the
    engine journaled them (a ``Cancel`` of the paused trial, ``JournalFold.retirements``:
    ``"bracket 0 rung 0 (step 1): rank 5/9, not in the top 3"``, as a trial decided at its
    report reads: a PBT member's exploit names its fork's donor and ends with what chose the
    fork's numbers); else (a journal written before, a scheduler that gives none) the time its
    run ended and a reason saying that it was stopped while paused and why it had paused, a
    PBT member's ending with the trial that took its place (``replaced_by``)."""
    d = jf.last_decision.get(trial_id)
    if (d is None or d.action != "pause" or jf.last_outcome.get(trial_id) != "paused"
            or history.status(trial_id) is not TrialStatus.STOPPED):
        return None
    noted = jf.retirements.get(trial_id)
    if noted is not None:  # the scheduler's own words (a PBT exploit's name the fork's donor)
        return DecisionMade(trial_id, d.step, "stop", noted[0], noted[1])
    reason = (f"stopped while paused at step {d.step}: the scheduler will not resume it "
              f"(it had paused: {d.reason})")
    heir = replaced_by(history, jf).get(trial_id)
    if heir is not None:
        parent, tags = history.parent_id(heir), history.tags(heir)
        reason += (f"; replaced by trial {heir}, a new member" if parent is None else
                   f"; replaced by trial {heir}, a fork of trial {parent}"
                   + (f" from its checkpoint at step {tags['from_step']}"
                      if "from_step" in tags else ""))
    return DecisionMade(trial_id, d.step, "stop", reason, jf.last_end.get(trial_id, d.time))


def replaced_by(history: History, jf: JournalFold) -> Mapping[int, int]:
    """Trial -> the trial that took its place in a PBT population (``tags["replaces"]``), kept
    on the fold and extended by the trials added since the last call (O(new trials))."""
    n = history.next_id  # (an attribute: the dashboard's views of some trials forward it)
    for tid in range(jf._tags_seen, n):
        try:
            r = history.tags(tid).get("replaces")
        except KeyError:  # an id never used
            continue
        if isinstance(r, int) and not isinstance(r, bool):
            jf.replacements[r] = tid
    jf._tags_seen = max(jf._tags_seen, n)
    return jf.replacements


def last_decision(history: History, jf: JournalFold, trial_id: int) -> DecisionMade | None:
    """The last decision on a trial: the journal's (``JournalFold.last_decision``), or its
    stop while paused (``retired``)."""
    return retired(history, jf, trial_id) or jf.last_decision.get(trial_id)


def decision_marks(history: History, jf: JournalFold,
                   ids: Iterable[int] | None = None) -> list[DecisionMade]:
    """Where trials were stopped or paused, one decision per (trial, step) that has a result:
    the latest decision at that step, a pause that ended the trial shown as its stop
    (``retired``). For the learning-curve figures (``rung.plot``, the dashboard). ``ids``:
    only these trials, by trial (in the order of ``ids``) and step, in O(their steps);
    ``None``: every trial, in the journal's order."""
    if ids is None:
        pairs = [(k, d) for k, d in jf.decision_at.items()
                 if k[0] in history and k[1] in history.scores(k[0])]
    else:
        pairs = [((tid, step), d) for tid in ids for step in history.scores(tid)
                 if (d := jf.decision_at.get((tid, step))) is not None]
    out: list[DecisionMade] = []
    for (tid, step), d in pairs:
        if d.action not in ("stop", "pause"):
            continue
        if d.action == "pause":
            r = retired(history, jf, tid)
            if r is not None and r.step == step:
                d = r
        out.append(d)
    return out


__all__ = [
    "DecisionMade", "JournalFold", "ResultSeen", "Run", "decision_marks", "fold",
    "last_decision", "replaced_by", "retired",
]
