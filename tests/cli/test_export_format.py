"""`rung export -o FILE`: the format follows the file's suffix, and a suffix it would not write
is refused before anything is written."""

from __future__ import annotations

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
