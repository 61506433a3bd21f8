"""The spec's ``tracking`` fails as one line naming its key: a directory that cannot be one is
refused before anything is written (exit 2); a tracker that fails once the run started stops it
with one line, the journal intact (exit 1), never with a traceback."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from clihelp import files_under, sim_spec, write_spec

from rung.callbacks import Callback
from rung.cli.main import main
from rung.cli.spec_tracking import _Tracker
from rung.errors import RungError
from rung.study import Study

needs_tensorboardx = pytest.mark.skipif(importlib.util.find_spec("tensorboardX") is None,
                                        reason="needs tensorboardX (rung[tensorboard])")


@needs_tensorboardx
def test_a_logdir_under_a_file_is_refused_before_anything_is_written(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated / "notes.txt").write_text("")
    write_spec(isolated, sim_spec("tb", 3, "tracking: {tensorboard: {logdir: notes.txt/tb}}\n"))
    assert main(["run", "spec.yaml"]) == 2
    assert capsys.readouterr().err == ("rung: error: spec.tracking.tensorboard.logdir: "
                                       "'notes.txt/tb' cannot be a directory: notes.txt is a "
                                       "file\n")
    assert files_under(isolated) == {"spec.yaml", "notes.txt"}


@pytest.mark.slow  # imports tensorboardX: about 2 s
@needs_tensorboardx
def test_a_tracker_that_cannot_start_is_refused_before_anything_is_written(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated / "tb").mkdir()
    (isolated / "tb" / "tb").write_text("")  # where the study's directory would go
    write_spec(isolated, sim_spec("tb", 3, "tracking: {tensorboard: {logdir: tb}}\n"))
    refusal = ("rung: error: spec.tracking.tensorboard.logdir: TensorBoardCallback(logdir='tb') "
               "cannot start: tb/tb is a file, not a directory\n")
    assert main(["run", "spec.yaml", "--no-live"]) == 2
    assert capsys.readouterr().err == refusal
    assert files_under(isolated) == {"spec.yaml", "tb", "tb/tb"}  # no journal: run it again as is
    (isolated / "tb" / "tb").unlink()
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    assert (isolated / "tb" / "tb").is_dir()
    capsys.readouterr()
    # rung resume checks the trackers too, before it touches the journal
    for f in sorted((isolated / "tb" / "tb").rglob("*"), reverse=True):
        f.unlink() if f.is_file() else f.rmdir()
    (isolated / "tb" / "tb").rmdir()
    (isolated / "tb" / "tb").write_text("")
    before = files_under(isolated)
    journal = (isolated / "runs" / "tb.db").read_bytes()
    assert main(["resume", "tb", "--no-live"]) == 2
    assert capsys.readouterr().err == refusal
    assert files_under(isolated) == before
    assert (isolated / "runs" / "tb.db").read_bytes() == journal


class _Failing(Callback):
    def on_end(self, study: Study) -> None:
        raise ConnectionError("connection refused\nmore detail")


def test_a_tracker_failure_names_the_tracker_and_keeps_the_cause() -> None:
    cb = _Tracker("mlflow", _Failing())
    cb.on_turn((), (), None)  # type: ignore[arg-type]  # the base class reads nothing
    with pytest.raises(RungError) as info:
        cb.on_end(None)  # type: ignore[arg-type]
    assert str(info.value) == "spec.tracking.mlflow: ConnectionError: connection refused"
    assert isinstance(info.value.__cause__, ConnectionError)
