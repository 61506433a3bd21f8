"""Every built-in component passes the public conformance suites."""

from __future__ import annotations

import pytest

import rung
from rung.core.registry import lookup, names
from rung.storage import MemoryJournal, SQLiteJournal
from rung.testing import check_journal, check_scheduler, check_searcher


def test_memory_journal() -> None:
    check_journal(lambda: MemoryJournal(check=True))


def test_sqlite_journal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    n = iter(range(100))
    check_journal(lambda: SQLiteJournal(tmp_path / f"j{next(n)}.db"))


def test_builtin_fifo_and_asha() -> None:
    check_scheduler(lambda: rung.FIFOScheduler())
    check_scheduler(lambda: rung.ASHA(3))
    check_scheduler(lambda: rung.ASHA(2, min_step=2))


def test_random_and_grid() -> None:
    check_searcher(lambda: rung.RandomSearcher())
    check_searcher(lambda: rung.GridSearcher(points=2), n_trials=150)
    check_searcher(lambda: rung.GridSearcher(points=3, shuffle=True), n_trials=30)


@pytest.mark.parametrize("name", names("searcher"))
def test_every_registered_searcher(name: str) -> None:
    if name.startswith("_"):
        pytest.skip("test-only searcher")
    cls = lookup("searcher", name)
    check_searcher(lambda: cls(), n_trials=12)


@pytest.mark.parametrize("name", names("scheduler"))
def test_every_registered_scheduler(name: str) -> None:
    if name.startswith("_"):
        pytest.skip("test-only scheduler")
    cls = lookup("scheduler", name)
    check_scheduler(lambda: cls(), n_workers=(1, 4), seeds=(0,))
