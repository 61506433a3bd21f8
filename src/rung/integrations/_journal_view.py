"""What the tracking callbacks read back from a study's journal: each trial's decisions and
metric points as ``TrackingCallback.on_turn`` logs them, and ``SessionJournal``, the journal as
it was when a session started (what earlier sessions wrote), from which a tracker catches up.

Private to ``rung.integrations``; ``rung.integrations._tracking`` re-exports its names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from rung.core.events import Cancel, Launch, Reply, ResultReported, TrialEnded
from rung.core.records import Outcome

if TYPE_CHECKING:
    from rung.core.history import History
    from rung.storage import Journal
    from rung.study import Study

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class DecisionEntry:
    """One decision on a trial, as the trackers log it.

    Attributes:
        step: the step the decision concerns (a reply's step; a cancel's last reported step;
            a resume's first step).
        action: ``continue``, ``pause``, ``stop``, ``cancel``, ``resume`` (a paused or
            interrupted trial launched again) or ``fork`` (a PBT trial started from another's
            checkpoint).
        reason: the scheduler's (or engine's) reason, for humans; may be empty.
        until_step: a ``continue``'s lease (where the worker waits next; ``None``: to the end).
    """

    step: int
    action: str
    reason: str
    until_step: int | None = None

    def text(self) -> str:
        """One line: ``step 3: stop (below rung-1 cutoff 0.52)``."""
        lease = f" until step {self.until_step}" if self.until_step is not None else ""
        why = f" ({self.reason})" if self.reason else ""
        return f"step {self.step}: {self.action}{lease}{why}"

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "action": self.action, "reason": self.reason,
                "until_step": self.until_step}


def numeric_metrics(metrics: Any) -> dict[str, float]:
    """The metrics (a mapping) that are numbers (not booleans), as floats; NaN and infinities
    included."""
    out: dict[str, float] = {}
    for k, v in metrics.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            continue
        out[str(k)] = float(v)
    return out


def launch_entry(cmd: Launch, launches: int, parent: int | None) -> DecisionEntry:
    """The decision a launch carries: ``launch`` (a new trial's first: none to log), ``fork``
    (a PBT trial's first) or ``resume`` (any later one); ``launches`` counts this one."""
    if launches <= 1:
        if parent is None:
            return DecisionEntry(cmd.start_step, "launch", "")
        return DecisionEntry(cmd.start_step, "fork",
                             f"forked from trial {parent} at step {cmd.start_step}")
    source = "from its checkpoint" if cmd.checkpoint is not None else "without a checkpoint"
    return DecisionEntry(cmd.start_step, "resume",
                         f"resumed at step {cmd.start_step} {source}")


def journal_decisions(
    records: Iterable[object], history: History
) -> dict[int, list[DecisionEntry]]:
    """Every trial's decisions in ``records`` (a journal's, in its order), as ``on_turn`` logs
    them: each ``Reply``; each ``Cancel`` at the trial's last step reported before it (a
    ``stop`` when the trial's run had ended paused: the engine's record of a paused trial its
    scheduler retired, with the scheduler's reason); each launch that resumes a trial or forks
    it (a trial's first launch is no decision). What a
    tracker rebuilds an earlier session's decisions from: the journal has all of them, also
    when that session died before the tracker wrote them out."""
    out: dict[int, list[DecisionEntry]] = {}
    last: dict[int, int] = {}
    launches: dict[int, int] = {}
    paused: set[int] = set()  # trials whose latest run ended paused
    for r in records:
        if isinstance(r, TrialEnded):
            if r.outcome is Outcome.PAUSED:
                paused.add(r.trial_id)
            else:
                paused.discard(r.trial_id)
        elif isinstance(r, ResultReported):
            last[r.trial_id] = r.step
        elif isinstance(r, Reply):
            d = r.decision
            out.setdefault(r.trial_id, []).append(
                DecisionEntry(r.step, d.action.value, d.reason, d.until_step))
        elif isinstance(r, Cancel):
            out.setdefault(r.trial_id, []).append(DecisionEntry(
                last.get(r.trial_id, 0), "stop" if r.trial_id in paused else "cancel",
                r.reason))
        elif isinstance(r, Launch):
            paused.discard(r.trial_id)
            n = launches[r.trial_id] = launches.get(r.trial_id, 0) + 1
            entry = launch_entry(r, n, history.parent_id(r.trial_id))
            if entry.action != "launch":
                out.setdefault(r.trial_id, []).append(entry)
    return out


def journal_points(records: Iterable[object]) -> dict[int, list[tuple[int, str, float]]]:
    """Every trial's numeric metrics in ``records`` (a journal's, in its order), as
    ``on_turn`` logs them: ``(step, name, value)`` per metric of each ``ResultReported``."""
    out: dict[int, list[tuple[int, str, float]]] = {}
    for r in records:
        if isinstance(r, ResultReported):
            points = out.setdefault(r.trial_id, [])
            points.extend((r.step, k, v) for k, v in numeric_metrics(r.metrics).items())
    return out


def not_in(want: Iterable[_T], have: Counter[Any], key: Callable[[_T], Any]) -> list[_T]:
    """The entries of ``want`` (in its order) that ``have`` does not hold, counted: an entry
    whose ``key`` ``have`` holds n times takes one of them (consumed), so an entry written
    twice is found twice. What a tracker resuming a study brings its earlier runs up to the
    journal with: ``want`` from the journal, ``have`` read back from the tracker."""
    out: list[_T] = []
    for w in want:
        k = key(w)
        if have[k] > 0:
            have[k] -= 1
        else:
            out.append(w)
    return out


def journal_length(journal: Journal, name: str) -> int:
    """How many records study ``name`` of ``journal`` holds (a SQLite journal counts them
    without reading them)."""
    count = getattr(journal, "count", None)
    if callable(count):
        return int(count(name))
    return len(journal.read(name))


class SessionJournal:
    """A study's journal as it was when a session started: the records earlier sessions
    wrote, never one of this session's (its first turn, a resume's launches included, is
    journaled before a tracker first needs them). The position is taken when this is built
    (``TrackingCallback.on_start``, before the session's first turn); the records are read
    once, when first needed, and nothing after that position is ever returned, so a catch-up
    from them and ``on_turn`` never log the same record twice."""

    def __init__(self, study: Study) -> None:
        self._study = study
        self._n = journal_length(study.journal, study.name)
        self._records: list[object] | None = None
        self._decisions: dict[int, list[DecisionEntry]] | None = None
        self._points: dict[int, list[tuple[int, str, float]]] | None = None

    @property
    def position(self) -> int:
        """The number of records the journal held when the session started."""
        return self._n

    def records(self) -> list[object]:
        """The records the journal held when the session started, in its order."""
        if self._records is None:
            self._records = list(self._study.journal.read(self._study.name)[:self._n])
        return self._records

    def decisions(self) -> dict[int, list[DecisionEntry]]:
        """``journal_decisions`` of ``records()``: what earlier sessions decided, per trial."""
        if self._decisions is None:
            self._decisions = journal_decisions(self.records(), self._study.history)
        return self._decisions

    def points(self) -> dict[int, list[tuple[int, str, float]]]:
        """``journal_points`` of ``records()``: what earlier sessions' trials reported."""
        if self._points is None:
            self._points = journal_points(self.records())
        return self._points


__all__ = ["DecisionEntry", "SessionJournal", "journal_decisions", "journal_length",
           "journal_points", "launch_entry", "not_in", "numeric_metrics"]
