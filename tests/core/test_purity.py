"""The core is pure: no clock, no global randomness, no I/O, no storage or executor imports."""

from __future__ import annotations

import ast
from pathlib import Path

import rung.core
from rung import ASHA, Budget, Objective, Study
from rung.storage import MemoryJournal
from rung.testing import ToyBenchmark, default_space, forbid_impurity

CORE = Path(rung.core.__file__).parent
ALLOWED_ROOTS = {
    "__future__",
    "abc",
    "bisect",
    "collections",
    "contextlib",
    "dataclasses",
    "enum",
    "hashlib",
    "heapq",
    "importlib",
    "inspect",
    "itertools",
    "json",
    "math",
    "numbers",  # the numeric ABCs (rung.core.metric_value.is_real): pure
    "typing",
    "numpy",
    "rung",
}
#: ``rung._renamed``: deprecated parameter aliases (stdlib only; its warnings are for what a user
#: writes: a stored spec, replay included, reads silently)
ALLOWED_RUNG = ("rung.core", "rung.space", "rung.errors", "rung._validate", "rung._renamed")


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
    return out


def test_core_imports_only_pure_modules() -> None:
    files = sorted(CORE.glob("*.py"))
    assert len(files) >= 7
    for f in files:
        for mod in imports(f):
            root = mod.split(".")[0]
            assert root in ALLOWED_ROOTS, f"{f.name} imports {mod}"
            if root == "rung":
                assert mod.startswith(ALLOWED_RUNG), f"{f.name} imports {mod}"
            assert mod not in ("numpy.random",) or f.name == "rng.py"


def test_core_source_reads_no_clock_and_no_global_rng() -> None:
    for f in CORE.glob("*.py"):
        src = f.read_text()
        for banned in (
            "time.time",
            "time.monotonic",
            "datetime.now",
            "np.random.seed",
            "np.random.rand(",
            "np.random.random(",
            "random.random",
            "open(",
        ):
            assert banned not in src, f"{f.name} uses {banned}"


def test_a_whole_simulated_run_is_pure() -> None:
    study = Study.create(
        "p",
        default_space(),
        Objective("loss"),
        scheduler=ASHA(3),
        max_step=9,
        budget=Budget(n_trials=40),
        storage=MemoryJournal(),
    )
    with forbid_impurity():
        study.simulate(ToyBenchmark(9), n_workers=4)
    assert len(study.trials()) == 40


def test_the_guard_catches_impurity() -> None:
    import random
    import time

    import numpy as np
    import pytest

    with forbid_impurity():
        for f in (time.time, random.random, np.random.rand):
            with pytest.raises(AssertionError, match="impure"):
                f()
