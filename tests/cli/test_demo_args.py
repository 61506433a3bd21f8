"""`rung demo`'s options are checked as a spec's keys are, before anything is imported or
written, and an error names the option (not a spec key the user never wrote)."""

from __future__ import annotations

from pathlib import Path

import pytest
from clihelp import files_under

from rung.cli.main import main


@pytest.mark.parametrize(("argv", "line"), [
    (["--name", "bad name"], "rung: error: --name: must start with a letter or digit and hold "
     "only letters (any script), digits, '.', '_' or '-', got 'bad name'"),
    (["--name", "x" * 101], "rung: error: --name: too long: 101 bytes in UTF-8, at most 100 "
     "(it names the journal's files)"),
    (["--storage", "notes.txt/demo.db"],
     "rung: error: --storage: cannot create a directory under {dir}/notes.txt: it is a file"),
])
def test_bad_demo_option_is_one_line_naming_it(
    isolated: Path, capsys: pytest.CaptureFixture[str], argv: list[str], line: str
) -> None:
    (isolated / "notes.txt").write_text("")
    assert main(["demo", *argv]) == 2
    assert capsys.readouterr() == ("", line.format(dir=isolated) + "\n")
    assert files_under(isolated) == {"notes.txt"}


@pytest.mark.parametrize(("argv", "message"), [
    (["--seed", "-1"], "--seed: must be >= 0, got -1"),
    (["--max-step", "1000001"], "--max-step: must be <= 1,000,000, got 1,000,001"),
])
def test_bad_demo_numbers_are_usage_errors(
    isolated: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["demo", *argv])
    assert info.value.code == 2
    assert capsys.readouterr().err == f"rung: error: {message} (rung demo --help)\n"
    assert files_under(isolated) == set()


def test_storage_refused_only_when_created_prints_nothing_before_the_error(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A place the up-front check passes but the journal cannot be created in (as root,
    ``access()`` calls /proc writable): the refusal is still the only output, exit 2."""
    import rung.storage.paths

    (isolated / "notes.txt").write_text("")
    monkeypatch.setattr(rung.storage.paths, "storage_problem", lambda path: None)
    assert main(["demo", "--storage", "notes.txt/demo.db"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("rung: error: --storage: ") and err.count("\n") == 1
    assert files_under(isolated) == {"notes.txt"}
