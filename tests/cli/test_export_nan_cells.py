"""``rung export --table results --format csv`` writes a metric reported as NaN as ``nan``
(as an infinity is ``inf``); an empty cell is a metric the result did not report. ``score``
and ``value`` stay empty where a result has no value, as in the trials table; JSON writes
every non-finite number as null (documented)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import rung
from rung.cli.main import main

pytest.importorskip("pandas")


def make(path: Path) -> None:
    st = rung.Study.create("e", {"x": rung.Float(0, 1)}, rung.Objective("loss", nan="worst"),
                           searcher="random", scheduler="fifo", max_step=2,
                           budget=rung.Budget(n_trials=2), storage=path, seed=0)
    a = st.ask()
    assert a is not None
    st.report(a.id, 1, {"loss": math.nan, "acc": 1.0})
    st.tell(a.id, "completed", {"loss": math.inf}, step=2)
    st.close()


def test_nan_is_written_nan_and_missing_empty(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    make(tmp_path / "e.db")
    assert main(["export", "e", "--storage", str(tmp_path / "e.db"), "--table", "results",
                 "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "trial_id,step,run,time,loss,acc,score,value,decision,reason"
    cells = [line.split(",") for line in lines[1:]]
    assert [c[4:8] for c in cells] == [["nan", "1.0", "", ""], ["inf", "", "", ""]]


def test_json_stays_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make(tmp_path / "e.db")
    assert main(["export", "e", "--storage", str(tmp_path / "e.db"), "--table", "results",
                 "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["loss"], r["acc"]) for r in rows] == [(None, 1.0), (None, None)]
