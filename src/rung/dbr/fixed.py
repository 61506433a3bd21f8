"""``FixedTrial``: run a define-by-run objective once, without a study (a unit test's trial).

Optuna's ``optuna.trial.FixedTrial(params)`` is how its users test an objective; this is the
same for ``rung.optimize``'s objectives::

    trial = rung.dbr.FixedTrial({"depth": 3, "units": 2}, max_step=5)
    loss = objective(trial)
    assert trial.params == {"depth": 3, "units": 2}
    assert [step for step, _ in trial.reports] == [1, 2, 3, 4, 5]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rung.dbr.trial import Trial
from rung.errors import ConfigError, SpaceError

if TYPE_CHECKING:
    from rung.executors.worker import SaveFn
    from rung.space.params import Param, Scalar


class FixedTrial(Trial):
    """A ``Trial`` whose parameters are given: ``suggest_*`` returns ``params[name]``, and
    ``report`` records what it is given in ``reports`` and never stops the trial.

    Args:
        params: the value of every parameter the objective asks for.
        id: ``trial.id`` (Optuna's ``number``).
        metric: the metric name (a list of them for a multi-objective study) that a
            reported ``value`` is recorded under.
        max_step: ``trial.max_step``; ``trial.start_step`` is 1.

    Attributes:
        reports: ``(step, metrics)`` for every ``report`` call, in order.

    Raises (from ``suggest_*``):
        ConfigError: a name that ``params`` lacks, or a value the distribution the call
            declares does not contain (keyed by the parameter's name), or the call's own
            errors (as ``rung.optimize``'s trial raises them).
    """

    __slots__ = ("reports",)

    _MAX_STEP_FROM = "the FixedTrial's max_step"
    _MAX_STEP_ARG = "FixedTrial(..., max_step=...)"

    def __init__(
        self,
        params: Mapping[str, Any],
        id: int = 0,
        metric: str | Sequence[str] = "loss",
        max_step: int = 1,
    ) -> None:
        if not isinstance(params, Mapping):
            raise ConfigError(key="params", message=f"must be a mapping of names to values, "
                              f"got {params!r}")
        metrics = [metric] if isinstance(metric, str) else list(metric)
        super().__init__(_FixedContext(dict(params), id, max_step), metrics, 0)  # type: ignore[arg-type]
        self.reports: list[tuple[int, dict[str, Any]]] = self.ctx.reports  # type: ignore[attr-defined]

    def _value(self, name: str, param: Param) -> Scalar:
        given = self.ctx.params
        if name not in given:
            raise ConfigError(key=name, message=f"not among the FixedTrial's params "
                              f"{sorted(given)}")
        try:
            return param.validate(given[name])
        except SpaceError as e:
            raise ConfigError(key=name, message=f"the value given for it ({e.message}) does "
                              "not fit the distribution declared here") from None

    def __repr__(self) -> str:
        return f"FixedTrial(id={self.id}, params={self.params!r})"


class _FixedContext:
    """What ``Trial`` reads of a ``TrialContext``, with reports kept instead of sent."""

    fidelity = None
    checkpoint = None
    start_step = 1

    def __init__(self, params: dict[str, Any], trial_id: int, max_step: int) -> None:
        self.params = params
        self.trial_id = trial_id
        self.max_step = max_step
        self.reports: list[tuple[int, dict[str, Any]]] = []

    @property
    def last_step(self) -> int:
        return self.reports[-1][0] if self.reports else 0

    @property
    def has_reported(self) -> bool:
        return bool(self.reports)

    def report(self, step: int, save: SaveFn | None = None, **metrics: Any) -> None:
        if not 0 < step <= self.max_step:
            raise ValueError(f"report(step={step}): steps run from 1 to max_step="
                             f"{self.max_step} (FixedTrial(..., max_step=...))")
        self.reports.append((int(step), metrics))

    def _send_params(self, params: Mapping[str, Any], declared: Mapping[str, Any]) -> None:
        pass  # nothing learns from a FixedTrial


__all__ = ["FixedTrial"]
