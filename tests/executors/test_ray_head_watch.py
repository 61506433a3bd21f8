"""The driver's watch on the Ray head's GCS (``rung.executors.ray.head_watch``): a run whose
cluster lost its head ends in rung's words, before Ray would end the process.

The watch's rules are checked on a plain TCP listener standing in for the GCS (probes called
one by one, no thread); the slow test kills the GCS of a real ``ray.cluster_utils.Cluster``
under a ``rung run`` and reads what the run says, its exit code and its journal.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rung
from _specs import REPORTING, x_spec
from rung.executors.ray.head_watch import MARGIN, HeadWatch, ray_gcs_timeout

HAVE_RAY = importlib.util.find_spec("ray") is not None
SRC = str(Path(rung.__file__).resolve().parents[1])


def _listen(port: int = 0) -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    return s


def test_the_watch_warns_once_then_says_the_head_is_lost_and_when_it_answers_again() -> None:
    gcs = _listen()
    port = gcs.getsockname()[1]
    w = HeadWatch("127.0.0.1", port, "st", ray_timeout=MARGIN + 0.4, every=0.05,
                  warn_after=0.2)
    assert w.end_after == pytest.approx(0.4)
    w.probe()
    assert not w.down and not w.lost and w.answers() and w.lines == []
    gcs.close()
    w.probe()
    assert w.down and not w.lost and w.lines == []  # silent for less than warn_after
    time.sleep(0.25)
    w.probe()
    w.probe()
    assert len(w.lines) == 1, w.lines  # one warning, not one per probe
    assert w.lines[0].startswith(f"the Ray cluster's head at 127.0.0.1:{port} has not "
                                 "answered for 0 s (Connection refused); the run ends if it is "
                                 "not back within 0 s (Ray ends a driver without it at 10 s)")
    assert w.lines[0].endswith("Nothing recorded is lost: resume study st once a cluster runs")
    assert not w.lost
    time.sleep(0.2)
    assert w.lost
    assert w.lost_message().startswith(f"the Ray cluster's head at 127.0.0.1:{port} has not "
                                       "answered for 0 s (Connection refused): the cluster is "
                                       "gone")
    gcs = _listen(port)
    try:
        assert w.answers()
        assert not w.down and not w.lost and w.down_for() == 0.0
        assert w.lines[1:] == [f"the Ray cluster's head at 127.0.0.1:{port} answers again"]
    finally:
        gcs.close()


def test_the_watch_thread_probes_until_stopped() -> None:
    gcs = _listen()
    port = gcs.getsockname()[1]
    w = HeadWatch("127.0.0.1", port, "st", ray_timeout=MARGIN + 0.3, every=0.02,
                  warn_after=0.1)
    w.start()
    try:
        gcs.close()
        deadline = time.monotonic() + 5
        while not w.lost:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert len(w.lines) == 1
    finally:
        w.stop()
    assert w._thread is None


def test_rays_limit_comes_from_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_gcs_rpc_server_reconnect_timeout_s", raising=False)
    assert ray_gcs_timeout() == 60.0
    monkeypatch.setenv("RAY_gcs_rpc_server_reconnect_timeout_s", "25")
    assert ray_gcs_timeout() == 25.0
    assert HeadWatch("h", 1, "s").end_after == 15.0
    for bad in ("x", "0", "-3"):
        monkeypatch.setenv("RAY_gcs_rpc_server_reconnect_timeout_s", bad)
        assert ray_gcs_timeout() == 60.0
    monkeypatch.setenv("RAY_gcs_rpc_server_reconnect_timeout_s", "8")
    assert HeadWatch("h", 1, "s").end_after == 5.0  # never before the warning


OBJECTIVE = REPORTING

DRIVER = """\
import sys, time
from ray.cluster_utils import Cluster

store = 80 * 1024 * 1024
c = Cluster(initialize_head=True, head_node_args={
    "num_cpus": 0, "object_store_memory": store, "include_dashboard": False})
c.add_node(num_cpus=1, object_store_memory=store)
print(c.address, flush=True)
sys.stdin.readline()  # the test says when
c.head_node.kill_gcs_server()
sys.stdin.readline()
c.shutdown()  # every node's processes
try:  # the address file ray.init() would connect to next (it names a dead cluster now)
    from ray._private.utils import reset_ray_address
    reset_ray_address()
except Exception:
    pass
print("down", flush=True)
"""


@pytest.mark.ray
@pytest.mark.slow  # a Ray cluster, and a run that waits for its head (~60 s on 2 cores)
@pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed: pip install 'rung[ray]'")
def test_a_run_whose_head_dies_ends_in_rungs_words_with_its_journal_readable(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": SRC, "RAY_gcs_rpc_server_reconnect_timeout_s": "20"}
    (tmp_path / "headobj.py").write_text(OBJECTIVE)
    (tmp_path / "cluster.py").write_text(DRIVER)
    cluster = subprocess.Popen([sys.executable, "cluster.py"], cwd=tmp_path, env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    run = None
    try:
        assert cluster.stdout is not None and cluster.stdin is not None
        address = cluster.stdout.readline().strip()
        (tmp_path / "spec.yaml").write_text(x_spec(
            "hd", "headobj:train", tmp_path, max_step=500, n_trials=3, executor="ray",
            n_workers=1, storage=tmp_path / "hd.db",
            executor_options=f'{{address: "{address}"}}'))
        cmd = [sys.executable, "-m", "rung.cli.main"]
        run = subprocess.Popen([*cmd, "run", "spec.yaml", "--no-live"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not (tmp_path / "reported").exists():
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.1)
        cluster.stdin.write("kill\n")
        cluster.stdin.flush()
        killed = time.monotonic()
        _, err = run.communicate(timeout=60)
        took = time.monotonic() - killed
    finally:
        if run is not None and run.poll() is None:
            run.kill()
            run.wait()
        if cluster.poll() is None:  # shut the cluster down: killed, it left Ray's processes
            try:  # and the address file that later ray.init() calls follow
                assert cluster.stdin is not None
                cluster.stdin.write("kill\ndone\n")
                cluster.stdin.flush()
                cluster.wait(timeout=90)
            except Exception:
                cluster.kill()
                cluster.wait()
    # rung's lines, not Ray's "Failed to connect to GCS within 20 seconds ... will terminate"
    assert run.returncode == 1, err
    assert "The program will terminate" not in err
    lines = [x for x in err.splitlines() if x.startswith("rung:")]
    # (the seconds are measured: 5 s, or a little more on a loaded machine)
    assert any(re.match(r"rung: the Ray cluster's head at \S+ has not answered for [5-9] s "
                        r"\(Connection refused\); the run ends if it is not back within 10 s",
                        x) for x in lines), err
    assert any(x.startswith("rung: error: the Ray cluster's head at ") for x in lines), err
    assert "(the journal is intact; resume with: rung resume hd --storage " in err, err
    assert took < 20, took  # before Ray's own limit
    with sqlite3.connect(tmp_path / "hd.db") as db:
        reported = db.execute(
            "SELECT COUNT(*) FROM record WHERE kind = 'ResultReported'").fetchone()[0]
    assert reported >= 1
    study = rung.Study.load("hd", storage=str(tmp_path / "hd.db"), readonly=True)
    assert len(study.history) == 1  # the running trial, resumed by `rung resume` on a cluster
