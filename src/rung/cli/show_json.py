"""``rung show NAME --json``: what ``rung show`` says of a study, as one JSON object.

The same facts as the text (``rung.cli.report.show_text``), from the same study (loaded
read-only once, ``open_study``), under the keys ``SHOW_KEYS``, in that order; docs/dashboard.md
("Machine-readable output") describes each. Numbers are JSON numbers, a value that is not
finite (NaN, an infinity) is ``null``, params are as the trial holds them; the rung occupancy,
diagnostics and executor sessions stay text only (``rung show``, ``rung ledger --json``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rung.core.records import Trial
from rung.study import Study

#: the keys of ``rung show --json``'s object, in order
SHOW_KEYS = ["study", "storage", "state", "running", "objectives", "constraints", "max_step",
             "seed", "searcher", "scheduler", "budget", "budget_state", "budget_left", "spent",
             "trials", "by_status", "results", "steps_consumed", "elapsed", "time_kind",
             "checkpoints", "best", "pareto_front", "failures", "best_trials"]


def show_json(name: str, storage: str | None, top: int = 10) -> dict[str, Any]:
    """``rung show NAME [--storage ...] [--top K] --json``'s object (``show_object``).

    Raises:
        CLIError: no journal, or no such study in it (exit code 2).
    """
    from rung.cli.main import find_storage
    from rung.cli.stored import open_study

    path = find_storage(name, storage)
    with open_study(path, name) as study:
        return show_object(study, str(path), top=top)


def show_object(study: Study, where: str, top: int = 10) -> dict[str, Any]:
    """What ``rung show`` prints of ``study`` (journal ``where``), keyed by ``SHOW_KEYS``;
    ``best_trials`` holds the ``top`` best (``rung.cli.report.top_trials``)."""
    from rung.cli.component_settings import settings
    from rung.cli.report import _budget_state, counts, top_trials
    from rung.core.budget import Usage, spend_text
    from rung.reporter import failure_kind
    from rung.study_views import study_state
    from rung.time_kind import time_kind

    spec = study.spec
    s = study.summary()
    h = study.history
    running = bool(study.journal.is_being_written(study.name))
    objs = spec.objectives or (spec.objective,)

    def component(kind: str, c: Any) -> dict[str, Any]:
        shown = {k for k, _ in settings(kind, c)}  # the settings rung show names
        return {"name": c.name, "params": {k: v for k, v in c.params.items() if k in shown}}

    best = study.best_trial
    failed = study.trials("failed")
    groups: dict[str, list[Trial]] = {}
    for t in failed:
        groups.setdefault(failure_kind(_error_line(t.error)), []).append(t)
    out: dict[str, Any] = {
        "study": study.name,
        "storage": where,
        "state": study_state(study.engine, study.journal.load_study(study.name), running),
        "running": running,
        "objectives": [{"metric": o.metric, "mode": o.mode} for o in objs],
        "constraints": [{"metric": c.metric, "op": c.op, "bound": _num(c.bound)}
                        for c in spec.constraints],
        "max_step": spec.max_step,
        "seed": spec.seed,
        "searcher": component("searcher", spec.searcher),
        "scheduler": component("scheduler", spec.scheduler),
        "budget": {k: v for k, v in spec.budget.to_json().items() if v is not None},
        "budget_state": _budget_state(s, study),
        "budget_left": bool(s["budget_left"]),
        "spent": spend_text(spec.budget, Usage.of(study.engine), ends=False),
        "trials": s["trials"],
        "by_status": counts(h),
        "results": s["results"],
        "steps_consumed": s["steps_consumed"],
        "elapsed": _num(s["elapsed"]),
        "time_kind": time_kind(study._journal_records()),
        "checkpoints": s["checkpoints"],
        "best": (None if best is None or not math.isfinite(best.score)
                 else {**_trial(study, best), "metric": spec.objective.metric}),
        "pareto_front": ([_trial(study, t) for t in study.pareto_front()]
                         if spec.objectives else None),
        "failures": [{"kind": kind, "count": len(ts), "trials": [t.id for t in ts],
                      "last": _error_line(ts[-1].error)}
                     for kind, ts in sorted(groups.items(), key=lambda kv: -len(kv[1]))],
        "best_trials": [_trial(study, t) for t in top_trials(study, top)],
    }
    cleaned: dict[str, Any] = _clean(out)
    return cleaned


def _trial(study: Study, t: Trial) -> dict[str, Any]:
    """A trial as ``rung show`` lists it: id, status, last step, its value (``values`` by
    metric, for several objectives), whether it meets the constraints (``None`` without
    any), params."""
    spec = study.spec
    row: dict[str, Any] = {"trial": t.id, "status": t.status.value, "step": t.last_step}
    if spec.objectives:
        row["values"] = {o.metric: o.value(v) for o, v in
                         zip(spec.objectives, study.history.values(t.id), strict=True)}
    else:
        row["value"] = t.value
    row["feasible"] = study.feasible(t.id) if spec.constraints else None
    row["params"] = dict(t.params)
    return row


def _error_line(error: str | None) -> str:
    from rung.reporter import error_summary

    return error_summary(error) if error and error.strip() else "(no error text)"


def _num(x: Any) -> Any:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else x


def _clean(value: Any) -> Any:
    """``value`` with every float that is not finite as ``None`` (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


__all__ = ["SHOW_KEYS", "show_json", "show_object"]
