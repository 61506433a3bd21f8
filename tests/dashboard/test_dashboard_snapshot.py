"""Snapshots of the dashboard's pages (``rung.dashboard.snapshot``): a page served from a
snapshot equals the page a full replay of the journal gives; a snapshot that is behind, stale,
truncated, rewritten or corrupt is never served in place of the journal."""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from dashhelp import simulated_asha

import rung
from rung.dashboard import charts, data, snapshot_job
from rung.dashboard import snapshot as snapshot_mod
from rung.dashboard.data import Catalog
from rung.dashboard.snapshot import RunWriter, cache_path, view_path

QUERIES: list[dict[str, str]] = [
    {}, {"sort": "value"}, {"sort": "reason", "desc": "1", "offset": "5", "limit": "7"},
    {"q": "stopped rung"}, {"sort": "slot", "q": "completed"},
]


@pytest.fixture(autouse=True)
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshots for studies of any size (they are written from 20,000 records on)."""
    monkeypatch.setattr(snapshot_mod, "MIN_RECORDS", 1)
    monkeypatch.setattr(data, "MIN_RECORDS", 1)


def _asha(db: Path, n_trials: int = 40, seed: int = 0) -> None:
    simulated_asha(db, n_trials, seed)


def _mo(db: Path) -> None:
    """A two-objective study written by ask/tell (no run: no run snapshot)."""
    s = rung.Study.create("mo", {"x": rung.Float(0.0, 1.0)},
                          objective=[rung.Objective("a", "min"), rung.Objective("b", "min")],
                          storage=db, seed=1)
    for _ in range(25):
        t = s.ask()
        s.tell(t.id, "completed", {"a": t.params["x"], "b": 1 - t.params["x"] ** 2})
    s.close()


def pages(cat: Catalog, name: str, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every page of study ``name`` as the app answers it."""
    def view(fn: Any, *args: Any) -> Any:
        out = cat.view(name, lambda snap: fn(snap, *args))
        return {k: v for k, v in out.items() if k not in drop}

    out: dict[str, Any] = {"study_row": view(data.study_row), "overview": view(data.overview)}
    for i, q in enumerate(QUERIES):
        out[f"trials{i}"] = view(data.trials, q)
    for c in charts.CHARTS:
        out[c] = view(getattr(charts, c))
    n = out["overview"]["trials"]
    out["details"] = [view(data.trial_detail, t) for t in range(n)]
    with pytest.raises(KeyError):
        view(data.trial_detail, n)
    return out


