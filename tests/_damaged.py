"""A finished study's journal with every page in its database file, to damage copies of
(tests/trust: damaged journals)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rung import ASHA, Budget, Objective, Study
from rung.testing import ToyBenchmark, default_space

#: SQLite's page size in these journals
PAGE = 4096


def checkpointed_journal(directory: Path) -> Path:
    """``directory/j.db``: study ``s`` (ASHA, 30 simulated trials), its WAL checkpointed into
    the database file, more than 5 pages long."""
    path = directory / "j.db"
    s = Study.create("s", default_space(), Objective("loss"), scheduler=ASHA(3), max_step=9,
                     budget=Budget(n_trials=30), seed=0, storage=str(path))
    s.simulate(ToyBenchmark(max_step=9), n_workers=3, progress=False)
    s.close()
    c = sqlite3.connect(path)
    assert c.execute("PRAGMA page_size").fetchone()[0] == PAGE
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the database file
    c.close()
    assert path.stat().st_size > 5 * PAGE
    return path
