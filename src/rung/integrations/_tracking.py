"""What the tracking callbacks (MLflow, TensorBoard, W&B) share: turning driver turns into runs.

``TrackingCallback`` reads each turn's events and commands (``rung.Callback.on_turn``) and calls
a few hooks that a tracker implements: open the study's parent run, open a trial's run, log a
trial's metrics at a step, log a decision, close a trial's run, close the study's run. The
mapping, the same for every tracker:

- one run per study (the parent) and one run per trial, opened when the trial is first launched
  and closed when its status becomes final (completed, stopped, failed); a paused or interrupted
  trial keeps its run open within the session, and the session's end closes every run still
  open with the trial's status at that moment;
- params: the trial's parameters, with its parent's id for a PBT fork; in a define-by-run study
  (``rung.optimize``) the parameters the trial used, which it reports as it suggests them
  (``ParamsUsed``): its run opens when it first reports them (or a result, or its end), and
  a parameter it suggests later is added to the run then;
- metrics: every numeric metric of every ``ResultReported``, at its step (booleans, text and
  other values are not metrics and are skipped);
- decisions: every ``Reply`` (continue / pause / stop, with the step, the lease and the
  scheduler's reason), every ``Cancel``, every launch that resumes a trial (from a checkpoint,
  or from step 1 again) and every PBT fork, in journal order;
- the final status, and the error text of a failed trial.

A later session of a study catches up from ``SessionJournal`` (``self._before``, taken at
``on_start``): the journal as that session found it. What the session itself journals (a
resume's launches in its first turn, say) reaches the tracker through ``on_turn`` only, so
nothing is logged twice.

Callbacks run in the driver process, the journal's only writer, so they see the trials of any
executor (local processes, Ray, the simulator).

Starting: ``check(study_name)`` says whether the tracker can start (its library imports, its
directory can be created and written, on a file system that takes new directories, its server
answers and its experiment is usable, W&B's online mode has an API key) without writing
anything; ``check_trackers`` runs it for a list of callbacks. Whoever creates a study and runs
it in one call calls it before the study is created, so a tracker that cannot start leaves no
empty study behind; ``on_start`` runs it too. A tracker that cannot start raises
``TrackerError``: one line naming the tracker, what it was pointed at and the cause, and
``option``, the argument at fault (a missing library stays an ``ImportError`` naming the
extra).
"""

from __future__ import annotations

import logging
import math
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rung.callbacks import Callback
from rung.core.events import (
    Cancel,
    Launch,
    ParamsUsed,
    Reply,
    ResultReported,
    TrialEnded,
    TrialStarted,
)
from rung.core.records import TrialStatus
from rung.errors import RungError
from rung.integrations._framework import require
from rung.integrations._journal_view import (
    DecisionEntry,
    SessionJournal,
    journal_decisions,
    journal_points,
    launch_entry,
    not_in,
    numeric_metrics,
)
from rung.integrations._paths import dir_problem

if TYPE_CHECKING:
    from rung.core.events import Command, Event
    from rung.core.history import History
    from rung.study import Study

log = logging.getLogger("rung.integrations")


class TrackerError(RungError):
    """A tracker cannot start: ``"<Tracker>(<target>) cannot start: <cause>"``, one line.

    ``option`` names the tracker's argument at fault when one is (``"mode"``, ``"logdir"``,
    ``"dir"``, ``"tracking_uri"``, ``"experiment"``), else ``None``: what a spec's check names
    (``spec.tracking.wandb.mode``)."""

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


def first_line(e: BaseException) -> str:
    """``"<Type>: <first line of the message>"`` (``"<Type>"`` for an empty message)."""
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0]}" if lines else type(e).__name__


def check_trackers(callbacks: Iterable[object], study_name: str) -> None:
    """Run ``check(study_name)`` of every callback that has one (the trackers), in order;
    the first that cannot start raises (``TrackerError``, ``ImportError``). Call it before
    creating a study that will run with these callbacks."""
    for cb in callbacks:
        check = getattr(cb, "check", None)
        if callable(check):
            check(study_name)


def param_value(v: Any) -> str | int | float | bool:
    """A parameter value as trackers accept it: numbers, booleans and text as they are, anything
    else (lists, ``None``) as its ``repr``."""
    if isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else repr(v)
    return repr(v)


def study_params(study: Study) -> dict[str, str | int | float | bool]:
    """What the parent run records about the study: objective, components, step range, seed,
    budget (flattened, ``None`` values left out). The objective is ``metric`` and ``mode``;
    a multi-objective study's are ``objective.<i>.metric`` and ``objective.<i>.mode`` for
    each objective in order (``i`` from 0: the first is what ``best_trial`` ranks by)."""
    spec = study.spec
    objectives = spec.objectives or (spec.objective,)
    goal: dict[str, str | int | float | bool] = (
        {"metric": spec.objective.metric, "mode": spec.objective.mode}
        if len(objectives) == 1 else
        {f"objective.{i}.{k}": v for i, o in enumerate(objectives)
         for k, v in (("metric", o.metric), ("mode", o.mode))})
    out: dict[str, str | int | float | bool] = {
        "study": study.name,
        **goal,
        "searcher": spec.searcher.name,
        "scheduler": spec.scheduler.name,
        "max_step": spec.max_step,
        "seed": spec.seed,
    }
    for k, v in _budget_items(spec.budget):
        out[f"budget.{k}"] = param_value(v)
    return out


