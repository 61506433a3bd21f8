"""Fixtures of the searcher tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _no_global_rng(monkeypatch: pytest.MonkeyPatch) -> None:
    """Searchers must draw only from ``request.rng``: make the global generators raise."""

    def boom(*a: Any, **k: Any) -> Any:
        raise AssertionError("global random state used")

    for name in ("random", "rand", "randn", "normal", "uniform", "choice", "randint"):
        monkeypatch.setattr(np.random, name, boom)
