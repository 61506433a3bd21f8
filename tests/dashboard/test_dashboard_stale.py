"""A study whose snapshot is stale or missing (``rung.dashboard.loading``): requests are
answered at once while it is read in the background, marked ``loading`` (and
``X-Rung-Loading``), by one background replay however many requests ask; the pages then fill in
with what a full replay gives. The rebuilds are held still with ``threading.Event`` gates, not
timed."""

from __future__ import annotations

import functools
import json
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dashhelp import simulated_asha

from rung.dashboard import charts, data, loading, snapshot_job
from rung.dashboard import snapshot as snapshot_mod
from rung.dashboard.data import Catalog
from rung.dashboard.snapshot import RunWriter, cache_path, view_path

QUERIES: list[dict[str, str]] = [{}, {"sort": "value", "desc": "1"}, {"q": "stopped rung"}]
#: seconds a request may take while a rebuild is held still (it must not wait for it)
PROMPT = 10.0


@pytest.fixture(autouse=True)
def small(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Snapshots for studies of any size; the app's cache in the test's directory."""
    monkeypatch.setattr(snapshot_mod, "MIN_RECORDS", 1)
    monkeypatch.setattr(data, "MIN_RECORDS", 1)
    monkeypatch.setenv("RUNG_DASHBOARD_CACHE", str(tmp_path / "cache"))


def _asha(db: Path, n_trials: int = 60) -> int:
    """A simulated ASHA study; the number of records of its journal."""
    return simulated_asha(db, n_trials)


def _pages(cat: Catalog, name: str = "asha") -> dict[str, Any]:
    """Every page of the study as the app answers it (the trials table in a few orders)."""
    def view(fn: Any, *args: Any) -> Any:
        return cat.view(name, lambda snap: fn(snap, *args))

    out: dict[str, Any] = {"study_row": view(data.study_row), "overview": view(data.overview)}
    for i, q in enumerate(QUERIES):
        out[f"trials{i}"] = view(data.trials, q)
    for c in charts.CHARTS:
        out[c] = view(getattr(charts, c))
    out["details"] = [view(data.trial_detail, t) for t in range(out["overview"]["trials"])]
    return out


def _replayed(db: Path) -> dict[str, Any]:
    """The pages of a dashboard that replays the whole journal before answering."""
    cat = Catalog(db, snapshots=False)
    cat.snapshot("asha", wait=1e9)  # at once, whatever the test made ``WAIT``
    return _pages(cat)


def _settle(cat: Catalog, name: str = "asha", timeout: float = 60) -> None:
    """Wait until no background replay runs for the study and its pages are up to date."""
    deadline = time.monotonic() + timeout
    while True:
        snap = cat.snapshot(name)
        if snap.loader is None and snap.loading is None:
            return
        assert time.monotonic() < deadline, "the background replay did not finish"
        time.sleep(0.01)


def _promptly(fn: Callable[[], Any]) -> Any:
    """``fn()`` on another thread, which must finish within ``PROMPT`` seconds (a request
    that waited for the held rebuild would not)."""
    box: list[Any] = []
    t = threading.Thread(target=lambda: box.append(fn()), daemon=True)
    t.start()
    t.join(PROMPT)
    assert not t.is_alive(), "the request waited for the rebuild"
    return box[0]


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, list[str]]]:
    """Hold every background rebuild at its start until the gate is set; the list names the
    studies whose rebuild started, once per rebuild."""
    gate = threading.Event()
    started: list[str] = []
    real = Catalog._load

    def slow(self: Catalog, snap: data.Snapshot) -> None:
        started.append(snap.name)
        assert gate.wait(60)
        real(self, snap)

    monkeypatch.setattr(Catalog, "_load", slow)
    yield gate, started
    gate.set()


def _stale_view(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, int, int]:
    """A journal and the run's snapshot of its pages taken mid-run (the run's last one): the
    records the snapshot covers, and the journal's."""
    monkeypatch.setattr(RunWriter, "CHECK_EVERY", 0.0)
    with monkeypatch.context() as m:
        m.setattr(RunWriter, "at_end", lambda self, engine: None)  # only mid-run ones
        # each written as of the check that started it (a job reads the journal when it runs)
        m.setattr(snapshot_job, "start", snapshot_job.inline)
        db = tmp_path / "s.db"
        total = _asha(db)
    head = snapshot_mod.header(view_path(db, "asha"), db, "asha")
    assert head is not None and 0 < head["n_records"] < total
    return db, int(head["n_records"]), total


