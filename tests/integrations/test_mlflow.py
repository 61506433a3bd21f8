"""``MLflowCallback`` against a real MLflow tracking server (``mlflow server`` on loopback, SQLite
backend, started and stopped here): MLflow's own client must list a parent run per study and a
nested run per trial, with the params, every metric at its step, the decisions and the status.

The server takes 15 to 45 s to start (database migrations, app import), so the module is in the
slow lane (CI runs it: ``python -m pytest -m slow``)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tracking_study import (
    FAILED,
    check_truth,
    resume,
    simulate,
    simulate_failing,
    simulate_interrupted,
    truth,
)

from rung import Study
from rung.integrations.mlflow import MLflowCallback

#: no test may use the network: MLflow's usage telemetry stays off, in the server and in this
#: process (set before MLflow is imported: it starts its telemetry client on import)
NO_TELEMETRY = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
for _k, _v in NO_TELEMETRY.items():
    os.environ.setdefault(_k, _v)

mlflow = pytest.importorskip("mlflow")
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    exe = Path(sys.executable).with_name("mlflow")
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(
        [str(exe), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--workers", "1"],
        cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        # no background job runner (its worker processes serve features these tests never use)
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **NO_TELEMETRY},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None, (root / "server.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "mlflow server did not start in 300 s"
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its uvicorn worker
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _runs(client: Any, experiment: str) -> tuple[Any, dict[int, Any]]:
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("rung.role") == "study"]
    assert len(parents) == 1, [r.data.tags for r in runs]
    trials = {int(r.data.tags["rung.trial_id"]): r for r in runs
              if r.data.tags.get("rung.role") == "trial"}
    assert len(trials) == len(runs) - 1  # one run per trial, nothing else
    return parents[0], trials


def _decisions(client: Any, run_id: str, tmp: Path) -> list[tuple[int, str, str]]:
    path = client.download_artifacts(run_id, "rung/decisions.json", str(tmp))
    data = json.loads(Path(path).read_text())
    return [(d["step"], d["action"], d["reason"]) for d in data["decisions"]
            if d["action"] not in ("resume",)]


def _check(client: Any, study: Study, experiment: str, tmp: Path) -> None:
    expected = truth(study)
    check_truth(expected)
    parent, runs = _runs(client, experiment)
    assert parent.info.run_name == study.name
    assert parent.info.status == "FINISHED"
    assert parent.data.params["scheduler"] == "asha"
    assert parent.data.params["metric"] == "loss"
    assert parent.data.params["budget.n_trials"] == "9"
    best = study.best_trial
    assert best is not None
    assert parent.data.tags["rung.best_trial"] == str(best.id)
    assert parent.data.metrics["best_loss"] == pytest.approx(best.value)
    assert parent.data.metrics["n_stopped"] == len(study.trials("stopped"))
    assert sorted(runs) == sorted(expected)
    for tid, want in expected.items():
        run = runs[tid]
        rid = run.info.run_id
        assert run.info.run_name == f"trial-{tid}"
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.data.params == {k: str(v) for k, v in want.params.items()}
        # every numeric metric at its step ("note" and "flag" are not numbers)
        got = sorted((m.step, m.key, m.value)
                     for key in ("loss", "acc")
                     for m in client.get_metric_history(rid, key))
        assert got == sorted(want.metrics)
        assert {k for _, k, _ in got} == {"loss", "acc"}
        assert _decisions(client, rid, tmp / str(tid)) == want.decisions
        assert run.data.tags["rung.status"] == want.status
        assert run.info.status == "FINISHED"  # completed and stopped trials both finished
        if want.decisions:
            s, a, _ = want.decisions[-1]
            assert run.data.tags["rung.decision"].startswith(f"step {s}: {a}")


def test_simulated_study_is_logged_as_parent_and_nested_runs(server: str,
                                                              tmp_path: Path) -> None:
    cb = MLflowCallback(tracking_uri=server, experiment="rung-sim")
    study = simulate(tmp_path, "sim", cb)
    client = mlflow.tracking.MlflowClient(tracking_uri=server)
    _check(client, study, "rung-sim", tmp_path)
    assert cb.parent_run_id == _runs(client, "rung-sim")[0].info.run_id


def test_a_failed_trial_ends_failed_with_its_error(server: str, tmp_path: Path) -> None:
    simulate_failing(tmp_path, MLflowCallback(tracking_uri=server))
    client = mlflow.tracking.MlflowClient(tracking_uri=server)
    parent, runs = _runs(client, "failing")
    assert parent.data.metrics["n_failed"] == 2
    for tid, run in runs.items():
        if tid in FAILED:
            assert run.info.status == "FAILED"
            assert run.data.tags["rung.status"] == "failed"
            assert run.data.tags["rung.error"] == FAILED[tid]
        else:
            assert run.info.status == "FINISHED" and "rung.error" not in run.data.tags


def test_a_resumed_study_continues_the_same_runs(server: str, tmp_path: Path) -> None:
    study = simulate_interrupted(tmp_path, "resumed", MLflowCallback(tracking_uri=server))
    client = mlflow.tracking.MlflowClient(tracking_uri=server)
    parent, first = _runs(client, "resumed")  # the experiment is named after the study
    assert parent.info.status == "KILLED"
    assert 0 < len(first) < 9
    assert any(r.info.status == "KILLED" for r in first.values())  # still running then

    again = resume(study, tmp_path, MLflowCallback(tracking_uri=server))
    _check(client, again, "resumed", tmp_path)
    _, second = _runs(client, "resumed")
    assert {t: r.info.run_id for t, r in first.items()} == {
        t: second[t].info.run_id for t in first}


def test_a_new_study_under_an_old_name_gets_runs_of_its_own(server: str,
                                                            tmp_path: Path) -> None:
    """Same name, same experiment, another journal: the old study's runs are left alone."""
    old = simulate(tmp_path / "old", "reused", MLflowCallback(tracking_uri=server), n_trials=3)
    new = simulate(tmp_path / "new", "reused", MLflowCallback(tracking_uri=server), n_trials=3,
                   seed=2)
    client = mlflow.tracking.MlflowClient(tracking_uri=server)
    exp = client.get_experiment_by_name("reused")
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags["rung.role"] == "study"]
    assert len(parents) == 2 and len(runs) == 2 + 3 + 3
    for study in (old, new):
        mine = {int(r.data.tags["rung.trial_id"]): r for r in runs
                if r.data.tags["rung.role"] == "trial"
                and r.data.params["x"] == str(study.history.params(
                    int(r.data.tags["rung.trial_id"]))["x"])}
        assert sorted(mine) == [0, 1, 2]
        assert len({r.data.tags["mlflow.parentRunId"] for r in mine.values()}) == 1


