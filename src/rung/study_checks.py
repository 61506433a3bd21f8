"""What ``Study.create`` checks and coerces before anything is written: the objective, the
budget, the name, the resources against the budget, and a stored study's settings against the
given ones (``load_if_exists``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rung.core.pricing import check_spendable
from rung.core.records import Budget, Objective, StudySpec
from rung.errors import ConfigError


def as_objective(
    objective: Objective | str | Mapping[str, Any] | None, mode: str | None
) -> Objective:
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, str):
        return Objective(objective, mode or "min")
    if isinstance(objective, Mapping):
        return Objective.from_json(objective)
    raise ConfigError(
        f"objective: expected rung.Objective(metric, mode) or a metric name, got {objective!r}"
    )


def check_given_resources(spec: StudySpec) -> None:
    """Refuse a new study whose ``resources_per_trial`` would never spend its ``max_cost`` /
    ``max_gpu_hours`` (``rung.core.pricing.check_spendable``), before its journal is opened.
    Not checked when a stored spec is read back (``load``); ``run`` / ``simulate`` check
    again for an executor that does not say what a trial holds."""
    if spec.resources_per_trial is not None:
        check_spendable(spec.budget.max_cost, spec.budget.max_gpu_hours, spec.prices,
                        spec.resources_per_trial)


def check_name(name: object) -> None:
    """A new study's name is shown, stored and addressed in the dashboard's URLs: not ``.`` or
    ``..`` (a URL cannot address them) and no NUL or other control character (a journal
    written before this check still loads whatever its name)."""
    if isinstance(name, str) and (name in (".", "..") or not name.isprintable()):
        raise ConfigError(key="name", message=f"must not be '.' or '..' nor hold a control "
                          f"character, got {name!r}")


def check_same_spec(stored: Mapping[str, Any], given: Mapping[str, Any],
                     auto: tuple[bool, bool]) -> None:
    """``Study.create(load_if_exists=True)`` of a stored study: refuse settings that differ
    from the stored ones (they would be silently ignored), naming the first; a component left
    to ``"auto"`` accepts what was stored."""
    skip = {"written_by", "version", "name"}
    skip |= {k for k, a in zip(("searcher", "scheduler"), auto, strict=True) if a}
    for key, value in given.items():
        if key in skip or stored.get(key) == value:
            continue
        raise ConfigError(key=key, message=(
            f"study {given.get('name')!r} exists with {key} {stored.get(key)!r}, not "
            f"{value!r}: Study.load continues it as stored (its settings are fixed when it "
            f"is created), or create it under another name"))


def as_budget(budget: Budget | Mapping[str, Any] | None) -> Budget:
    if budget is None:
        return Budget()
    if isinstance(budget, Budget):
        return budget
    if isinstance(budget, Mapping):
        return Budget.from_json(budget)
    raise ConfigError(f"budget: expected rung.Budget(...) or a mapping, got {budget!r}")


def check_first_rung(spec: StudySpec) -> None:
    """Refuse a new study whose scheduler's ``min_step`` (an integer) is above ``max_step``:
    no rung would ever decide, and ASHA, MO-ASHA and the curve scheduler would silently run
    as FIFO (successive halving and Hyperband refuse it when bound). Only for new studies: a
    stored one still loads."""
    r = spec.scheduler.params.get("min_step")
    if isinstance(r, int) and not isinstance(r, bool) and r > spec.max_step:
        raise ConfigError(key="scheduler.params.min_step", message=(
            f"{r} is above max_step ({spec.max_step}): no rung would ever decide"))


__all__ = ["as_budget", "as_objective", "check_first_rung", "check_given_resources",
           "check_name", "check_same_spec"]
