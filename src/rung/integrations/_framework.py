"""What the training-framework callbacks share: the lazy import, metric cleaning, step mapping.

Every framework callback (``rung.integrations.lightgbm``, ``xgboost``, ``lightning``,
``transformers``, ``keras``) does the same three things at the end of a unit of training (a
boosting round, an epoch, an evaluation): turn the framework's evaluation log into plain
metrics, call ``ctx.report(step, save=..., **metrics)`` on the trial's ``rung.TrialContext``,
and let the scheduler's decision unwind training (``StopTrial`` / ``PauseTrial``; for a pause,
``report`` first calls ``save`` so the trial can resume from its checkpoint).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any, Protocol

from rung.errors import ConfigError, PauseTrial, StopTrial

SaveFn = Any  # ``Callable[[str], Any]``: writes the trial's state into an existing directory


class Reports(Protocol):
    """What a callback needs of a trial: ``rung.TrialContext`` (or a test double of it)."""

    trial_id: int
    start_step: int
    max_step: int
    checkpoint: str | None

    def report(self, step: int, save: SaveFn | None = None, **metrics: Any) -> None: ...


def require(module: str, extra: str, feature: str, broken: str = "") -> ModuleType:
    """Import ``module`` or raise an ``ImportError`` that names the extra to install (every
    integration's lazy import: the framework callbacks, the trackers, the adapters).

    Args:
        module: the import name (``"lightgbm"``, ``"lightning.pytorch"``).
        extra: rung's extra that installs it (``"lightgbm"``).
        feature: what needs it, for the message (``"rung.integrations.lightgbm"``).
        broken: what to do when the package is installed but its own import fails for want
            of another module (Keras without its backend), for the message.

    Raises:
        ImportError: ``"<feature> needs <package>, which is not installed (<why>): pip install
            'rung[<extra>]'"``, with the top-level package of ``module`` and the import's own
            error; or, when the package is installed and a module it imports is missing,
            ``"<feature>: <package> is installed but cannot be imported (<why>)"`` and
            ``broken`` (the extra would not help).
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.split(".")[0]
        missing = (getattr(e, "name", None) or "").split(".")[0]
        if missing and missing != top and importlib.util.find_spec(top) is not None:
            raise ImportError(f"{feature}: {top} is installed but cannot be imported ({e})"
                              + (f": {broken}" if broken else "")) from e
        raise ImportError(f"{feature} needs {top}, which is not installed "
                          f"({e}): pip install 'rung[{extra}]'") from e


def scalars(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The numeric scalars of a framework's log, as ``float``: numbers, numpy scalars and 0-d
    arrays or tensors are kept (NaN and inf too: rung scores them worst); strings, sequences and
    anything else are dropped (a learning-rate schedule's list is not a metric)."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            out[str(key)] = float(value)
            continue
        if getattr(value, "ndim", None) == 0 or getattr(value, "shape", None) == ():
            try:
                out[str(key)] = float(value)
            except (TypeError, ValueError):
                continue
    return out


def check_reported(metrics: Mapping[str, Any], step: int, key: str, hint: str) -> None:
    """Refuse a step with nothing to report: the framework evaluated nothing (no validation
    set, nothing logged), and the trial would fail on its objective's missing metric with
    "reported: none" instead of being told what to pass.

    Raises:
        ConfigError: ``metrics`` is empty (key ``key``; ``hint`` says what to do).
    """
    if not metrics:
        raise ConfigError(key=key, message=(
            f"nothing to report at step {step} (no evaluation results): {hint}"))


def check_units(key: str, value: Any) -> int:
    """A ``*_per_step`` argument: an integer >= 1 (``ConfigError`` naming ``key`` otherwise)."""
    from rung._validate import check_int

    return check_int(key, value, 1)


def check_start(ctx: Reports, done: int, units: int, what: str, hint: str) -> None:
    """Refuse to train a resumed trial from scratch.

    A trial that resumes at ``ctx.start_step`` must continue from the model saved at step
    ``start_step - 1``, i.e. after ``(start_step - 1) * units`` units of training; ``done`` is
    what the framework says it has already done. Reporting steps 1, 2, ... again would record a
    second, different curve under the same steps.

    Raises:
        ConfigError: the two disagree (key ``checkpoint``); the message says what to pass.
    """
    expected = (ctx.start_step - 1) * units
    if done != expected:
        raise ConfigError(key="checkpoint", message=(
            f"the trial resumes at step {ctx.start_step} (after {expected} {what}) but training "
            f"starts after {done}: {hint}"))


def saved_file(ctx: Reports, name: str) -> str | None:
    """The file ``name`` in the trial's checkpoint, or ``None`` for a fresh trial (no
    checkpoint, or one without that file)."""
    if ctx.checkpoint is None:
        return None
    path = os.path.join(ctx.checkpoint, name)
    return path if os.path.exists(path) else None


class HeldDecision:
    """The scheduler's decision to end a trial, held while the framework winds training down.

    Keras, Lightning and the Transformers ``Trainer`` run their own clean-up when training ends
    (the other callbacks' end hooks, the loggers); ``StopTrial`` or ``PauseTrial`` raised from
    an epoch or evaluation hook would skip it. So the callback reports through ``report``, which
    keeps the decision (``report`` has already saved a pause's checkpoint) and says so: the
    callback then asks the framework to stop, and its end-of-training hook calls ``raise_held``,
    from where the decision propagates out of ``fit`` / ``train`` to the worker.
    """

    def __init__(self) -> None:
        self.held: StopTrial | PauseTrial | None = None

    def report(self, ctx: Reports, step: int, save: SaveFn | None,
               metrics: Mapping[str, Any]) -> bool:
        """``ctx.report(step, save=save, **metrics)``; ``True`` when the scheduler decided to end
        the trial (the decision is held: ask the framework to stop training)."""
        try:
            ctx.report(step, save=save, **metrics)
        except (StopTrial, PauseTrial) as e:
            self.held = e
            return True
        return False

    def raise_held(self) -> None:
        """Raise the held decision, if there is one (once: it is no longer held after)."""
        if self.held is not None:
            held, self.held = self.held, None
            raise held


def boosting_rounds(ctx: Reports, rounds_per_step: int, kwargs: Mapping[str, Any],
                    managed: Sequence[str], feature: str) -> tuple[int, int]:
    """What a boosting library's ``train`` wrapper checks and computes before training.

    Args:
        ctx: the trial.
        rounds_per_step: boosting rounds per rung step.
        kwargs: the caller's other arguments for the library's ``train``.
        managed: the arguments the wrapper sets itself (the number of rounds, the model to
            continue from): none may be in ``kwargs``.
        feature: the wrapper, for the message (``"rung.integrations.lightgbm.train"``).

    Returns:
        ``(rounds_per_step, rounds)``: ``rounds`` is what is left from the checkpoint at step
        ``ctx.start_step - 1`` to ``ctx.max_step``.

    Raises:
        ConfigError: a managed argument was passed (key: its name), or ``rounds_per_step`` is
            not an integer >= 1.
    """
    for key in managed:
        if key in kwargs:
            raise ConfigError(key=key, message=f"is set by {feature} from the trial's steps "
                                               "and checkpoint")
    units = check_units("rounds_per_step", rounds_per_step)
    return units, (ctx.max_step - ctx.start_step + 1) * units


def model_saver(model: Any, file: str, **options: Any) -> SaveFn:
    """A ``save`` for ``report`` that writes ``model`` (a booster) with
    ``model.save_model(<checkpoint directory>/<file>, **options)``."""

    def save(directory: str) -> None:
        model.save_model(os.path.join(directory, file), **options)

    return save


__all__ = ["HeldDecision", "Reports", "SaveFn", "boosting_rounds", "check_reported", "check_start",
           "check_units", "model_saver", "require", "saved_file", "scalars"]
