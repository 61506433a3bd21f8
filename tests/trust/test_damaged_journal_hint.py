"""A damaged journal says so, the same way whichever command meets it and however it is damaged
(truncated mid-page, a page of garbage): "it is damaged", what SQLite said, how to get back what
it holds; exit code 1. Before, a file truncated mid-page read as "... is not a rung journal"
(exit code 2, as for another application's file) and a garbage page as "cannot read the
journal" (exit code 1), neither with a way out."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from _damaged import PAGE, checkpointed_journal
from rung.storage.sqlite import JournalDamagedError, SQLiteJournal


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return checkpointed_journal(tmp_path_factory.mktemp("base"))


def truncated(journal: Path, d: Path) -> Path:
    path = d / "truncated.db"
    shutil.copy(journal, path)
    os.truncate(path, PAGE + PAGE // 2)  # mid-page: the tables' pages are gone
    return path


def garbage(journal: Path, d: Path) -> Path:
    path = d / "garbage.db"
    shutil.copy(journal, path)
    with open(path, "r+b") as f:
        f.seek(journal.stat().st_size - PAGE)
        f.write(bytes(range(256)) * (PAGE // 256))
    return path


def message(path: Path) -> str:
    return (f"cannot read the journal {path}: it is damaged (database disk image is "
            "malformed); restore a copy of it, or try to recover what it still holds with "
            f"sqlite3's .recover (`sqlite3 {path} .recover | sqlite3 recovered.db`, where the "
            "sqlite3 build has it)")


@pytest.mark.parametrize(("make", "command"), [
    (truncated, ["show", "s"]), (truncated, ["export", "s", "--table", "results"]),
    (truncated, ["resume", "s"]),
    (garbage, ["show", "s"]), (garbage, ["export", "s", "--table", "results"]),
])
def test_every_command_says_a_damaged_journal_is_damaged_with_exit_code_1(
    journal: Path, tmp_path: Path, make: object, command: list[str]
) -> None:
    path = make(journal, tmp_path)  # type: ignore[operator]
    r = subprocess.run([sys.executable, "-m", "rung.cli", *command, "--storage", str(path)],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert (r.returncode, r.stderr) == (1, f"rung: error: {message(path)}\n")


def test_ls_of_a_truncated_journal_says_it_is_damaged(journal: Path, tmp_path: Path) -> None:
    path = truncated(journal, tmp_path)
    r = subprocess.run([sys.executable, "-m", "rung.cli", "ls", "--storage", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stderr) == (1, f"rung: error: {message(path)}\n")


def test_opening_a_truncated_journal_raises_the_damaged_error(journal: Path,
                                                              tmp_path: Path) -> None:
    path = truncated(journal, tmp_path)
    for readonly in (True, False):
        with pytest.raises(JournalDamagedError) as e:
            SQLiteJournal(path, readonly=readonly).read("s")
        assert str(e.value) == message(path)


def test_rung_ls_of_a_directory_lists_a_damaged_journal_and_exits_1(
        journal: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Listed among others (its row says it is damaged), a damaged journal still makes the
    exit code 1, so a script checking ``rung ls`` sees it."""
    from rung.cli.main import main

    shutil.copy(journal, tmp_path / "good.db")
    garbage(journal, tmp_path)
    capsys.readouterr()
    assert main(["ls", "--storage", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "it is damaged" in out and "good.db" in out
    (tmp_path / "garbage.db").unlink()
    assert main(["ls", "--storage", str(tmp_path)]) == 0
