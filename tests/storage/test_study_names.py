"""A study's name never reaches outside the journal's checkpoint directory nor into another
study's, and two names never share a writer lock (``rung.storage.paths``)."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.storage import SQLiteJournal
from rung.storage.paths import lock_file_name, safe_component
from rung.testing import default_space


def _create(db: Path, name: str) -> rung.Study:
    return rung.Study.create(name, default_space(), rung.Objective("loss"), searcher="random",
                             scheduler="fifo", max_step=2, budget=rung.Budget(n_trials=2),
                             storage=db)


@pytest.mark.parametrize("name", ["/tmp/elsewhere", "a/../../x", "a/1", "..\\up", "./s"])
def test_a_name_with_separators_stays_inside_the_checkpoint_directory(
    tmp_path: Path, name: str
) -> None:
    """Before: '/tmp/elsewhere' put checkpoints (and the session's sweep of '<digits>/<digits>'
    directories) in /tmp/elsewhere; 'a/../../x' in the journal directory's parent; 'a/1' in
    study 'a''s trial 1."""
    with SQLiteJournal(tmp_path / "j.db") as j:
        got = j.checkpoint_dir(name)
    assert got is not None
    root = tmp_path / "j-checkpoints"
    assert got.parent == root
    assert got.name == safe_component(name) and got.name.endswith(f"-{got.name[-8:]}")


@pytest.mark.parametrize("name", ["s", "my study", "é", "x.y", ".hidden", "a_b", "*"])
def test_a_name_that_is_one_file_name_keeps_its_directory(tmp_path: Path, name: str) -> None:
    with SQLiteJournal(tmp_path / "j.db") as j:
        assert j.checkpoint_dir(name) == tmp_path / "j-checkpoints" / name


def test_an_existing_nested_directory_of_an_earlier_version_is_kept(tmp_path: Path) -> None:
    (tmp_path / "j-checkpoints" / "team" / "s" / "0").mkdir(parents=True)
    with SQLiteJournal(tmp_path / "j.db") as j:
        assert j.checkpoint_dir("team/s") == tmp_path / "j-checkpoints" / "team" / "s"
        other = j.checkpoint_dir("team/t")
        assert other is not None and other.parent == tmp_path / "j-checkpoints"


def test_names_that_sanitize_alike_do_not_share_a_writer_lock(tmp_path: Path) -> None:
    """Before: 'a b', 'a_b', 'a*b' all locked 'j.db.a_b.lock': the second could not be
    written while the first was ('is being written by another Study object')."""
    names = ["a b", "a_b", "a*b", "a/b"]
    assert len({lock_file_name("j.db", n) for n in names}) == 4
    assert lock_file_name("j.db", "a_b") == "j.db.a_b.lock"  # a plain name: as before
    studies = [_create(tmp_path / "j.db", n) for n in names]
    for s in studies:
        assert s.ask() is not None  # each takes its own writer lock
    for s in studies:
        s.close()
