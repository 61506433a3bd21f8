"""``rung ls --json`` and ``rung show NAME --json``: one JSON value on stdout with the facts the
table and the text show (audit finding M5: scripts had only the table, whose ``best`` column
holds a space and whose unreadable rows free text). Keys: docs/dashboard.md, "Machine-readable
output"."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

import rung
from _damaged import PAGE, checkpointed_journal
from rung.cli.main import main
from rung.cli.report import LS_HEADERS, LS_KEYS, counts, entry_cells, table, top_trials
from rung.cli.show_json import SHOW_KEYS
from rung.core.records import TrialStatus

ROOT = Path(__file__).resolve().parents[2]


def _no_constant(name: str) -> Any:
    raise AssertionError(f"not JSON: {name}")


def _json(capsys: pytest.CaptureFixture[str], args: list[str], code: int = 0) -> Any:
    capsys.readouterr()
    assert main(args) == code
    out, err = capsys.readouterr()
    assert err == ""
    return json.loads(out, parse_constant=_no_constant)  # NaN / Infinity are not JSON


def _text(capsys: pytest.CaptureFixture[str], args: list[str], code: int = 0) -> str:
    capsys.readouterr()
    assert main(args) == code
    return capsys.readouterr().out


# --- rung ls --json ------------------------------------------------------------------------------
def test_ls_json_is_the_table_as_objects(stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entries = _json(capsys, ["ls", "--storage", str(stored), "--json"])
    study = rung.Study.load("s", storage=stored, readonly=True)
    h = study.history
    n = {s: h.count(s) for s in TrialStatus}
    expected = {
        "study": "s", "state": "done", "trials": len(h),
        "completed": n[TrialStatus.COMPLETED], "stopped": n[TrialStatus.STOPPED],
        "paused": n[TrialStatus.PAUSED], "failed": n[TrialStatus.FAILED],
        "unfinished": (n[TrialStatus.LAUNCHED] + n[TrialStatus.RUNNING]
                       + n[TrialStatus.INTERRUPTED]),
        "best": study.best_value(), "metric": "loss", "storage": str(stored), "error": None,
    }
    study.close()
    assert entries == [expected]
    assert list(entries[0]) == LS_KEYS
    # the table says the same
    text = _text(capsys, ["ls", "--storage", str(stored)])
    assert text == table(LS_HEADERS, [entry_cells(expected)], indent="") + "\n"


def test_ls_json_names_what_it_cannot_read(stored: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "dir"
    d.mkdir()
    shutil.copy(stored, d / "a.db")
    bad = checkpointed_journal(d)  # j.db, its last page overwritten: damaged
    with open(bad, "r+b") as f:
        f.seek(bad.stat().st_size - PAGE)
        f.write(bytes(range(256)) * (PAGE // 256))
    (d / "x.db").write_text("not a journal\n")
    entries = _json(capsys, ["ls", "--storage", str(d), "--json"], code=1)  # damaged: 1
    assert [(e["study"], e["state"], e["storage"]) for e in entries] == [
        ("s", "done", str(d / "a.db")), ("s", "unreadable", str(d / "j.db")),
        (None, "unreadable", str(d / "x.db"))]
    for e in entries[1:]:
        assert list(e) == LS_KEYS
        assert [e[k] for k in LS_KEYS[2:10]] == [None] * 8
    assert entries[1]["error"].startswith(f"cannot read the journal {d / 'j.db'}: it is damaged")
    assert entries[2]["error"].startswith(f"{d / 'x.db'} is not a rung journal")
    text = _text(capsys, ["ls", "--storage", str(d)], code=1).splitlines()
    assert [ln.split()[:2] for ln in text[2:]] == [["s", "unreadable:"], ["-", "unreadable:"]]
    assert [f"unreadable: {e['error']}" in line for e, line in zip(entries[1:], text[2:],
                                                                   strict=True)] == [True] * 2


def test_ls_json_of_no_study_is_an_empty_array(isolated: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert _json(capsys, ["ls", "--json"]) == []
    (isolated / "runs").mkdir()
    assert _json(capsys, ["ls", "--storage", "runs", "--json"]) == []


# --- rung show --json ----------------------------------------------------------------------------
def _show_line(text: str, head: str) -> str:
    return next(ln for ln in text.splitlines() if ln.startswith(f"  {head}"))


def test_show_json_is_the_summary_and_the_best_trials(stored: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    obj = _json(capsys, ["show", "s", "--storage", str(stored), "--top", "3", "--json"])
    assert list(obj) == SHOW_KEYS
    text = _text(capsys, ["show", "s", "--storage", str(stored), "--top", "3"])
    study = rung.Study.load("s", storage=stored, readonly=True)
    s = study.summary()
    best = study.best_trial
    assert best is not None
    top = top_trials(study, 3)
    assert {k: obj[k] for k in SHOW_KEYS[:10]} == {
        "study": "s", "storage": str(stored), "state": "done", "running": False,
        "objectives": [{"metric": "loss", "mode": "min"}], "constraints": [], "max_step": 9,
        "seed": 0, "searcher": {"name": "random", "params": {}},
        "scheduler": {"name": "asha", "params": {}},  # reduction_factor=3: ASHA's default
    }
    budget = re.fullmatch(r"  budget     (.*)   \((.*)\)", _show_line(text, "budget "))
    assert budget is not None
    assert (obj["budget"], budget.group(1)) == ({"n_trials": 12}, "n_trials=12")
    assert (obj["budget_state"], obj["budget_left"], obj["spent"]) == (
        budget.group(2), False, None)
    assert (obj["trials"], obj["by_status"]) == (12, counts(study.history))
    assert {k: obj[k] for k in ("results", "steps_consumed", "checkpoints")} == {
        k: s[k] for k in ("results", "steps_consumed", "checkpoints")}
    assert math.isclose(obj["elapsed"], s["elapsed"]) and obj["time_kind"] == "simulated"
    assert (obj["pareto_front"], obj["failures"]) == (None, [])
    rows = [{"trial": t.id, "status": t.status.value, "step": t.last_step, "value": t.value,
             "feasible": None, "params": dict(t.params)} for t in top]
    assert obj["best_trials"] == rows
    assert obj["best"] == {**rows[0], "metric": "loss"} and rows[0]["trial"] == best.id
    assert f"best loss={rung.cli.report.fmt_num(best.value)} (trial #{best.id}, " in text
    study.close()


def test_show_json_of_several_objectives_constraints_and_failures(
        isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = rung.Study.create(
        "mo", {"x": rung.Float(0.0, 1.0)},
        objective=[rung.Objective("loss", "min"), rung.Objective("acc", "max")],
        constraints=[rung.Constraint("lat", "<=", 0.5)], searcher="random", scheduler="fifo",
        max_step=2, budget=rung.Budget(n_trials=6), seed=1, storage=isolated / "mo.db")
    for i in range(6):
        t = s.ask()
        assert t is not None
        if i in (1, 4):
            s.tell(t.id, "failed", error=f"Traceback:\n  File x\nValueError: bad {i}")
            continue
        for step in (1, 2):
            s.report(t.id, step, {"loss": 1.0 - i / 10, "acc": i / 10 + step / 100,
                                  "lat": 0.2 + i / 10, "nan": math.nan})
        s.tell(t.id, "completed")
    s.close()
    obj = _json(capsys, ["show", "mo", "--storage", "mo.db", "--json"])
    assert obj["objectives"] == [{"metric": "loss", "mode": "min"},
                                 {"metric": "acc", "mode": "max"}]
    assert obj["constraints"] == [{"metric": "lat", "op": "<=", "bound": 0.5}]
    assert obj["failures"] == [{"kind": "ValueError", "count": 2, "trials": [1, 4],
                                "last": "ValueError: bad 4"}]
    feasible = {t["trial"]: t["feasible"] for t in obj["best_trials"]}
    assert feasible == {0: True, 2: True, 3: True, 5: False}
    assert obj["best_trials"][0]["values"] == {"loss": pytest.approx(0.7),
                                               "acc": pytest.approx(0.32)}
    assert [t["trial"] for t in obj["pareto_front"]] == [3]
    assert obj["best"] is not None and obj["best"]["trial"] == 3


def test_show_json_of_an_unknown_study_is_the_texts_error(
        stored: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["show", "nope", "--storage", str(stored)]) == 2
    text_err = capsys.readouterr().err
    assert main(["show", "nope", "--storage", str(stored), "--json"]) == 2
    assert capsys.readouterr() == ("", text_err)


def test_the_keys_are_documented() -> None:
    page = (ROOT / "docs" / "dashboard.md").read_text()
    section = page.split("## Machine-readable output: `--json`")[1]
    ls_part, show_part = section.split("`rung show NAME [--storage FILE|DIR] [--top K] --json`")
    for key in LS_KEYS:
        assert f"`{key}`" in ls_part, key
    for key in SHOW_KEYS:
        assert f"`{key}`" in show_part, key
