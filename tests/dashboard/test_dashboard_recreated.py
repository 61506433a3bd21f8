"""A study deleted and created again under the same name and file while the dashboard is open
(``rm runs/x.db; rung run spec.yaml``): every page shows the new study, as a fresh
``Study.load`` reads it, whether the new journal holds fewer records than the old one, as many,
or more. (The catalog kept its replay of the old study and read on from the old record count:
with fewer records it served the deleted study indefinitely, with as many it never looked
again, with more it showed a mix of the two; only the ledger page had its own guard.) A
catalog serving the study from a snapshot of its pages notices too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dashhelp import run_to_the_end

import rung
from rung.dashboard import charts, data
from rung.dashboard import ledger as L
from rung.dashboard.workers import workers_page

#: how each page says how it is served now, not what the study holds
LIVE = ("path", "live", "loading", "error")


def _make(db: Path, n_trials: int, offset: float, seed: int, price: float) -> None:
    """Delete the journal and create study ``re`` anew in it: ``n_trials`` trials under ASHA,
    each loss ``offset`` plus at most 1, trials of 3 steps."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    s = rung.Study.create("re", {"a": rung.Float(0, 1)}, objective="loss", searcher="random",
                          scheduler=rung.ASHA(reduction_factor=2), max_step=3, seed=seed,
                          budget=rung.Budget(n_trials=n_trials), prices={"cpu": price},
                          storage=db)
    run_to_the_end(s, 3, lambda t, step: {"loss": offset + t.params["a"] / step})
    s.close()


def _pages(cat: data.Catalog) -> dict[str, Any]:
    """Every page of study ``re`` as the catalog answers it (the ledger as its page does)."""
    name, path = cat.resolve("re")
    out = {
        "overview": cat.view("re", data.overview),
        "trials": cat.view("re", lambda s: data.trials(s, {"limit": "1000"})),
        "curves": cat.view("re", charts.curves),
        "workers": cat.view("re", workers_page),
        "ledger": L.ledger_view(path, name),
    }
    out["overview"] = {k: v for k, v in out["overview"].items() if k not in LIVE}
    out["trials"] = {k: v for k, v in out["trials"].items() if k not in LIVE}
    return json.loads(json.dumps(out))  # as the pages send them


def _agrees_with_a_fresh_load(pages: dict[str, Any], db: Path) -> None:
    study = rung.Study.load("re", storage=db, readonly=True)
    trials = study.trials()
    best = study.best_trial
    ov = pages["overview"]
    assert ov["trials"] == len(trials)
    assert ov["best_trial"] == best.id and ov["best_value"] == best.value
    assert sum(ov["by_status"].values()) == len(trials)
    table = pages["trials"]
    assert table["total"] == len(trials)
    assert {r["trial_id"]: r["value"] for r in table["rows"]} == {t.id: t.value for t in trials}
    curves = pages["curves"]
    assert {c["trial_id"]: c["y"] for c in curves["trials"]} == {
        t.id: [r.metrics["loss"] for r in t.results] for t in trials}
    ledger = study.ledger().to_json()
    assert {k: v for k, v in pages["ledger"].items() if k not in ("name", "metric",
                                                                   "mode")} == ledger
    workers = pages["workers"]
    assert len(workers["runs"]) == workers["total_runs"] == ledger["total"]["runs"]
    assert workers["utilization"] == ledger["utilization"]


@pytest.mark.parametrize(("first", "second"), [(40, 10), (20, 20), (20, 40)],
                         ids=["fewer-records", "as-many", "more-records"])
def test_every_page_shows_the_recreated_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              first: int, second: int) -> None:
    db = tmp_path / "re.db"
    monkeypatch.setattr(data, "MIN_RECORDS", 1)  # the dashboard snapshots even a small study
    cache = tmp_path / "cache"
    L._CACHE.clear()
    _make(db, first, 0.0, 1, 1.0)
    replayed = data.Catalog(db, snapshots=False)
    writer = data.Catalog(db, cache_dir=cache)  # replays it, and writes its own snapshot
    old = _pages(replayed)
    _agrees_with_a_fresh_load(old, db)
    assert _pages(writer) == old
    served = data.Catalog(db, cache_dir=cache)
    assert served.snapshot("re").view is not None  # served from that snapshot
    assert _pages(served) == old

    _make(db, second, 100.0, 2, 3.0)  # every loss of the new study is 100 or more
    fresh = _pages(data.Catalog(db, snapshots=False))
    _agrees_with_a_fresh_load(fresh, db)
    assert fresh["overview"]["best_value"] >= 100
    for cat in (replayed, writer, served):
        for _ in range(2):  # and at the next look too
            assert _pages(cat) == fresh
    # the next catalog does not open the old study's snapshot as the new one's
    assert _pages(data.Catalog(db, cache_dir=cache)) == fresh


def _trials(s: rung.Study, n: int) -> None:
    for _ in range(n):
        t = s.ask()
        assert t is not None
        for step in range(1, 4):
            s.report(t.id, step, {"loss": t.params["a"] / step})
        s.tell(t.id, "completed")


def test_a_journal_cut_short_is_read_anew(tmp_path: Path) -> None:
    """The same study (same creation) with its last records gone, a journal put back from an
    older copy: read from its start, not served as it was."""
    import shutil

    db, early = tmp_path / "re.db", tmp_path / "early"
    early.mkdir()
    s = rung.Study.create("re", {"a": rung.Float(0, 1)}, objective="loss", searcher="random",
                          scheduler="fifo", max_step=3, seed=1, budget=rung.Budget(n_trials=12),
                          storage=db)
    _trials(s, 6)
    s.close()
    for f in tmp_path.glob("re.db*"):  # a copy of the journal as it was
        shutil.copy(f, early / f.name)
    cat = data.Catalog(db, snapshots=False)
    L._CACHE.clear()
    before = _pages(cat)
    s = rung.Study.load("re", storage=db)
    _trials(s, 6)
    s.close()
    assert _pages(cat)["overview"]["trials"] == 12
    for f in tmp_path.glob("re.db*"):
        f.unlink()
    for f in early.iterdir():
        shutil.copy(f, tmp_path / f.name)
    assert _pages(cat) == before
    _agrees_with_a_fresh_load(before, db)
