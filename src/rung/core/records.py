"""Value types of a study: statuses, results, trials, objectives, budgets and the study spec.

``Budget`` is ``rung.core.budget`` and ``Constraint`` ``rung.core.constraints``; both are
re-exported here.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any

from rung._renamed import COMPONENTS, rename
from rung._validate import (
    MAX_STEP,
    check_choice,
    check_int,
    check_positive,
    is_int,
    is_number,
)
from rung.core.budget import Budget as Budget  # re-exported: Budget lived here
from rung.core.constraints import Constraint as Constraint  # re-exported: it lived here
from rung.core.constraints import constraints_from as constraints_from
from rung.core.frozen import record
from rung.core.metric_value import as_float, is_real, metric_problem
from rung.core.peer_names import TRIAL, missing
from rung.core.pricing import check_table
from rung.core.spec_extras import check_extensions, extensions_from_json, extensions_json
from rung.core.versions import Versions, current
from rung.errors import ConfigError
from rung.space import Fidelity, SearchSpace

SPEC_VERSION = 1


class TrialStatus(enum.StrEnum):
    """Where a trial is in its life. ``LAUNCHED`` means a ``Launch`` command was issued and no
    worker has started it yet. ``PAUSED`` and ``INTERRUPTED`` trials may be resumed; the rest of
    the non-active statuses are final."""

    LAUNCHED = "launched"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def active(self) -> bool:
        return self in (TrialStatus.LAUNCHED, TrialStatus.RUNNING)

    @property
    def final(self) -> bool:
        return self in _FINAL


class Outcome(enum.StrEnum):
    """How a run of a trial ended (``TrialEnded.outcome``)."""

    COMPLETED = "completed"
    STOPPED = "stopped"
    PAUSED = "paused"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def status(self) -> TrialStatus:
        return _STATUS_OF[self]


_FINAL = frozenset({TrialStatus.COMPLETED, TrialStatus.STOPPED, TrialStatus.FAILED})
_STATUS_OF = {o: TrialStatus(o.value) for o in Outcome}


@record
class Result:
    """One intermediate (or final) result: ``step`` is the fidelity axis (epochs, rounds, ...)."""

    step: int
    metrics: Mapping[str, float]
    time: float


@record
class Checkpoint:
    """A saved trial state: the step it was taken at and where it lives (relative to the
    study's checkpoint directory, or any URI an executor understands)."""

    step: int
    path: str


@record
class Trial:
    """An immutable snapshot of a trial, as read from ``History``.

    ``score`` is the lower-is-better score of the result at the trial's highest step (``inf``
    when it has no result or its metric is missing or not finite); ``value`` is the objective
    metric there, in its own direction (an accuracy of 0.94 under ``mode="max"`` has value
    0.94 and score -0.94), ``None`` when it has none. ``error`` says why the trial failed (or
    its last run was interrupted). ``checkpoint`` is the trial's latest one (or the donor's a
    fork starts from) while it is on disk: ``None`` once the checkpoint lifecycle deleted it
    (``keep_checkpoints``: a finished trial outside the best kept, or one stopped early)."""

    id: int
    params: Mapping[str, Any]
    status: TrialStatus
    results: tuple[Result, ...] = ()
    checkpoint: Checkpoint | None = None
    parent_id: int | None = None
    tags: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    score: float = math.inf
    value: float | None = None

    @property
    def last_step(self) -> int:
        return max((r.step for r in self.results), default=0)

    @property
    def last_result(self) -> Result | None:
        return self.results[-1] if self.results else None

    @property
    def metrics(self) -> Mapping[str, float]:
        """Metrics of the result at the highest step (empty if there is none)."""
        best: Result | None = None
        for r in self.results:
            if best is None or r.step >= best.step:
                best = r
        return best.metrics if best is not None else {}

    if not TYPE_CHECKING:  # (mypy would take any attribute name for one of a Trial's)

        def __getattr__(self, name: str) -> Any:
            # only for a missing attribute: Optuna's and Ray Tune's names say what to write
            return missing(self, name, TRIAL)

    def __repr__(self) -> str:
        """One short line (the dataclass's repr held every result: 10,000 characters for 100
        steps of 3 metrics): ``Trial(3, completed, params={'lr': 0.01, 'n': 2}, loss=0.1234 at
        step 27, 27 results)``. The metrics are those at the trial's highest step (``metrics``),
        the objective's first when the trial's ``value`` names it (the one metric equal to it),
        at most three of them; params are cut after about 80 characters (``... 7 more``); a
        fork names its parent, a failed or interrupted trial the last line of its error
        (``rung.core.trial_repr``). Equality, pickling and the fields are the dataclass's."""
        from rung.core.trial_repr import trial_repr

        return trial_repr(self)


class Mode(enum.StrEnum):
    MIN = "min"
    MAX = "max"


@record
class Objective:
    """The metric a study optimizes and its direction.

    ``score(metrics)`` turns reported metrics into one lower-is-better number: the metric for
    ``mode="min"``, its negation for ``"max"``. A missing, NaN or infinite metric, or one that
    is not a real number (``rung.core.metric_value.is_real``: a ``bool`` is not), scores
    ``inf`` (the worst possible); an int too large for a float is the infinity of its sign.

    ``nan`` says what such a result does to its trial: ``"fail"`` (the default) ends the trial
    ``failed`` with an error naming the metric and the step (``"metric 'loss' is nan at step
    3"``), and the result is never ranked; ``"worst"`` keeps the trial running with the result
    scored as the worst possible (``inf``), for a search that expects some configurations to
    diverge and wants them ranked last rather than failed.
    """

    metric: str
    mode: str = "min"
    nan: str = "fail"

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric.strip():
            raise ConfigError(
                key="objective.metric", message=f"must be a non-empty string, got {self.metric!r}"
            )
        if self.metric != self.metric.strip():  # (reported as 'loss', never found)
            raise ConfigError(key="objective.metric", message=(
                f"must not start or end with a space, got {self.metric!r}"))
        for name in ("mode", "nan"):  # a str subclass (NumPy's np.str_) as the string it is
            value = getattr(self, name)
            if isinstance(value, str) and type(value) is not str:
                object.__setattr__(self, name, str(value))
        check_choice("objective.mode", self.mode, _MODES)
        check_choice("objective.nan", self.nan, _NAN_POLICIES)

    def problem(self, metrics: Mapping[str, Any]) -> str | None:
        """Why ``metrics`` cannot be scored (``"metric 'loss' is nan"``), ``None`` if they can.
        A missing metric whose name is reported metrics joined by commas (``metric: "loss,
        acc"``, one metric of that name) is told how to give several objectives."""
        name = self.metric
        if name not in metrics:
            have = ", ".join(repr(k) for k in list(metrics)[:5]) or "none"
            return f"metric {name!r} was not reported (reported: {have}){list_hint(name, metrics)}"
        return metric_problem(name, metrics[name])

    def score(self, metrics: Mapping[str, Any]) -> float:
        v = metrics.get(self.metric)
        if type(v) is float:  # the common case, on every report's hot path
            if v - v != 0.0:  # NaN or infinite
                return math.inf
            return v if self.mode == "min" else -v
        if not is_real(v):  # missing, a bool, a string, ... (rung.core.metric_value)
            return math.inf
        x = as_float(v)  # ints (one too large for a float: inf), floats, numpy scalars
        if not math.isfinite(x):
            return math.inf
        return x if self.mode == "min" else -x

    def value(self, score: float) -> float:
        """Invert ``score``: the metric value a score stands for."""
        return score if self.mode == "min" else -score

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "mode": self.mode, "nan": self.nan}

    @classmethod
    def from_json(cls, d: Mapping[str, Any], nan: str = "fail") -> Objective:
        """``nan``: the policy when ``d`` names none (a journal written before the policy
        existed reads back as ``"worst"``, what its trials were run with)."""
        return cls(str(d["metric"]), str(d.get("mode", "min")), str(d.get("nan", nan)))


