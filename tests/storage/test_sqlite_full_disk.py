"""A journal that cannot be created for want of space (simulated with ``RLIMIT_FSIZE``, in a
subprocess) is one ``JournalError`` saying so, not 'is not a rung journal', and leaves no file
nor directory behind; an existing journal whose append fails keeps what it had."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent("""
    import resource, signal, sys
    from rung.errors import JournalError
    from rung.storage import SQLiteJournal
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        with SQLiteJournal(sys.argv[1]) as j:
            j.create_study("s", {"x": 1})
            j.append("s", [])
        print("ok")
    except JournalError as e:
        print(e)
""")


def _run(path: Path, limit: int) -> str:
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(path), str(limit)],
                         capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.strip()


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE and SIGXFSZ as on Linux")
@pytest.mark.parametrize("limit", [0, 4096])
def test_a_journal_that_cannot_be_created_leaves_nothing(tmp_path: Path, limit: int) -> None:
    """Before: 'new/sub/j.db is not a rung journal: disk I/O error', and j.db (with -wal and
    -shm at 4096 bytes) left in the new directories."""
    path = tmp_path / "new" / "sub" / "j.db"
    assert _run(path, limit) == f"cannot create a journal at {path}: disk I/O error"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE and SIGXFSZ as on Linux")
def test_an_existing_journal_is_kept_when_it_cannot_be_opened(tmp_path: Path) -> None:
    from rung.storage import SQLiteJournal

    path = tmp_path / "j.db"
    with SQLiteJournal(path) as j:
        j.create_study("first", {"x": 1})
    assert _run(path, 0) == f"cannot open the journal {path}: disk I/O error"
    with SQLiteJournal(path, readonly=True) as j:
        assert "first" in j.list_studies()
