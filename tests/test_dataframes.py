"""Results as data: Study.trials_dataframe / results_dataframe and `rung export` (issue 16 item 1)."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import textwrap
import time
from contextlib import redirect_stdout
from pathlib import Path

import pytest

import rung
from rung.benchmarks import get_benchmark
from rung.cli.main import main
from rung.storage import SQLiteJournal

pd = pytest.importorskip("pandas")


def simulated(storage: object = None, n_trials: int = 30, name: str = "frames") -> rung.Study:
    b = get_benchmark("mf-hartmann3")
    s = rung.Study.create(
        name, b.space, objective=rung.Objective(b.metric, b.mode), searcher="random",
        scheduler=rung.ASHA(reduction_factor=3), max_step=b.max_step,
        budget=rung.Budget(n_trials=n_trials), seed=0, storage=storage,
    )
    return s.simulate(b, n_workers=3)


def test_trials_dataframe_one_row_per_trial_with_decisions_and_reasons() -> None:
    s = simulated()
    df = s.trials_dataframe()
    assert list(df["trial_id"]) == list(range(len(s.history)))
    # ``last_step`` is a step (Trial.last_step), ``slot`` the worker slot: the names the
    # dashboard's table and its timeline use (``steps`` is a count of steps trained elsewhere)
    assert list(df.columns) == [
        "trial_id", "params_x0", "params_x1", "params_x2", "status", "value", "metrics_loss",
        "score",
        "last_step", "n_results", "decision", "decision_step", "reason", "start_time",
        "end_time", "duration", "run_time", "slot", "launches", "checkpoint", "parent_id",
        "replaces", "from_step", "error_line", "error"]
    stopped = df[df.status == "stopped"]
    assert len(stopped) > 0
    assert (stopped["decision"] == "stop").all()
    assert stopped["reason"].str.contains("rung").all()
    for t in s.trials():
        row = df.loc[df.trial_id == t.id].iloc[0]
        assert row["params_x0"] == t.params["x0"]
        assert row["last_step"] == t.last_step
        assert row["n_results"] == len(t.results)
        assert row["status"] == t.status.value
        assert row["value"] == pytest.approx(t.metrics["loss"])
    best = s.best_trial
    assert best is not None
    done = df[df.last_step == s.spec.max_step]
    assert done.loc[done.value.idxmin(), "trial_id"] == best.id
    assert (df["end_time"] >= df["start_time"]).all()
    # three simulated workers: three slots, never two overlapping runs in one
    assert set(df["slot"]) == {0, 1, 2}


def test_results_dataframe_one_row_per_result_with_the_decision_at_that_step() -> None:
    s = simulated()
    r = s.results_dataframe()
    assert len(r) == s.history.n_results
    assert {"trial_id", "step", "time", "loss", "score", "value", "decision", "reason"} <= set(
        r.columns)
    rung_steps = set(s.engine.scheduler.fidelity_steps())
    decided = r[r.decision.notna()]
    assert set(decided["step"]) <= rung_steps
    # every stopped trial's stop is on the row of the result it was stopped at
    for t in s.trials("stopped"):
        rows = decided[(decided.trial_id == t.id) & (decided.decision == "stop")]
        assert list(rows["step"]) == [t.last_step]
        assert "not in the top" in rows["reason"].iloc[0]


def test_a_step_one_run_reported_twice_is_one_row_the_later_result() -> None:
    """``report`` at the same step again, or ``tell`` with final metrics at the last reported
    step, replaces the trial's result there (``History``); the results frame has that one row
    too (it had both, so ``pivot(index="step", columns="trial_id")`` raised on duplicates)."""
    s = rung.Study.create("dup", {"x": rung.Float(0, 1)}, max_step=3,
                          budget=rung.Budget(n_trials=2), scheduler="fifo")
    a = s.ask()
    s.report(a.id, 1, {"loss": 3.0})
    s.report(a.id, 2, {"loss": 2.0})
    s.report(a.id, 2, {"loss": 1.5})  # the same step again: replaces
    s.report(a.id, 3, {"loss": 1.0})
    s.tell(a.id, "completed", {"loss": 1.0, "acc": 0.9})  # a final result at step 3
    b = s.ask()
    s.report(b.id, 1, {"loss": 4.0})
    s.tell(b.id, "completed", {"loss": 0.5}, step=3)
    r = s.results_dataframe()
    assert list(zip(r.trial_id, r.step, r.loss, strict=True)) == [
        (0, 1, 3.0), (0, 2, 1.5), (0, 3, 1.0), (1, 1, 4.0), (1, 3, 0.5)]
    assert r.loc[2, "acc"] == 0.9 and math.isnan(r.loc[1, "acc"])
    assert not r.duplicated(["trial_id", "run", "step"]).any()
    assert r.pivot(index="step", columns="trial_id", values="loss").shape == (3, 2)
    assert [len(t.results) for t in s.trials()] == [3, 2]


def test_a_failed_trials_error_has_its_one_line_and_feasible_is_a_boolean_mask() -> None:
    """``error_line`` is the line rung shows for a failure (the exception's type and first
    line; of a worker's traceback, its exception line: ``rung.reporter.error_summary``),
    ``error`` the whole text; ``feasible`` is pandas' nullable boolean (``<NA>``
    before a first result), so ``df[df.feasible]`` works (it was object: True / None)."""
    s = rung.Study.create("err", {"x": rung.Float(0, 1)}, max_step=2, scheduler="fifo",
                          constraints=["mem <= 5"], budget=rung.Budget(n_trials=4))
    for i, (mem, fail) in enumerate([(1.0, False), (9.0, False), (None, True), (None, None)]):
        t = s.ask()
        assert t is not None and t.id == i
        if mem is not None:
            s.report(t.id, 1, {"loss": float(i), "mem": mem})
            s.tell(t.id)
        elif fail:
            try:
                raise ValueError("diverged at x\nsecond line of detail")
            except ValueError as e:
                s.tell(t.id, "failed", error=e)
    df = s.trials_dataframe()
    assert str(df["feasible"].dtype) == "boolean"
    assert list(df.loc[df["feasible"].fillna(False), "trial_id"]) == [0]
    assert df["feasible"].isna().tolist() == [False, False, True, True]
    assert df.loc[2, "error_line"] == "ValueError: diverged at x"
    assert df.loc[2, "error"] == "ValueError: diverged at x\nsecond line of detail"
    assert df["error_line"].isna().tolist() == [True, True, False, True]
    assert "error='ValueError: diverged at x'" in repr(s.trial(2))  # (its last line before)
    # the latest result's metrics: why a trial is infeasible is in the frame
    assert list(df.columns[df.columns.str.startswith("metrics_")]) == [
        "metrics_loss", "metrics_mem"]
    assert df["metrics_mem"].tolist()[:2] == [1.0, 9.0] and df["metrics_mem"].isna()[2:].all()
    assert str(df["metrics_mem"].dtype) == "float64"
    assert list(s.trials_dataframe().columns) == list(df.columns)


def test_the_latest_results_metrics_are_columns_in_the_order_first_reported() -> None:
    s = rung.Study.create("m", {"x": rung.Float(0, 1)}, max_step=2, scheduler="fifo",
                          budget=rung.Budget(n_trials=3))
    a, b = s.ask(), s.ask()
    s.report(a.id, 1, {"loss": 2.0, "train_loss": 1.0})
    s.report(a.id, 2, {"loss": 1.0, "train_loss": 0.5})  # the latest: step 2's
    s.tell(a.id)
    s.report(b.id, 1, {"loss": 3.0, "note": "diverging"})
    s.tell(b.id, "stopped")
    s.ask()  # no result yet
    df = s.trials_dataframe()
    cols = [c for c in df.columns if c.startswith("metrics_")]
    assert cols == ["metrics_loss", "metrics_train_loss", "metrics_note"]
    assert df["metrics_train_loss"].tolist()[0] == 0.5 and df["metrics_train_loss"].isna()[1:].all()
    assert str(df["metrics_loss"].dtype) == "float64" and df["metrics_note"][1] == "diverging"
    assert (df["metrics_loss"][:2] == df["value"][:2]).all()


def test_max_mode_value_is_the_metric_and_score_its_negation() -> None:
    s = rung.Study.create("mx", {"x": rung.Float(0, 1)}, objective=rung.Objective("acc", "max"),
                          searcher="random", scheduler="fifo", budget=rung.Budget(n_trials=3))
    for _ in range(3):
        t = s.ask()
        assert t is not None
        s.tell(t.id, "completed", {"acc": t.params["x"]})
    t = s.ask()  # budget spent
    assert t is None
    df = s.trials_dataframe()
    assert list(df["value"]) == pytest.approx([tr.params["x"] for tr in s.trials()])
    assert list(df["score"]) == pytest.approx(list(-df["value"]))


def test_multi_objective_has_one_values_column_per_objective() -> None:
    s = rung.Study.create("mo", {"x": rung.Float(0, 1)}, objective=["a", rung.Objective("b", "max")],
                          searcher="random", scheduler="fifo", budget=rung.Budget(n_trials=4))
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"a": t.params["x"], "b": 1 - t.params["x"]})
    df = s.trials_dataframe()
    assert {"values_a", "values_b"} <= set(df.columns)
    assert list(df["values_b"]) == pytest.approx(list(1 - df["values_a"]))


def test_empty_study_frames_have_columns() -> None:
    s = rung.Study.create("e", {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=1))
    assert len(s.trials_dataframe()) == 0
    assert "params_x" in s.trials_dataframe().columns
    assert len(s.results_dataframe()) == 0


def test_missing_pandas_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    s = rung.Study.create("np", {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=1))
    monkeypatch.setitem(sys.modules, "pandas", None)
    for frame in (s.trials_dataframe, s.results_dataframe):
        with pytest.raises(ImportError) as e:
            frame()
        # the extra that holds pandas for data is "dataframe" (pyproject.toml)
        assert str(e.value) == ("a DataFrame of a study needs pandas, which is not installed: "
                                "pip install 'rung[dataframe]'")


def run_cli(*argv: str) -> tuple[int, str]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(list(argv))
    return code, buf.getvalue()


def test_export_csv_json_to_stdout_and_files(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    s = simulated(db, n_trials=12)
    n, n_results = len(s.history), s.history.n_results
    s.close()
    code, out = run_cli("export", "frames", "--storage", str(db))
    assert code == 0
    df = pd.read_csv(io.StringIO(out))
    assert len(df) == n and "reason" in df.columns and "params_x0" in df.columns
    code, out = run_cli("export", "frames", "--storage", str(db), "--format", "json",
                        "--table", "results")
    rows = json.loads(out)
    assert len(rows) == n_results and {"trial_id", "step", "loss", "decision"} <= set(rows[0])
    assert run_cli("export", "frames", "--storage", str(db), "-o", str(tmp_path / "t.json"))[0] == 0
    assert len(json.loads((tmp_path / "t.json").read_text())) == n
    assert run_cli("export", "frames", "--storage", str(db), "-o", str(tmp_path / "t.csv"))[0] == 0
    assert len(pd.read_csv(tmp_path / "t.csv")) == n


def test_export_parquet(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    db = tmp_path / "j.db"
    simulated(db, n_trials=6).close()
    out = tmp_path / "t.parquet"
    assert run_cli("export", "frames", "--storage", str(db), "-o", str(out))[0] == 0
    df = pd.read_parquet(out)
    assert len(df) == 6 and "status" in df.columns


def test_export_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "j.db"
    simulated(db, n_trials=2).close()
    assert main(["export", "nope", "--storage", str(db)]) == 2
    assert main(["export", "frames", "--storage", str(db), "--format", "parquet"]) == 2
    assert "needs -o" in capsys.readouterr().err


def test_export_to_a_path_it_cannot_write_is_one_line_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "j.db"
    simulated(db, n_trials=2).close()
    capsys.readouterr()
    before = sorted(tmp_path.iterdir())
    missing = tmp_path / "no" / "t.csv"
    assert main(["export", "frames", "--storage", str(db), "-o", str(missing)]) == 2
    assert capsys.readouterr() == ("", f"rung: error: -o {missing}: no such directory: "
                                       f"{missing.parent}\n")
    assert main(["export", "frames", "--storage", str(db), "-o", str(tmp_path)]) == 2
    assert capsys.readouterr() == ("", f"rung: error: -o {tmp_path}: is a directory "
                                       "(name a file)\n")
    assert sorted(tmp_path.iterdir()) == before


LIVE = textwrap.dedent("""
    import sys, time
    import rung
    s = rung.Study.create("live", {"x": rung.Float(0, 1)}, objective="loss",
                          searcher="random", scheduler=rung.ASHA(reduction_factor=2),
                          max_step=4, budget=rung.Budget(n_trials=400), seed=0,
                          storage=sys.argv[1])
    print("ready", flush=True)
    while (t := s.ask()) is not None:
        for step in range(1, 5):
            d = s.report(t.id, step, {"loss": t.params["x"] + 1 / step})
            time.sleep(0.01)
            if d.action.value != "continue":
                break
        if d.action.value == "continue":
            s.tell(t.id, "completed")
        else:
            s.tell(t.id, "stopped")
