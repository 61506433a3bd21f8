"""Worker recycling: a local worker that has served ``max_trials_per_worker`` runs is retired
and a fresh process takes its place, so what its trials leak (memory, open files, threads,
global state) ends with it.

``Recycler`` counts each worker's runs and holds the retiring ones until they are gone. A
retiring worker is asked to exit (the same ``None`` message an idle worker gets at shutdown)
and its replacement starts at once; the executor removes the old worker when its pipe or
sentinel says it exited (``LocalExecutor._retire``, without a second replacement). One that
has not exited ``RETIRE_GRACE`` seconds later (a non-daemon thread its objective left running
keeps the process alive) is killed with its process group: ``due`` names it.
"""

from __future__ import annotations

import time
from typing import Any

#: seconds a retiring worker has to exit once asked, before it is killed with its group
RETIRE_GRACE = 2.0


class Recycler:
    """Counts runs per worker and tracks the retiring ones (any hashable worker object).

    Args:
        max_runs: runs a worker serves before it is retired; ``None``: never retired.
        grace: seconds a retiring worker has to exit (default ``RETIRE_GRACE``).
    """

    __slots__ = ("_retiring", "_runs", "grace", "max_runs")

    def __init__(self, max_runs: int | None, grace: float | None = None) -> None:
        self.max_runs = max_runs
        self.grace = RETIRE_GRACE if grace is None else grace
        self._runs: dict[Any, int] = {}
        self._retiring: dict[Any, float] = {}  # worker -> when it must be gone (monotonic)

    def ended(self, worker: Any) -> bool:
        """``worker`` ended a run; True when that was its last one (retire it now)."""
        if self.max_runs is None:
            return False
        n = self._runs.get(worker, 0) + 1
        if n < self.max_runs:
            self._runs[worker] = n
            return False
        self._runs.pop(worker, None)
        self._retiring[worker] = time.monotonic() + self.grace
        return True

    def forget(self, worker: Any) -> bool:
        """``worker`` is gone (removed by the executor); whether it was retiring (its
        replacement already started)."""
        self._runs.pop(worker, None)
        return self._retiring.pop(worker, None) is not None

    def due(self, timeout: float | None) -> tuple[list[Any], float | None]:
        """The retiring workers past their grace period (kill them), and ``timeout`` shortened
        to wake for the next one's end."""
        if not self._retiring:
            return [], timeout
        now = time.monotonic()
        late = [w for w, by in self._retiring.items() if by <= now]
        waits = [by - now for by in self._retiring.values() if by > now]
        if waits:
            wait = min(waits)
            timeout = wait if timeout is None else min(timeout, wait)
        return late, timeout

    def clear(self) -> None:
        """Forget every worker (the session ended)."""
        self._runs.clear()
        self._retiring.clear()


__all__ = ["RETIRE_GRACE", "Recycler"]
