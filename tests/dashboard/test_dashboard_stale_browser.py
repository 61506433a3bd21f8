"""In headless Chromium: a study whose journal is being read (no snapshot, or one the journal
has outgrown) opens at once with a status line saying what is read (``reading 491 records of
nosnap… 2%``, ``reading 201 new records of stale…``) above what can be shown already, and fills
in without a reload once it is read. The rebuilds are held with a ``threading.Event`` in the
server's own process (uvicorn on a thread), not timed. The overview names the components'
settings as ``name: value`` pairs."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashhelp import needs_browser, wait_for

import rung
from rung.benchmarks import get_benchmark

pytest.importorskip("starlette")
uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("selenium.webdriver")
pytestmark = needs_browser

from rung.dashboard import create_app, data, snapshot_job  # noqa: E402
from rung.dashboard import snapshot as snapshot_mod  # noqa: E402
from rung.dashboard.data import Catalog  # noqa: E402
from rung.dashboard.snapshot import RunWriter, view_path  # noqa: E402


def _asha(db: Path, name: str, n_trials: int = 60) -> int:
    b = get_benchmark("mf-hartmann3")
    s = rung.Study.create(name, b.space, objective=rung.Objective(b.metric, b.mode),
                          searcher="random", scheduler=rung.ASHA(reduction_factor=4),
                          max_step=b.max_step, budget=rung.Budget(n_trials=n_trials), seed=0,
                          storage=db)
    s.simulate(b, n_workers=3)
    n = int(s.journal.count(name))  # type: ignore[attr-defined]
    s.close()
    assert snapshot_job.wait_all(120)  # the run's snapshot is written by a job of its own
    return n


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The dashboard over two studies, in this process: ``nosnap`` (its snapshot deleted)
    and ``stale`` (the run's snapshot taken mid-run), each rebuild held until ``gate``."""
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("stale")
    mp.setenv("RUNG_DASHBOARD_CACHE", str(root / "cache"))
    mp.setattr(snapshot_mod, "MIN_RECORDS", 1)
    mp.setattr(data, "MIN_RECORDS", 1)
    total = {"nosnap": _asha(root / "nosnap.db", "nosnap")}
    view_path(root / "nosnap.db", "nosnap").unlink()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(RunWriter, "CHECK_EVERY", 0.0)
        m.setattr(RunWriter, "at_end", lambda self, engine: None)  # only mid-run ones
        # each written as of the check that started it (a job reads the journal when it runs)
        m.setattr(snapshot_job, "start", snapshot_job.inline)
        total["stale"] = _asha(root / "stale.db", "stale")
    head = snapshot_mod.header(view_path(root / "stale.db", "stale"), root / "stale.db",
                               "stale")
    assert head is not None and head["n_records"] < total["stale"]
    gate = threading.Event()
    started: list[str] = []
    real = Catalog._load

    def held(self: Catalog, snap: data.Snapshot) -> None:
        started.append(snap.name)
        assert gate.wait(120)
        real(self, snap)

    mp.setattr(Catalog, "_load", held)
    mp.setattr(data, "WAIT", 0.0)
    mp.setattr(data, "CHUNK", 10)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(root, interval=0.3), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, "the dashboard")
        yield {"url": f"http://127.0.0.1:{port}", "gate": gate, "started": started,
               "total": total, "covered": head["n_records"]}
    finally:
        gate.set()
        server.should_exit = True
        thread.join(10)
        sock.close()
        mp.undo()
        shutil.rmtree(root / "cache", ignore_errors=True)


def _js(d: Any, script: str) -> Any:
    return d.execute_script(script)


def _reading(d: Any) -> str | None:
    """The status line's text while it is shown."""
    text = _js(d, "const e = document.getElementById('reading');"
                  "return e && !e.hidden ? e.textContent : null")
    return None if text is None else str(text)


def test_the_status_shows_at_once_and_the_page_fills_in(served: dict[str, Any],
                                                         browser: Any) -> None:
    d = browser
    total = served["total"]
    # no snapshot: what has been replayed so far, under the status
    d.get(served["url"] + "/#/study/nosnap")
    text = wait_for(lambda: _reading(d), "the status line", timeout=30)
    assert text.startswith(f"reading {total['nosnap']:,} records of nosnap… "), text
    assert "the pages show what has been read" in text
    shown = wait_for(lambda: _js(d, "const e = document.getElementById('n-trials');"
                                    "return e && e.textContent"), "the overview's cards")
    assert 0 < int(shown) < 60  # what has been replayed: the page is not blank meanwhile
    comps = _js(d, "return document.getElementById('components').textContent")
    assert "scheduler asha (reduction_factor: 4)" in " ".join(comps.split())
    assert "null" not in comps and "{" not in comps
    # a snapshot the journal has outgrown: the snapshot, under the status
    d.get(served["url"] + "/#/study/stale")
    new = total["stale"] - served["covered"]
    text = wait_for(lambda: (t := _reading(d)) and "stale" in t and t, "the stale status")
    assert text.startswith(f"reading {new:,} new records of stale… shown meanwhile: its "
                           f"snapshot of the first {served['covered']:,} records"), text
    wait_for(lambda: _js(d, "const e = document.getElementById('n-trials');"
                            "return e && e.textContent"), "the snapshot's cards")
    # a chart page says it too (its answer carries the status in a header)
    d.get(served["url"] + "/#/study/stale/curves")
    wait_for(lambda: (t := _reading(d)) and t.startswith(f"reading {new:,} new records"),
             "the status above a chart")
    assert sorted(served["started"]) == ["nosnap", "stale"]  # one rebuild each
    d.get(served["url"] + "/#/study/stale")
    wait_for(lambda: _js(d, "const e = document.getElementById('n-trials');"
                            "return e && e.textContent"), "the snapshot's cards")
    assert int(_js(d, "return document.getElementById('n-trials').textContent")) < 60
    _js(d, "window.notReloaded = true")
    served["gate"].set()
    # read: the status goes and the page fills in by itself, without a reload
    wait_for(lambda: _js(d, "const e = document.getElementById('n-trials');"
                            "return e && e.textContent === '60'"), "stale's 60 trials",
             timeout=60)
    wait_for(lambda: _reading(d) is None, "the status line to go")
    assert _js(d, "return window.notReloaded") is True
    d.get(served["url"] + "/#/study/nosnap")
    wait_for(lambda: _js(d, "const e = document.getElementById('n-trials');"
                            "return e && e.textContent === '60'"), "nosnap's 60 trials",
             timeout=60)
    wait_for(lambda: _reading(d) is None, "nosnap's status line to go")
    assert sorted(served["started"]) == ["nosnap", "stale"]