# --- without a usable snapshot ------------------------------------------------------------
def test_a_study_being_read_is_answered_at_once_by_one_rebuild(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        held: tuple[threading.Event, list[str]]) -> None:
    """No snapshot (deleted, or of another format): the first request starts the rebuild and
    is answered with what has been replayed, ``loading``; so are concurrent requests for every
    page, while the rebuild is held, and only one rebuild starts. Released, it fills the pages
    in with a full replay's, and writes the dashboard's own snapshot."""
    gate, started = held
    db = tmp_path / "s.db"
    total = _asha(db)
    view_path(db, "asha").unlink()  # as if the snapshot were deleted, or of another format
    monkeypatch.setattr(data, "WAIT", 0.0)
    monkeypatch.setattr(data, "CHUNK", 25)
    cat = Catalog(db, cache_dir=tmp_path / "cache")
    first = _promptly(lambda: cat.view("asha", data.overview))
    assert first["loading"] == {"records": first["records"], "total": total,
                                "snapshot": False, "replayed": first["records"]}
    assert 0 < first["records"] <= 25 and first["trials"] < 60
    pages = [data.overview, data.study_row, data.trials, *(getattr(charts, c)
                                                          for c in charts.CHARTS)]
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda fn=fn: answers.append(cat.view("asha", fn)))
               for fn in pages * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join(PROMPT)
        assert not t.is_alive(), "a request waited for the rebuild"
    assert len(answers) == len(threads)
    assert started == ["asha"]  # one rebuild, however many requests
    assert cat.snapshot("asha").loading is not None  # still held: nothing more replayed
    gate.set()
    _settle(cat)
    assert started == ["asha"]
    assert _pages(cat) == _replayed(db)
    assert cache_path(tmp_path / "cache", db, "asha").exists()  # the dashboard's own


