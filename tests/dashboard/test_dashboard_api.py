"""The dashboard's JSON API and its incremental journal reading (no browser)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from dashhelp import simulated_asha

import rung

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient

from rung.dashboard import create_app
from rung.dashboard.app import PLOTLY_JS
from rung.dashboard.data import Catalog


def _asha(db: Path, n_trials: int = 30) -> None:
    simulated_asha(db, n_trials)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    _asha(tmp_path / "a.db")
    s = rung.Study.create("mo", {"x": rung.Float(0, 1)}, objective=["a", "b"],
                          searcher="random", scheduler="fifo", budget=rung.Budget(n_trials=12),
                          storage=tmp_path / "b.db")
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"a": t.params["x"], "b": 1 - t.params["x"] ** 2})
    s.close()
    return TestClient(create_app(tmp_path))


def test_pages_and_api(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert "cdn" not in page.text.lower()
    js = client.get("/static/" + PLOTLY_JS)  # the vendored partial bundle, its license beside
    assert js.status_code == 200 and b"plotly.js (basic - minified) v4.1.1" in js.content[:200]
    assert "MIT License" in client.get("/static/plotly-basic.LICENSE").text
    assert hashlib.sha256(js.content).hexdigest() in client.get("/static/VENDORED.md").text
    app_js = client.get("/static/app.js")
    assert app_js.status_code == 200 and f'"/static/{PLOTLY_JS}"' in app_js.text  # lazily
    assert f'src="/static/{PLOTLY_JS}"' in client.get("/ledger").text
    assert "cdn" not in app_js.text.lower()
    assert client.get("/static/../app.py").status_code == 404
    studies = client.get("/api/studies").json()["studies"]
    assert {s["name"] for s in studies} == {"asha", "mo"}
    ov = client.get("/api/study/asha").json()
    assert ov["trials"] == 30 and ov["budget"]["n_trials"] == {"used": 30, "limit": 30}
    assert ov["rung_steps"] == [1, 3, 9, 27] and ov["best_value"] is not None
    rows = client.get("/api/study/asha/trials").json()["rows"]
    assert len(rows) == 30
    stopped = [r for r in rows if r["status"] == "stopped"]
    assert stopped and all("not in the top" in r["reason"] for r in stopped)
    t = client.get(f"/api/study/asha/trial/{stopped[0]['trial_id']}").json()
    assert t["decisions"][-1]["action"] == "stop" and t["decisions"][-1]["reason"]
    assert t["results"][-1]["decision"] == "stop"
    cur = client.get("/api/study/asha/curves").json()
    assert len(cur["trials"]) == 30 and len(cur["decisions"]) == len(stopped)
    # the cut-offs are the thresholds ASHA named in its stop decisions (latest per rung)
    named: dict[str, list[tuple[float, float]]] = {}
    for trial in stopped:
        d = client.get(f"/api/study/asha/trial/{trial['trial_id']}").json()["decisions"][-1]
        named.setdefault(str(d["step"]), []).append(
            (d["time"], float(d["reason"].split("(cutoff loss=")[1].split(")")[0])))
    assert set(cur["cutoffs"]) == set(named)
    for step, c in cur["cutoffs"].items():
        ordered = [v for _, v in sorted(named[step])]  # by decision time
        assert c["n"] == len(ordered) and c["low"] == min(ordered) and c["high"] == max(ordered)
        last = [v for t, v in named[step] if t == max(named[step])[0]]
        assert c["latest"] in last  # the last decision's (journal order breaks time ties)
    w = client.get("/api/study/asha/workers").json()
    assert w["slots"] == 3 and len(w["runs"]) == 30 and 0 < w["utilization"] <= 1
    p = client.get("/api/study/mo/pareto").json()
    assert len(p["points"]) == 12 and p["front"]
    assert client.get("/api/study/asha/pareto").json()["points"] == []
    assert client.get("/api/study/nope").status_code == 404
    assert client.get("/api/study/asha/trial/999").status_code == 404
    assert client.get("/api/study/asha/trial/999").json() == {"error": "no such trial"}


@pytest.mark.parametrize("tid", ["abc", "-1", "1.5", "%C2%B2"])
def test_a_trial_id_that_is_not_a_number_is_an_unknown_trial(client: TestClient,
                                                              tid: str) -> None:
    # before: {"error": "no study named 'asha/trial/abc'"} (the overview's route caught it)
    r = client.get(f"/api/study/asha/trial/{tid}")
    assert r.status_code == 404 and r.json()["error"].startswith("no such trial: ")
    assert client.get(f"/api/study/nope/trial/{tid}").json() == {
        "error": "no study named 'nope'"}


def test_a_study_named_like_a_trial_address_is_still_served(tmp_path: Path) -> None:
    s = rung.Study.create("a/trial/b", {"x": rung.Float(0, 1)}, "loss", searcher="random",
                          scheduler="fifo", budget=rung.Budget(n_trials=1),
                          storage=tmp_path / "c.db")
    t = s.ask()
    assert t is not None
    s.tell(t.id, "completed", {"loss": 0.5})
    s.close()
    client = TestClient(create_app(tmp_path))
    r = client.get("/api/study/a%2Ftrial%2Fb")
    assert r.status_code == 200 and r.json()["name"] == "a/trial/b"


def test_catalog_follows_a_growing_journal_incrementally(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    s = rung.Study.create("g", {"x": rung.Float(0, 1)}, searcher="random",
                          scheduler=rung.ASHA(reduction_factor=2), max_step=4,
                          budget=rung.Budget(n_trials=20), storage=db)
    cat = Catalog(db)

    def work(n: int) -> None:
        for _ in range(n):
            t = s.ask()
            assert t is not None
            for step in range(1, 5):
                d = s.report(t.id, step, {"loss": t.params["x"] + 1 / step})
                if d.action.value != "continue":
                    s.tell(t.id, "stopped")
                    break
            else:
                s.tell(t.id, "completed")

    work(5)
    first = cat.snapshot("g")
    assert len(first.history) == 5 and first.live  # the writer holds the study
    engine = first.engine
    work(7)
    second = cat.snapshot("g")
    assert second.engine is engine and len(second.history) == 12  # the same engine, fed on
    full = rung.Study.load("g", db, readonly=True)
    assert [full.history.score(i) for i in full.history] == [
        second.history.score(i) for i in second.history]
    assert second.fold.n_records == len(full.journal.read("g"))
    full.close()
    s.close()
    assert not cat.snapshot("g").live


def test_trials_table_is_sorted_filtered_and_paged_on_the_server(client: TestClient) -> None:
    url = "/api/study/asha/trials"
    d = client.get(url, params={"limit": 7}).json()
    assert [r["trial_id"] for r in d["rows"]] == list(range(7))
    assert d["total"] == d["matched"] == 30 and d["offset"] == 0
    assert d["columns"][:3] == ["trial_id", "params_x0", "params_x1"]
    assert "reason" in d["columns"] and "score" not in d["columns"]
    page2 = client.get(url, params={"limit": 7, "offset": 28}).json()["rows"]
    assert [r["trial_id"] for r in page2] == [28, 29]
    by_value = client.get(url, params={"sort": "value", "limit": 30}).json()["rows"]
    values = [r["value"] for r in by_value if r["value"] is not None]
    assert values == sorted(values) and len(values) == 30
    desc = client.get(url, params={"sort": "value", "desc": "1", "limit": 30}).json()["rows"]
    assert [r["trial_id"] for r in desc] == [r["trial_id"] for r in reversed(by_value)]
    stopped = client.get(url, params={"q": "Stopped", "limit": 1000}).json()
    assert stopped["matched"] == len(stopped["rows"]) > 0
    assert all(r["status"] == "stopped" for r in stopped["rows"])
    both = client.get(url, params={"q": "stopped rung-1", "limit": 1000}).json()
    assert all("rung-1" in (r["reason"] or "") for r in both["rows"])
    # nonsense parameters fall back to the defaults rather than fail
    bad = client.get(url, params={"sort": "nope", "offset": "x", "limit": "-5"}).json()
    assert [r["trial_id"] for r in bad["rows"]] == [0] and bad["sort"] == "trial_id"


def test_parallel_and_workers_are_capped(client: TestClient,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from rung.dashboard import charts

    p = client.get("/api/study/asha/parallel").json()
    assert len(p["trial_ids"]) == p["with_value"] == 30 and p["params"] == ["x0", "x1", "x2"]
    assert p["sample"] == {"shown": 30, "of": 30, "best": 0, "sampled": 0,
                           "note": "showing all 30 trials with a value"}
    assert all(len(p["columns"][n]) == 30 for n in p["params"]) and len(p["values"]) == 30
    every = dict(zip(p["trial_ids"], p["values"], strict=True))
    every_run = client.get("/api/study/asha/workers").json()["runs"]
    monkeypatch.setattr(charts, "MAX_PARALLEL", 10)
    monkeypatch.setattr(charts, "BEST_PARALLEL", 3)
    monkeypatch.setattr(charts, "MAX_RUNS", 4)
    p = client.get("/api/study/asha/parallel").json()
    assert len(p["trial_ids"]) == 10 and p["with_value"] == 30
    assert p["trial_ids"] == sorted(p["trial_ids"])
    assert p["values"] == [every[i] for i in p["trial_ids"]]  # the columns stay aligned
    best = sorted(every, key=lambda i: every[i])[:3]
    rest = [i for i in range(30) if i not in best]
    sampled = [rest[j * 26 // 6] for j in range(7)]  # evenly spaced, first and last included
    assert p["trial_ids"] == sorted(best + sampled)
    assert p["sample"]["note"] == ("showing 10 of 30 trials with a value: the best 3 and an "
                                   "evenly spaced sample of 7 of the other 27")
    overview = client.get("/api/study/asha").json()
    assert overview["best_trial"] in p["trial_ids"]
    monkeypatch.setattr(charts, "MAX_CURVES", 8)
    monkeypatch.setattr(charts, "BEST_CURVES", 2)
    c = client.get("/api/study/asha/curves").json()
    assert [t["trial_id"] for t in c["trials"]] == sorted(t["trial_id"] for t in c["trials"])
    assert len(c["trials"]) == 8 and c["sample"]["best"] == 2 and c["sample"]["of"] == 30
    assert c["sample"]["note"].startswith("showing 8 of 30 trials with a result: the best 2")
    assert {d["trial_id"] for d in c["decisions"]} <= {t["trial_id"] for t in c["trials"]}
    w = client.get("/api/study/asha/workers").json()
    assert w["runs"] == every_run[-4:] and w["total_runs"] == 30  # the latest runs
    assert w["utilization"] == client.get("/api/study/asha/workers").json()["utilization"]


def _synthetic_history(n: int) -> Any:
    """``n`` trials made straight into a History (no engine, no journal: a second): every
    tenth has no result; the others one result at step 1, all scores distinct."""
    from rung.core.history import History
    from rung.core.records import Result

    space = rung.SearchSpace({"x": rung.Float(0, 1), "c": rung.Categorical(["a", "b"])})
    h = History(space, rung.Objective("loss", "min"), 27)
    for i in range(n):
        h._create(i, {"x": i / n, "c": "ab"[i % 2]}, None, {}, True)
        if i % 10:
            h._add_result(i, Result(1, {"loss": (i * 7919) % 100_003 / 100_003}, 0.0), 1)
    return h


def test_charts_of_100k_trials_draw_the_best_and_an_even_sample() -> None:
    from rung.dashboard import data

    h = _synthetic_history(100_000)
    with_value = [i for i in h if i % 10]
    ids, info = data.sample(h, with_value, 2000, 500, "trials with a value")
    best = sorted(with_value, key=h.score)[:500]
    rest = sorted(set(with_value) - set(best))
    assert len(ids) == 2000 and ids == sorted(ids) and set(best) <= set(ids)
    assert [i for i in ids if i not in set(best)] == [rest[j * 89_499 // 1499]
                                                      for j in range(1500)]
    assert rest[0] in ids and rest[-1] in ids  # the first and the latest
    assert info == {"shown": 2000, "of": 90_000, "best": 500, "sampled": 1500,
                    "note": "showing 2,000 of 90,000 trials with a value: the best 500 and an "
                            "evenly spaced sample of 1,500 of the other 89,500"}
    # the endpoint, as columns, over the same History (the chart's caps are the defaults)
    snap = SimpleNamespace(history=h, fold=SimpleNamespace(n_records=1), memo={})
    p = data.parallel(snap)  # type: ignore[arg-type]
    assert (data.MAX_PARALLEL, data.BEST_PARALLEL) == (2000, 500)
    assert p["trial_ids"] == ids and p["sample"] == info
    assert p["with_value"] == 90_000 and p["total"] == 100_000
    assert p["values"] == [h.score(i) for i in ids]
    assert p["columns"]["x"] == [i / 100_000 for i in ids]
    assert p["columns"]["c"] == ["ab"[i % 2] for i in ids]
    assert data.parallel(snap) is p  # kept until new records arrive  # type: ignore[arg-type]
    # below the cap nothing is left out, and the note says so
    small, note = data.sample(h, with_value[:2000], 2000, 500)
    assert small == with_value[:2000] and note["note"] == "showing all 2,000 trials"


@pytest.mark.parametrize("chunk", [25, 7])
def test_a_large_journal_opens_progressively(tmp_path: Path, chunk: int,
                                             monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture) -> None:
    """Past ``WAIT`` seconds a first replay goes on in a background thread; requests are
    answered with what has been replayed, flagged ``loading``, and the end state is the
    same as a full replay's."""
    import time

    from rung.dashboard import data

    _asha(tmp_path / "a.db", n_trials=60)
    monkeypatch.setattr(data, "CHUNK", chunk)
    cat = Catalog(tmp_path / "a.db")
    first = cat.view("asha", data.study_row)  # wait=0 below: here the default wait
    assert first["loading"] is None and first["trials"] == 60  # small: replayed at once
    cat = Catalog(tmp_path / "a.db")
    snap = cat.snapshot("asha", wait=0.0)
    partial = snap.loading
    assert partial is not None and 0 < partial["records"] < partial["total"]
    assert partial["records"] <= max(chunk, 3)  # a chunk, cut before its last event
    deadline = time.monotonic() + 30
    while cat.snapshot("asha").loading is not None or snap.loader is not None:
        assert time.monotonic() < deadline, "the background replay did not finish"
        time.sleep(0.01)
    full = rung.Study.load("asha", tmp_path / "a.db", readonly=True)
    assert snap.fold.n_records == partial["total"] == len(full.journal.read("asha"))
    assert [snap.history.score(i) for i in snap.history] == [
        full.history.score(i) for i in full.history]
    rows = data.trials(snap, {"limit": "100"})["rows"]  # built by the loader at its end
    assert [r["status"] for r in rows] == [t.status.value for t in full.trials()]
    full.close()
    # chunks end between turns: the replay never fell back to reading the whole journal
    assert not [r for r in caplog.records if r.name == "rung.dashboard"]


