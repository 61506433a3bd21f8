"""The arguments of ``Study.report`` / ``tell`` (``rung.ask_tell``) as the journal takes them,
and how a told trial ends given what its scheduler decided. Every check raises
``ConfigError`` naming the argument; none changes anything.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rung._validate import close_hint, is_int
from rung.core.events import Decision
from rung.core.records import Outcome, Trial
from rung.dbr.metrics import is_real, type_name
from rung.errors import ConfigError

_OUTCOMES: dict[str, Outcome] = {o.value: o for o in Outcome}  # tell's status, by value
#: Optuna's trial states, as ``tell``'s status
_PEER_STATES = {"complete": "completed", "pruned": "stopped", "fail": "failed",
                "trialstate.complete": "completed", "trialstate.pruned": "stopped",
                "trialstate.fail": "failed"}
#: the outcomes a told ``error`` may explain
_WITH_ERROR = (Outcome.FAILED, Outcome.INTERRUPTED)


def example(names: Sequence[str]) -> str:
    """A mapping of the study's objective metrics, as an example: ``{'a': 0.5, 'b': 0.5}``."""
    return "{" + ", ".join(f"{n!r}: 0.5" for n in names or ("loss",)) + "}"


def as_mapping(metrics: Any, names: Sequence[str]) -> dict[str, Any]:
    """``metrics`` as a dict of JSON values (``rung.executors.worker.plain_metrics``: NumPy
    scalars and 0-d arrays become numbers, as a worker's reports do): a mapping of metric
    names (strings) to values. ``names``: the study's objective metrics, for the example a
    refusal gives."""
    if not isinstance(metrics, Mapping):
        raise ConfigError(key="metrics", message=f"a mapping of metric names to values "
                          f"(e.g. {example(names)}), got {metrics!r}")
    for k in metrics:
        if not isinstance(k, str):
            raise ConfigError(key="metrics", message=f"metric names are strings, got {k!r} "
                              f"({type_name(k)})")
    from rung.executors.report_input import needs_plain, plain_metrics

    if not needs_plain(metrics):
        return dict(metrics)
    return plain_metrics(metrics)


def trial_id_of(trial_id: Any) -> int:
    """The id of a trial given by its id (an integer) or as the ``Trial`` ``ask`` returned."""
    if isinstance(trial_id, Trial):
        return trial_id.id
    if not is_int(trial_id):
        raise ConfigError(key="trial_id", message=f"must be an integer (the id of a trial "
                          f"ask returned: trial.id), got {trial_id!r} ({type_name(trial_id)})")
    return int(trial_id)


def as_outcome(status: Any, names: Sequence[str]) -> Outcome | None:
    """``tell``'s ``status`` as an ``Outcome`` (``None``: not given, as the scheduler
    decided); ``ConfigError`` naming it, with Optuna's name for it or the value it is a
    typo of."""
    if status is None or isinstance(status, Outcome):
        return status
    if isinstance(status, str) and status in _OUTCOMES:
        return _OUTCOMES[status]
    values = [o.value for o in Outcome]
    peer, shown = None, repr(status)
    if isinstance(status, enum.Enum):  # Optuna's TrialState.COMPLETE (an IntEnum)
        peer = _PEER_STATES.get(f"{type(status).__name__}.{status.name}".lower())
        shown = f"{type(status).__name__}.{status.name}"
    elif isinstance(status, str):
        peer = _PEER_STATES.get(status.lower())
    if peer is not None:
        hint = f" (Optuna's {shown} is {peer!r} here)"
    elif isinstance(status, str):
        hint = close_hint(status, values)
    elif is_real(status):
        hint = f"; metrics go in metrics={example(names)}"
    else:
        hint = ""
    raise ConfigError(key="status", message=f"{status!r} is not one of {values}{hint}")


def error_text(error: Any) -> str | None:
    """``tell``'s ``error``: a string, or an exception as ``"ValueError: boom"``."""
    if error is None or isinstance(error, str):
        return error
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"
    raise ConfigError(key="error", message=f"a string or an exception, got {error!r} "
                      f"({type_name(error)})")


def told_outcome(tid: int, status: Outcome | None, decided: Outcome | None,
                 decision: Callable[[], Decision], finished: bool = False) -> Outcome:
    """How a told trial ends, given ``decided``: how the STOP / PAUSE its run was sent ends
    it (``STOPPED`` / ``PAUSED``; ``None``: none was sent). ``decision`` gives that decision
    (for its reason), only to refuse a status. ``finished``: the run reported ``max_step``
    (it ran on to its end after the decision; its later results were recorded).

    - ``status`` ``None`` (not given): as the scheduler decided, else completed (a worker's
      objective that returns after its stop or pause ends so too);
    - after a STOP, ``completed`` and ``paused`` are refused: the scheduler rejected the run
      (``stopped`` and ``failed`` end it as said; ``interrupted`` ends it stopped:
      ``rung.core.launching.lost_worker_end``);
    - after a PAUSE, ``completed`` is refused (``paused`` lets the scheduler resume it,
      ``stopped`` ends it);
    - but a ``finished`` run may end ``completed`` after either: it reached ``max_step``
      anyway, so its value is a full-fidelity one (a peer's trial that ran on after rung's
      stop: Optuna counts it complete, ``rung.integrations.optuna_sampler``);
    - ``paused`` without a PAUSE is refused: no scheduler would ever resume the trial.

    A refusal is one line naming ``status`` and the decision."""
    if status is None:
        return decided or Outcome.COMPLETED
    if status is Outcome.COMPLETED and finished:
        return status
    if decided is Outcome.STOPPED and status in (Outcome.COMPLETED, Outcome.PAUSED):
        raise ConfigError(key="status", message=(
            f"{status.value!r} contradicts the scheduler's decision to stop trial {tid}"
            f"{_why(decision())}: leave status out or tell 'stopped' ('failed' if it failed)"))
    if decided is Outcome.PAUSED and status is Outcome.COMPLETED:
        raise ConfigError(key="status", message=(
            f"'completed' contradicts the scheduler's decision to pause trial {tid}"
            f"{_why(decision())}: leave status out or tell 'paused' to let the scheduler "
            f"resume it, 'stopped' to end it"))
    if status is Outcome.PAUSED and decided is None:
        raise ConfigError(key="status", message=(
            f"'paused' ends a trial the scheduler decided to pause, and it decided no pause "
            f"for trial {tid}: tell 'interrupted' for a preemption that should resume, "
            f"'stopped' to end it"))
    return status


def check_error(error: str | None, outcome: Outcome, given: Outcome | None) -> None:
    """``error`` says why a trial failed or was interrupted: refused with any other
    ``outcome`` (``given``: the status as told, ``None`` when it was left out)."""
    if error is None or outcome in _WITH_ERROR:
        return
    how = (f"status {outcome.value!r}" if given is not None
           else f"status left out (so {outcome.value!r})")
    raise ConfigError(key="error", message=(
        f"says why a trial failed or was interrupted, got it with {how}: tell 'failed' "
        f"(or 'interrupted') with it, or leave it out"))


def _why(decision: Decision) -> str:
    return f" ({decision.reason})" if decision.reason else ""
