"""What a browser audit of the dashboard found, at the JSON level: the learning curves' value
axis fits every result (as ``rung plot`` does), the study list gives ``rung ls``'s state and
``rung show``'s notes (the trials a stopped driver left running, why the search ended, the
code that wrote the journal), the ledger says why the search ended, the trials table sorts its
text in natural order and shows a failed trial's whole exception, and a study of under a
second of time has no rate."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import rung

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient

from rung.bulk_range import bulk_range
from rung.dashboard import charts, create_app
from rung.dashboard.table import natural_key

OLD = Path(__file__).parents[1] / "core" / "journal_old_reasons.json"


def _client(root: Path) -> TestClient:
    return TestClient(create_app(root))


def _cli(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "rung.cli", *args], capture_output=True,
                          text=True, timeout=120).stdout


def test_the_curves_axis_fits_every_result_not_the_sample(tmp_path: Path,
                                                          monkeypatch: Any) -> None:
    # 60 trials, 10 drawn (the best 5 and 5 others): the bulk of the drawn results is not the
    # study's, and rung plot fits the study's
    s = rung.Study.create("c", {"x": rung.Float(0, 1)}, objective="loss", searcher="random",
                          scheduler="fifo", max_step=3, budget=rung.Budget(n_trials=60),
                          seed=0, storage=tmp_path / "c.db")
    while (t := s.ask()) is not None:
        for step in (1, 2, 3):
            v = 1e6 if t.id % 9 == 4 else t.params["x"] * 100 + t.id % 7 + 1 / step
            s.report(t.id, step, {"loss": v})
        s.tell(t.id, "completed")
    every = [x for tid in s.history for x in s.history.scores(tid).values()]
    s.close()
    monkeypatch.setattr(charts, "MAX_CURVES", 10)
    monkeypatch.setattr(charts, "BEST_CURVES", 5)
    d = _client(tmp_path).get("/api/study/c/curves").json()
    assert d["sample"]["shown"] == 10
    want = bulk_range(every, rung.Objective("loss", "min"))
    assert want is not None
    drawn = bulk_range([y for t in d["trials"] for y in t["y"]], rung.Objective("loss", "min"))
    assert drawn is None or drawn.note() != want.note()  # the test tells the two apart
    vr = d["value_range"]
    assert vr["note"] == want.note() and vr["left_out"] == want.left_out
    assert (vr["low"], vr["high"]) == pytest.approx((want.low, want.high))


def _old(root: Path, name: str, **written_by: Any) -> None:
    """A journal of ``journal_old_reasons.json``'s ASHA study: written by another rung
    (``scheduler=99``: a newer one), or by one from before version records (``drop``)."""
    from rung.storage import SQLiteJournal
    from rung.storage.codec import from_body

    st = json.loads(OLD.read_text())["asha"]
    spec = {**st["spec"], "name": name,
            "written_by": {**st["spec"]["written_by"], **written_by}}
    if written_by.get("drop"):
        spec.pop("written_by")
    with SQLiteJournal(root / f"{name}.db") as j:
        j.create_study(name, spec)
        j.append(name, [from_body(k, b) for k, b in st["records"]])


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("states")
    done = rung.Study.create("done", {"x": rung.Float(0, 1)}, searcher="random",
                             scheduler="fifo", budget=rung.Budget(n_trials=3),
                             storage=root / "done.db")
    while (t := done.ask()) is not None:
        done.tell(t.id, "completed", {"loss": t.params["x"]})
    done.close()
    # a trial left running (asked, never told): resumable, with rung show's note
    left = rung.Study.create("left", {"x": rung.Float(0, 1)}, searcher="random",
                             scheduler="fifo", budget=rung.Budget(n_trials=3),
                             storage=root / "left.db")
    t = left.ask()
    assert t is not None
    left.close()
    # a finite space tried in full: the search ended with its budget not spent
    g = rung.Study.create("grid", {"c": rung.Categorical(["a", "b"])}, searcher="random",
                          scheduler="fifo", budget=rung.Budget(n_trials=10),
                          storage=root / "grid.db")
    while (t := g.ask()) is not None:
        g.tell(t.id, "completed", {"loss": 1.0 if t.params["c"] == "a" else 2.0})
    g.close()
    _old(root, "newer", scheduler=99)
    _old(root, "legacy", drop=True)
    return root


def test_the_study_list_says_what_rung_ls_and_rung_show_say(states: Path) -> None:
    rows = {r["key"]: r for r in _client(states).get("/api/studies").json()["studies"]}
    ls = {}
    for line in _cli("ls", "--storage", str(states)).splitlines()[1:]:
        name, state = re.split(r"\s{2,}", line.strip())[:2]
        ls[name] = state
    assert {k: r["state"] for k, r in rows.items()} == ls
    assert ls["left"] == "resumable" and ls["done"] == "done"
    assert rows["left"]["unfinished"] == 1 and rows["done"]["unfinished"] == 0
    show = _cli("show", "grid", "--storage", str(states / "grid.db"))
    assert rows["grid"]["budget_state"] and rows["grid"]["budget_state"] in show
    assert rows["done"]["budget_state"] is None
    # the code that wrote the journal (absent from the list before)
    assert "newer than this rung" in rows["newer"]["version_note"]
    assert "predates version records" in rows["legacy"]["version_note"]
    assert rows["done"]["version_note"] is None


def test_the_overview_carries_rung_shows_note_on_unfinished_trials(states: Path) -> None:
    o = _client(states).get("/api/study/left").json()
    show = _cli("show", "left", "--storage", str(states / "left.db"))
    notes = [ln.strip().removeprefix("note: ") for ln in show.splitlines()
             if ln.strip().startswith("note: ")]
    assert notes and o["unfinished_note"] == "; ".join(notes)
    assert _client(states).get("/api/study/done").json()["unfinished_note"] is None


def test_the_ledger_says_why_the_search_ended(states: Path) -> None:
    c = _client(states)
    led = c.get("/api/study/grid/ledger").json()
    assert led["budget_state"] and led["budget_state"] == c.get("/api/study/grid").json()[
        "budget_state"]
    assert c.get("/api/study/done/ledger").json()["budget_state"] is None


def test_under_a_second_of_time_gives_no_rate(states: Path) -> None:
    o = _client(states).get("/api/study/done").json()
    assert 0 < o["elapsed"] < 1
    assert o["throughput"] == {"results_per_s": None, "trials_per_min": None}


def test_text_sorts_in_natural_order_and_errors_show_the_whole_exception(
        tmp_path: Path) -> None:
    assert natural_key("rank 1/1") < natural_key("rank 1/125") < natural_key("rank 2/9") \
        < natural_key("rank 10/9")
    s = rung.Study.create("f", {"x": rung.Float(0, 1)}, searcher="random", scheduler="asha",
                          max_step=9, budget=rung.Budget(n_trials=40), seed=1,
                          storage=tmp_path / "f.db")
    while (t := s.ask()) is not None:
        if t.id == 3:
            try:
                raise ValueError("out of memory\non device 0")
            except ValueError as e:
                s.tell(t.id, "failed", error=e)
            continue
        for step in range(1, 10):
            if s.report(t.id, step, {"loss": t.params["x"] + 1 / step}).action.value != \
                    "continue":
                s.tell(t.id, "stopped")
                break
        else:
            s.tell(t.id, "completed")
    s.close()
    c = _client(tmp_path)
    rows = c.get("/api/study/f/trials?sort=reason&limit=1000").json()["rows"]
    reasons = [r["reason"] for r in rows if r["reason"] is not None]
    assert reasons == sorted(reasons, key=natural_key)
    assert reasons != sorted(reasons)  # plain text order differs here ("rank 10/.." < "rank 2/..")
    err = c.get("/api/study/f/trials?q=failed").json()["rows"][0]["error"]
    assert err == "ValueError: out of memory on device 0"