""")


def test_export_a_study_another_process_is_running(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    proc = subprocess.Popen([sys.executable, "-c", LIVE, str(db)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        sizes = []
        deadline = time.monotonic() + 60
        while len(sizes) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
            with SQLiteJournal(db, readonly=True) as j:
                assert j.is_being_written("live")  # still running: a live export
            code, out = run_cli("export", "live", "--storage", str(db), "--table", "results")
            assert code == 0
            df = pd.read_csv(io.StringIO(out))
            if len(df) and (not sizes or len(df) > sizes[-1]):
                sizes.append(len(df))
        assert len(sizes) == 2 and sizes[1] > sizes[0]
        assert proc.poll() is None, "the run ended before the second export"
        stops = df[df.decision == "stop"]
        assert len(stops) and stops["reason"].notna().all()
    finally:
        proc.kill()
        proc.wait()
    # after the writer is gone, the journal still reads
    code, out = run_cli("export", "live", "--storage", str(db))
    assert code == 0 and not math.isnan(len(pd.read_csv(io.StringIO(out))))


def test_export_json_keeps_every_digit(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    s = simulated(db, n_trials=8)
    trials = s.trials()
    results = [(r.trial_id, r.step, r.metrics["loss"]) for r in s.journal.read(s.name)
               if type(r).__name__ == "ResultReported"]
    s.close()
    code, out = run_cli("export", "frames", "--storage", str(db), "--format", "json")
    assert code == 0
    rows = json.loads(out)
    for t, row in zip(trials, rows, strict=True):
        assert {k: row[f"params_{k}"] for k in t.params} == dict(t.params)  # exactly
        assert row["value"] == t.value
    code, out = run_cli("export", "frames", "--storage", str(db), "--format", "json",
                        "--table", "results")
    assert [(r["trial_id"], r["step"], r["loss"]) for r in json.loads(out)] == results


def test_whole_numbers_stay_integers_when_some_are_missing(tmp_path: Path) -> None:
    """PBT: forked trials have a parent, the first generation none; a trial that never got a
    decision has no decision step. A CSV says 24 and 7, never 24.0 and 7.0."""
    b = get_benchmark("mf-branin")
    db = tmp_path / "p.db"
    s = rung.Study.create("pbt", b.space, objective=rung.Objective(b.metric, b.mode),
                          searcher="random", scheduler=rung.PBT(perturbation_interval=3),
                          max_step=b.max_step, budget=rung.Budget(n_trials=8), seed=0,
                          storage=db)
    s.simulate(b, n_workers=4)
    df = s.trials_dataframe()
    for col in ("trial_id", "last_step", "n_results", "decision_step", "slot", "launches",
                "parent_id"):
        assert str(df[col].dtype) == "Int64", col
    parents = {t.id: t.parent_id for t in s.trials()}
    assert any(p is not None for p in parents.values())
    assert any(p is None for p in parents.values())
    s.close()
    code, out = run_cli("export", "pbt", "--storage", str(db))
    assert code == 0
    import csv

    rows = list(csv.DictReader(io.StringIO(out)))
    assert {int(r["trial_id"]): (int(r["parent_id"]) if r["parent_id"] else None)
            for r in rows} == parents
    for r in rows:
        for col in ("last_step", "decision_step", "slot", "launches", "parent_id"):
            assert "." not in r[col], (col, r[col])


def test_export_parquet_of_a_categorical_of_mixed_types(tmp_path: Path) -> None:
    """Parquet holds one type per column: a parameter of several Python types is written as
    text, the other columns as they are (it crashed with pyarrow's ArrowInvalid)."""
    pytest.importorskip("pyarrow")
    db = tmp_path / "m.db"
    s = rung.Study.create("mixed", {"width": rung.Categorical([32, "auto", None]),
                                    "lr": rung.Float(0.01, 0.1)},
                          searcher="random", scheduler="fifo", budget=rung.Budget(n_trials=3),
                          seed=0, storage=db)
    for width in (32, "auto", None):
        s.enqueue({"width": width, "lr": 0.05})
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"loss": t.params["lr"]})
    s.close()
    out = tmp_path / "m.parquet"
    assert run_cli("export", "mixed", "--storage", str(db), "-o", str(out))[0] == 0
    df = pd.read_parquet(out)
    assert [None if v is None or v != v else v for v in df["params_width"]] == [
        "32", "auto", None]
    assert list(df["params_lr"]) == [0.05, 0.05, 0.05]
    assert str(df["trial_id"].dtype) == "Int64"


def test_an_int_parameter_stays_whole_where_it_is_inactive() -> None:
    """A conditional Int's column held floats (1.0, 5.0: pandas' float64 for a column with
    missing values) in the frame and in CSV exports. Found by an audit."""
    pytest.importorskip("pandas")
    s = rung.Study.create("ints", {"kind": rung.Categorical(["a", "b"]),
                                   "n": rung.Int(1, 5, when={"kind": ["b"]})},
                          searcher="random", scheduler="fifo", seed=0,
                          budget=rung.Budget(n_trials=12))
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"loss": 0.5})
    df = s.trials_dataframe()
    assert str(df["params_n"].dtype) == "Int64"
    b = df[df["params_kind"] == "b"]
    a = df[df["params_kind"] == "a"]
    assert len(a) and len(b)
    assert df["params_n"][a.index].isna().all()
    assert [int(v) for v in b["params_n"]] == [t.params["n"] for t in s.trials()
                                               if t.params["kind"] == "b"]
    assert ",5.0," not in df.to_csv() and ",1.0," not in df.to_csv()
