"""``LocalExecutor(max_memory_per_worker=...)`` (``rung.executors.memory_limit``): sizes, the
memory of a worker's process tree, a trial over the limit failing, an idle worker replaced."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import objectives
import pytest

import rung
from rung import Budget, Objective, Study
from rung.errors import ConfigError, RungError
from rung.executors.local import LocalExecutor
from rung.executors.memory_limit import MIN_LIMIT, format_size, parse_size, tree_memory

linux = pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads /proc")


@pytest.mark.parametrize(("given", "want"), [
    (2_000_000_000, 2_000_000_000), (1.5e9, 1_500_000_000), ("4GB", 4 * 10**9),
    ("4 G", 4 * 10**9), ("4GiB", 4 * 2**30), ("4Gi", 4 * 2**30), ("512mb", 512 * 10**6),
    ("0.5 TiB", 2**39), ("100M", 10**8),
])
def test_sizes_read_with_decimal_and_binary_units(given: object, want: int) -> None:
    assert parse_size(given) == want


@pytest.mark.parametrize("bad", ["4 GB of RAM", "lots", "", True, None, [1], "-4GB",
                                 float("inf"), 10**6, "10MB"])
def test_a_bad_size_is_refused_naming_the_key(bad: object) -> None:
    with pytest.raises(ConfigError) as e:
        parse_size(bad)
    assert e.value.key == "max_memory_per_worker"
    assert format_size(MIN_LIMIT) == "64 MB" and format_size(4.26e9) == "4.26 GB"


@linux
def test_a_tree_s_memory_counts_its_children(tmp_path: Path) -> None:
    code = "import time; b = bytearray(200 * 10**6); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        me = tree_memory(os.getpid())
        deadline = time.monotonic() + 20
        while tree_memory(os.getpid()) < me + 150 * 10**6:
            assert time.monotonic() < deadline, "the child's memory was never counted"
            time.sleep(0.1)
    finally:
        child.kill()
        child.wait()
    assert tree_memory(2**22 + 12345) == 0  # no such process


def _study(tmp_path: Path, name: str, mbs: list[int], wait: float) -> Study:
    study = Study.create(
        name, {"mb": rung.Categorical(mbs), "wait": rung.Fixed(wait)},
        Objective("loss", "min"), searcher="grid", scheduler="fifo",
        budget=Budget(n_trials=len(mbs)), storage=tmp_path / "m.db")
    return study


@linux
def test_a_trial_over_the_limit_fails_and_the_search_goes_on(tmp_path: Path) -> None:
    study = _study(tmp_path, "over", [1, 400], wait=3.0)
    ex = LocalExecutor(n_workers=1, start_method="spawn", max_memory_per_worker="250MB")
    study.run(objectives.hog, executor=ex, progress=False)
    by_mb = {int(t.params["mb"]): t for t in study.trials()}
    assert by_mb[1].status.value == "completed"
    big = by_mb[400]
    assert big.status.value == "failed"
    assert big.error is not None and big.error.startswith("memory: its worker used ")
    assert big.error.endswith("over max_memory_per_worker (250 MB): killed")
    assert len(ex.worker_pids) == 2  # the killed worker was replaced


@linux
@pytest.mark.slow  # (real worker processes waiting seconds; the slow lane runs it)
def test_an_idle_worker_over_the_limit_is_replaced_and_its_trials_complete(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # trial 0 ends after 1.5 s (both workers are ready by then) and its worker takes 300 MB
    # 0.3 s later, idle; trial 1 keeps the other worker busy for 5 s, time for a reading
    # (every second) to find the idle one
    study = Study.create(
        "idle", {"mb": rung.Categorical([300, 1]), "later": rung.Categorical([True, False]),
                 "wait": rung.Categorical([1.5, 5.0])},
        Objective("loss", "min"), searcher="random", scheduler="fifo",
        budget=Budget(n_trials=2), storage=tmp_path / "m.db")
    study.enqueue({"mb": 300, "later": True, "wait": 1.5})
    study.enqueue({"mb": 1, "later": False, "wait": 5.0})
    ex = LocalExecutor(n_workers=2, start_method="spawn", max_memory_per_worker="200MB")
    study.run(objectives.hog, executor=ex, progress=False)
    assert [t.status.value for t in study.trials()] == ["completed"] * 2
    assert len(ex.worker_pids) == 3
    assert sum("between trials, over max_memory_per_worker (200 MB): replaced"
               in r.getMessage() for r in caplog.records) == 1


@linux
@pytest.mark.slow  # (real worker processes waiting seconds; the slow lane runs it)
def test_a_limit_no_worker_can_keep_is_an_error_not_a_loop(tmp_path: Path) -> None:
    (tmp_path / "heavy.py").write_text(
        "import time\nimport rung\n_B = bytearray(300 * 10**6)\ntime.sleep(2.5)\n\n"
        "def train(ctx):\n    ctx.report(1, loss=0.0)\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import heavy

        study = _study(tmp_path, "tiny", [1], wait=0.0)
        ex = LocalExecutor(n_workers=1, start_method="spawn", max_memory_per_worker="200MB")
        with pytest.raises(RungError, match="while loading the objective .*train, before "
                                            "running any trial: over max_memory_per_worker "
                                            r"\(200 MB\); raise it"):
            study.run(heavy.train, executor=ex, progress=False)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("heavy", None)


def test_run_refuses_a_bad_limit_before_anything_is_written(tmp_path: Path) -> None:
    study = _study(tmp_path, "bad", [1], wait=0.0)
    with pytest.raises(ConfigError) as e:
        study.run(objectives.hog, executor="local", max_memory_per_worker="4 parsecs")
    assert e.value.key == "max_memory_per_worker"
    assert study.trials() == []