def _budget_items(budget: Any) -> list[tuple[str, Any]]:
    from dataclasses import fields, is_dataclass

    if not is_dataclass(budget):
        return []
    items = [(f.name, getattr(budget, f.name)) for f in fields(budget)]
    return [(k, v) for k, v in items if v is not None]


class TrackingCallback(Callback, ABC):
    """A ``rung.Callback`` that mirrors a study into a tracker (see the module docstring).

    Subclasses implement the underscore hooks; each is called in journal order, from the driver's
    thread. ``on_start`` runs ``check``, then opens the parent run, ``on_turn`` translates the
    turn, ``on_end`` closes the runs still open (a paused trial's run ends with status
    ``paused``). One instance follows
    one study session at a time; it may be reused for a later session (a resume), which opens
    the runs again (each tracker says whether it continues the earlier runs or starts new ones).
    """

    def __init__(self) -> None:
        self._open: dict[int, None] = {}
        self._study: Study | None = None
        self._define_by_run = False
        self._logged: dict[int, set[str]] = {}  # parameter names recorded, per open trial
        # define-by-run: the names each trial reported using (its params in the history also
        # hold the searcher's proposals for what it has not asked yet: not recorded)
        self._asked: dict[int, set[str]] = {}
        #: the journal as the session found it (set by ``on_start``): what a tracker catches
        #: up from; this session's own records reach it through ``on_turn`` only
        self._before: SessionJournal | None = None

    # --- starting --------------------------------------------------------------------------------
    def check(self, study_name: str) -> None:
        """Whether this tracker can start a session of the study ``study_name``, checked without
        writing anything (the study need not exist yet). Called by ``check_trackers``, by
        ``on_start``, and by anyone before creating a study that will run with this callback.

        Raises:
            TrackerError: it cannot start (one line naming the tracker, its target and the
                cause: a directory that cannot be created or written, a tracking URI it does
                not accept, a server that does not answer, a deleted experiment).
            ImportError: its library is not installed (naming rung's extra).
        """
        try:
            self._check(study_name)
        except (ImportError, RungError):
            raise
        except Exception as e:
            raise self._cannot_start(first_line(e)) from e

    def _check(self, study_name: str) -> None:
        """The tracker's own check (see ``check``): raise ``TrackerError`` (via
        ``_cannot_start``) or any exception, which ``check`` turns into one."""

    def _target(self) -> str:
        """What the tracker writes to, for messages: ``logdir='runs/tb'``."""
        return ""

    def _cannot_start(self, cause: str, option: str | None = None) -> TrackerError:
        """The ``TrackerError`` saying why this tracker cannot start; ``option``: the argument
        at fault (``TrackerError.option``)."""
        return TrackerError(f"{type(self).__name__}({self._target()}) cannot start: {cause}",
                            option)

    # --- the hooks a tracker implements -----------------------------------------------------------
    @abstractmethod
    def _open_study(self, study: Study) -> None:
        """Open (or reopen) the study's parent run and record ``study_params(study)``."""

    @abstractmethod
    def _open_trial(
        self, trial_id: int, params: Mapping[str, Any], parent_id: int | None
    ) -> None:
        """Open (or reopen) trial ``trial_id``'s run under the parent run, with its params."""

    @abstractmethod
    def _add_params(self, trial_id: int, params: Mapping[str, Any]) -> None:
        """Record parameters an open define-by-run trial suggested after its run was opened
        (names it had not used before; a name's value never changes)."""

    @abstractmethod
    def _log_metrics(self, trial_id: int, step: int, metrics: Mapping[str, float]) -> None:
        """Record ``metrics`` of an open trial at ``step``."""

    @abstractmethod
    def _log_decision(self, trial_id: int, entry: DecisionEntry) -> None:
        """Record one decision on an open trial."""

    @abstractmethod
    def _close_trial(self, trial_id: int, status: str, error: str | None) -> None:
        """Close trial ``trial_id``'s run: ``status`` is rung's (``completed``, ``stopped``,
        ``failed``; at the session's end also ``paused``, ``interrupted``, ``running``,
        ``launched``)."""

    @abstractmethod
    def _close_study(self, study: Study, status: str) -> None:
        """Close the parent run: ``status`` is ``finished``, ``failed`` (the session ended on
        an exception) or ``killed`` (interrupted: Ctrl-C, SIGTERM)."""

    def _end_turn(self) -> None:
        """After a turn was translated (a tracker that batches sends the batch here)."""

    # --- rung.Callback ----------------------------------------------------------------------------
    def on_start(self, study: Study) -> None:
        self._study = study
        # before the session's first turn: what earlier sessions journaled, and nothing else
        self._before = SessionJournal(study)
        self._open = {}
        self._logged = {}
        self._asked = {}
        self._define_by_run = study.spec.define_by_run
        self.check(study.name)
        try:
            self._open_study(study)
        except (ImportError, RungError):
            raise
        except Exception as e:
            raise self._cannot_start(first_line(e)) from e

    def on_turn(
        self, events: Sequence[Event], commands: Sequence[Command], history: History
    ) -> None:
        ended: list[int] = []
        # a define-by-run trial's params are known once it reports them: no run before
        later = self._define_by_run
        for ev in events:
            if isinstance(ev, TrialStarted):
                if not later:
                    self._ensure(ev.trial_id, history)
            elif isinstance(ev, ParamsUsed):
                self._asked.setdefault(ev.trial_id, set()).update(ev.params)
                if ev.trial_id in self._open:
                    self._more_params(ev.trial_id, history)
                else:
                    self._ensure(ev.trial_id, history)
            elif isinstance(ev, ResultReported):
                self._ensure(ev.trial_id, history)
                metrics = numeric_metrics(ev.metrics)
                if metrics:
                    self._log_metrics(ev.trial_id, ev.step, metrics)
            elif isinstance(ev, TrialEnded):
                if later:
                    self._ensure(ev.trial_id, history)
                ended.append(ev.trial_id)
        for cmd in commands:
            found = _entry(cmd, history)
            if found is None:
                continue
            tid, entry = found
            if entry.action == "launch":
                if not later:
                    self._ensure(tid, history)
                continue
            self._ensure(tid, history)
            self._log_decision(tid, entry)
        for tid in ended:
            status = history.status(tid)
            if tid in self._open and status.final:
                del self._open[tid]
                self._logged.pop(tid, None)
                self._close_trial(tid, status.value, history.error(tid))
        self._end_turn()

    def on_end(self, study: Study) -> None:
        # called from the session's ``finally``: an exception in flight means it failed
        exc = sys.exc_info()[1]
        h = study.history
        try:
            for tid in list(self._open):
                del self._open[tid]
                self._logged.pop(tid, None)
                self._close_trial(tid, h.status(tid).value, h.error(tid))
            self._end_turn()
        finally:
            if exc is None:
                status = "finished"
            elif isinstance(exc, KeyboardInterrupt):
                status = "killed"
            else:
                status = "failed"
            self._close_study(study, status)
            self._study = None

    # --- helpers ----------------------------------------------------------------------------------
    def _ensure(self, trial_id: int, history: History) -> None:
        if trial_id in self._open:
            return
        self._open[trial_id] = None
        params = self._params(trial_id, history)
        self._logged[trial_id] = set(params)
        self._open_trial(trial_id, params, history.parent_id(trial_id))

    def _params(self, trial_id: int, history: History) -> Mapping[str, Any]:
        """What a trial's run records as its params: its params, or in a define-by-run study
        those it reported using."""
        params = history.params(trial_id)
        if not self._define_by_run:
            return params
        asked = self._asked.get(trial_id, set())
        return {k: v for k, v in params.items() if k in asked}

    def _more_params(self, trial_id: int, history: History) -> None:
        params = self._params(trial_id, history)
        logged = self._logged.setdefault(trial_id, set())
        new = {k: v for k, v in params.items() if k not in logged}
        if new:
            logged.update(new)
            self._add_params(trial_id, new)


