"""rung's methods in ``bench_allocation``: named ones (``RUNG_METHODS``) and variants written
``BASE:key=value:...`` (``asha:min_step=9``, ``asha:min_step=auto:variant=promotion``, ``asha+gp:s.min_points=10``
(``s.`` marks a searcher parameter),
``ahb:min_step=auto``, ``curve:min_step=9``, ``curve+tpe``): ``ASHA`` / ``AsyncHyperband`` /
``CurveASHA`` with reduction factor 3 and those keyword arguments, on the random searcher unless
the base ends in ``+tpe`` / ``+gp``. The variants are what ``bench_curve.py`` measured before it
was merged here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from allocation.regret import Obs
from allocation.tasks import ETA, Problem
from rung import Budget, Objective, Study
from rung.schedulers import (
    ASHA,
    AsyncHyperband,
    CurveASHA,
    Hyperband,
    MedianStoppingRule,
)
from rung.storage import MemoryJournal

REFERENCE = "random+fifo"
DEFAULT = "default"
VARIANT_BASES: dict[str, Any] = {"asha": ASHA, "ahb": AsyncHyperband, "curve": CurveASHA}


def rung_asha(searcher: str, variant: str = "stopping") -> dict[str, Any]:
    return {"searcher": searcher, "scheduler": ASHA(ETA, variant=variant)}


RUNG_METHODS: dict[str, Callable[[], dict[str, Any]]] = {
    DEFAULT: lambda: {},  # Study.create's own choice
    REFERENCE: lambda: {"searcher": "random", "scheduler": "fifo"},
    "asha": lambda: rung_asha("random"),
    "asha-promotion": lambda: rung_asha("random", "promotion"),
    "hyperband": lambda: {"searcher": "random", "scheduler": Hyperband(ETA)},
    "async-hyperband": lambda: {"searcher": "random", "scheduler": AsyncHyperband(ETA)},
    "bohb": lambda: {"searcher": "bohb", "scheduler": Hyperband(ETA)},
    "bohb+asha": lambda: rung_asha("bohb"),
    "tpe+asha": lambda: rung_asha("tpe"),
    "gp+asha": lambda: rung_asha("gp"),
    "median": lambda: {"searcher": "random",
                       "scheduler": MedianStoppingRule(min_step=3, min_trials=3)},
    "curve": lambda: {"searcher": "random", "scheduler": CurveASHA(ETA)},
    "asha-auto": lambda: {"searcher": "random", "scheduler": ASHA(ETA, min_step="auto")},
}


def run_rung(method: str, p: Problem, workers: int, seed: int) -> dict[str, Any]:
    horizon = p.budget / workers
    study = Study.create(
        method, p.space, Objective(p.metric, p.bench.mode), max_step=p.max_step,
        budget=Budget(max_time=horizon), seed=seed, storage=MemoryJournal(),
        n_workers=workers,  # what `auto` chooses from, as rung.run(n_workers=...) tells it
        **study_args(method),
    )
    study.simulate(p.bench, n_workers=workers)
    params: dict[int, Mapping[str, Any]] = {}
    obs: list[Obs] = []
    for t in study.trials():
        params[t.id] = t.params
        for r in t.results:
            v = r.metrics.get(p.metric)
            if v is not None:
                obs.append((float(r.time), t.id, r.step, p.sign * float(v)))
    spec = study.spec
    return {"obs": obs, "params": params, "busy": float(study.last_executor.busy_time),
            "chosen": f"{spec.searcher.name}+{spec.scheduler.name}"}


def is_variant(method: str) -> bool:
    """``method`` is a variant ``BASE[+searcher][:key=value...]`` (module docstring)."""
    return method not in RUNG_METHODS and method.split(":")[0].partition("+")[0] in VARIANT_BASES


def variant(method: str) -> dict[str, Any]:
    """The study arguments of a variant (see the module docstring)."""
    base, *pairs = method.split(":")
    name, _, searcher = base.partition("+")
    kwargs: dict[str, Any] = {}
    skw: dict[str, Any] = {}
    for pair in pairs:
        k, _, v = pair.partition("=")
        val = (float(v) if "." in v else int(v)) if v.lstrip("-")[:1].isdigit() else v
        if k.startswith("s."):  # a searcher parameter: asha+gp:s.min_points=10
            skw[k[2:]] = val
        else:
            kwargs[k] = val
    s: Any = searcher or "random"
    if skw:
        s = {"name": s, "params": skw}
    return {"searcher": s, "scheduler": VARIANT_BASES[name](ETA, **kwargs)}


def study_args(method: str) -> dict[str, Any]:
    return RUNG_METHODS[method]() if method in RUNG_METHODS else variant(method)
