"""The wrappers that adapt a study's objective to ``objective(ctx)`` on the worker.

They are plain module-level classes so that worker processes started with ``spawn`` (and Ray
actors) can unpickle them: the user's function travels by reference, as it would unwrapped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rung.dbr.metrics import as_metrics
from rung.dbr.trial import Trial
from rung.errors import PauseTrial, StopTrial, TrialInterrupt
from rung.executors.protocol import A_PAUSE
from rung.space.fidelity import Fidelity

if TYPE_CHECKING:
    from rung.core.records import StudySpec
    from rung.executors.worker import TrialContext


class DefineByRun:
    """Runs ``objective(trial)`` with a ``rung.dbr.Trial``; what it returns becomes the
    trial's final result by ``rung.dbr.metrics.as_metrics`` (as ``ReturnsMetrics``). An
    ``optuna.TrialPruned`` the objective raises (a ported objective's own pruning) ends the
    trial as stopped, as ``rung.StopTrial`` does, with the exception's message as the
    reason.

    When the run ends, the trial's last report says whether it ended for good (``final``:
    it returned, raised an ``Exception`` or was stopped), so that the driver drops the
    proposals it never asked for; a paused run, or one cut short otherwise (the driver gone,
    ``KeyboardInterrupt``), keeps them for its resumption."""

    def __init__(self, objective: Callable[[Trial], Any], metrics: Sequence[str], seed: int):
        self.objective = objective
        self.metrics = tuple(metrics)
        self.seed = seed
        _name_after(self, objective)

    def __call__(self, ctx: TrialContext) -> Any:
        _refuse_non_numbers(ctx, self.metrics)
        trial = Trial(ctx, self.metrics, self.seed)
        final = False
        try:
            ret = self.objective(trial)
            final = not _pause_pending(ctx)
        except Exception as e:
            final = True
            if not _is_trial_pruned(e):
                raise
            raise StopTrial(str(e) or "optuna.TrialPruned raised by the objective") from e
        except TrialInterrupt as e:
            final = not isinstance(e, PauseTrial)
            raise
        finally:
            trial._flush(final)  # before the trial's end: what it used, even if it failed
        return as_metrics(ret, self.metrics, "return")

    def __repr__(self) -> str:
        return f"DefineByRun({getattr(self.objective, '__qualname__', self.objective)!r})"


def _pause_pending(ctx: TrialContext) -> bool:
    """The objective returned after ``report`` raised ``PauseTrial`` (it swallowed it): the
    run still ends paused (``rung.executors.worker.run_trial``)."""
    pending = getattr(ctx, "_pending", None)
    return bool(getattr(ctx, "_decided", False)) and pending is not None \
        and pending[0] == A_PAUSE


def _is_trial_pruned(e: BaseException) -> bool:
    """``e`` is Optuna's ``TrialPruned`` (or a subclass), told without importing Optuna."""
    return any(c.__name__ == "TrialPruned" and c.__module__.startswith("optuna")
               for c in type(e).__mro__)


class WithFidelity:
    """Runs ``objective(ctx)`` with ``ctx.fidelity`` / ``ctx.fidelities()`` answering from the
    study's ``Fidelity``."""

    def __init__(self, objective: Callable[[TrialContext], Any], fidelity: Fidelity) -> None:
        self.objective = objective
        self.fidelity = fidelity
        _name_after(self, objective)

    def __call__(self, ctx: TrialContext) -> Any:
        ctx._fidelity = self.fidelity
        return self.objective(ctx)

    def __repr__(self) -> str:
        return f"WithFidelity({self.objective!r}, {self.fidelity!r})"


class ReturnsMetrics:
    """Runs ``objective(ctx)``; what it returns becomes the trial's final result by
    ``rung.dbr.metrics.as_metrics``, the rule ``rung.optimize`` applies too: a number (one per
    objective, in their order, for a multi-objective study) is recorded under the study's
    metric names, as Optuna's and Ray Tune's function objectives return it; a mapping is
    recorded as is; ``None`` records nothing; anything else fails the trial with a
    ``ConfigError`` naming its type. ``ctx.report`` follows the same rule for the objectives'
    metrics (``TrialContext.report``)."""

    def __init__(self, objective: Callable[[TrialContext], Any], metrics: Sequence[str]):
        self.objective = objective
        self.metrics = tuple(metrics)
        _name_after(self, objective)

    def __call__(self, ctx: TrialContext) -> Any:
        _refuse_non_numbers(ctx, self.metrics)
        return as_metrics(self.objective(ctx), self.metrics, "return")

    def __repr__(self) -> str:
        return f"ReturnsMetrics({getattr(self.objective, '__qualname__', self.objective)!r})"


def _refuse_non_numbers(ctx: Any, metrics: tuple[str, ...]) -> None:
    """Have ``ctx.report`` refuse a value of ``metrics`` that is not a real number, as a
    returned value is refused (a context without the slot, a test double, is left alone)."""
    if hasattr(ctx, "_objectives"):
        ctx._objectives = metrics


def _name_after(wrapper: object, objective: object) -> None:
    """Give ``wrapper`` the ``__module__`` / ``__qualname__`` / ``__name__`` of the function it
    wraps: executors name the objective by them in their errors, and tell by ``__module__ ==
    "__main__"`` one defined in an interactive session, which spawn workers cannot import
    (pickling goes by the class, so this changes nothing else). A callable instance has no
    ``__qualname__`` / ``__name__`` of its own: its class's name stands for them."""
    for attr in ("__module__", "__qualname__", "__name__"):
        value = getattr(objective, attr, None)
        if not isinstance(value, str):
            value = getattr(type(objective), attr, None)
        if isinstance(value, str):
            setattr(wrapper, attr, value)


def wrap_objective(spec: StudySpec, objective: Callable[..., Any]) -> Callable[..., Any]:
    """``objective`` as the workers must run it for ``spec``: a define-by-run study's takes a
    ``Trial``, another's returned number is recorded under the study's metric name
    (``ReturnsMetrics``), and a study with a ``Fidelity`` gives its contexts the mapping.
    Idempotent."""
    if isinstance(objective, WithFidelity):
        return objective
    metrics = [o.metric for o in (spec.objectives or (spec.objective,))]
    if spec.define_by_run and not isinstance(objective, DefineByRun):
        objective = DefineByRun(objective, metrics, spec.seed)
    elif not spec.define_by_run and not isinstance(objective, ReturnsMetrics):
        objective = ReturnsMetrics(objective, metrics)
    if spec.fidelity is not None:
        objective = WithFidelity(objective, spec.fidelity)
    return objective


__all__ = ["DefineByRun", "ReturnsMetrics", "WithFidelity", "wrap_objective"]