def test_local_worker_processes_are_logged(server: str, tmp_path: Path) -> None:
    """Real worker processes: the driver's callback sees every trial they run."""
    from rung import ASHA, Budget, Float, Objective
    from rung.testing.executors import scripted_objective

    study = Study.create("local", {"x": Float(0.0, 1.0)}, Objective("loss"),
                         searcher="random", scheduler=ASHA(reduction_factor=3), max_step=3,
                         budget=Budget(n_trials=4), seed=0, storage=tmp_path / "local.db")
    study.run(scripted_objective, executor="local", n_workers=2,
              callbacks=[MLflowCallback(tracking_uri=server)], progress=False)
    client = mlflow.tracking.MlflowClient(tracking_uri=server)
    _, runs = _runs(client, "local")
    assert sorted(runs) == [0, 1, 2, 3]
    want = truth(study)
    for tid, run in runs.items():
        got = sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, "loss"))
        assert got == sorted((s, v) for s, k, v in want[tid].metrics if k == "loss")
        assert got
        assert run.data.tags["rung.status"] == want[tid].status


_KILLED_SESSION = """\
import os, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from tracking_study import Curves, make_study
from rung import Callback
from rung.integrations.mlflow import MLflowCallback

class Die(Callback):  # SIGKILL at turn 8, after it is journaled, before MLflow is told of it
    turns = 0
    def on_turn(self, events, commands, history):
        self.turns += 1
        if self.turns == 8:
            os.kill(os.getpid(), signal.SIGKILL)

study = make_study(Path(sys.argv[1]), "killed")
study.simulate(Curves(), n_workers=2, callbacks=[Die(), MLflowCallback(tracking_uri=sys.argv[2])])
"""


def test_a_session_killed_mid_turn_is_made_whole_by_the_next(server: str,
                                                            tmp_path: Path) -> None:
    """A session SIGKILLed after journaling a turn and before its callbacks ran: the runs it
    had open stay RUNNING, without their decisions artifact, and miss that turn's metrics. The
    next session brings them up to the journal (metrics, every decision, status)."""
    script = tmp_path / "killed.py"
    script.write_text(_KILLED_SESSION)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path), server,
                           str(Path(__file__).parent)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    client = mlflow.tracking.MlflowClient(tracking_uri=server)
    study = Study.load("killed", storage=tmp_path / "killed.db")
    journaled = truth(study)
    _, first = _runs(client, "killed")
    open_then = sorted(t for t, r in first.items() if r.info.status == "RUNNING")
    assert open_then  # the killed session ended none of them
    logged = sum(len(client.get_metric_history(r.info.run_id, k))
                 for r in first.values() for k in ("loss", "acc"))
    assert logged < sum(len(t.metrics) for t in journaled.values())  # turn 8 never sent

    again = resume(study, tmp_path, MLflowCallback(tracking_uri=server))
    _check(client, again, "killed", tmp_path)
    _, second = _runs(client, "killed")
    assert {t: r.info.run_id for t, r in first.items()} == {
        t: second[t].info.run_id for t in first}


_KILLED_BEFORE_PARAMS = """\
import os, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from tracking_study import Curves, make_study
from rung.integrations.mlflow import MLflowCallback

class Dies(MLflowCallback):  # SIGKILL once trial 2's run is created, before its params are sent
    def _end_turn(self):
        if 2 in self._runs:
            os.kill(os.getpid(), signal.SIGKILL)
        super()._end_turn()

study = make_study(Path(sys.argv[1]), "no-params")
study.simulate(Curves(), n_workers=2, callbacks=[Dies(tracking_uri=sys.argv[2])])
"""


def test_a_run_killed_before_its_params_were_sent_is_still_the_trials(server: str,
                                                                     tmp_path: Path) -> None:
    """A session SIGKILLed between creating a trial's run and sending its params: the next
    session took the run without params for another study's and started new runs for every
    trial (two parent runs, two runs per trial). Now it keeps the runs and adds the params."""
    script = tmp_path / "no_params.py"
    script.write_text(_KILLED_BEFORE_PARAMS)
    proc = subprocess.run([sys.executable, str(script), str(tmp_path), server,
                           str(Path(__file__).parent)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    client = mlflow.tracking.MlflowClient(tracking_uri=server)
    _, first = _runs(client, "no-params")
    assert first[2].data.params == {} and first[2].info.status == "RUNNING"

    study = Study.load("no-params", storage=tmp_path / "no-params.db")
    again = resume(study, tmp_path, MLflowCallback(tracking_uri=server))
    _check(client, again, "no-params", tmp_path)  # one parent, one run per trial, all params
    _, second = _runs(client, "no-params")
    assert {t: r.info.run_id for t, r in first.items()} == {
        t: second[t].info.run_id for t in first}
