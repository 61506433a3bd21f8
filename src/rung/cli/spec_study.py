"""The study part of a YAML spec: the ``StudySpec`` that is journaled and replayed.

``study_spec`` reads ``metric``, ``mode``, ``constraints``, ``seed``, ``keep_checkpoints``,
``budget``, ``searcher`` and ``scheduler`` (``auto`` choosing what is not named), plus the cost
keys (``rung.cli.spec_cost``), and checks the result by binding its components to an engine;
``check_reported`` checks that a simulated run's benchmark reports every metric the study reads.
Errors are ``SpecError`` naming the key (``spec.constraints[0].bound``). ``rung.cli.spec``
calls these from ``parse_spec``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rung._extras import missing_package
from rung._validate import check_int
from rung.auto import AUTO, choose, is_auto
from rung.cli.spec_cost import cost_fields
from rung.cli.spec_error import SpecError, kind_of, wrap
from rung.core.budget import BUDGET_KEYS
from rung.core.engine import Engine
from rung.core.records import Budget, Constraint, StudySpec, constraints_from, objectives_from
from rung.core.registry import names, to_spec, unknown_message
from rung.errors import ConfigError
from rung.space import SearchSpace
from rung.study_checks import check_first_rung


def study_spec(
    top: Mapping[str, Any],
    name: str,
    space: SearchSpace,
    max_step: int,
    bench: Any,
    n_workers: int,
) -> tuple[StudySpec, str | None]:
    """The ``StudySpec``, checked by binding its searcher and scheduler to an engine, and the
    reason of the ``auto`` choice (``None`` when the spec names both components)."""
    metric = top.get("metric", bench.metric if bench is not None else None)
    if metric is None:
        raise SpecError("spec.metric", "missing (the reported metric to optimize, e.g. val_loss)")
    if not isinstance(metric, str | list):
        raise SpecError(
            "spec.metric", f"must be a metric name or a list of names, got {kind_of(metric)}"
        )
    mode = top.get("mode", bench.mode if bench is not None else "min")
    if not isinstance(mode, str | list):
        raise SpecError("spec.mode", f"must be min or max (or a list of them), got {mode!r}")
    objectives = wrap(lambda: objectives_from(metric, mode))
    constraints = _constraints(top.get("constraints"))
    seed = check_int("spec.seed", top.get("seed", 0), 0, error=SpecError)
    keep = check_int("spec.keep_checkpoints", top.get("keep_checkpoints", 1), 0,
                     error=SpecError)
    budget = _budget(top.get("budget"))
    named = {k: _component(k, top.get(k)) for k in ("searcher", "scheduler")}
    auto = None
    if any(is_auto(v) for v in named.values()):
        auto = choose(
            space,
            searcher=None if is_auto(named["searcher"]) else
            wrap(lambda: to_spec("searcher", named["searcher"], (AUTO,))),
            scheduler=None if is_auto(named["scheduler"]) else
            wrap(lambda: to_spec("scheduler", named["scheduler"], (AUTO,))),
            max_step=max_step, n_objectives=len(objectives), n_workers=n_workers, budget=budget,
        )
        named = {"searcher": auto.searcher, "scheduler": auto.scheduler}
    searcher = wrap(lambda: to_spec("searcher", named["searcher"], (AUTO,)))
    scheduler = wrap(lambda: to_spec("scheduler", named["scheduler"], (AUTO,)))
    study: StudySpec = wrap(lambda: StudySpec(
        name=name, space=space, objective=objectives[0], searcher=searcher,
        scheduler=scheduler, max_step=max_step, budget=budget, seed=seed, keep_checkpoints=keep,
        objectives=tuple(objectives) if len(objectives) > 1 else (), constraints=constraints,
        max_failures=top.get("max_failures"), trial_timeout=top.get("trial_timeout"),
        **cost_fields(top),
    ))
    engine: Engine = wrap(lambda: _bind(study))  # binding checks component params
    # what Study.create checks of a new study; it warns when rung run creates it (once)
    wrap(lambda: check_first_rung(study, warn=False))
    if budget.unlimited and not engine.searcher.exhausts:
        raise SpecError(
            "spec.budget", "missing: a run needs a limit (n_trials, max_time, max_steps, "
            "max_cost or max_gpu_hours)"
        )
    return study, None if auto is None else auto.reason


def _bind(study: StudySpec) -> Engine:
    """``Engine.from_spec(study)``. A component that fails to bind with anything but a
    ``ConfigError`` has a defect this spec reaches: say so in one line, with what to report,
    instead of a traceback (``rung run`` has written nothing yet). A package that is not
    installed is no defect: one line naming the extra that installs it (``missing_package``)."""
    try:
        return Engine.from_spec(study)
    except (ConfigError, MemoryError, RecursionError):
        raise
    except Exception as e:
        what = f"searcher {study.searcher.name!r} and scheduler {study.scheduler.name!r}"
        missing = missing_package(e) if isinstance(e, ImportError) else None
        if missing is not None:
            raise SpecError("spec", f"binding the {what} to this spec failed: {missing}") from e
        first = (str(e).strip().splitlines() or [""])[0]
        raise SpecError("spec", f"binding the {what} to this spec failed: "
                        f"{type(e).__name__}{': ' + first if first else ''} (a defect of rung: "
                        "please report it with this spec)") from e


def check_reported(study: StudySpec, bench: Any) -> None:
    """A simulated run knows what its benchmark takes and reports: the spec's space must have
    the benchmark's parameters and no other (a missing one fails every trial, an extra one is
    a dimension the benchmark never reads), and every objective and constraint metric must be
    among what it reports (a constraint on a metric never reported would make every trial
    infeasible)."""
    import numpy as np

    from rung.benchmarks.base import space_mismatch

    problem = space_mismatch(bench, study.space)
    if problem is not None:
        raise SpecError("spec.space", f"{problem}; leave space out to search the benchmark's own")

    try:
        params = bench.space.sample(np.random.default_rng(0))
        reported = set(bench.evaluate(params, 1)[0])
    except Exception:  # a benchmark that cannot be probed is checked at run time
        return
    known = ", ".join(sorted(reported))
    objectives = study.objectives or (study.objective,)
    for i, o in enumerate(objectives):
        if o.metric not in reported:
            key = f"spec.metric[{i}]" if study.objectives else "spec.metric"
            raise SpecError(key, f"the benchmark never reports {o.metric!r} (it reports: {known})")
    for i, c in enumerate(study.constraints):
        if c.metric not in reported:
            raise SpecError(f"spec.constraints[{i}].metric",
                            f"the benchmark never reports {c.metric!r} (it reports: {known})")


def _budget(value: Any) -> Budget:
    if value is not None and not isinstance(value, Mapping):
        raise SpecError("spec.budget", f"must be a mapping of {', '.join(BUDGET_KEYS)}, "
                        f"got {kind_of(value)}")
    budget: Budget = wrap(lambda: Budget.from_json(value))
    return budget


def _constraints(value: Any) -> tuple[Constraint, ...]:
    """``constraints`` (``rung.core.records.constraints_from``), keyed under ``spec.``."""
    constraints: tuple[Constraint, ...] = wrap(lambda: constraints_from(value))
    return constraints


def _component(kind: str, value: Any) -> Any:
    if value is None:
        return AUTO
    if isinstance(value, str):
        _known(f"spec.{kind}", kind, value)
        return value
    if isinstance(value, Mapping):
        params = value.get("params")
        if params is not None and not isinstance(params, Mapping):
            raise SpecError(f"spec.{kind}.params", f"must be a mapping, got {kind_of(params)}")
        _known(f"spec.{kind}", kind, value.get("name"))
        return value
    raise SpecError(f"spec.{kind}", f"must be a name or {{name: ..., params: {{...}}}}, "
                    f"got {kind_of(value)}")


def _known(key: str, kind: str, name: Any) -> None:
    """A component name that is neither registered nor ``auto``: the registry's one message
    for it, ``auto`` listed and suggested with the registered names (``unknown searcher 'aut'
    (did you mean 'auto'?) (known: auto, bohb, ...)``). A name that is no text is
    ``to_spec``'s to refuse."""
    if isinstance(name, str) and name != AUTO and name not in names(kind):
        raise SpecError(key, unknown_message(kind, name, also=(AUTO,)))


__all__ = ["check_reported", "study_spec"]
