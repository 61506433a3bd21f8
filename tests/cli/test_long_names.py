"""A path with a name longer than the file system allows (``ENAMETOOLONG``: ``Path.is_dir`` and
``exists`` raise it rather than answer ``False``) is a one-line error naming the option or key,
exit code 2, nothing written; found by the slow lane's spec fuzzing (``spec.path``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from clihelp import HERE, files_under

from rung.cli.main import main

LONG = "a" * 300  # past NAME_MAX (255 bytes) on every common file system


def _refused(argv: list[str], isolated: Path, capsys: pytest.CaptureFixture[str]) -> str:
    before = files_under(isolated)
    code = main(argv)
    out, err = capsys.readouterr()
    assert (code, out) == (2, ""), err
    assert len(err.splitlines()) == 1 and err.startswith("rung: error: "), err
    assert files_under(isolated) == before
    return err


def test_a_spec_path_too_long_is_named(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = {"name": "long", "objective": "cli_objectives:train", "path": LONG,
            "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}}, "metric": "loss",
            "max_step": 3, "searcher": "random", "scheduler": "fifo", "budget": {"n_trials": 2},
            "n_workers": 1}
    (isolated / "spec.yaml").write_text(yaml.safe_dump(spec))
    err = _refused(["run", "spec.yaml", "--no-live"], isolated, capsys)
    assert err.startswith("rung: error: spec.path: not a usable directory path: ")
    assert str(HERE) not in err  # relative to the spec's directory, as every path there


@pytest.mark.parametrize("where", [f"{LONG}/x.db", LONG])
def test_run_storage_too_long_is_named(where: str, isolated: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    (isolated / "spec.yaml").write_text(
        "name: s\nexecutor: simulated\nbenchmark: {name: mf-branin}\nsearcher: random\n"
        "scheduler: fifo\nbudget: {n_trials: 2}\n")
    err = _refused(["run", "spec.yaml", "--no-live", "--storage", where], isolated, capsys)
    assert err.startswith("rung: error: --storage: the name 'aaaa") and "300 bytes" in err


@pytest.mark.parametrize("argv", [
    ["ls", "--storage", LONG],
    ["show", "s", "--storage", LONG],
    ["resume", "s", "--storage", f"{LONG}/x.db"],
    ["ledger", "s", "--storage", LONG],
    ["plan", "s", "--storage", LONG],
    ["dashboard", "--storage", LONG, "--port", "0"],
])
def test_reading_commands_find_no_journal(argv: list[str], isolated: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(argv, isolated, capsys)
    assert err.startswith("rung: error: no journal at ")


@pytest.mark.parametrize("command", ["export", "plot"])
def test_an_output_name_too_long_is_named(command: str, stored: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    suffix = ".csv" if command == "export" else ".png"
    err = _refused([command, "s", "--storage", str(stored), "-o", LONG + suffix],
                   stored.parent, capsys)
    assert err.startswith(f"rung: error: -o {LONG}{suffix}: ")


def test_a_tracking_directory_too_long_is_named(isolated: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tensorboardX")
    (isolated / "spec.yaml").write_text(
        "name: s\nexecutor: simulated\nbenchmark: {name: mf-branin}\nsearcher: random\n"
        f"scheduler: fifo\nbudget: {{n_trials: 2}}\ntracking: {{tensorboard: {{logdir: {LONG}}}}}\n")
    err = _refused(["run", "spec.yaml", "--no-live"], isolated, capsys)
    assert err.startswith(f"rung: error: spec.tracking.tensorboard.logdir: '{LONG}' cannot be a "
                          "directory: ")
