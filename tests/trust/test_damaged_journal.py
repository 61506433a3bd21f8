"""A damaged journal file is one ``JournalError`` naming the file (and the record, for a record
that does not decode), never an ``sqlite3`` traceback: from ``Study.load``, ``rung show`` and
``rung ls``."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from _damaged import PAGE, checkpointed_journal
from rung import Study
from rung.errors import JournalError


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return checkpointed_journal(tmp_path_factory.mktemp("base"))


def damaged(journal: Path, directory: Path, page: int) -> Path:
    path = directory / f"p{page}.db"
    shutil.copy(journal, path)
    with open(path, "r+b") as f:
        f.seek(page * PAGE)
        f.write(b"\0" * PAGE)
    return path


def test_a_zeroed_page_is_a_journal_error_naming_the_file(journal: Path,
                                                           tmp_path: Path) -> None:
    pages = journal.stat().st_size // PAGE
    assert pages >= 8
    malformed = []
    for page in range(1, pages):
        path = damaged(journal, tmp_path, page)
        try:
            Study.load("s", str(path)).close()
        except JournalError as e:  # never sqlite3.DatabaseError
            if "malformed" in str(e):
                assert str(e).startswith(f"cannot read the journal {path}: ")
                malformed.append(page)
    assert malformed  # most pages hold records: zeroing one damages the file


def test_rung_show_and_ls_of_a_damaged_journal_say_so_in_one_line(journal: Path,
                                                                  tmp_path: Path) -> None:
    path = damaged(journal, tmp_path, journal.stat().st_size // PAGE - 1)  # the last page
    show = subprocess.run([sys.executable, "-m", "rung.cli", "show", "s", "--storage",
                           str(path)], capture_output=True, text=True, timeout=60)
    assert show.returncode == 1
    assert show.stderr == (f"rung: error: cannot read the journal {path}: it is damaged "
                           "(database disk image is malformed); restore a copy of it, or try to "
                           "recover what it still holds with sqlite3's .recover (`sqlite3 "
                           f"{path} .recover | sqlite3 recovered.db`, where the sqlite3 build "
                           "has it)\n")
    ls = subprocess.run([sys.executable, "-m", "rung.cli", "ls", "--storage", str(path)],
                        capture_output=True, text=True, timeout=60)
    assert ls.returncode == 1, ls.stderr  # listed, and the exit code says so
    assert "unreadable: cannot read the journal" in ls.stdout


def test_a_record_that_does_not_decode_is_named_by_its_number(journal: Path,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    shutil.copy(journal, path)
    c = sqlite3.connect(path)
    c.execute("UPDATE record SET body = '{\"v\": 1, \"trial_id\": ' WHERE seq = 7")
    kind = c.execute("SELECT kind FROM record WHERE seq = 7").fetchone()[0]
    c.commit()
    c.close()
    with pytest.raises(JournalError) as e:
        Study.load("s", str(path))
    assert str(e.value).startswith(f"{path}: study 's', record 7: unreadable {kind} record: ")
