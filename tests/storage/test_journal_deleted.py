"""A journal file deleted (or replaced) while its driver writes it: SQLite would go on writing
to the deleted file, the run would end "done" with exit 0 and everything would be lost without
a word. The writer checks its file before each append and stops the run instead: one line,
exit code 1."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from _specs import REPORTING, x_spec
from rung.core.events import Tick
from rung.storage.sqlite import JournalDeletedError, SQLiteJournal

SPEC = {"name": "s", "note": "any JSON will do"}


def _message(path: Path) -> str:
    return (f"the journal {path} was deleted (or replaced) while this run was writing it: the "
            "run stops, and what the journal held is lost unless a copy of it is restored")


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_an_append_after_the_file_went_raises_and_writes_nothing(tmp_path: Path,
                                                                 how: str) -> None:
    db = tmp_path / "j.db"
    j = SQLiteJournal(db)
    j.create_study("s", SPEC)
    j.append("s", [Tick(1.0)])
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if how == "replaced":
        other = SQLiteJournal(db)  # another journal now lives at the path
        other.close()
    with pytest.raises(JournalDeletedError) as e:
        j.append("s", [Tick(2.0)])
    assert str(e.value) == _message(db)
    j.close()


def test_a_run_whose_journal_is_deleted_stops_with_exit_code_1(tmp_path: Path) -> None:
    (tmp_path / "rep_obj.py").write_text(REPORTING)
    (tmp_path / "spec.yaml").write_text(x_spec("gone", "rep_obj:train", tmp_path, max_step=50,
                                               n_trials=4, storage="runs/gone.db",
                                               n_workers=1))
    p = subprocess.Popen([sys.executable, "-m", "rung.cli", "run", "spec.yaml", "--no-live"],
                         cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reported = tmp_path / "reported"
    deadline = time.monotonic() + 60
    while not reported.exists():
        assert p.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    for f in (tmp_path / "runs").glob("gone.db*"):
        f.unlink()
    _, err = p.communicate(timeout=60)
    assert p.returncode == 1
    assert err.strip().splitlines()[-1] == f"rung: error: {_message(Path('runs/gone.db'))}"
    assert "journal is intact" not in err
    assert not (tmp_path / "runs" / "gone.db").exists()
