"""``storage=`` of ``Study.create`` / ``load`` (and ``rung.run``): a path, ``~`` expanded as in a
shell, or an ``sqlite:///`` URL; any other URL is one ``ConfigError`` naming ``storage``, with
nothing written. Before: ``storage="postgres://u@h/db"`` created a directory ``postgres:`` and a
journal ``postgres:/u@h/db`` in the working directory, and ``"~/x.db"`` a directory named ``~``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rung
from rung.errors import ConfigError

IN_MEMORY = "(None keeps the study in memory)"


def _create(storage: Any) -> rung.Study:
    return rung.Study.create("s", {"x": rung.Float(0, 1)}, "loss",
                             budget=rung.Budget(n_trials=1), storage=storage)


@pytest.mark.parametrize(("storage", "line"), [
    ("postgres://u@h/db", "storage: 'postgres://u@h/db' is a URL rung cannot open: rung's "
     f"journal is an SQLite file; give its path {IN_MEMORY}"),
    ("mysql+pymysql://root@localhost/x", "storage: 'mysql+pymysql://root@localhost/x' is a URL "
     f"rung cannot open: rung's journal is an SQLite file; give its path {IN_MEMORY}"),
    ("sqlite://x.db", "storage: 'sqlite://x.db' is a URL rung cannot open: rung's journal is "
     "an SQLite file; give its path, or sqlite:/// and the path (three slashes) "
     f"{IN_MEMORY}"),
    ("", f"storage: is empty: give the path of an SQLite file {IN_MEMORY}"),
    ("sqlite:///", f"storage: is empty: give the path of an SQLite file {IN_MEMORY}"),
    (5, "storage: expected None, a path or a Journal, got 5"),
])
def test_what_rung_cannot_open_is_refused_and_nothing_is_written(
    storage: Any, line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as e:
        _create(storage)
    assert str(e.value) == line
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ConfigError):  # load says the same
        rung.Study.load("s", storage=storage)
    if isinstance(storage, str):  # rung.run says it too, before its objective runs
        with pytest.raises(ConfigError) as r:
            rung.run(lambda ctx: None, {"x": rung.Float(0, 1)}, n_trials=1, storage=storage)
        assert str(r.value) == line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("storage", ["~/runs/s.db", "sqlite:///~/runs/s.db",
                                     Path("~/runs/s.db")])
def test_a_tilde_is_the_home_directory(
    storage: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    study = _create(storage)
    study.tell(study.ask().id, "completed", {"loss": 0.5})  # type: ignore[union-attr]
    study.close()
    assert (home / "runs" / "s.db").is_file()
    assert list(cwd.iterdir()) == []  # no directory named '~'
    again = rung.Study.load("s", storage=storage, readonly=True)
    assert [t.value for t in again.trials()] == [0.5]
    again.close()


def test_sqlite_urls_in_any_case_and_with_an_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _create("SQLite:///rel.db").close()
    _create(f"sqlite:///{tmp_path}/abs.db").close()  # four slashes: an absolute path
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".db") == ["abs.db",
                                                                               "rel.db"]


def test_a_user_with_no_home_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as e:
        _create("~no-such-user-h7/x.db")
    assert str(e.value) == ("storage: cannot expand '~no-such-user-h7': no such user's home "
                            "directory")
    assert list(tmp_path.iterdir()) == []
