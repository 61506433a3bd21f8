"""Journals the dashboard cannot read (a damaged record, an unsupported spec, a file that is
no journal, one another process holds locked) say why, in one line of JSON where the page
would be and in their own row of the study list, as ``rung show`` and ``rung ls`` say it;
and studies named like a page's address (``resnet/workers``) have their own overview."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

import rung

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient

from rung.dashboard import create_app

PAGES = ("", "/trials", "/curves", "/parallel", "/pareto", "/workers", "/ledger", "/trial/0")


def _study(db: Path, name: str, n: int = 4) -> None:
    s = rung.Study.create(name, {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          max_step=3, budget=rung.Budget(n_trials=n), seed=0, storage=db)
    while (t := s.ask()) is not None:
        s.report(t.id, 1, {"loss": t.params["x"]})
        s.tell(t.id, "completed", {"loss": t.params["x"]})
    s.close()


def _break_record(db: Path, name: str, kind: str = "Launch") -> int:
    """Overwrite the body of the study's last ``kind`` record with text that is not JSON."""
    with sqlite3.connect(db) as c:
        seq = c.execute("SELECT max(seq) FROM record WHERE study = ? AND kind = ?",
                        (name, kind)).fetchone()[0]
        c.execute("UPDATE record SET body = '{not json' WHERE study = ? AND seq = ?",
                  (name, seq))
    return int(seq)


def test_a_damaged_record_is_one_line_of_json_on_every_page(tmp_path: Path) -> None:
    db = tmp_path / "bad.db"
    _study(db, "mo")
    seq = _break_record(db, "mo")
    c = TestClient(create_app(tmp_path))
    want = (f"{db}: study 'mo', record {seq}: unreadable Launch record: Expecting property "
            "name enclosed in double quotes: line 1 column 2 (char 1)")
    for page in PAGES:
        # before: 500 "Internal Server Error" as plain text (the page: "Unexpected token 'I'")
        r = c.get("/api/study/mo" + page)
        assert (r.status_code, r.headers["content-type"], r.json()) == (
            500, "application/json", {"error": want}), page
    # the study list keeps the study's row, with the file and the record
    rows = c.get("/api/studies").json()["studies"]
    assert rows == [{"name": "mo", "key": "mo", "path": str(db), "error": want}]


def test_an_unsupported_spec_names_the_journal_and_the_study(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _study(db, "old")
    with sqlite3.connect(db) as c:
        c.execute("UPDATE study SET spec = ?", (json.dumps({"version": 0}),))
    c = TestClient(create_app(tmp_path))
    want = f"{db}: study 'old': version: study spec version 0 is not supported"
    for page in ("", "/ledger", "/workers"):
        r = c.get("/api/study/old" + page)
        assert (r.status_code, r.json()) == (500, {"error": want}), page


def test_unreadable_journals_have_their_own_row(tmp_path: Path) -> None:
    _study(tmp_path / "a.db", "a")
    (tmp_path / "b.db").write_bytes(b"this is not a database at all" * 100)
    with sqlite3.connect(tmp_path / "c.db") as c:
        c.execute("CREATE TABLE other (x)")
    _study(tmp_path / "d.db", "d")
    rows = TestClient(create_app(tmp_path)).get("/api/studies").json()["studies"]
    # before: b.db and c.db were left out of the list
    assert [(r["key"], r.get("error")) for r in rows] == [
        ("a", None),
        (None, f"{tmp_path / 'b.db'} is not a rung journal: file is not a database"),
        (None, f"{tmp_path / 'c.db'} is not a rung journal (no study/record tables)"),
        ("d", None)]
    assert [r["path"] for r in rows] == [str(tmp_path / f) for f in ("a.db", "b.db", "c.db",
                                                                       "d.db")]


def _hold_locked(db: Path, ready: threading.Event, done: threading.Event) -> None:
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA locking_mode=EXCLUSIVE")
    c.execute("BEGIN EXCLUSIVE")
    c.execute("SELECT count(*) FROM record").fetchone()
    ready.set()
    done.wait(30)
    c.execute("ROLLBACK")
    c.close()


def test_a_locked_journal_says_it_is_locked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    import rung.storage.sqlite as sq

    monkeypatch.setattr(sq, "OPEN_WAIT", 0.3)  # the wait stays bounded: shortened here
    db = tmp_path / "locked.db"
    _study(db, "l")
    ready, done = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_locked, args=(db, ready, done))
    holder.start()
    try:
        assert ready.wait(10)
        t0 = time.monotonic()
        with pytest.raises(rung.errors.JournalError) as e:
            sq.SQLiteJournal(db, readonly=True)
        assert time.monotonic() - t0 < 3
        # before: "... is not a rung journal: database is locked"
        assert str(e.value) == (f"{db} is locked by another process (gave up after 0.3 s: "
                                "database is locked); try again once it lets go of it")
        rows = TestClient(create_app(tmp_path)).get("/api/studies").json()["studies"]
        assert rows == [{"name": None, "key": None, "path": str(db), "error": str(e.value)}]
    finally:
        done.set()
        holder.join(10)
    # once let go, it is listed as usual (a locked journal's answer is not kept)
    c = TestClient(create_app(tmp_path))
    assert [r["key"] for r in c.get("/api/studies").json()["studies"]] == ["l"]


@pytest.mark.parametrize("suffix", ["workers", "curves", "trials", "trial/1", "ledger"])
def test_a_study_named_like_a_page_has_an_overview(tmp_path: Path, suffix: str) -> None:
    db = tmp_path / "n.db"
    _study(db, "resnet", 2)
    _study(db, f"resnet/{suffix}", 3)
    c = TestClient(create_app(db))
    # as the page asks (encodeURIComponent): exact, whatever the names
    r = c.get("/api/study/" + quote(f"resnet/{suffix}", safe=""))
    assert (r.status_code, r.json()["name"], r.json()["trials"]) == (200, f"resnet/{suffix}", 3)
    assert c.get("/api/study/" + quote(f"resnet/{suffix}", safe="") + "/trials"
                 ).json()["total"] == 3
    # resnet's own page of that name stays what the address says
    own = c.get(f"/api/study/resnet/{suffix}")
    assert own.status_code == 200 and own.json().get("name", "resnet") == "resnet"


def test_a_full_name_is_resolved_before_a_suffix_is_split_off() -> None:
    from rung.dashboard.app import address

    known = {"resnet/workers", "a"}.__contains__
    # the decoded path alone (no raw path): the whole name first
    assert address("resnet/workers", None, known) == ("resnet/workers", "", "")
    assert address("a/workers", None, known) == ("a", "workers", "")
    assert address("a/trial/7", None, known) == ("a", "trial", "7")
    assert address("nope/trial/abc", None, known) == "nope"
    assert address("runs/2024", None, known) == "runs/2024"
    # the raw path tells a name's %2F from a page's "/"
    assert address("resnet/workers", b"/api/study/resnet%2Fworkers", known) == (
        "resnet/workers", "", "")
    assert address("a/workers", b"/api/study/a/workers", known) == ("a", "workers", "")