def list_hint(name: str, metrics: Mapping[str, Any]) -> str:
    """For a metric ``name`` not in ``metrics``: `` (for several objectives, give a list: [loss,
    acc])`` when it is names of reported metrics joined by commas (``metric: "loss, acc"``
    is one metric of that name: a name may hold a comma), else ``""``."""
    parts = [p.strip() for p in name.split(",")]
    if len(parts) > 1 and all(p in metrics for p in parts):
        return f" (for several objectives, give a list: [{', '.join(parts)}])"
    return ""


_MODES = ("min", "max")
_NAN_POLICIES = ("fail", "worst")


def objectives_from(
    metric: str | Sequence[str], mode: str | Sequence[str] = "min"
) -> list[Objective]:
    """Objectives from a metric name (or a list of them) and a mode (or one mode per metric).
    Raises ``ConfigError`` naming ``metric`` / ``mode`` (with the index) when they do not fit."""
    metrics = [metric] if isinstance(metric, str) else list(metric)
    if not metrics:
        raise ConfigError(key="metric", message="the list of metrics is empty")
    if isinstance(mode, str):
        modes = [mode] * len(metrics)
    else:
        modes = list(mode)
        if len(modes) != len(metrics):
            raise ConfigError(
                key="mode",
                message=f"{_count(len(modes), 'mode')} for {_count(len(metrics), 'metric')} "
                f"{metrics} (give one mode, or one per metric)",
            )
    out: list[Objective] = []
    for i, (m, d) in enumerate(zip(metrics, modes, strict=True)):
        where = "" if isinstance(metric, str) else f"[{i}]"
        if not isinstance(m, str) or not m:
            raise ConfigError(
                key=f"metric{where}", message=f"must be a non-empty string, got {m!r}"
            )
        d = check_choice("mode" if isinstance(mode, str) else f"mode[{i}]", d, _MODES)
        out.append(Objective(m, d))
    _check_distinct(metrics, "metric")
    return out