def test_a_progressive_rebuild_gives_the_pages_of_a_full_replay(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Replayed a few records per hold of the lock, its table's rows built a few at a time,
    with requests answered in between: the same pages as replaying the journal at once; the
    dashboard's snapshot written from it serves those pages too."""
    db = tmp_path / "s.db"
    total = _asha(db)
    view_path(db, "asha").unlink()
    monkeypatch.setattr(data, "WAIT", 0.0)
    monkeypatch.setattr(data, "CHUNK", 7)
    monkeypatch.setattr(loading, "ROWS", 3)
    cat = Catalog(db, cache_dir=tmp_path / "cache")
    seen = []
    while (snap := cat.snapshot("asha")).loader is not None or snap.loading is not None:
        seen.append(cat.view("asha", data.trials)["total"])  # answered between two steps
        time.sleep(0.001)
    assert seen and seen[0] < 60
    want = _replayed(db)
    assert _pages(cat) == want
    assert cat.snapshot("asha").fold.n_records == total
    assert cache_path(tmp_path / "cache", db, "asha").exists()
    served = Catalog(db, cache_dir=tmp_path / "cache")
    assert served.snapshot("asha").view is not None
    assert _pages(served) == want


# --- behind a stale snapshot ------------------------------------------------------------------
def test_a_stale_snapshot_is_served_marked_while_the_journal_is_replayed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        held: tuple[threading.Event, list[str]]) -> None:
    """The run's snapshot is behind its journal: every page is answered at once from it,
    ``loading`` saying so (``snapshot``: true), by one rebuild for all the requests; then the
    pages are a full replay's."""
    gate, started = held
    db, n, total = _stale_view(tmp_path, monkeypatch)
    cat = Catalog(db, cache_dir=tmp_path / "cache")
    prefix = tmp_path / "prefix" / "s.db"  # the journal as the snapshot saw it
    prefix.parent.mkdir()
    shutil.copy(db, prefix)
    with sqlite3.connect(prefix) as c:
        c.execute("DELETE FROM record WHERE seq > ?", (n,))
    first = _promptly(lambda: cat.view("asha", data.overview))
    assert first["loading"] == {"records": n, "total": total, "snapshot": True, "replayed": 0}
    assert first["trials"] == _replayed(prefix)["overview"]["trials"]  # the snapshot's
    threads = [threading.Thread(target=lambda: cat.view("asha", charts.curves))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(PROMPT)
        assert not t.is_alive()
    assert started == ["asha"]
    gate.set()
    _settle(cat)
    assert started == ["asha"]
    assert cat.snapshot("asha").view is None
    assert _pages(cat) == _replayed(db)


def test_the_replay_behind_a_snapshot_holds_no_lock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Held inside its replay (after a first chunk), the rebuild behind a stale snapshot
    blocks no request: they answer from the snapshot, with how far the rebuild got
    (``replayed``). (It replayed each 20,000-record chunk under the lock every request takes: up to
    0.6-1.5 s of waiting, on a 30,000-trial study.)"""
    db, n, total = _stale_view(tmp_path, monkeypatch)
    monkeypatch.setattr(loading, "READ_BEHIND", 40)
    gate = threading.Event()
    inside = threading.Event()
    calls = [0]
    real = loading.replay

    def slow(spec: Any, records: list[Any], engine: Any) -> Any:
        if threading.current_thread().name.startswith("replay "):
            calls[0] += 1
            if calls[0] == 2:  # the second chunk: the first one is replayed
                inside.set()
                assert gate.wait(60)
        return real(spec, records, engine)

    monkeypatch.setattr(loading, "replay", slow)
    cat = Catalog(db, cache_dir=tmp_path / "cache")
    cat.snapshot("asha")
    assert inside.wait(PROMPT)
    for fn in (data.overview, data.trials, charts.curves, charts.parallel, data.study_row):
        _promptly(functools.partial(cat.view, "asha", fn))
    got = _promptly(lambda: cat.view("asha", data.overview))["loading"]
    assert got["snapshot"] is True and got["records"] == n and got["total"] == total
    assert 0 < got["replayed"] <= 40  # the first chunk, cut before its last event
    gate.set()
    _settle(cat)
    assert _pages(cat) == _replayed(db)


# --- over HTTP -----------------------------------------------------------------------------
def test_the_api_answers_at_once_and_says_how_far_it_has_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        held: tuple[threading.Event, list[str]]) -> None:
    """Each ``/api/study/...`` answer of a study being read is a 200 at once, with the usual
    body and an ``X-Rung-Loading`` header (the overview and the trials table carry ``loading``
    in their JSON too); once it is read, neither. The page's HTML does not wait for it."""
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from rung.dashboard import create_app

    gate, started = held
    db, n, total = _stale_view(tmp_path, monkeypatch)
    client = TestClient(create_app(db))
    assert client.get("/").status_code == 200
    for page in ("", "/trials", "/curves", "/parallel", "/pareto", "/trial/3"):
        r = _promptly(functools.partial(client.get, "/api/study/asha" + page))
        assert r.status_code == 200, page
        head = json.loads(r.headers["x-rung-loading"])
        assert head == {"records": n, "total": total, "snapshot": True, "replayed": 0}, page
        if page in ("", "/trials"):
            assert r.json()["loading"] == head
    assert started == ["asha"]
    gate.set()
    deadline = time.monotonic() + 60
    while "x-rung-loading" in (r := client.get("/api/study/asha")).headers:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert r.json()["loading"] is None and r.json()["records"] == total
    assert "x-rung-loading" not in client.get("/api/study/asha/curves").headers
    assert started == ["asha"]