def _entry(cmd: Command, history: History) -> tuple[int, DecisionEntry] | None:
    """The trial a command concerns and the decision it carries (``action`` ``launch`` for a
    new trial's first launch: no decision to log, but it opens the trial's run); ``None`` for
    the other commands (checkpoint deletions, the study's own stop)."""
    if isinstance(cmd, Reply):
        d = cmd.decision
        return cmd.trial_id, DecisionEntry(cmd.step, d.action.value, d.reason, d.until_step)
    if isinstance(cmd, Cancel):
        # a paused trial its scheduler retired (the engine ended it stopped before this
        # record, which carries the scheduler's reason): a stop; else the end of a run
        tid = cmd.trial_id
        retired = tid in history and history.status(tid) is TrialStatus.STOPPED
        return tid, DecisionEntry(history.last_step(tid), "stop" if retired else "cancel",
                                  cmd.reason)
    if isinstance(cmd, Launch):
        tid = cmd.trial_id
        return tid, launch_entry(cmd, history.launches(tid), history.parent_id(tid))
    return None


def objective_metrics(study: Study) -> list[str]:
    """The metric of each of the study's objectives, in order (one for most studies)."""
    spec = study.spec
    return [o.metric for o in (spec.objectives or (spec.objective,))]


__all__ = ["DecisionEntry", "SessionJournal", "TrackerError", "TrackingCallback",
           "check_trackers", "dir_problem", "first_line", "journal_decisions", "journal_points",
           "not_in", "numeric_metrics", "objective_metrics", "param_value", "require",
           "study_params"]
