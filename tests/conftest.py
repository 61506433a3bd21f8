"""Session-wide settings of the test suite.

BLAS runs single-threaded. The GP searcher's linear algebra works on matrices of at most a few
hundred rows, where OpenBLAS threads gain nothing; on a loaded machine they busy-wait for cores
they do not get, and a GP test that takes 3 s took 231 s at load 10 (2 cores). The variables
reach subprocesses and spawned workers too; ``threadpoolctl`` (when installed) also limits
libraries this process has already loaded.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - scikit-learn (the dev extra) brings it
    pass
else:
    threadpool_limits(1)
