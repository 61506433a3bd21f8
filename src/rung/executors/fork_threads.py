"""A fork worker's thread pools: limited to the thread count its environment holds.

``threads_per_worker`` reaches a worker as ``OMP_NUM_THREADS`` and friends
(``rung.executors.processes._thread_limits``), which a BLAS or OpenMP library reads once, when
it loads. A spawn or forkserver worker loads its libraries itself, so the variables apply; a
fork worker inherits the pools the driver's libraries created before the fork (numpy's
OpenBLAS, torch's intra-op pool, an OpenMP runtime), sized for the driver's machine. In such a
worker ``limit_inherited_pools`` sets every pool already loaded to the count: through
``threadpoolctl``, and ``torch.set_num_threads`` when torch is loaded. Libraries the objective
loads later read the variables as usual.
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger("rung.local")


def thread_count_from_env() -> int | None:
    """The worker's ``OMP_NUM_THREADS`` as an integer >= 1, else ``None`` (unset, or not a
    count: the libraries then decide for themselves). The executor sets the variable only
    where the user has not (the user's exported value wins), so this is the count to use."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n >= 1 else None


def limit_inherited_pools() -> int | None:
    """Set the thread pools already loaded in this process to ``thread_count_from_env()``
    threads; returns that count (``None``: nothing was changed). Best effort: a library that
    refuses is logged at debug level and left as it is; never raises."""
    n = thread_count_from_env()
    if n is None:
        return None
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n)  # applied now and kept (never restored)
    except Exception as e:  # a library threadpoolctl cannot drive must not stop the worker
        log.debug("threadpoolctl could not limit the inherited thread pools: %r", e)
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.get_num_threads() != n:
                torch.set_num_threads(n)
        except Exception as e:
            log.debug("torch.set_num_threads(%d) failed: %r", n, e)
    return n


__all__ = ["limit_inherited_pools", "thread_count_from_env"]
