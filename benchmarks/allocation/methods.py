"""Every method ``bench_allocation`` can run: rung's (named or a variant) and the peers', each
with the package family that must be importable for it to run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allocation.asktell import run_ask_tell
from allocation.rung_methods import RUNG_METHODS, is_variant, run_rung
from allocation.syne import _syne_imports, run_syne
from allocation.tasks import Problem

Runner = Callable[[str, Problem, int, int], dict[str, Any]]

# name -> (family, runner); adding a method is one line
METHODS: dict[str, tuple[str, Runner]] = {
    **{m: ("rung", run_rung) for m in RUNG_METHODS},
    "st-random": ("syne_tune", run_syne),
    "st-asha": ("syne_tune", run_syne),
    "st-hyperband": ("syne_tune", run_syne),
    "st-bohb": ("syne_tune", run_syne),
    "st-median": ("syne_tune", run_syne),
    "optuna-tpe+hyperband": ("optuna", run_ask_tell),
    "optuna-tpe+sh": ("optuna", run_ask_tell),
    "dehb": ("dehb", run_ask_tell),
}
NOT_RUN = (
    "Syne Tune 0.16 ships no synchronous Hyperband, MOBSTER, HyperTune or DEHB any more (its "
    "Hyperband is ASHA with brackets, run as st-hyperband); ASHABORE needs xgboost (a CUDA "
    "stack), BOTorch and EHVI need torch + botorch, CQR/BORE/REA/TPE are single-fidelity."
)


def known(method: str) -> bool:
    return method in METHODS or is_variant(method)


def family(method: str) -> str:
    return "rung" if is_variant(method) else METHODS[method][0]


def runner(method: str) -> Runner:
    return run_rung if is_variant(method) else METHODS[method][1]


def is_rung(method: str) -> bool:
    return family(method) == "rung"


def available(fam: str) -> bool:
    """The family's package imports (rung's always does)."""
    if fam == "rung":
        return True
    try:
        if fam == "syne_tune":
            _syne_imports()
        else:
            __import__(fam)
    except Exception:
        return False
    return True
