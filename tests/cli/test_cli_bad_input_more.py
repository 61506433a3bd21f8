"""Bad input across the command line, a second round (an audit of every subcommand): one line,
exit 2, nothing written; a damaged journal exit 1 wherever it is met."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from clihelp import sim_spec, write_spec

from _damaged import PAGE, checkpointed_journal
from rung.cli.main import main
from rung.core.versions import RUNG_VERSION


def _err(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def _listing(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


def test_a_spec_that_is_no_regular_file_or_too_large_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # `rung run /dev/zero` read until the kernel killed it (23 GB); a FIFO blocked for ever
    assert main(["run", "/dev/zero"]) == 2
    assert _err(capsys) == ["rung: error: spec: /dev/zero is not a regular file"]
    fifo = tmp_path / "spec.fifo"
    os.mkfifo(fifo)
    assert main(["run", str(fifo)]) == 2
    assert _err(capsys) == [f"rung: error: spec: {fifo} is not a regular file"]
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a" * (16 * 2**20 + 1))
    assert main(["run", str(big)]) == 2
    assert _err(capsys) == [f"rung: error: spec: {big} is larger than 16 MiB: not a spec"]


@pytest.mark.parametrize("argv", [
    ["run", "spec.yaml", "--storage", ""], ["ls", "--storage", ""],
    ["dashboard", "--storage", ""], ["show", "sim", "--storage", ""],
])
def test_an_empty_storage_is_refused_by_every_command(
        argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # run, ls and dashboard fell back to runs/ (run wrote runs/sim.db there)
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec(n_trials=3))
    before = _listing(tmp_path)
    assert main(argv) == 2
    assert _err(capsys) == ["rung: error: --storage: is empty: give the path of an SQLite file"]
    assert _listing(tmp_path) == before


def test_version_and_an_unknown_top_level_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"rung {RUNG_VERSION}"
    # before: "the following arguments are required: COMMAND", the bad flag unnamed
    with pytest.raises(SystemExit) as e:
        main(["--bogus"])
    assert e.value.code == 2
    assert _err(capsys) == ["rung: error: unrecognized arguments: --bogus (rung --help)"]


def test_export_to_an_empty_output_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec(n_trials=3))
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    capsys.readouterr()
    assert main(["export", "sim", "-o", ""]) == 2  # it wrote to standard output
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [
        "rung: error: -o: is empty: give a file, or - for standard output"]


def test_an_empty_file_is_no_journal(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    assert main(["show", "s", "--storage", str(empty)]) == 2
    assert _err(capsys) == [f"rung: error: no study named 's' in {empty} (studies: none; the "
                            "file is empty: not a rung journal)"]


def test_a_writer_lock_named_as_the_journal_names_the_journal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # `<db>.<study>.lock` sits beside the journal; named by mistake it was "empty: not a rung
    # journal", which does not say which file to name instead
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec(n_trials=3))
    assert main(["run", "spec.yaml", "--no-live", "--storage", "runs/j.db"]) == 0
    lock = Path("runs/j.db.sim.lock")
    assert lock.exists()
    capsys.readouterr()
    before = _listing(tmp_path / "runs")
    hint = ("it is the writer lock of study 'sim' in the journal runs/j.db: name that file "
            "(--storage runs/j.db)")
    assert main(["show", "sim", "--storage", str(lock)]) == 2
    assert _err(capsys) == [f"rung: error: no study named 'sim' in {lock} (studies: none; "
                            f"{hint})"]
    assert main(["ls", "--storage", str(lock)]) == 0
    assert capsys.readouterr().out.strip() == f"no studies in {lock} ({hint})"
    assert _listing(tmp_path / "runs") == before  # nothing written


def test_rung_run_on_a_damaged_journal_says_it_is_damaged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # it said "already exists ... continue it with rung resume", which then said "damaged"
    journal = checkpointed_journal(tmp_path / "base")
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "d.db"
    shutil.copy(journal, path)
    with open(path, "r+b") as f:
        f.seek(3 * PAGE)
        f.write(b"\xff" * PAGE)
    write_spec(tmp_path, sim_spec("s", extra="storage: d.db\n"))
    assert main(["run", "spec.yaml", "--no-live"]) == 1
    err = _err(capsys)
    assert "it is damaged" in err[-1] and "already exists" not in " ".join(err)


def test_an_unknown_argument_points_at_its_command_help(
        capsys: pytest.CaptureFixture[str]) -> None:
    # it pointed at `rung --help`, which does not list a command's options
    assert main(["show", "s", "--top", "3", "extra"]) == 2
    assert _err(capsys) == ["rung: error: unrecognized arguments: extra (rung show --help)"]
    assert main(["run", "x.yaml", "--bogus"]) == 2
    assert _err(capsys) == ["rung: error: unrecognized arguments: --bogus (rung run --help)"]


def test_ls_aligns_wide_characters() -> None:
    from rung.cli.report_format import table

    assert table(["study", "state"], [["日本", "done"], ["abc", "done"]]).splitlines() == [
        "  study  state", "  日本   done", "  abc    done"]


def test_resume_of_a_journal_it_cannot_write_is_refused_with_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # on a read-only mount: "cannot create a journal at ..." (it exists), exit 1
    import rung.storage.sqlite as sq

    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, sim_spec(n_trials=3))
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    capsys.readouterr()
    path = tmp_path / "runs" / "sim.db"
    monkeypatch.setattr(sq, "storage_problem",
                        lambda p: f"{p} is not readable and writable by this user")
    assert main(["resume", "sim"]) == 2
    assert _err(capsys) == [f"rung: error: cannot write to the journal {Path('runs/sim.db')}: "
                            f"{Path('runs/sim.db')} is not readable and writable by this user"]
    assert path.exists()
