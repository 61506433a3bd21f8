"""`rung export` as data a user reads back: `-o -` is standard output, the message counts
what it wrote, a file is replaced only once the new one is whole, CSV and JSON read back
exactly (odd parameter names and values, multi-objective and constrained studies), and an
empty study's frames have the types a full one's have."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.cli.main import main

pd = pytest.importorskip("pandas")

ODD_CHOICES = ["a,b", 'say "hi"', "line1\nline2", "ünï", " lead"]
ODD_SPACE = {
    "lr, rate": rung.Float(1e-5, 1e-1, log=True),
    'q"uote': rung.Categorical(ODD_CHOICES),
    "ü": rung.Int(1, 100, log=True),
}


def _odd_study(storage: Path) -> None:
    """Multi-objective and constrained; values that need every digit; a failed trial with a
    multi-line error of commas and quotes; a result with an infinite extra metric."""
    s = rung.Study.create(
        "odd", ODD_SPACE, objective=[rung.Objective("loss", "min"), rung.Objective("acc", "max")],
        constraints=[rung.Constraint("lat", "<=", 0.5)], searcher="random", scheduler="fifo",
        max_step=2, budget=rung.Budget(n_trials=8), seed=1, storage=storage)
    for i in range(8):
        t = s.ask()
        assert t is not None
        if i == 3:
            s.tell(t.id, "failed", error='Traceback:\n  File x\nValueError: bad, "very" bad')
            continue
        for step in (1, 2):
            s.report(t.id, step, {"loss": 1 / 3 + i * 1e-13, "acc": 0.1 * step + 1e-17,
                                  "lat": 0.25 + i / 7, "other": math.inf if i == 5 else 0.5})
        s.tell(t.id, "completed")
    s.close()


@pytest.fixture
def odd(isolated: Path) -> Path:
    _odd_study(isolated / "odd.db")
    return isolated / "odd.db"


def _export(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["export", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, float) and math.isnan(x):
        return isinstance(y, float) and math.isnan(y)
    if x is None or x is pd.NA:
        return y is None or y is pd.NA or (isinstance(y, float) and math.isnan(y))
    return bool(x == y)


def test_dash_is_standard_output_and_writes_no_file(
    odd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _export(capsys, "odd", "--storage", str(odd), "-o", "-")
    assert code == 0 and err == ""
    assert out.startswith('trial_id,"params_lr, rate","params_q""uote",params_ü,')
    assert not (odd.parent / "-").exists()
    code, out, _ = _export(capsys, "odd", "--storage", str(odd), "-o", "-", "--format", "json")
    assert code == 0 and len(json.loads(out)) == 8
    code, _, err = _export(capsys, "odd", "--storage", str(odd), "-o", "-",
                           "--format", "parquet")
    assert code == 2 and err == "rung: error: --format parquet needs -o FILE (Parquet is binary)\n"


def test_the_message_counts_trials_or_results(
    odd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = odd.parent / "t.csv"
    assert _export(capsys, "odd", "--storage", str(odd), "-o", str(out))[2] == (
        f"rung: wrote 8 trials of odd to {out}\n")
    assert _export(capsys, "odd", "--storage", str(odd), "--table", "results",
                   "-o", str(out))[2] == f"rung: wrote 14 results of odd to {out}\n"


def test_csv_reads_back_exactly(odd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = rung.Study.load("odd", storage=odd)
    for table, frame in (("trials", study.trials_dataframe()),
                         ("results", study.results_dataframe())):
        code, out, _ = _export(capsys, "odd", "--storage", str(odd), "--table", table)
        assert code == 0
        back = pd.read_csv(io.StringIO(out))
        assert list(back.columns) == list(frame.columns)
        for col in frame.columns:
            for x, y in zip(frame[col].tolist(), back[col].tolist(), strict=True):
                assert _same(x, y), (table, col, x, y)
    trials = study.trials_dataframe()
    assert trials["params_q\"uote"].isin(ODD_CHOICES).all()
    assert (trials["value"].dropna() != 1 / 3).sum() > 0  # the 1e-13 steps survived


def test_json_is_valid_and_writes_infinity_and_nan_as_null(
    odd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(name: str) -> None:
        raise AssertionError(f"not JSON: {name}")

    code, out, _ = _export(capsys, "odd", "--storage", str(odd), "--table", "results",
                           "--format", "json")
    assert code == 0
    rows = json.loads(out, parse_constant=refuse)
    assert [r["other"] for r in rows if r["trial_id"] == 5] == [None, None]
    assert {r["other"] for r in rows if r["trial_id"] != 5} == {0.5}
    assert {r["loss"] for r in rows if r["trial_id"] == 7} == {1 / 3 + 7e-13}  # every digit
    code, out, _ = _export(capsys, "odd", "--storage", str(odd), "--format", "json")
    assert code == 0
    trials = json.loads(out, parse_constant=refuse)
    (failed,) = [t for t in trials if t["status"] == "failed"]
    assert failed["value"] is None and failed["feasible"] is None
    assert failed["error"] == 'Traceback:\n  File x\nValueError: bad, "very" bad'
    assert {t["feasible"] for t in trials if t["status"] == "completed"} == {True, False}


def test_a_write_that_fails_leaves_the_old_file(
    odd: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = odd.parent / "t.parquet"
    out.write_bytes(b"the old export")

    def half_then_fail(self: Any, path: Any, **kw: Any) -> None:
        Path(path).write_bytes(b"PAR1 half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_then_fail)
    code, _, err = _export(capsys, "odd", "--storage", str(odd), "-o", str(out))
    assert code == 2 and err == f"rung: error: -o {out}: No space left on device\n"
    assert out.read_bytes() == b"the old export"
    assert [p.name for p in odd.parent.iterdir() if p.suffix == ".parquet"] == [
        "t.parquet"]  # no temporary file left beside it
    monkeypatch.undo()
    pytest.importorskip("pyarrow")
    assert _export(capsys, "odd", "--storage", str(odd), "-o", str(out))[0] == 0
    assert pd.read_parquet(out)["trial_id"].tolist() == list(range(8))  # replaced


def test_an_empty_study_has_typed_columns(isolated: Path) -> None:
    s = rung.Study.create("e", {"x": rung.Float(0, 1)}, objective=["a", "b"],
                          constraints=[rung.Constraint("lat")], max_step=2,
                          budget=rung.Budget(n_trials=2))
    t = s.trials_dataframe()
    assert len(t) == 0
    assert {c: str(t[c].dtype) for c in ("value", "values_a", "values_b", "score",
                                         "start_time", "duration", "run_time")} == dict.fromkeys(
        ("value", "values_a", "values_b", "score", "start_time", "duration", "run_time"),
        "float64")
    r = s.results_dataframe()
    assert list(r.columns) == ["trial_id", "step", "run", "time", "a", "b", "lat", "score",
                               "value", "decision", "reason"]
    assert [str(r[c].dtype) for c in ("trial_id", "step", "run", "time", "a", "lat")] == [
        "int64", "int64", "int64", "float64", "float64", "float64"]


def test_a_symbolic_link_keeps_pointing_at_the_export(
    odd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = odd.parent / "data" / "trials.csv"
    target.parent.mkdir()
    target.write_text("old\n")
    link = odd.parent / "latest.csv"
    link.symlink_to(target)
    assert _export(capsys, "odd", "--storage", str(odd), "-o", str(link))[0] == 0
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert target.read_text().startswith("trial_id,")


def test_a_name_that_is_only_a_suffix_is_written_in_its_format(
    odd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-o .csv`` / ``rung plot -o .svg``: pathlib sees no suffix in such a name, so the
    temporary file beside it had none and the plot's write failed with a traceback."""
    assert _export(capsys, "odd", "--storage", str(odd), "-o", str(odd.parent / ".csv"))[0] == 0
    assert (odd.parent / ".csv").read_text().startswith("trial_id,")
    pytest.importorskip("matplotlib")
    assert main(["plot", "odd", "--storage", str(odd), "-o", str(odd.parent / ".svg")]) == 0
    assert (odd.parent / ".svg").read_text().lstrip().startswith("<?xml")
    assert sorted(p.name for p in odd.parent.iterdir() if ".tmp" in p.name) == []