def _count(n: int, noun: str) -> str:
    """``"1 metric"``, ``"2 metrics"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _check_distinct(metrics: Sequence[str], key: str) -> None:
    """``ConfigError`` keyed ``<key>[j]`` for the first metric that an earlier objective
    (``<key>[i]``) has already: each objective is scored on a metric of its own."""
    first: dict[str, int] = {}
    for j, m in enumerate(metrics):
        i = first.setdefault(m, j)
        if i != j:
            what = (f"{m!r} is given twice (as {key}[{i}] too)" if key == "metric"
                    else f"metric {m!r} is {key}[{i}]'s too")
            raise ConfigError(key=f"{key}[{j}]",
                              message=f"{what}: each objective needs a metric of its own")


@record
class ComponentSpec:
    """A searcher or scheduler persisted as a plain value: registry name and constructor params."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "params": dict(self.params)}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ComponentSpec:
        return cls(str(d["name"]), dict(d.get("params", {})))


def _stored(kind: str, d: Mapping[str, Any]) -> ComponentSpec:
    """A stored component: a deprecated parameter alias (``rung._renamed``) reads silently
    as rung's name, so the study replays and compares as one written with it."""
    spec = ComponentSpec.from_json(d)
    aliases = COMPONENTS.get((kind, spec.name))
    if aliases:
        spec = ComponentSpec(spec.name, rename(spec.params, aliases, f"{kind}.params.",
                                               f"{kind}.params", warn=False))
    return spec


