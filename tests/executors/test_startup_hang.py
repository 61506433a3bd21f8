"""A run whose workers never load the objective (its module's import hangs in every worker) is
bounded: ``trial_timeout``, else the session's ``max_time``, ends it with a ``RungError`` that
says so, the journal intact; a wait nothing bounds is told once (``startup_watch``). Found by
an audit: such a run ran on until killed, "running 2" in its progress, whatever its
``trial_timeout`` and ``max_time``. Wall-clock assertions are bounds, never speeds."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rung
from rung import Budget, Float, Objective, Study
from rung.errors import RungError
from rung.executors.startup_watch import StartupWatch

# the driver imports the module first and writes its pid; every other process that imports it
# (a spawned worker) sleeps there, as an import would on a stuck network mount
HANGS = """\
import os, time
_marker = {marker!r}
if os.path.exists(_marker) and open(_marker).read() != str(os.getpid()):
    time.sleep(10_000)
with open(_marker, "w") as f:
    f.write(str(os.getpid()))

def train(ctx):
    ctx.report(1, loss=ctx.params["x"])
"""


@pytest.fixture
def hanging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    (tmp_path / "hangs_at_import.py").write_text(HANGS.format(marker=str(tmp_path / "pid")))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    import hangs_at_import

    yield hangs_at_import.train
    sys.modules.pop("hangs_at_import", None)


def _study(tmp_path: Path, budget: Budget, **kw: Any) -> Study:
    return Study.create("h", {"x": Float(0.0, 1.0)}, Objective("loss"), searcher="random",
                        scheduler="fifo", max_step=1, budget=budget, seed=0,
                        storage=tmp_path / "h.db", **kw)


@pytest.mark.parametrize(("kw", "budget", "bound"), [
    ({"trial_timeout": 1.5}, Budget(n_trials=4), "trial_timeout (1.5 s)"),
    ({}, Budget(n_trials=4, max_time=1.5), "max_time (1.5 s)"),
])
def test_workers_that_never_load_the_objective_end_the_run(
    tmp_path: Path, hanging: Any, kw: dict[str, Any], budget: Budget, bound: str
) -> None:
    study = _study(tmp_path, budget, **kw)
    t0 = time.monotonic()
    with pytest.raises(RungError) as e:
        study.run(hanging, n_workers=2, start_method="spawn", progress=False)
    assert time.monotonic() - t0 < 1.5 + 15  # start-up of spawn workers included
    assert str(e.value) == (
        f"no worker process loaded the objective hangs_at_import.train within {bound}: "
        "importing its module (or what it loads at import) does not end; the trials that "
        "waited were never started")
    again = Study.load("h", storage=tmp_path / "h.db")
    assert len(again.trials()) == 2  # launched, never started: resumed as interrupted


def test_the_watch_warns_once_then_ends_and_forgets_a_ready_session() -> None:
    w = StartupWatch("m.train", trial_timeout=None, max_time=0.3, grace=0.1, warn_after=0.1)
    assert w.limit == pytest.approx(0.4) and w.key == "max_time (0.3 s)"
    assert w.check(True, False, None) == pytest.approx(0.1, abs=0.05)  # wakes to warn
    assert w.check(False, False, 5.0) == 5.0  # nothing waits: nothing to do
    time.sleep(0.12)
    wait = w.check(True, False, 10.0)
    assert w.lines == ["no worker process has loaded the objective m.train after 0 s; is its "
                       "import stuck? the run ends at max_time (0.3 s)"]
    assert wait is not None and 0.2 <= wait <= 0.3
    w.check(True, False, None)
    assert len(w.lines) == 1
    time.sleep(0.3)
    with pytest.raises(RungError, match=r"within max_time \(0.3 s\)"):
        w.check(True, False, None)
    unbounded = StartupWatch("m.train", None, None, 1.0, warn_after=0.0)
    assert unbounded.check(True, False, None) is None
    assert unbounded.lines[0].endswith(
        "nothing bounds this wait (set trial_timeout or Budget(max_time=...))")
    ready = StartupWatch("m.train", 0.01, None, 1.0)
    time.sleep(0.02)
    assert ready.check(True, True, 3.0) == 3.0  # a worker is ready: no bound, no line
    assert ready.lines == [] and rung is not None
