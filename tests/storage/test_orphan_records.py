"""A study whose ``study`` row was deleted by hand while its ``record`` rows were not cannot be
created again under its name: the new study would take the old records as its own. Before:
``rung run`` created it, and it "had" the deleted study's trials."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rung.cli.main import main

SPEC = "name: s\nbenchmark: mf-branin\nbudget: {n_trials: 4}\nstorage: j.db\n"


def test_a_name_with_orphan_records_is_refused_until_they_are_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(SPEC)
    assert main(["run", "s.yaml", "--no-live"]) == 0
    with sqlite3.connect("j.db") as c:
        c.execute("DELETE FROM study WHERE name = 's'")
        n = c.execute("SELECT COUNT(*) FROM record").fetchone()[0]
    c.close()
    assert n > 0
    capsys.readouterr()
    assert main(["run", "s.yaml", "--no-live"]) == 2
    assert capsys.readouterr().err == (
        f"rung: error: spec.storage: cannot create study 's' in j.db: the journal still holds "
        f"{n} records of a deleted study of that name, which the new one would take as its "
        "own; delete them too (DELETE FROM record WHERE study = 's'; see 'Deleting a study' "
        "in docs/spec.md) or choose another name\n")
    with sqlite3.connect("j.db") as c:  # nothing was written
        assert c.execute("SELECT COUNT(*) FROM study").fetchone()[0] == 0
        assert c.execute("SELECT COUNT(*) FROM record").fetchone()[0] == n
        c.execute("DELETE FROM record WHERE study = 's'")  # the documented recipe
    c.close()
    assert main(["run", "s.yaml", "--no-live"]) == 0
    assert main(["show", "s", "--storage", "j.db"]) == 0