@record
class StudySpec:
    """Everything that defines a study; stored once, as JSON, when the study is created.

    ``keep_checkpoints`` is how many of the best finished trials keep their final checkpoint
    (the others' are deleted when they end; paused and interrupted trials always keep theirs).

    ``objectives`` lists every objective of a multi-objective study (``objective`` is then the
    first, and remains the one the scalar ``score`` and single-objective schedulers use);
    ``constraints`` are outcome constraints. Both are empty for a plain study, and are written
    to JSON only when non-empty, so older specs read back unchanged.

    ``max_failures`` stops a run early (``RunFailed``) once that many trials failed (an
    integer >= 1) or that fraction of the ended trials did (a float in (0, 1), checked once
    at least 5 trials ended). ``trial_timeout``: seconds a run of one trial may take before its
    worker is killed and the trial fails with reason ``timeout``. Both are written to JSON only
    when set.

    ``prices`` (money per device-hour, see ``rung.Prices``) and ``resources_per_trial`` (the
    devices one trial holds, used when the executor does not say; default one CPU) make the
    cost model; both are written to JSON only when set. A budget the trials would never spend
    (``rung.core.pricing.check_spendable``) is refused where a study is created or run, not
    here: a stored spec must read back whatever rules came later.

    ``written_by`` is the code that wrote the journal (``rung.core.versions``): set when the spec
    is read from one (``LEGACY`` if the journal predates version records), ``None`` for a new
    spec, whose JSON records the running code's versions. It takes no part in equality.
    """

    name: str
    space: SearchSpace
    objective: Objective
    searcher: ComponentSpec
    scheduler: ComponentSpec
    max_step: int = 1
    budget: Budget = field(default_factory=Budget)
    seed: int = 0
    keep_checkpoints: int = 1
    objectives: tuple[Objective, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    max_failures: int | float | None = None
    trial_timeout: float | None = None
    prices: Mapping[str, float] = field(default_factory=dict)
    resources_per_trial: Mapping[str, float] | None = None
    written_by: Versions | None = field(default=None, compare=False)
    # issue 18 (define-by-run, enqueued configurations, fidelity): written to JSON only when set
    fidelity: Fidelity | None = None
    define_by_run: bool = False
    points_to_evaluate: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.objectives and self.objectives[0] != self.objective:
            raise ConfigError(key="objective", message="must be the first of objectives")
        _check_distinct([o.metric for o in self.objectives], "objective")
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(key="name", message=f"must be a non-empty string, got {self.name!r}")
        # the JSON form needs Python ints: keep the checked (normalized) values
        for key, low, high in (
            ("keep_checkpoints", 0, None), ("max_step", 1, MAX_STEP), ("seed", 0, None)
        ):
            object.__setattr__(self, key, check_int(key, getattr(self, key), low, high))
        if self.trial_timeout is not None:
            object.__setattr__(self, "trial_timeout",
                               float(check_positive("trial_timeout", self.trial_timeout)))
        mf = self.max_failures
        if mf is not None:
            if is_int(mf) and mf >= 1:
                object.__setattr__(self, "max_failures", int(mf))
            elif is_int(mf) or not is_number(mf) or not 0.0 < float(mf) < 1.0:
                raise ConfigError(key="max_failures", message="must be an integer >= 1 (a "
                                  f"count) or a number in (0, 1) (a fraction), got {mf!r}")
            else:
                object.__setattr__(self, "max_failures", float(mf))
        check_extensions(self)
        prices = self.prices.to_json() if hasattr(self.prices, "to_json") else self.prices
        object.__setattr__(self, "prices", check_table(prices, "prices"))
        if self.resources_per_trial is not None:
            object.__setattr__(self, "resources_per_trial",
                               check_table(self.resources_per_trial, "resources_per_trial"))
        if self.budget.max_cost is not None and not self.prices:
            raise ConfigError(key="budget.max_cost", message="needs prices (money per "
                              "device-hour, e.g. prices={'cpu': 0.04}): without them nothing "
                              "costs money")

    def versions(self) -> Versions:
        """``written_by`` for a spec read from a journal; the running code's versions of its
        components for a new one."""
        if self.written_by is not None:
            return self.written_by
        from rung.core.registry import lookup  # the registry imports this module

        searcher = lookup("searcher", self.searcher.name)
        rule = self.budget.stop
        return current(searcher, lookup("scheduler", self.scheduler.name),
                       None if rule is None else lookup("stop_rule", rule.name))

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SPEC_VERSION,
            "name": self.name,
            "space": self.space.to_json(),
            "objective": self.objective.to_json(),
            "searcher": self.searcher.to_json(),
            "scheduler": self.scheduler.to_json(),
            "max_step": self.max_step,
            "budget": self.budget.to_json(),
            "seed": self.seed,
            "keep_checkpoints": self.keep_checkpoints,
            "written_by": self.versions().to_json(),
        } | ({"objectives": [o.to_json() for o in self.objectives]} if self.objectives else {}) \
          | ({"constraints": [c.to_json() for c in self.constraints]} if self.constraints else {}) \
          | ({"max_failures": self.max_failures} if self.max_failures is not None else {}) \
          | ({"trial_timeout": self.trial_timeout} if self.trial_timeout is not None else {}) \
          | ({"prices": dict(self.prices)} if self.prices else {}) \
          | ({"resources_per_trial": dict(self.resources_per_trial)}
             if self.resources_per_trial is not None else {}) \
          | extensions_json(self)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> StudySpec:
        version = d.get("version", SPEC_VERSION)
        if version != SPEC_VERSION:
            raise ConfigError(
                key="version", message=f"study spec version {version!r} is not supported"
            )
        return cls(
            name=str(d["name"]),
            space=(SearchSpace.from_json(d["space"]) if d["space"] or not d.get("define_by_run")
                   else SearchSpace.empty()),
            objective=Objective.from_json(d["objective"], nan="worst"),
            searcher=_stored("searcher", d["searcher"]),
            scheduler=_stored("scheduler", d["scheduler"]),
            max_step=int(d.get("max_step", 1)),
            budget=Budget.from_json(d.get("budget")),
            seed=int(d.get("seed", 0)),
            keep_checkpoints=int(d.get("keep_checkpoints", 1)),
            objectives=tuple(
                Objective.from_json(o, nan="worst") for o in d.get("objectives", ())
            ),
            constraints=tuple(Constraint.from_json(c) for c in d.get("constraints", ())),
            max_failures=d.get("max_failures"),
            trial_timeout=d.get("trial_timeout"),
            prices=d.get("prices") or {},
            resources_per_trial=d.get("resources_per_trial"),
            written_by=Versions.from_json(d.get("written_by")),
            **extensions_from_json(d),
        )
