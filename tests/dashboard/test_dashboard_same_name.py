"""Two journals of a directory holding a study of the same name (a run copied, a script run
twice with another --storage file): the dashboard shows both, each under ``NAME@FILE``, with its
own numbers; a name only one journal holds keeps its plain address."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung

pytest.importorskip("starlette")


def _study(db: Path, name: str, n: int) -> None:
    s = rung.Study.create(name, {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=n), seed=n, storage=db)
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"loss": t.params["x"]})
    s.close()


def test_each_copy_of_a_name_is_shown_with_its_own_numbers(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from rung.dashboard.app import create_app

    _study(tmp_path / "a.db", "same", 3)
    _study(tmp_path / "b.db", "same", 5)
    _study(tmp_path / "b.db", "only", 2)
    c = TestClient(create_app(tmp_path))
    rows = c.get("/api/studies").json()["studies"]
    assert [(r["key"], r["name"], r["trials"], Path(r["path"]).name) for r in rows] == [
        ("same@a.db", "same", 3, "a.db"), ("same@b.db", "same", 5, "b.db"),
        ("only", "only", 2, "b.db")]
    for key, n in (("same@a.db", 3), ("same@b.db", 5), ("only", 2)):
        assert c.get(f"/api/study/{key}").json()["trials"] == n
        assert c.get(f"/api/study/{key}/trials").json()["total"] == n
        assert c.get(f"/api/study/{key}/ledger").json()["trials"] == n
        assert c.get(f"/api/study/{key}/trial/{n - 1}").status_code == 200
        assert c.get(f"/api/study/{key}/trial/{n}").status_code == 404
    # the bare name is ambiguous: not found, rather than one of them silently; the answer
    # names the keys to ask for
    r = c.get("/api/study/same")
    assert r.status_code == 404 and r.json() == {
        "error": "study name 'same' is in several journals: ask for one of same@a.db, same@b.db"}
    assert c.get("/api/study/same/ledger").status_code == 404