def replayed(db: Path, name: str, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    return pages(Catalog(db, snapshots=False), name, drop)


def served(db: Path, name: str, cache: Path) -> tuple[Catalog, dict[str, Any], bool]:
    """The pages of a fresh dashboard, and whether it served them from a snapshot."""
    cat = Catalog(db, cache_dir=cache)
    snap = cat.snapshot(name)
    from_view = snap.view is not None
    return cat, pages(cat, name), from_view


def test_run_writes_a_snapshot_that_serves_every_page_as_a_replay(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    _asha(db)
    assert view_path(db, "asha").exists()  # written by the run, beside its journal
    _, got, from_view = served(db, "asha", tmp_path / "cache")
    assert from_view
    want = replayed(db, "asha")
    assert got == want
    assert want["overview"]["trials"] == 40 and len(want["details"]) == 40
    assert any(d["decisions"] for d in want["details"])  # reasons are in the details
    assert not (tmp_path / "cache").exists()  # nothing to cache: the run's snapshot was used


def test_run_snapshots_can_be_turned_off(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNG_DASHBOARD_SNAPSHOTS", "0")
    _asha(tmp_path / "s.db")
    assert not view_path(tmp_path / "s.db", "asha").exists()


def test_snapshot_behind_the_journal_shows_its_prefix_then_the_replay(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot taken mid-run (the run's last one), the journal appended after it: the
    dashboard serves the snapshot (equal to a replay of the records it covers) until its
    background replay has caught up, then the replay (equal to a replay of all)."""
    monkeypatch.setattr(RunWriter, "CHECK_EVERY", 0.0)
    monkeypatch.setattr(RunWriter, "at_end", lambda self, engine: None)  # only mid-run ones
    # each written as of the check that started it (a job reads the journal when it runs)
    monkeypatch.setattr(snapshot_job, "start", snapshot_job.inline)
    db = tmp_path / "s.db"
    _asha(db, n_trials=60)
    with sqlite3.connect(db) as c:
        total = c.execute("SELECT MAX(seq) FROM record").fetchone()[0]
    head = snapshot_mod.header(view_path(db, "asha"), db, "asha")
    assert head is not None and 0 < head["n_records"] < total
    n = head["n_records"]
    # the pages of the records the snapshot covers, replayed from a copy cut there
    prefix = tmp_path / "prefix" / "s.db"
    prefix.parent.mkdir()
    shutil.copy(db, prefix)
    with sqlite3.connect(prefix) as c:
        c.execute("DELETE FROM record WHERE seq > ?", (n,))
    # (rung show's note on the trials left running names the journal's path, as "path" does)
    want_prefix = replayed(prefix, "asha", drop=("path", "unfinished_note"))
    loads: list[Any] = []
    monkeypatch.setattr(Catalog, "_load", lambda self, snap: loads.append(snap))
    cat = Catalog(db, cache_dir=tmp_path / "cache")
    snap = cat.snapshot("asha")
    assert snap.view is not None and loads == [snap]  # the replay was started
    first = pages(cat, "asha", drop=("path", "loading", "unfinished_note"))
    assert first == {k: _drop(v, ("loading",)) for k, v in want_prefix.items()}
    assert cat.view("asha", data.overview)["loading"] == {  # the snapshot's, marked stale
        "records": n, "total": total, "snapshot": True, "replayed": 0}
    monkeypatch.undo()
    monkeypatch.setattr(snapshot_mod, "MIN_RECORDS", 1)
    monkeypatch.setattr(data, "MIN_RECORDS", 1)
    snap.loader = None
    cat._load(snap)  # the background replay, run here to its end
    assert snap.view is None
    assert pages(cat, "asha") == replayed(db, "asha")
    # the finished study's replay was cached by the dashboard: the next open reads it
    assert cache_path(tmp_path / "cache", db, "asha").exists()
    _, again, from_view = served(db, "asha", tmp_path / "cache")
    assert from_view and again == replayed(db, "asha")


def _drop(x: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(x, dict):
        return {k: v for k, v in x.items() if k not in keys}
    return x


def test_truncated_journal_ignores_the_snapshot(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    _asha(db)
    with sqlite3.connect(db) as c:
        c.execute("DELETE FROM record WHERE seq > (SELECT MAX(seq) - 7 FROM record)")
    _, got, from_view = served(db, "asha", tmp_path / "cache")
    assert not from_view
    assert got == replayed(db, "asha")


def test_rewritten_journal_ignores_the_snapshot(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "s.db"
    _asha(db, seed=0)
    old = view_path(db, "asha").read_bytes()
    for p in tmp_path.glob("s.db*"):
        if p.suffix != ".view":
            p.unlink()
    monkeypatch.setattr(snapshot_mod, "MIN_RECORDS", 10**9)  # the new run writes none
    _asha(db, seed=1)
    assert view_path(db, "asha").read_bytes() == old  # the old run's snapshot is still there
    monkeypatch.setattr(snapshot_mod, "MIN_RECORDS", 1)
    _, got, from_view = served(db, "asha", tmp_path / "cache")
    assert not from_view
    assert got == replayed(db, "asha")


@pytest.mark.parametrize("damage", ["garbage", "half", "front", "detail", "empty"])
def test_corrupt_snapshot_is_ignored(tmp_path: Path, damage: str) -> None:
    db = tmp_path / "s.db"
    _asha(db)
    p = view_path(db, "asha")
    raw = p.read_bytes()
    head = json.loads(raw[:raw.index(b"\n")])
    front_at = raw.index(b"\n") + 1
    details_at = front_at + head["front"]
    assert len(raw) == details_at + head["details"]["bytes"]

    def flip(at: int) -> None:
        d = bytearray(raw)
        d[at] ^= 0x20
        p.write_bytes(bytes(d))

    if damage == "garbage":
        p.write_bytes(b"\x00not json\n" + raw)
    elif damage == "half":
        p.write_bytes(raw[: len(raw) // 2])
    elif damage == "front":  # the pages and rows, read at open
        flip(front_at + head["front"] // 2)
    elif damage == "detail":  # one trial's detail, read on demand: checked at open too
        flip(details_at + head["details"]["bytes"] // 2)
    else:
        p.write_bytes(b"")
    cat = Catalog(db, cache_dir=tmp_path / "cache")
    snap = cat.snapshot("asha")
    assert snap.view is None
    assert pages(cat, "asha") == replayed(db, "asha")


def test_other_chart_caps_ignore_the_snapshot(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "s.db"
    _asha(db)
    monkeypatch.setattr(charts, "MAX_CURVES", 10)
    monkeypatch.setattr(charts, "BEST_CURVES", 3)
    _, got, from_view = served(db, "asha", tmp_path / "cache")
    assert not from_view
    assert got == replayed(db, "asha")
    assert got["curves"]["sample"]["shown"] == 10


def test_dashboard_caches_a_study_without_snapshot_outside_the_journal_dir(
        tmp_path: Path) -> None:
    """ask/tell writes no run snapshot: the dashboard's first open replays and writes its
    own into its cache directory (never beside the journal); the next open reads it."""
    jdir = tmp_path / "journals"
    jdir.mkdir()
    db = jdir / "mo.db"
    _mo(db)
    def beside() -> list[str]:  # (SQLite's own -wal and -shm files aside)
        return sorted(p.name for p in jdir.iterdir() if not p.name.endswith(("-wal", "-shm")))

    before = beside()
    cache = tmp_path / "cache"
    _, first, from_view = served(db, "mo", cache)
    assert not from_view
    assert beside() == before
    assert cache_path(cache, db, "mo").exists()
    _, second, from_view = served(db, "mo", cache)
    assert from_view
    want = replayed(db, "mo")
    assert first == second == want
    assert len(want["pareto"]["front"]) > 1 and len(want["pareto"]["points"]) == 25


def test_no_second_copy_when_the_runs_own_snapshot_appeared_meanwhile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A study opened without a snapshot whose run then wrote its own (the run ended while
    the dashboard replayed it) is not copied into the dashboard's cache as well (it was: two
    copies of every large study watched live, the cache's never removed)."""
    db = tmp_path / "mo.db"
    _mo(db)
    cache = tmp_path / "cache"
    served(db, "mo", cache)  # a snapshot of it, to stand in for the run's own
    own = cache_path(cache, db, "mo").read_bytes()
    cache_path(cache, db, "mo").unlink()
    replay = Catalog._replayed

    def run_ended_meanwhile(self: Catalog, snap: Any) -> None:
        view_path(db, "mo").write_bytes(own)
        replay(self, snap)

    monkeypatch.setattr(Catalog, "_replayed", run_ended_meanwhile)
    _, got, from_view = served(db, "mo", cache)
    assert not from_view and got == replayed(db, "mo")
    assert not cache_path(cache, db, "mo").exists()
    monkeypatch.setattr(Catalog, "_replayed", replay)
    _, again, from_view = served(db, "mo", cache)  # the next open reads the run's own
    assert from_view and again == got


def test_live_study_is_not_cached(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    s = rung.Study.create("live", {"x": rung.Float(0.0, 1.0)}, "loss", storage=db)
    t = s.ask()
    s.tell(t.id, "completed", {"loss": 1.0})
    s.ask()  # the study holds its writer lock while open
    cat = Catalog(db, cache_dir=tmp_path / "cache")
    assert cat.snapshot("live").live
    assert not (tmp_path / "cache").exists()
    s.close()


@pytest.mark.slow  # 300 committed ask/tell pairs: 33 s on a slow 2-core machine
def test_run_writer_doubles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """During a run a snapshot is due each time the journal has at least doubled since the
    last one (checked every ``CHECK_EVERY`` seconds); at the end if anything is new."""
    monkeypatch.setattr(snapshot_mod, "MIN_RECORDS", 100)
    db = tmp_path / "s.db"
    s = rung.Study.create("w", {"x": rung.Float(0.0, 1.0)}, "loss", storage=db)
    clock = [0.0]
    w = RunWriter(s.journal, "w", clock=lambda: clock[0], launch=snapshot_job.inline)
    wrote: list[int] = []

    def run(db: Path, study: str) -> bool:  # the job, counted instead of run
        wrote.append(s.journal.count("w"))  # type: ignore[attr-defined]
        return True

    monkeypatch.setattr(snapshot_job, "run", run)
    for _ in range(300):
        t = s.ask()
        s.tell(t.id, "completed", {"loss": t.params["x"]})
        clock[0] += 1.0
        w.after_turn(s.engine)
    w.at_end(s.engine)
    n = s.journal.count("w")
    mid = wrote[:-1]  # the last one: at the end
    assert len(mid) >= 3 and mid[0] >= 100
    assert all(b >= 2 * a for a, b in itertools.pairwise(mid))
    assert wrote[-1] == n > mid[-1]
    s.close()


def test_app_serves_a_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over HTTP: the app's answers from a run's snapshot are the replay's, a missing trial
    is a 404, and the dashboard's cache directory comes from ``RUNG_DASHBOARD_CACHE``."""
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from rung.dashboard import create_app

    monkeypatch.setenv("RUNG_DASHBOARD_CACHE", str(tmp_path / "cache"))
    db = tmp_path / "s.db"
    _asha(db)
    client = TestClient(create_app(db))
    want = replayed(db, "asha")
    assert client.get("/api/study/asha").json() == want["overview"]
    assert client.get("/api/study/asha/trials?sort=value").json() == want["trials1"]
    assert client.get("/api/study/asha/curves").json() == want["curves"]
    assert client.get("/api/study/asha/trial/7").json() == want["details"][7]
    assert client.get("/api/study/asha/trial/40").status_code == 404
    assert not (tmp_path / "cache").exists()
    _mo(tmp_path / "mo.db")
    TestClient(create_app(tmp_path / "mo.db")).get("/api/study/mo")
    assert cache_path(tmp_path / "cache", tmp_path / "mo.db", "mo").exists()