def test_rows_are_rebuilt_for_the_trials_new_records_touch(tmp_path: Path) -> None:
    from rung.dashboard import data

    db = tmp_path / "r.db"
    s = rung.Study.create("r", {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          max_step=3, budget=rung.Budget(n_trials=5), storage=db)
    cat = Catalog(db)
    a, b = s.ask(), s.ask()
    assert a is not None and b is not None
    s.report(a.id, 1, {"loss": 0.5})
    rows = cat.view("r", data.trials)["rows"]
    assert [(r["status"], r["last_step"]) for r in rows] == [("running", 1), ("running", 0)]
    s.tell(a.id, "completed", {"loss": 0.25})
    snap = cat.snapshot("r")
    assert snap.dirty == {a.id}  # only the trial the new records name
    rows = data.trials(snap)["rows"]
    assert rows[0]["status"] == "completed" and rows[0]["value"] == 0.25
    assert rows[1]["status"] == "running"
    s.close()


def test_chart_answers_are_kept_until_new_records_arrive(tmp_path: Path) -> None:
    from rung.dashboard import data

    db = tmp_path / "m.db"
    s = rung.Study.create("m", {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          max_step=2, budget=rung.Budget(n_trials=4), storage=db)
    cat = Catalog(db)
    t = s.ask()
    assert t is not None
    s.report(t.id, 1, {"loss": 0.5})
    first = cat.view("m", data.curves)
    assert cat.view("m", data.curves) is first  # nothing new: the same answer
    assert [c["y"] for c in first["trials"]] == [[0.5]]
    s.report(t.id, 2, {"loss": 0.25})
    second = cat.view("m", data.curves)
    assert second is not first and [c["y"] for c in second["trials"]] == [[0.5, 0.25]]
    s.close()


def test_pareto_keeps_the_front_and_an_even_sample(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from rung.dashboard import charts

    s = rung.Study.create("same", {"x": rung.Float(0, 1)}, objective=["a", "b"],
                          searcher="random", scheduler="fifo", budget=rung.Budget(n_trials=12),
                          storage=tmp_path / "c.db")
    while (t := s.ask()) is not None:  # both objectives agree: one trial dominates the rest
        s.tell(t.id, "completed", {"a": t.params["x"], "b": t.params["x"]})
    s.close()
    client = TestClient(create_app(tmp_path))
    every = client.get("/api/study/same/pareto").json()
    assert len(every["points"]) == 12 and len(every["front"]) == 1
    assert every["sample"]["note"] == "showing all 12 trials with both values"
    monkeypatch.setattr(charts, "MAX_PARETO", 5)
    p = client.get("/api/study/same/pareto").json()
    front = every["front"][0]
    rest = [i for i in range(12) if i != front]
    assert [q["trial_id"] for q in p["points"]] == sorted(
        [front] + [rest[j] for j in (0, 3, 6, 10)])
    assert p["front"] == [front] and p["sample"]["note"] == (
        "showing 5 of 12 trials with both values: the 1 on the Pareto front and an evenly "
        "spaced sample of 4 of the other 11")


def test_a_name_two_journals_hold_says_which_keys_to_ask_for(tmp_path: Path) -> None:
    for f in ("a.db", "b.db"):
        s = rung.Study.create("mo", {"x": rung.Float(0, 1)}, "loss", searcher="random",
                              scheduler="fifo", budget=rung.Budget(n_trials=1),
                              storage=tmp_path / f)
        s.close()
    client = TestClient(create_app(tmp_path))
    for url in ("/api/study/mo", "/api/study/mo/trials", "/api/study/mo/ledger"):
        r = client.get(url)
        assert r.status_code == 404 and r.json() == {
            "error": "study name 'mo' is in several journals: ask for one of mo@a.db, mo@b.db"}
    assert client.get("/api/study/mo@b.db").status_code == 200


def test_payloads_name_a_field_as_the_exports_do(client: TestClient) -> None:
    """One word per field (DESIGN §3): the trials table's ``last_step`` (the highest step, as
    ``trials_dataframe`` and ``Trial.last_step`` name it; ``steps`` elsewhere counts steps
    trained) and ``slot`` (the worker timeline's word), a trial's detail ``last_step``, and
    every chart names a trial ``trial_id`` (``trial_ids`` for the parallel chart's column)."""
    table = client.get("/api/study/asha/trials", params={"limit": 1000}).json()
    assert table["columns"] == ["trial_id", "params_x0", "params_x1", "params_x2", "status",
                                "value", "last_step", "decision", "decision_step", "reason",
                                "duration", "slot", "error"]
    runs = client.get("/api/study/asha/workers").json()["runs"]
    latest_slot = {r["trial_id"]: r["slot"] for r in runs}  # in launch order: the latest wins
    for row in table["rows"]:
        assert set(row) == set(table["columns"])
        assert row["slot"] == latest_slot[row["trial_id"]]
        detail = client.get(f"/api/study/asha/trial/{row['trial_id']}").json()
        assert "steps" not in detail
        assert detail["last_step"] == row["last_step"] == max(r["step"] for r in
                                                              detail["results"])
    # a rung's step or max_step (ASHA's rungs of this study: 1, 3, 9, 27), not a count
    assert {r["last_step"] for r in table["rows"]} == {1, 3, 27}
    curves = client.get("/api/study/asha/curves").json()
    assert all(set(t) == {"trial_id", "status", "x", "y"} for t in curves["trials"])
    assert curves["decisions"] and all(
        set(m) == {"trial_id", "step", "action", "reason", "value"} for m in curves["decisions"])
    par = client.get("/api/study/asha/parallel").json()
    assert "ids" not in par and sorted(par["trial_ids"]) == list(range(30))
    pareto = client.get("/api/study/mo/pareto").json()
    assert all(set(p) == {"trial_id", "x", "y", "feasible"} for p in pareto["points"])
    assert set(pareto["front"]) <= {p["trial_id"] for p in pareto["points"]}
