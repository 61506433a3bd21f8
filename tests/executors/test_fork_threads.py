"""``threads_per_worker`` under ``start_method="fork"``: a fork worker inherits the thread pools
the driver's libraries created before the fork (numpy's BLAS, torch's), which never read the
``OMP_NUM_THREADS`` the executor sets; the worker sets them to that count when it starts.

The driver's pools are set to 2 threads first, so the tests see the inherited pools whatever
the machine and the environment the tests run in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _local_helpers import make_study

import rung
from rung.executors.fork_threads import thread_count_from_env
from rung.executors.local import LocalExecutor

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def pool_threads(ctx: rung.TrialContext) -> dict[str, float]:
    """Reports, from inside the objective, the largest thread count of the loaded pools
    (``threadpoolctl``) and torch's."""
    import torch
    from threadpoolctl import threadpool_info

    pools = threadpool_info()
    return {"loss": 0.0, "pools": float(len(pools)),
            "pool_max": float(max(p["num_threads"] for p in pools)),
            "torch": float(torch.get_num_threads())}


@pytest.fixture
def driver_pools(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A driver that used numpy and torch (as a notebook would), their pools at 2 threads, and
    no thread variable in its environment; the pools are restored afterwards."""
    np = pytest.importorskip("numpy")
    torch = pytest.importorskip("torch")
    from threadpoolctl import threadpool_limits

    for v in _THREAD_VARS:
        monkeypatch.delenv(v, raising=False)
    before = torch.get_num_threads()
    limiter = threadpool_limits(limits=2)
    torch.set_num_threads(2)
    np.ones((64, 64)) @ np.ones((64, 64))
    torch.ones(8).sum()
    try:
        yield torch
    finally:
        limiter.restore_original_limits()
        torch.set_num_threads(before)


@pytest.mark.parametrize(("threads", "user", "want"), [(1, None, 1.0), (1, "3", 3.0)])
def test_fork_workers_limit_the_pools_they_inherit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, driver_pools: Any, threads: int,
    user: str | None, want: float,
) -> None:
    if user is not None:  # the user's exported value wins
        monkeypatch.setenv("OMP_NUM_THREADS", user)
    study = make_study(tmp_path, "forkthreads", 2)
    ex = LocalExecutor(pool_threads, n_workers=1, threads_per_worker=threads,
                       start_method="fork")
    study.run(pool_threads, executor=ex)
    for t in study.trials():
        assert t.status is rung.TrialStatus.COMPLETED, t.error
        assert t.metrics["pools"] >= 1.0
        assert t.metrics["pool_max"] == want
        assert t.metrics["torch"] == want
    # the driver's own pools are left as they were
    assert driver_pools.get_num_threads() == 2


def test_without_a_thread_count_fork_workers_keep_the_inherited_pools(
    tmp_path: Path, driver_pools: Any,
) -> None:
    study = make_study(tmp_path, "forkthreads", 1)
    ex = LocalExecutor(pool_threads, n_workers=1, threads_per_worker=None,
                       start_method="fork")
    study.run(pool_threads, executor=ex)
    (t,) = study.trials()
    assert t.metrics["pool_max"] == 2.0 and t.metrics["torch"] == 2.0


@pytest.mark.parametrize(("value", "want"), [("2", 2), (" 4 ", 4), ("0", None), ("", None),
                                             ("many", None)])
def test_thread_count_from_env(monkeypatch: pytest.MonkeyPatch, value: str,
                               want: int | None) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    assert thread_count_from_env() == want
