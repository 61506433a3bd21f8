"""``Study.ask`` / ``report`` / ``checkpoint`` / ``tell``: your own loop instead of an executor.

Each call is one journaled turn of the driver (``rung.driver``): the events it stands for are
handled by the engine and appended to the journal, with the commands they caused, before the
call returns. ``AskTell`` is mixed into ``Study``; it uses only the study's engine, journal and
spec.

Every argument is checked before anything is handled: a bad one raises ``ConfigError`` naming
it (``trial_id``, ``step``, ``metrics``, ``metrics['loss']``, ``status``, ``error``, ``path``,
``size``) and nothing is written. A call the journal refuses (``JournalError``: another process
writes the study, a full disk) leaves the study as its journal has it: the engine is replayed
from the journal before the error propagates.

One process drives a study at a time (the SQLite journal's writer lock): a second process's
``ask`` / ``report`` / ``tell`` raises ``JournalError`` ("... is being written by another
process") while the first holds the study open; it may go on once the first has closed it
(``Study.close``) or exited, without loading the study again. Within a process, threads may
share a study: each call is one whole turn under the study's lock (``serialized``), so calls
from several threads interleave as whole turns, in the order they took the lock (a ``run``
or ``simulate`` holds it until it ends).
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from rung._steps import step_back
from rung._validate import is_int
from rung.ask_tell_args import (
    as_mapping,
    as_outcome,
    check_error,
    error_text,
    told_outcome,
    trial_id_of,
)
from rung.core.engine import Engine
from rung.core.events import (
    Action,
    CapacityChanged,
    CheckpointSaved,
    Command,
    Decision,
    Event,
    Launch,
    Record,
    Reply,
    ResultReported,
    TrialEnded,
    TrialStarted,
)
from rung.core.metric_value import BIG_INT, is_real, show, type_name
from rung.core.records import Outcome, StudySpec, Trial, TrialStatus, list_hint
from rung.driver import handle
from rung.errors import ConfigError, JournalError, RungError
from rung.storage import Journal

log = logging.getLogger(__name__)

_F = TypeVar("_F", bound=Callable[..., Any])


def serialized(method: _F) -> _F:
    """Run ``method`` of a study under the study's lock (``AskTell._turn_lock``, reentrant):
    the engine and the journal see one call at a time, whichever thread makes it. Four
    threads asking and telling at once left journals that could not be replayed
    (``UNIQUE constraint failed: record.seq``, ``ReplayDivergenceError``)."""

    @functools.wraps(method)
    def locked(self: AskTell, *args: Any, **kwargs: Any) -> Any:
        with self._turn_lock:
            return method(self, *args, **kwargs)

    return locked  # type: ignore[return-value]


class AskTell:
    """The ask / report / tell half of ``Study`` (see the module docstring)."""

    engine: Engine
    journal: Journal
    spec: StudySpec
    _decided: dict[int, Decision]
    _turn_lock: threading.RLock
    #: the engine, its ``handled`` count and whether ``max_time`` was reached, after an
    #: ``ask`` that found nothing to start
    _idle: tuple[Engine, int, bool] | None = None
    #: no warning when a trial told paused has no checkpoint: its driver restarts every run
    #: from scratch by design (``RungSearchCV`` refits each candidate at each iteration)
    _restarts_by_design: bool = False

    def _now(self) -> float:
        return time.time()

    # --- journaled turns ----------------------------------------------------------------------
    def _journal(self, records: list[Record]) -> None:
        """Append ``records`` (what the engine just handled); if the journal refuses them,
        replay the engine from the journal, so that the study holds what the journal holds,
        and let the error propagate."""
        try:
            self.journal.append(self.spec.name, records)
        except BaseException:
            self._reload()
            raise

    def _handle(self, events: Iterable[Event], records: list[Record]) -> list[Command]:
        try:
            return handle(self.engine, events, records)
        except BaseException:
            self._reload()
            raise

    def _turn(self, events: Iterable[Event]) -> list[Command]:
        records: list[Record] = []
        cmds = self._handle(events, records)
        self._journal(records)
        return cmds

    def _reload(self) -> None:
        self._idle = None
        records = self.journal.read(self.spec.name)
        self.engine = Engine.replay(self.engine.created_spec, records)
        noted = getattr(self.journal, "note_replayed", None)  # (``Journal``: optional)
        if noted is not None:
            noted(self.spec.name, len(records))
        self._decided = {t: d for t, d in self._decided.items() if t in self.engine.active}

    # --- the calls ----------------------------------------------------------------------------
    @serialized
    def ask(self) -> Trial | None:
        """Take a slot and get the trial the scheduler wants run next: a new configuration,
        or a paused or interrupted one to resume (``trial.checkpoint`` is where it was saved;
        report from the step after it).

        Returns ``None`` when nothing can start now. With no asked trial running
        (``study.trials("running")`` empty), the search is over: the budget is spent, or the
        searcher has run out of configurations and nothing is left to resume
        (``study.summary()['budget_left']`` is then false, and ``['why_exhausted']`` names a
        searcher that ran out). With trials running, wait: report or tell them, and ask
        again. The budget's trials may all be handed out, the searcher may have run out
        (``study.searcher_exhausted`` says so at once, while ``summary()`` says it once the
        running trials have ended: until then one of them may be paused or interrupted and
        handed back), or a synchronous scheduler waits for the running trials to reach its
        rung. Such an ``ask`` journals the slot it took and gave back (two records), unless
        the study is over after a ``run``; asked again before anything else changed the
        study (a ``report``, a ``tell``, an ``enqueue``..., or the budget's ``max_time``
        running out: that ask is journaled, so ``summary()`` says the budget is spent), it
        returns ``None`` at once and writes nothing, so a polling loop
        (``while (t := study.ask()) is None: ...``) does not grow the journal.

        A trial asked and never told stays running, also in a study loaded again after a
        crash: continue it there (``report`` / ``tell`` by its id; ``study.trials("running")``
        lists them) or end it: ``tell(trial_id)`` ends it as its scheduler decided, when its
        last ``report`` was answered with a stop or a pause (stopped, or paused to be handed
        back); otherwise ``tell(trial_id, "interrupted")``: a scheduler that resumes trials
        may hand it back from its checkpoint (one that was told to stop ends stopped: a
        stopped trial is never resumed).

        One process asks and tells at a time (unlike Optuna's workers sharing a database):
        run the trials where you like, but make these calls from one process. Another
        process's calls raise ``JournalError`` naming the study while this one holds it
        open, and change nothing; after ``close`` every call raises ``JournalError`` saying
        the study is closed.
        """
        self._check_open()
        eng = self.engine
        if eng.over:  # nothing would launch: the two capacity events would change nothing
            return None
        idle = self._idle
        t = self._now()
        if (idle is not None and idle[0] is eng and idle[1] == eng.handled
                and idle[2] == eng.out_of_time(t)):
            # no event since an ask that found nothing to start and changed nothing (no
            # command), and max_time not reached since: this one would find nothing again
            # (idle turns are no-ops), so it writes nothing, and a polling loop does not grow
            # the journal; the ask that finds max_time reached is handled, so the study knows
            return None
        # one turn of two events, the second depending on what the first launched: a slot
        # more, then the launched trial starts in it (or the slot goes again)
        records: list[Record] = []
        launch = None
        for c in self._handle((CapacityChanged(len(eng.active) + 1, t),), records):
            if type(c) is Launch:
                launch = c
                break
        if launch is None:
            self._handle((CapacityChanged(len(eng.active), t),), records)
            self._journal(records)
            if len(records) == 2 and self.engine is eng:  # the two events, no command
                self._idle = (eng, eng.handled, eng.out_of_time(t))
            return None
        self._handle((TrialStarted(launch.trial_id, t),), records)
        self._journal(records)
        return self.engine.history.trial(launch.trial_id, cache=False)  # stale after a report

    @serialized
    def report(self, trial_id: int | Trial, step: int, metrics: Mapping[str, Any]) -> Decision:
        """Record an intermediate result; returns the scheduler's decision. Once a trial is told
        to stop or pause, later reports get that same decision (also in a study loaded again).
        At ``max_step`` the decision is to continue (the trial is done: ``tell`` it), unless
        the result failed the trial (a NaN objective: ``Objective(nan="fail")``).

        ``metrics`` hold every objective's metric, a real number (a NumPy scalar too; NaN and
        inf are the objective's ``nan`` policy's), and any other JSON values.

        Raises:
            ConfigError: nothing is recorded then. ``trial_id`` is not an integer (or a
                ``Trial``); ``step`` is not an integer in ``[1, max_step]`` or is below the
                step the trial's run reported last (key ``step``; the same step again replaces
                its result); ``metrics`` is not a mapping of strings, lacks an objective's
                metric (key ``metrics``), or an objective's or a constraint's metric is not a
                real number (``rung.core.metric_value.is_real``), or is an int too large for
                a float (key ``metrics['<name>']``).
            RungError: the trial does not exist or is not running.
        """
        self._check_open()
        tid = trial_id_of(trial_id)
        given: Any = step
        if not (is_int(given) or (isinstance(given, float) and given.is_integer())) or given < 1:
            raise ConfigError(key="step", message=f"must be an integer >= 1, got {step!r}")
        step = int(given)
        if step > self.spec.max_step:
            raise ConfigError(key="step", message=f"must be <= max_step={self.spec.max_step}, "
                              f"got {step}")
        metrics = self._checked(metrics)
        self._require_active(tid)
        lease = self.engine.active[tid]
        self._check_forward(step, lease.position, resumed=not lease.reported)
        if lease.decided:
            self._turn([ResultReported(tid, step, metrics, self._now())])  # only recorded
            return self._decision_of(tid)
        cmds = self._turn([ResultReported(tid, step, metrics, self._now())])
        for c in cmds:
            if isinstance(c, Reply) and c.trial_id == tid:
                if c.decision.action is not Action.CONTINUE:
                    self._decided[tid] = c.decision
                return c.decision
        now = self.engine.active.get(tid)
        if now is None:  # ended by the scheduler as it decided (retired)
            return Decision.stop("ended by the scheduler")
        if now.decided:  # failed at max_step: the engine sends no reply there
            return self._decision_of(tid)
        return Decision.proceed(min(max(now.until_step, step), self.spec.max_step))

    @serialized
    def checkpoint(self, trial_id: int | Trial, step: int, path: str, size: int = 0) -> None:
        """Record that the trial's state at ``step`` was saved at ``path`` (for your own
        ask/report/tell loop: when a decision asks for a checkpoint, or before telling
        ``"paused"``). A later ``ask`` that resumes the trial, or forks it (PBT), hands
        ``path`` back as ``trial.checkpoint``.

        Raises:
            ConfigError: ``trial_id`` is not an integer, ``step`` is not a step the trial's
                run reported (key ``step``), ``path`` is not a non-empty string or path, or
                ``size`` (bytes) is not an integer >= 0; nothing is recorded then.
            RungError: the trial does not exist or is not running.
        """
        self._check_open()
        tid = trial_id_of(trial_id)
        if not isinstance(path, str | os.PathLike) or not os.fspath(path):
            raise ConfigError(key="path", message=f"must be a non-empty string or path, got "
                              f"{path!r}")
        if not is_int(size) or size < 0:
            raise ConfigError(key="size", message=f"must be an integer >= 0 (bytes), got "
                              f"{size!r}")
        self._require_active(tid)
        done = self.engine.active[tid].position
        if not is_int(step) or not 1 <= step <= done:
            have = (f"in [1, {done}], the steps trial {tid} reported" if done >= 1
                    else f"one trial {tid} reported (none yet)")
            raise ConfigError(key="step", message=f"must be {have}, got {step!r}")
        self._turn([CheckpointSaved(tid, int(step), str(os.fspath(path)), self._now(),
                                    int(size))])

    @serialized
    def tell(
        self,
        trial_id: int | Trial,
        status: str | Outcome | None = None,
        metrics: Mapping[str, Any] | None = None,
        step: int | None = None,
        error: str | BaseException | None = None,
    ) -> Trial:
        """End a trial: ``status`` left out, as its scheduler decided (stopped, or paused to
        be handed back by a later ``ask``, when its run's last ``report`` was answered with a
        stop or a pause), else completed. ``metrics``, if given, are recorded first as its
        final result, at ``step`` (default: ``max_step`` for a completed trial, else its last
        step); they are checked as ``report``'s are. A trial told ``"completed"`` must have a
        value of every constraint's metric by its final result, in ``metrics`` or in any
        result it reported (a constraint reads the latest value: ``rung.core.constraints``),
        with or without ``metrics``: otherwise it could only end infeasible, almost always a
        mistyped or forgotten metric. ``error`` (a string, or the exception itself) says why a
        trial failed or was interrupted: a failed trial's is recorded as its error even when
        the metrics lack the objective's metric or hold NaN (without ``error``, that problem
        is recorded). A trial told ``"completed"`` that never reported the objective's metric
        has no value: it is never the best trial.

        What the scheduler decided binds the status: after a stop, ``"stopped"``,
        ``"failed"`` (a failure after the stop is still the trial's failure) and
        ``"interrupted"`` (which ends it stopped, as a lost worker's run does:
        ``rung.core.launching.lost_worker_end``; its ``error`` is not kept) are taken; after
        a pause, anything but ``"completed"`` (``"stopped"`` ends the trial); ``"completed"``
        after either only once the run reported ``max_step`` anyway; ``"paused"`` only
        after a pause (a preemption that should resume is ``"interrupted"``). A trial
        ended paused without a checkpoint (``checkpoint``) at its run's last step is warned
        about, as a worker's pause without a save callback is: it restarts from its last
        checkpoint, or from scratch.

        Raises:
            ConfigError: nothing is recorded then. ``trial_id`` is not an integer (or a
                ``Trial``); an unknown ``status`` (key ``status``; Optuna's state names are
                named with rung's), or one the scheduler's decision rules out (key
                ``status``, naming the decision); ``metrics`` refused as ``report`` refuses
                them; a ``"completed"`` trial that has no value of a constraint's metric (key
                ``metrics``, naming the constraint); ``step`` given without ``metrics``, not
                in ``[1, max_step]`` or below the step the trial's run reported last;
                ``error`` neither a string nor an exception, or given with a status other than
                ``"failed"`` / ``"interrupted"``.
            RungError: the trial does not exist or is not running (told already).
            JournalError: the study was closed (``Study.close``).
        """
        self._check_open()
        tid = trial_id_of(trial_id)
        given = as_outcome(status, self._metric_names())
        error = error_text(error)
        if metrics is None:
            if step is not None:
                raise ConfigError(key="step", message=f"is the step of the final result: "
                                  f"give it with metrics, got step={step!r} without metrics")
        else:
            metrics = self._checked(metrics, failed=given is Outcome.FAILED)
            if step is not None and not (is_int(step) and 1 <= step <= self.spec.max_step):
                raise ConfigError(key="step", message=f"must be an integer in [1, max_step="
                                  f"{self.spec.max_step}], got {step!r}")
        self._require_active(tid)
        eng = self.engine
        lease = eng.active[tid]
        outcome = told_outcome(tid, given, lease.outcome, lambda: self._decision_of(tid),
                               finished=lease.position >= self.spec.max_step)
        check_error(error, outcome, given)
        if outcome is Outcome.COMPLETED:
            self._check_constraints_reported(tid, metrics)
        t = self._now()
        events: list[Event] = []
        if metrics is not None:
            if step is None:
                last = eng.history.last_step(tid)
                step = self.spec.max_step if outcome is Outcome.COMPLETED or not last else last
            self._check_forward(int(step), lease.position, resumed=not lease.reported)
            events.append(ResultReported(tid, int(step), metrics, t))
        events.append(CapacityChanged(max(len(eng.active) - 1, 0), t))
        # told: a failed trial's error is the caller's, also when its final metrics (or an
        # earlier report) failed the run; other outcomes give way to such a failure
        events.append(TrialEnded(tid, outcome, t, error, told=True))
        self._turn(events)
        self._decided.pop(tid, None)
        ended = self.engine.history.trial(tid, cache=False)  # read once by the caller, if at all
        if ended.status is TrialStatus.PAUSED:
            self._warn_unsaved_pause(tid, lease.position)  # (the run's lease, as it ended)
        return ended

    @property
    def searcher_exhausted(self) -> str | None:
        """Why the searcher has no new configuration left to propose (one line: ``"the grid
        searcher proposed every one of its 4 points"``), as soon as it has run out, also while
        asked trials are still running (``summary()['why_exhausted']`` says it once they have
        ended and nothing is left to resume); ``None`` while it may propose more, and for a
        searcher that does not say (``rung.searchers._common.why_exhausted`` knows the
        built-in ones). Paused and interrupted trials may still be handed out by ``ask``."""
        from rung.searchers._common import why_exhausted

        with self._turn_lock:
            return why_exhausted(self.engine.searcher, self.engine.history)

    # --- checks -------------------------------------------------------------------------------
    def _checked(self, metrics: Any, failed: bool = False) -> dict[str, Any]:
        """``metrics`` as the journal takes them, refused (``ConfigError``) when a result
        could not be scored for a reason of the caller's making: an objective's metric
        missing or not a real number, a constraint's not a real number (``None``: not
        reported). A failed trial's metrics are only converted."""
        out = as_mapping(metrics, self._metric_names())
        if failed:
            return out
        h = self.engine.history
        objectives = h.objectives
        for i, o in enumerate(objectives):
            whose = "the objective's" if len(objectives) == 1 else f"objective[{i}]'s"
            self._check_metric(metrics, o.metric, f"{whose} metric", required=True)
        for c in h.constraints:
            self._check_metric(metrics, c.metric, f"the metric of constraint '{c.text()}'",
                               required=False)
        return out

    def _check_constraints_reported(self, tid: int, metrics: Mapping[str, Any] | None) -> None:
        """A trial told ``"completed"`` has a value of every constraint's metric by its final
        result: in ``metrics`` (its final result, if given) or in a result it reported."""
        h = self.engine.history
        for c in h.constraints:
            if (metrics is not None and metrics.get(c.metric) is not None) or any(
                    r.metrics.get(c.metric) is not None for r in h.results(tid)):
                continue
            what = f"no {c.metric!r} (the metric of constraint '{c.text()}')"
            if metrics is not None:
                got = ", ".join(repr(k) for k in list(metrics)[:8]) or "none"
                none = f" ({c.metric!r} is None: not measured)" if c.metric in metrics else ""
                raise ConfigError(key="metrics", message=f"{what}: got {got}{none}")
            raise ConfigError(key="metrics", message=(
                f"{what}: trial {tid} never reported it, so it would end infeasible; tell it "
                f"with metrics holding {c.metric!r}, or tell 'failed'"))

    @staticmethod
    def _check_metric(metrics: Mapping[str, Any], name: str, what: str,
                      required: bool) -> None:
        if not required and metrics.get(name) is None:  # (None: not reported, as a worker's)
            return
        if name not in metrics:
            got = ", ".join(repr(k) for k in list(metrics)[:8]) or "none"
            raise ConfigError(key="metrics", message=(
                f"no {name!r} ({what}): got {got}{list_hint(name, metrics)}"))
        v = metrics[name]
        if not is_real(v):
            raise ConfigError(key=f"metrics[{name!r}]", message=(
                f"must be a real number ({what}), got {show(v)} ({type_name(v)})"))
        if isinstance(v, int) and not -BIG_INT < v < BIG_INT:
            raise ConfigError(key=f"metrics[{name!r}]", message=(
                f"must be a real number a float can hold ({what}), got {show(v)}"))

    @staticmethod
    def _check_forward(step: int, position: int, resumed: bool) -> None:
        """A run's steps never go backwards (``rung._steps``, the rule every report follows);
        ``position`` is the step the run reported last, or (``resumed``: it has reported
        nothing yet) the step it resumed after."""
        back = step_back(step, position, resumed=resumed)
        if back is not None:
            raise ConfigError(key="step", message=back)

    def _decision_of(self, tid: int) -> Decision:
        """The STOP / PAUSE decision a trial's run was given: kept when it was made, else (a
        study loaded again) the last one its journal holds, else its failure."""
        d = self._decided.get(tid)
        if d is not None:
            return d
        lease = self.engine.active[tid]
        if lease.failure is None:
            for r in reversed(self.journal.read(self.spec.name)):
                if (type(r) is Reply and r.trial_id == tid
                        and r.decision.action is not Action.CONTINUE):
                    d = r.decision
                    break
        if d is None:
            d = Decision.stop(f"failed: {lease.failure}" if lease.failure is not None
                              else "stopped")
        self._decided[tid] = d
        return d

    def _metric_names(self) -> list[str]:
        return [o.metric for o in self.engine.history.objectives]

    def _check_open(self) -> None:
        """``JournalError`` saying the study is closed once ``Study.close`` closed its SQLite
        journal (an in-memory one stays usable): before anything is handled, so the engine
        is not left ahead of a journal it can neither write nor replay from."""
        conn = getattr(self.journal, "_conn", None)
        if not isinstance(conn, sqlite3.Connection):
            return
        try:
            conn.in_transaction  # noqa: B018 (raises once the connection is closed)
        except sqlite3.ProgrammingError:
            where = getattr(self.journal, "path", None)
            load = f"Study.load({self.spec.name!r}" + (
                f", storage={str(where)!r})" if where is not None else ")")
            raise JournalError(f"study {self.spec.name!r} is closed (Study.close): load it "
                               f"again to go on ({load})") from None

    def _warn_unsaved_pause(self, tid: int, step: int) -> None:
        """Warn, as a worker does when it pauses without a save callback, when a trial told
        paused has no checkpoint at ``step`` (its run's last step): it restarts from its
        last checkpoint (or from scratch; with a ``Fidelity``, at its next rung by design,
        so nothing is said; nor for a driver that restarts by design, ``_restarts_by_design``)."""
        if self.spec.fidelity is not None or self._restarts_by_design:
            return
        saved = self.engine.history.checkpoint(tid)
        if saved is not None and saved.step >= step:
            return
        where = (f"from its checkpoint at step {saved.step}" if saved is not None
                 else "from scratch (step 1)")
        log.warning("trial %d paused at step %d without a checkpoint of that step "
                    "(study.checkpoint(%d, %d, path) before tell): it will restart %s",
                    tid, step, tid, step, where)

    def _require_active(self, trial_id: int) -> None:
        if trial_id not in self.engine.active:
            if trial_id not in self.engine.history:
                raise RungError(f"trial {trial_id} does not exist in study {self.spec.name!r}")
            status = self.engine.history.status(trial_id).value
            raise RungError(f"trial {trial_id} is {status}, not running")

