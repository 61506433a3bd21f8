"""What a storage string means is decided in one place (``rung.storage.journal_path``), for
``storage=`` in Python and every command's ``--storage``.

Before: ``storage=":memory:"`` (and ``rung run --storage :memory:``) ran in RAM with exit 0 and
saved nothing; ``--storage file:x.db`` wrote ``x.db`` while rung believed the journal was
``file:x.db``; ``rung run --storage sqlite:///v1.db`` made a directory ``sqlite:`` and
``--storage postgresql://u@h/db`` a journal ``postgresql:/u@h/db``, exit 0; and the read
commands answered ``--storage sqlite:///u1.db`` with ``no journal at sqlite:/u1.db`` and
``--storage=~/u2.db`` with ``no journal at ~/u2.db``."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.cli.main import main
from rung.errors import ConfigError

MEMORY = ("':memory:' is SQLite's in-memory database, which rung refuses: nothing would be "
          "saved; give the path of an SQLite file")
URI = ("'file:x.db' is an SQLite URI, which rung does not read: give the path of an SQLite "
       "file (or sqlite:/// and the path)")
SPEC = "name: v\nbenchmark: mf-branin\nbudget: {n_trials: 4}\n"


def _files(root: Path) -> list[str]:
    """What is under ``root``, writer-lock files left out."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if not p.name.endswith(".lock"))


@pytest.mark.parametrize(("storage", "line"), [
    (":memory:", f"storage: {MEMORY} (None keeps the study in memory)"),
    ("sqlite:///:memory:", f"storage: {MEMORY} (None keeps the study in memory)"),
    ("file:x.db", f"storage: {URI}"),
    (Path("file:x.db"), f"storage: {URI}"),
])
def test_python_refuses_memory_and_uris_and_writes_nothing(
    storage: object, line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as e:
        rung.Study.create("m", {"x": rung.Float(0, 1)}, "loss",
                          budget=rung.Budget(n_trials=2), storage=storage)  # type: ignore[arg-type]
    assert str(e.value) == line
    with pytest.raises(ConfigError) as e:
        rung.Study.load("m", storage=storage)  # type: ignore[arg-type]
    assert str(e.value) == line
    assert _files(tmp_path) == []


@pytest.mark.parametrize(("storage", "line"), [
    (":memory:", f"--storage: {MEMORY}"),
    ("file:x.db", f"--storage: {URI}"),
    ("postgresql://u@h/db", "--storage: 'postgresql://u@h/db' is a URL rung cannot open: "
     "rung's journal is an SQLite file; give its path"),
])
def test_run_refuses_what_names_no_file_in_one_line_and_writes_nothing(
    storage: str, line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "v.yaml").write_text(SPEC)
    assert main(["run", "v.yaml", "--storage", storage, "--no-live"]) == 2
    assert capsys.readouterr().err == f"rung: error: {line}\n"
    assert _files(tmp_path) == ["v.yaml"]
    for command in (["show", "v"], ["ls"], ["resume", "v", "--no-live"], ["dashboard"],
                    ["plan", "v"]):
        assert main([*command, "--storage", storage]) == 2
        assert capsys.readouterr().err == f"rung: error: {line}\n"
    assert _files(tmp_path) == ["v.yaml"]


def test_run_and_the_read_commands_read_sqlite_urls_and_tildes_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "v.yaml").write_text(SPEC)
    assert main(["run", "v.yaml", "--storage", "sqlite:///v1.db", "--no-live"]) == 0
    assert main(["run", "v.yaml", "--storage", "~/v2.db", "--no-live"]) == 0
    assert _files(tmp_path) == ["home", "home/v2.db", "v.yaml", "v1.db"]
    capsys.readouterr()
    for storage in ("sqlite:///v1.db", "v1.db", "~/v2.db", "sqlite:///~/v2.db", "~/",
                    "sqlite:///."):
        for command in (["show", "v"], ["ls"], ["export", "v", "-o", "-"], ["ledger", "v"]):
            assert main([*command, f"--storage={storage}"]) == 0, (command, storage)
            out = capsys.readouterr()
            assert out.err == "" and out.out, (command, storage)
    assert _files(tmp_path) == ["home", "home/v2.db", "v.yaml", "v1.db"]
