"""``rung export --table results`` folds the study's records once.

Before, the frame was built from one fold of the records (``Study.results_dataframe``) and the
CSV's NaN cells were marked from the rows of a second one (``reported_nan_as_text`` called
``study_fold`` again). Now both come from one fold (``StudyViews._results``); what is written
is byte for byte what the two folds wrote (``old_export`` below is the code before).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.analysis_frames import result_rows, results_dataframe
from rung.benchmarks import get_benchmark
from rung.cli.export import json_records
from rung.cli.main import main
from rung.journal_fold import JournalFold, fold
from rung.storage import SQLiteJournal

pd = pytest.importorskip("pandas")


def with_nan(path: Path) -> None:
    """Metrics reported NaN and infinite, one missing, one named like a fixed column."""
    st = rung.Study.create("s", {"x": rung.Float(0, 1)}, rung.Objective("loss", nan="worst"),
                           searcher="random", scheduler="fifo", max_step=2,
                           budget=rung.Budget(n_trials=3), storage=path, seed=0)
    a = st.ask()
    assert a is not None
    st.report(a.id, 1, {"loss": math.nan, "acc": 1.0})
    st.tell(a.id, "completed", {"loss": math.inf}, step=2)
    a = st.ask()
    assert a is not None
    st.report(a.id, 1, {"loss": 0.5, "acc": math.nan})
    st.tell(a.id, "completed", {"loss": math.nan, "step": 3.0}, step=2)
    st.close()


def with_fidelity(path: Path) -> None:
    b = get_benchmark("mf-hartmann3")
    st = rung.Study.create("s", b.space, objective=rung.Objective(b.metric, b.mode),
                           searcher="random", scheduler=rung.ASHA(reduction_factor=3),
                           fidelity=rung.Fidelity("epochs", low=1, high=27, reduction_factor=3),
                           budget=rung.Budget(n_trials=12), seed=1, storage=path)
    st.simulate(b, n_workers=2)
    st.close()


def old_export(path: Path, table: str, fmt: str) -> str:
    """What ``rung export s --table TABLE --format FMT`` wrote to standard output before."""
    with SQLiteJournal(path, readonly=True) as j:
        s = rung.Study.load("s", j, readonly=True)
        records = s._journal_records()
        if table == "trials":
            df = s.trials_dataframe()
        else:
            df = results_dataframe(s.history, fold(records))
            fid = s.spec.fidelity
            if fid is not None:
                col = fid.name if fid.name not in df.columns else f"fidelity_{fid.name}"
                df.insert(2, col, [fid.value(int(x)) for x in df["step"]])
            if fmt == "csv":  # reported_nan_as_text, as it was, with its own fold
                rows = result_rows(s.history, fold(records))
                fixed = {"trial_id", "step", "run", "time", "score", "value", "decision",
                         "reason"}
                cols = [c for c in df.columns if c not in fixed]
                marks = {c: [i for i, r in enumerate(rows) if isinstance(r.get(c), float)
                             and math.isnan(r[c])] for c in cols}
                marks = {c: at for c, at in marks.items() if at}
                if marks and len(rows) == len(df):
                    df = df.copy()
                    for c, at in marks.items():
                        col_ = df[c].astype(object)
                        col_.iloc[at] = "nan"
                        df[c] = col_
    text: str = df.to_csv(index=False) if fmt == "csv" else json_records(df) + "\n"
    return text


@pytest.fixture
def updates(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The records of each ``JournalFold.update`` that gets any."""
    calls: list[int] = []
    update = JournalFold.update

    def counting(self: JournalFold, records: Any) -> JournalFold:
        records = list(records)
        if records:
            calls.append(len(records))
        return update(self, records)

    monkeypatch.setattr(JournalFold, "update", counting)
    return calls


@pytest.fixture
def rows_built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The rows of each ``result_rows`` call."""
    import rung.analysis_frames as frames

    calls: list[int] = []
    build = frames.result_rows

    def counting(history: Any, jf: JournalFold) -> list[dict[str, Any]]:
        rows = build(history, jf)
        calls.append(len(rows))
        return rows

    monkeypatch.setattr(frames, "result_rows", counting)
    return calls


@pytest.mark.parametrize("study", ["asha", "nan", "fidelity"])
@pytest.mark.parametrize(("table", "fmt"), [("results", "csv"), ("results", "json"),
                                            ("trials", "csv")])
def test_export_folds_once_and_writes_what_it_wrote(
        isolated: Path, stored: Path, capsys: pytest.CaptureFixture[str],
        updates: list[int], rows_built: list[int], study: str, table: str,
        fmt: str) -> None:
    path = stored
    if study != "asha":
        path = isolated / f"{study}.db"
        (with_nan if study == "nan" else with_fidelity)(path)
    want = old_export(path, table, fmt)
    updates.clear(), rows_built.clear()
    capsys.readouterr()
    assert main(["export", "s", "--storage", str(path), "--table", table,
                 "--format", fmt]) == 0
    got = capsys.readouterr().out
    assert got == want
    with SQLiteJournal(path, readonly=True) as j:
        assert updates == [len(j.read("s"))]  # before, with --table results: two folds
    assert len(rows_built) == (table == "results")  # and the rows built once from it
    if study == "nan" and table == "results" and fmt == "csv":
        assert ",nan," in got  # the case the second fold was for
