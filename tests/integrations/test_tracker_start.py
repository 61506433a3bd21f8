"""A tracker that cannot start says so in one line naming it, its target and the cause, from
``check`` (before a study is created: nothing written) and from ``on_start`` (before the
session's first record), and fails fast: an MLflow server that does not answer is reported in
seconds, not after MLflow's minutes of retries."""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from rung import Budget, Float, Objective, Study
from rung.integrations._tracking import (
    DecisionEntry,
    TrackerError,
    TrackingCallback,
    check_trackers,
)
from rung.integrations.mlflow import MLflowCallback
from rung.integrations.tensorboard import TensorBoardCallback
from rung.integrations.wandb import WandbCallback
from rung.testing.executors import ScriptedBenchmark

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no test uses the network
os.environ.setdefault("DO_NOT_TRACK", "true")


def _installed(module: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(importlib.util.find_spec(module) is None,
                              reason=f"needs {module}")


class Fake(TrackingCallback):
    """A tracker whose check or opening fails as told, and which records what it was asked."""

    def __init__(self, check_fails: bool = False, open_fails: bool = False) -> None:
        super().__init__()
        self.check_fails, self.open_fails = check_fails, open_fails
        self.calls: list[str] = []

    def _target(self) -> str:
        return "uri='fake://x'"

    def _check(self, study_name: str) -> None:
        self.calls.append(f"check {study_name}")
        if self.check_fails:
            raise ConnectionRefusedError("connection refused\n(details on a second line)")

    def _open_study(self, study: Study) -> None:
        self.calls.append("open")
        if self.open_fails:
            raise PermissionError(13, "Permission denied", "/srv/tracking/s")

    def _open_trial(self, trial_id: int, params: Mapping[str, Any], parent_id: int | None) -> None:
        self.calls.append(f"trial {trial_id}")

    def _add_params(self, trial_id: int, params: Mapping[str, Any]) -> None:
        pass

    def _log_metrics(self, trial_id: int, step: int, metrics: Mapping[str, float]) -> None:
        pass

    def _log_decision(self, trial_id: int, entry: DecisionEntry) -> None:
        pass

    def _close_trial(self, trial_id: int, status: str, error: str | None) -> None:
        pass

    def _close_study(self, study: Study, status: str) -> None:
        self.calls.append(f"close {status}")


def _study(storage: Path) -> Study:
    return Study.create("s", {"x": Float(0.0, 1.0)}, Objective("loss"), searcher="random",
                        scheduler="fifo", max_step=2, budget=Budget(n_trials=2), seed=0,
                        storage=storage)


def test_check_before_creating_leaves_nothing_behind(tmp_path: Path) -> None:
    """What ``rung.run`` / ``rung run`` do with their trackers before ``Study.create``."""
    fake = Fake(check_fails=True)
    with pytest.raises(TrackerError) as e:
        check_trackers([object(), fake], "s")  # a plain callback has nothing to check
    assert str(e.value) == ("Fake(uri='fake://x') cannot start: ConnectionRefusedError: "
                            "connection refused")
    assert isinstance(e.value.__cause__, ConnectionRefusedError)
    assert fake.calls == ["check s"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("fake", "line", "calls"), [
    (Fake(check_fails=True), "ConnectionRefusedError: connection refused", ["check s"]),
    (Fake(open_fails=True), "PermissionError: [Errno 13] Permission denied: '/srv/tracking/s'",
     ["check s", "open"]),
])
def test_on_start_names_the_tracker_and_writes_no_record(
    tmp_path: Path, fake: Fake, line: str, calls: list[str]
) -> None:
    study = _study(tmp_path / "j.db")
    with pytest.raises(TrackerError) as e:
        study.simulate(ScriptedBenchmark(), callbacks=[fake])
    assert str(e.value) == f"Fake(uri='fake://x') cannot start: {line}"
    assert fake.calls == calls
    assert study.journal.read("s") == []  # the session wrote nothing
    study.close()
    ok = Fake()  # the same study runs once the tracker can start
    again = Study.load("s", tmp_path / "j.db")
    again.simulate(ScriptedBenchmark(), callbacks=[ok])
    assert ok.calls[:2] == ["check s", "open"] and ok.calls[-1] == "close finished"
    again.close()


@pytest.mark.parametrize(("callback", "module"), [
    (MLflowCallback(), "mlflow"), (TensorBoardCallback(), "tensorboardX"),
    (WandbCallback(), "wandb"),
])
def test_check_of_a_tracker_not_installed_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, callback: TrackingCallback, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    extra = {"tensorboardX": "tensorboard"}.get(module, module)
    with pytest.raises(ImportError, match=f"pip install 'rung\\[{extra}\\]'$"):
        check_trackers([callback], "s")


@pytest.mark.slow  # imports tensorboardX: 2-4 s
@_installed("tensorboardX")
def test_tensorboard_logdir_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("")
    cb = TensorBoardCallback(tmp_path / "notes" / "tb")
    with pytest.raises(TrackerError) as e:
        check_trackers([cb], "s")
    assert str(e.value) == (f"TensorBoardCallback(logdir='{tmp_path}/notes/tb') cannot start: "
                            f"{tmp_path}/notes is a file, not a directory")
    (tmp_path / "tb").mkdir()
    (tmp_path / "tb" / "s").write_text("")  # where the study's directory would go
    with pytest.raises(TrackerError, match="tb/s is a file, not a directory$"):
        check_trackers([TensorBoardCallback(tmp_path / "tb")], "s")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", "tb"]
    check_trackers([TensorBoardCallback(tmp_path / "new" / "tb")], "s")
    assert not (tmp_path / "new").exists()  # checking creates nothing


@pytest.mark.slow  # imports wandb: 1-2 s
@_installed("wandb")
def test_wandb_bad_mode_and_dir(tmp_path: Path) -> None:
    with pytest.raises(TrackerError) as e:
        check_trackers([WandbCallback(mode="cloud")], "s")
    assert str(e.value) == ("WandbCallback(mode='cloud') cannot start: mode must be one of "
                            "online, offline, disabled, got 'cloud'")
    (tmp_path / "notes").write_text("")
    with pytest.raises(TrackerError) as e:
        check_trackers([WandbCallback(dir=tmp_path / "notes", mode="offline")], "s")
    assert str(e.value) == (f"WandbCallback(dir='{tmp_path}/notes', mode='offline') cannot "
                            f"start: {tmp_path}/notes is a file, not a directory")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nobody listens once the socket is closed


@pytest.mark.slow  # imports mlflow: 3-5 s
@_installed("mlflow")
def test_mlflow_bad_uri_and_server_down_fail_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(TrackerError) as e:
        check_trackers([MLflowCallback(tracking_uri="nosuchscheme://x")], "s")
    assert str(e.value).startswith(
        "MLflowCallback(tracking_uri='nosuchscheme://x') cannot start: "
        "UnsupportedModelRegistryStoreURIException: ")
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    url = f"http://127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    with pytest.raises(TrackerError) as e:
        check_trackers([MLflowCallback(tracking_uri=url)], "s")
    assert time.monotonic() - start < 60  # MLflow's own retries: about 4 minutes
    assert str(e.value).startswith(f"MLflowCallback(tracking_uri='{url}') cannot start: "
                                   "MlflowException: API request to ")
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ  # restored


@pytest.mark.slow  # imports mlflow and migrates an MLflow store
@_installed("mlflow")
def test_mlflow_deleted_experiment_and_file_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = (tmp_path / "mlruns").as_uri()
    client = MlflowClient(tracking_uri=store)
    client.delete_experiment(client.create_experiment("s"))
    study = _study(tmp_path / "j.db")
    cb = MLflowCallback(tracking_uri=store)
    with pytest.raises(TrackerError) as e:
        study.simulate(ScriptedBenchmark(), callbacks=[cb])
    exp = client.get_experiment_by_name("s")
    assert exp is not None
    assert str(e.value) == (
        f"MLflowCallback(tracking_uri='{store}') cannot start: its experiment 's' is deleted "
        f"(restore it: mlflow experiments restore --experiment-id {exp.experiment_id}; or give "
        "experiment= another name)")
    assert study.journal.read("s") == []
    ok = MLflowCallback(tracking_uri=store, experiment="other")
    study.simulate(ScriptedBenchmark(), callbacks=[ok])
    other = client.get_experiment_by_name("other")
    assert other is not None
    runs = client.search_runs([other.experiment_id])
    assert sorted(r.info.run_name for r in runs) == ["s", "trial-0", "trial-1"]
    study.close()


@pytest.mark.parametrize("name", ["/tmp/elsewhere", "a/../../x", "team/mlp"])
def test_tensorboard_writes_nothing_outside_its_logdir(tmp_path: Path, name: str) -> None:
    """Before: a study named '/tmp/elsewhere' wrote its event files to /tmp/elsewhere, and
    'a/../../x' above the logdir."""
    cb = TensorBoardCallback(tmp_path / "tb")
    assert cb.study_dir(name).parent == tmp_path / "tb"
    assert cb.trial_dir(name, 3).parent == cb.study_dir(name)
    assert cb.study_dir("mlp") == tmp_path / "tb" / "mlp"  # a plain name: as before
