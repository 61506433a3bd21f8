"""`rung export -o FILE`: the format follows the file's suffix, and a suffix it would not write
(or Parquet without an engine to write it) is refused before anything is written."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from clihelp import files_under, sim_spec, write_spec

from rung.cli.main import main


@pytest.fixture
def exported(isolated: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    write_spec(isolated, sim_spec("ex", n_trials=3))
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    capsys.readouterr()
    return isolated


def test_export_refuses_a_suffix_it_would_not_write(
    exported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files_under(exported)
    assert main(["export", "ex", "-o", "trials.xlsx"]) == 2
    err = capsys.readouterr().err
    assert err == ("rung: error: -o trials.xlsx: cannot tell the format from '.xlsx' (name a "
                   ".csv, .parquet, .pq, .json file, or give --format csv|parquet|json)\n")
    assert files_under(exported) == before


def test_export_format_from_suffix_or_flag(
    exported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "ex", "-o", "t.JSON"]) == 0
    assert (exported / "t.JSON").read_text().startswith("[")
    assert main(["export", "ex", "-o", "t.xlsx", "--format", "csv"]) == 0  # said explicitly
    assert (exported / "t.xlsx").read_text().startswith("trial_id,")
    assert main(["export", "ex", "-o", "trials"]) == 0  # no suffix: CSV, as --help says
    assert (exported / "trials").read_text().startswith("trial_id,")


def test_export_parquet_without_an_engine_names_the_extra(
    exported: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With rung[dashboard] (pandas, no Parquet engine) the error was 600 characters of
    pandas' text, embedded in one line."""
    for engine in ("pyarrow", "fastparquet"):
        monkeypatch.setitem(sys.modules, engine, None)  # as if it were not installed
    before = files_under(exported)
    assert main(["export", "ex", "--format", "parquet", "-o", "t.pq"]) == 2
    assert capsys.readouterr().err == ("rung: error: --format parquet needs pyarrow, which is "
                                       "not installed: pip install 'rung[dataframe]'\n")
    assert files_under(exported) == before
