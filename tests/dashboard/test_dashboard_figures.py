"""The dashboard's figures agree with the CLI's: the workers' busy share is the ledger's,
MO-ASHA has its rungs, a newer rung's journal and a search over before its budget say so as
``rung show`` does, the trials filter matches numbers as the table writes them, the Pareto
chart counts the trials it draws grey that nothing on the front dominates, and
``--interval`` has an upper bound."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from dashhelp import run_to_the_end

import rung
from rung.cli.main import main

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient

from rung.dashboard import create_app


def train(ctx):  # type: ignore[no-untyped-def]
    """A trial that takes no time: the run's time is the workers' start-up."""
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=ctx.params["x"] / step)


def test_the_busy_share_is_the_ledgers(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    s = rung.Study.create("l", {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          max_step=3, budget=rung.Budget(n_trials=6), seed=0, storage=db)
    s.run(train, n_workers=2)
    s.close()
    ledger = rung.Study.load("l", storage=db, readonly=True).ledger()
    w = TestClient(create_app(db)).get("/api/study/l/workers").json()
    # before: busy time over the span since the first event, start-up included (0.016)
    assert w["utilization"] == ledger.utilization
    assert w["utilization"] > 0.5


def test_an_empty_study_has_no_busy_share(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    rung.Study.create("e", {"x": rung.Float(0, 1)}, max_step=9, storage=db).close()
    c = TestClient(create_app(db))
    w = c.get("/api/study/e/workers").json()
    assert (w["runs"], w["slots"], w["utilization"]) == ([], 0, None)
    o = c.get("/api/study/e").json()
    assert (o["best_trial"], o["best_params"], o["workers"], o["results"]) == (None, None, 0, 0)
    assert c.get("/api/study/e/curves").json()["trials"] == []


def test_mo_asha_has_rungs(tmp_path: Path) -> None:
    db = tmp_path / "mo.db"
    s = rung.Study.create("mo", {"x": rung.Float(0, 1)}, objective=["a", "b"],
                          searcher="random", scheduler="mo_asha", max_step=9,
                          budget=rung.Budget(n_trials=12), seed=0, storage=db)
    run_to_the_end(s, 9, lambda t, step: {"a": t.params["x"] + 1 / step,
                                          "b": 1 - t.params["x"] + 1 / step})
    s.close()
    c = TestClient(create_app(db))
    # before: [] ("no rungs"), and no rung lines on the curves
    assert c.get("/api/study/mo").json()["rung_steps"] == [1, 3, 9]
    assert c.get("/api/study/mo/curves").json()["rung_steps"] == [1, 3, 9]
    study = rung.Study.load("mo", storage=db, readonly=True)
    assert study.engine.scheduler.fidelity_steps() == [1, 3, 9]


def _pbt(db: Path) -> None:
    from rung.benchmarks import get_benchmark

    b = get_benchmark("mf-hartmann3")
    s = rung.Study.create("pbt", b.space, objective=rung.Objective(b.metric, b.mode),
                          searcher="random", scheduler="pbt", max_step=b.max_step,
                          budget=rung.Budget(n_trials=16), seed=3, storage=db)
    s.simulate(b, n_workers=8)
    s.close()


def test_a_search_over_before_its_budget_says_why(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    _pbt(db)
    o = TestClient(create_app(db)).get("/api/study/pbt").json()
    assert o["budget"]["n_trials"]["used"] < o["budget"]["n_trials"]["limit"]
    # rung show: "budget  n_trials=16   (not spent, but the scheduler has nothing left ...)"
    assert o["budget_state"] == ("not spent, but the scheduler has nothing left to run: the "
                                 "search is over")
    assert o["version_note"] is None


def test_a_journal_of_a_newer_rung_says_so(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    _pbt(db)
    with sqlite3.connect(db) as c:
        spec = json.loads(c.execute("SELECT spec FROM study").fetchone()[0])
        spec["written_by"] = {"rung": "9.0.0", "searcher": 99, "scheduler": 99}
        c.execute("UPDATE study SET spec = ?", (json.dumps(spec),))
    note = rung.Study.load("pbt", storage=db, readonly=True).engine.version_note
    assert note is not None and "newer than this rung's version" in note
    o = TestClient(create_app(db)).get("/api/study/pbt").json()
    assert o["version_note"] == note  # before: no such field, a normal overview


@pytest.mark.parametrize(("x", "text"), [
    (0.00247, "0.002470"), (2.908e-4, "2.908e-4"), (0.25, "0.2500"), (123456.789, "1.235e+5"),
    (12345.5, "12346"), (-12345.5, "-12345"), (9.9996, "10.00"), (9.99996e-4, "1.000e-3"),
    (3.0, "3"), (-0.0, "0"), (1e21, "1e+21"), (1 / 3, "0.3333"),
])
def test_numbers_are_written_as_the_page_writes_them(x: float, text: str) -> None:
    # the expected texts are JavaScript's (static/app.js fmt: toPrecision(4),
    # toExponential(3), Math.round, String)
    from rung.dashboard.table import js_number

    assert js_number(x) == text


def test_the_filter_matches_numbers_as_the_table_writes_them(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    s = rung.Study.create("q", {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=2), storage=db)
    for loss in (0.00247, 2.908e-4):
        t = s.ask()
        assert t is not None
        s.tell(t.id, "completed", {"loss": loss})
    s.close()
    c = TestClient(create_app(db))
    for q, want in (("0.002470", [0]), ("2.908e-4", [1]), ("0.0002908", [])):
        rows = c.get("/api/study/q/trials", params={"q": q}).json()["rows"]
        assert [r["trial_id"] for r in rows] == want, q  # before: 0.00247 and 0.0002908


def test_the_pareto_chart_counts_what_it_draws_grey_undominated(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    s = rung.Study.create("p", {"x": rung.Float(0, 1)}, objective=["a", "b"],
                          searcher="random", scheduler="fifo", max_step=3,
                          budget=rung.Budget(n_trials=3), storage=db)
    # two trials at their final step; one stopped at step 1 that neither dominates
    for i, (a, b, last) in enumerate(((1.0, 3.0, 3), (3.0, 1.0, 3), (0.5, 0.5, 1))):
        t = s.ask()
        assert t is not None and t.id == i
        for step in range(1, last + 1):
            s.report(t.id, step, {"a": a, "b": b})
        s.tell(t.id, "completed" if last == 3 else "stopped")
    s.close()
    p = TestClient(create_app(db)).get("/api/study/p/pareto").json()
    assert p["front"] == [0, 1]
    assert p["undominated_early"] == 1


@pytest.mark.parametrize("value", ["1e308", "3000000", "3600.5"])
def test_an_interval_past_an_hour_is_refused(tmp_path: Path, value: str,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import rung.dashboard

    def serve(*args: object, **kwargs: object) -> None:
        raise AssertionError("served with --interval " + value)

    monkeypatch.setattr(rung.dashboard, "serve", serve)
    db = tmp_path / "s.db"
    rung.Study.create("s", {"x": rung.Float(0, 1)}, storage=db).close()
    with pytest.raises(SystemExit) as e:
        main(["dashboard", "--storage", str(db), "--interval", value])
    assert e.value.code == 2
    # before: 1e308 an OverflowError's traceback; 3000000 a page polling ~200 times a second
    assert capsys.readouterr().err == (f"rung: error: --interval: must be at most 3600 seconds "
                                       f"(an hour), got {value} (rung dashboard --help)\n")
    with pytest.raises(ValueError, match="interval: must be 0.1 to 3600 seconds"):
        create_app(db, interval=float(value))
