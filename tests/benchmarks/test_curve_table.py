"""CurveTable: nearest-row lookup, recorded values and costs, JSON round trip, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from toy_table import ERROR, SECONDS, write_toy_table

from rung.benchmarks import CurveTable, benchmark_from_json, get_benchmark, regret
from rung.errors import ConfigError


@pytest.fixture
def table(tmp_path: Path) -> Path:
    return write_toy_table(tmp_path / "toy.npz")


def test_exact_rows_replay_their_curves_and_costs(table: Path) -> None:
    b = CurveTable(table)
    assert (b.metric, b.mode, b.max_step) == ("val_error", "min", 4)
    assert b.rows[1] == {"lr": pytest.approx(0.1), "leaves": 8}
    for i, row in enumerate(b.rows):
        for step in range(1, 5):
            metrics, seconds = b.evaluate(row, step)
            assert metrics["val_error"] == pytest.approx(ERROR[i, step - 1])
            assert metrics["val_acc"] == pytest.approx(1 - ERROR[i, step - 1])
            assert seconds == pytest.approx(SECONDS[i, step - 1])
    assert b.optimum == pytest.approx(0.1)
    assert regret(b, b.final_value(b.rows[2])) == pytest.approx(0.2)


def test_any_point_maps_to_the_nearest_row_in_unit_space(table: Path) -> None:
    b = CurveTable(table)
    # lr 0.08 (log scale near 0.1) and 10 leaves: row 1; lr 0.9, leaves 50: row 2
    assert b.row_of({"lr": 0.08, "leaves": 10}) == 1
    assert b.row_of({"lr": 0.9, "leaves": 50}) == 2
    assert b.row_of({"lr": 0.0011, "leaves": 3}) == 0
    assert b.evaluate({"lr": 0.08, "leaves": 10}, 4)[0]["val_error"] == pytest.approx(0.1)


def test_distinct_gives_each_new_configuration_an_untaken_row(table: Path) -> None:
    b = CurveTable(table, distinct=True)
    near_row1 = [{"lr": 0.08, "leaves": 10}, {"lr": 0.09, "leaves": 9}, {"lr": 0.11, "leaves": 7}]
    # all three are nearest to row 1: the first takes it, the others the nearest free rows,
    # then, every row taken, the nearest row again
    rows = [b.row_of(p) for p in near_row1]
    assert rows[0] == 1 and sorted(rows) == [0, 1, 2]
    assert b.row_of({"lr": 0.1, "leaves": 8}) == 1
    # a configuration keeps its row (a resumed trial replays the same curve)
    assert [b.row_of(p) for p in near_row1] == rows
    assert b.evaluate(near_row1[1], 4)[0]["val_error"] == pytest.approx(ERROR[rows[1], 3])
    # the nearest-row table gives all three row 1
    assert {CurveTable(table).row_of(p) for p in near_row1} == {1}
    again = benchmark_from_json(b.to_json())
    assert isinstance(again, CurveTable) and again.distinct
    assert "distinct=True" in repr(b)


def test_options_and_json_round_trip(table: Path) -> None:
    b = get_benchmark("curve-table", path=str(table), metric="val_acc", max_step=2, rows=2)
    assert (b.mode, b.max_step, len(b.params)) == ("max", 2, 2)
    assert b.optimum == pytest.approx(0.7)  # best of rows 0-1 at step 2
    again = benchmark_from_json(b.to_json())
    assert isinstance(again, CurveTable)
    assert again.evaluate(b.rows[1], 2) == b.evaluate(b.rows[1], 2)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"metric": "loss"}, "metric 'loss'"),
        ({"max_step": 5}, "max_step"),
        ({"rows": 0}, "rows"),
    ],
)
def test_bad_options_name_the_argument(table: Path, kwargs: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        CurveTable(table, **kwargs)


def test_missing_file_and_bad_step(table: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        CurveTable(tmp_path / "nope.npz")
    with pytest.raises(ValueError, match="step 5"):
        CurveTable(table).evaluate(PARAMS_ROW0, 5)


PARAMS_ROW0 = {"lr": 1e-3, "leaves": 2}


def test_a_spec_reads_its_table_relative_to_its_own_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``rung run`` from another directory, then ``rung resume`` from a third: the table path
    is the spec's directory's, and the journal keeps it absolute (before, both read it from
    the current directory: 'curve-table: cannot read 'tables/toy.npz'')."""
    from rung.cli.main import main

    spec_dir = tmp_path / "project"
    (spec_dir / "tables").mkdir(parents=True)
    write_toy_table(spec_dir / "tables" / "toy.npz")
    (spec_dir / "spec.yaml").write_text(
        "name: toy\nbenchmark: {name: curve-table, params: {path: tables/toy.npz}}\n"
        "budget: {n_trials: 2}\nseed: 0\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["run", str(spec_dir / "spec.yaml"), "--no-live"]) == 0
    (tmp_path / "third").mkdir()
    monkeypatch.chdir(tmp_path / "third")
    storage = str(elsewhere / "runs")
    assert main(["show", "toy", "--storage", storage]) == 0
    capsys.readouterr()
    assert main(["resume", "toy", "--storage", storage, "--no-live"]) == 0
    assert "cannot read" not in capsys.readouterr().err
