"""Fixtures of the CLI tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty directory; undo the objective's sys.path / PYTHONPATH changes."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    return tmp_path


#: trials of the ``stored`` study
STORED_TRIALS = 12


@pytest.fixture
def stored(isolated: Path) -> Path:
    """A finished simulated ASHA study ``s`` of ``STORED_TRIALS`` trials in ``s.db``."""
    import rung
    from rung.benchmarks import get_benchmark

    b = get_benchmark("mf-branin", max_step=9)
    path = isolated / "s.db"
    s = rung.Study.create("s", b.space, objective="loss", searcher="random",
                          scheduler=rung.ASHA(reduction_factor=3), max_step=9,
                          budget=rung.Budget(n_trials=STORED_TRIALS), seed=0, storage=path)
    s.simulate(b, n_workers=3, progress=False)
    s.close()
    return path
