"""Session-wide settings of the test suite.

BLAS runs single-threaded. The GP searcher's linear algebra works on matrices of at most a few
hundred rows, where OpenBLAS threads gain nothing; on a loaded machine they busy-wait for cores
they do not get, and a GP test that takes 3 s took 231 s at load 10 (2 cores). The variables
reach subprocesses and spawned workers too; ``threadpoolctl`` (when installed) also limits
libraries this process has already loaded.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - scikit-learn (the dev extra) brings it
    pass
else:
    threadpool_limits(1)


_RUNG_LOGGERS = ("rung", "rung.run")


@pytest.fixture(autouse=True)
def _rung_logging_restored() -> Iterator[None]:
    """Each test leaves rung's loggers as it found them: a library that configures logging
    (``logging.config.dictConfig`` disables the loggers it does not name, e.g. on import)
    silenced ``Reporter`` in every later test of the run, so tests that read its lines
    passed alone and failed in the whole suite."""
    loggers = [logging.getLogger(n) for n in _RUNG_LOGGERS]
    state = [(lg.disabled, lg.level, lg.propagate) for lg in loggers]
    disable = logging.root.manager.disable
    yield
    for lg, (disabled, level, propagate) in zip(loggers, state, strict=True):
        lg.disabled, lg.propagate = disabled, propagate
        lg.setLevel(level)
    logging.disable(disable)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, int]]:
    """Every read of a journal's records while the test runs: ``(study, after, records
    returned)`` (the tests that a command reads its journal once)."""
    from rung.storage import MemoryJournal, SQLiteJournal

    calls: list[tuple[str, int, int]] = []

    def counting(read: object) -> object:
        def wrapper(self: object, name: str, after: int = 0) -> list[object]:
            out = read(self, name, after)  # type: ignore[operator]
            calls.append((name, after, len(out)))
            return out  # type: ignore[no-any-return]
        return wrapper

    monkeypatch.setattr(SQLiteJournal, "read", counting(SQLiteJournal.read))
    monkeypatch.setattr(MemoryJournal, "read", counting(MemoryJournal.read))
    return calls
