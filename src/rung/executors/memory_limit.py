"""A memory limit for local workers (``LocalExecutor(max_memory_per_worker=...)``): a worker
whose memory passes it is killed, with what its objective started, before it takes the
machine into swap or wakes the kernel's OOM killer (which picks its victim by itself, the driver
included).

Contract:
- a worker's memory is the proportional set size (PSS: a page shared by n processes counts
  1/n in each) of the worker and every process below it, read from
  ``/proc/<pid>/smaps_rollup`` (its resident set, ``statm``, where that file is missing). So a
  ``fork`` worker is not charged for the driver's pages it shares, and a data loader's
  processes are charged to the worker that started them;
- it is read every ``CHECK_EVERY`` seconds, so a trial that allocates faster than that can pass
  the limit briefly (a hard cap is the operating system's: ``ulimit -v``, a cgroup);
- a worker over the limit while running a trial is killed and the trial ends ``failed``
  (``memory: ...``: it would pass it again if resumed); an idle one (memory its earlier trials
  left behind) is replaced; one over it before it ever ran a trial means the limit cannot hold
  a worker at all, which ``MemoryWatch.check`` reports as such;
- Linux only: elsewhere no memory is read and nothing is killed.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Iterable
from typing import Any

from rung.errors import ConfigError
from rung.executors.process_tree import descendants

#: seconds between two readings of the workers' memory
CHECK_EVERY = 1.0

#: the smallest limit taken: below it a Python worker alone would pass it
MIN_LIMIT = 64 * 10**6

_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
          "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([kmgt]i?)?b?\s*$", re.IGNORECASE)

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def parse_size(value: Any, key: str = "max_memory_per_worker") -> int:
    """Bytes from ``value``: a number of bytes, or a string with a unit (``"4GB"``, ``"4 G"``:
    10^9; ``"4GiB"``, ``"4Gi"``: 2^30; ``K``, ``M``, ``G``, ``T`` and their ``i`` forms).

    Raises:
        ConfigError: naming ``key``: not such a number or string, not finite, or below
            ``MIN_LIMIT``."""
    if isinstance(value, bool):
        n = math.nan
    elif isinstance(value, int | float):
        n = float(value)
    elif isinstance(value, str) and (m := _SIZE.match(value)):
        n = float(m.group(1)) * _UNITS[(m.group(2) or "").lower()]
    else:
        raise ConfigError(key=key, message=(
            f"expected bytes: a number or a size such as '4GB' or '4GiB', got {value!r}"))
    if not math.isfinite(n) or n < MIN_LIMIT:
        raise ConfigError(key=key, message=(
            f"must be at least {MIN_LIMIT // 10**6} MB (a worker process alone needs about "
            f"that), got {value!r}"))
    return int(n)


def format_size(n: float) -> str:
    """``n`` bytes for a message: ``1.4 GB``, ``730 MB``."""
    return f"{n / 1e9:.3g} GB" if n >= 1e9 else f"{n / 1e6:.3g} MB"


def _pss(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def tree_memory(pid: int) -> int:
    """Bytes held by ``pid`` and its descendants (see the module docstring); 0 when nothing
    can be read (the process is gone, or no ``/proc``)."""
    total = 0
    for p in (pid, *descendants(pid)):
        total += _pss(p) or 0
    return total


class MemoryWatch:
    """Reads the workers' memory every ``every`` seconds against ``limit`` bytes."""

    def __init__(self, limit: int, every: float = CHECK_EVERY) -> None:
        self.limit = limit
        self.every = every
        self._next = time.monotonic() + every

    def check(self, workers: Iterable[Any], timeout: float | None
              ) -> tuple[list[tuple[Any, int]], float | None]:
        """``(worker, bytes)`` of each live worker (``process.pid``, ``dead``) over the limit,
        when a reading is due, and ``timeout`` shortened to the next reading."""
        now = time.monotonic()
        over: list[tuple[Any, int]] = []
        if now >= self._next:
            self._next = now + self.every
            for w in workers:
                if not w.dead and (used := tree_memory(w.process.pid)) > self.limit:
                    over.append((w, used))
        wait = max(0.0, self._next - now)
        return over, wait if timeout is None else min(timeout, wait)

    def reason(self, used: int) -> str:
        """The failure reason of a trial whose worker used ``used`` bytes."""
        return (f"memory: its worker used {format_size(used)}, over max_memory_per_worker "
                f"({format_size(self.limit)}): killed")


__all__ = ["CHECK_EVERY", "MIN_LIMIT", "MemoryWatch", "format_size", "parse_size",
           "tree_memory"]
