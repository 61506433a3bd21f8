"""``Study.ask`` / ``report`` / ``checkpoint`` / ``tell``: your own loop instead of an executor.

Each call is one journaled turn of the driver (``rung.driver``): the events it stands for are
handled by the engine and appended to the journal, with the commands they caused, before the
call returns. ``AskTell`` is mixed into ``Study``; it uses only the study's engine, journal and
spec.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from rung._validate import is_int
from rung.core.engine import Engine
from rung.core.events import (
    Action,
    CapacityChanged,
    CheckpointSaved,
    Decision,
    Event,
    Launch,
    Record,
    Reply,
    ResultReported,
    TrialEnded,
    TrialStarted,
)
from rung.core.records import Outcome, StudySpec, Trial
from rung.driver import handle, turn
from rung.errors import ConfigError, RungError
from rung.storage import Journal

_OUTCOMES: dict[str, Outcome] = {o.value: o for o in Outcome}  # tell's status, by value
#: Optuna's trial states, as ``tell``'s status
_PEER_STATES = {"complete": "completed", "pruned": "stopped", "fail": "failed",
                "trialstate.complete": "completed", "trialstate.pruned": "stopped",
                "trialstate.fail": "failed"}


def _mapping(metrics: Any) -> dict[str, Any]:
    """``metrics`` as a dict: a mapping of metric names to values."""
    if not isinstance(metrics, Mapping):
        raise ConfigError(key="metrics", message=f"a mapping of metric names to values "
                          f"(e.g. {{'loss': 0.5}}), got {metrics!r}")
    return dict(metrics)


class AskTell:
    """The ask / report / tell half of ``Study`` (see the module docstring)."""

    engine: Engine
    journal: Journal
    spec: StudySpec
    _decided: dict[int, Decision]

    def _now(self) -> float:
        return time.time()

    def ask(self) -> Trial | None:
        """Take a slot and get the trial the scheduler wants run next (a new configuration, or
        a paused or interrupted one to resume: check ``trial.checkpoint``). ``None`` when the
        budget is spent or there is nothing to run now."""
        eng = self.engine
        t = self._now()
        # one turn of two events, the second depending on what the first launched: a slot
        # more, then the launched trial starts in it (or the slot goes again)
        records: list[Record] = []
        launch = None
        for c in handle(eng, (CapacityChanged(len(eng.active) + 1, t),), records):
            if type(c) is Launch:
                launch = c
                break
        if launch is None:
            handle(eng, (CapacityChanged(len(eng.active), t),), records)
            self.journal.append(self.spec.name, records)
            return None
        handle(eng, (TrialStarted(launch.trial_id, t),), records)
        self.journal.append(self.spec.name, records)
        return eng.history.trial(launch.trial_id, cache=False)  # stale after its first report

    def report(self, trial_id: int, step: int, metrics: Mapping[str, Any]) -> Decision:
        """Record an intermediate result; returns the scheduler's decision. Once a trial is told
        to stop or pause, later reports get that same decision.

        Raises:
            ConfigError: ``step`` is not an integer in ``[1, max_step]`` (key ``step``), or
                ``metrics`` is not a mapping (key ``metrics``).
        """
        given: Any = step
        if not (is_int(given) or (isinstance(given, float) and given.is_integer())) or given < 1:
            raise ConfigError(key="step", message=f"must be an integer >= 1, got {step!r}")
        step = int(given)
        if step > self.spec.max_step:
            raise ConfigError(key="step", message=f"must be <= max_step={self.spec.max_step}, "
                              f"got {step}")
        metrics = _mapping(metrics)
        if trial_id in self._decided:
            self._record_late(trial_id, step, metrics)
            return self._decided[trial_id]
        self._require_active(trial_id)
        cmds = turn(self.engine, self.journal, self.spec.name,
                    [ResultReported(trial_id, int(step), dict(metrics), self._now())])
        for c in cmds:
            if isinstance(c, Reply) and c.trial_id == trial_id:
                if c.decision.action is not Action.CONTINUE:
                    self._decided[trial_id] = c.decision
                return c.decision
        lease = self.engine.active.get(trial_id)
        return Decision.proceed(lease.until_step if lease else None)

    def checkpoint(self, trial_id: int, step: int, path: str, size: int = 0) -> None:
        """Record that the trial's state at ``step`` was saved at ``path`` (for your own
        ask/report/tell loop: when a decision asks for a checkpoint, or before telling
        ``"paused"``). A later ``ask`` that resumes the trial, or forks it (PBT), hands
        ``path`` back as ``trial.checkpoint``."""
        if trial_id not in self.engine.history:
            raise RungError(f"trial {trial_id} does not exist in study {self.spec.name!r}")
        turn(self.engine, self.journal, self.spec.name,
             [CheckpointSaved(trial_id, int(step), str(path), self._now(), int(size))])

    def _record_late(self, trial_id: int, step: int, metrics: Mapping[str, Any]) -> None:
        if trial_id in self.engine.active:
            turn(self.engine, self.journal, self.spec.name,
                 [ResultReported(trial_id, int(step), dict(metrics), self._now())])

    def tell(
        self,
        trial_id: int,
        status: str | Outcome = "completed",
        metrics: Mapping[str, Any] | None = None,
        step: int | None = None,
        error: str | None = None,
    ) -> Trial:
        """End a trial. ``metrics``, if given, are recorded first as its final result, at
        ``step`` (default: ``max_step`` for a completed trial, else its last step).

        Raises:
            ConfigError: an unknown ``status`` (key ``status``; Optuna's state names are
                named with rung's), ``metrics`` not a mapping, or ``step`` not in
                ``[1, max_step]``.
        """
        outcome = status if isinstance(status, Outcome) else None
        if outcome is None and isinstance(status, str):
            outcome = _OUTCOMES.get(status)
        if outcome is None:
            peer = _PEER_STATES.get(str(status).lower()) if isinstance(status, str) else None
            raise ConfigError(key="status", message=(
                f"{status!r} is not one of {[o.value for o in Outcome]}"
                + (f" (Optuna's {status!r} is {peer!r} here)" if peer else "")
                + ("; metrics go in metrics={'<metric>': value}"
                   if isinstance(status, int | float) and not isinstance(status, bool) else "")))
        if metrics is not None:
            metrics = _mapping(metrics)
            if step is not None and not (is_int(step) and 1 <= step <= self.spec.max_step):
                raise ConfigError(key="step", message=f"must be an integer in [1, max_step="
                                  f"{self.spec.max_step}], got {step!r}")
        self._require_active(trial_id)
        eng = self.engine
        t = self._now()
        events: list[Event] = []
        if metrics is not None:
            if step is None:
                last = eng.history.last_step(trial_id)
                step = self.spec.max_step if outcome is Outcome.COMPLETED or not last else last
            events.append(ResultReported(trial_id, int(step), dict(metrics), t))
        events.append(CapacityChanged(max(len(eng.active) - 1, 0), t))
        events.append(TrialEnded(trial_id, outcome, t, error))
        turn(self.engine, self.journal, self.spec.name, events)
        self._decided.pop(trial_id, None)
        return eng.history.trial(trial_id, cache=False)  # read once by the caller, if at all

    def _require_active(self, trial_id: int) -> None:
        if trial_id not in self.engine.active:
            if trial_id not in self.engine.history:
                raise RungError(f"trial {trial_id} does not exist in study {self.spec.name!r}")
            status = self.engine.history.status(trial_id).value
            raise RungError(f"trial {trial_id} is {status}, not running")
