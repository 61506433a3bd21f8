"""``rung run`` / ``rung resume`` with ``executor: ray`` and an address where no Ray head
answers, a Ray Client address (``ray://``) where nothing answers, or Ray Client's port given as a
head's: one line naming the key and the value, exit 2, nothing written (the study was created
first and the run ended with exit 1 and a resume line; ``ray://`` addresses were not probed, and
``host:10001`` passed the check: ``ray.init`` then retried them)."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import pytest
from clihelp import HERE, write_spec

from rung.cli.main import main

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="Ray is not installed: pip install 'rung[ray]'")


def ray_spec(tmp_path: Path, address: str) -> Path:
    """A study ``far`` (storage ``far.db`` under ``tmp_path``) on the Ray executor at
    ``address``."""
    return write_spec(tmp_path, f"""\
name: far
objective: cli_objectives:train
path: {HERE}
space: {{x: {{type: float, low: 0.0, high: 1.0}}}}
metric: loss
searcher: random
scheduler: fifo
budget: {{n_trials: 2}}
executor: ray
executor_options: {{address: "{address}"}}
storage: {tmp_path / 'far.db'}
""")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_address_is_refused_before_anything_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(ray_spec(tmp_path, "127.0.0.1:1"))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("rung: error: spec.executor_options.address: cannot connect to "
                             "the Ray cluster at 127.0.0.1:1: nothing answers there")
    assert not (tmp_path / "far.db").exists()


def test_an_unreachable_ray_client_address_is_refused_before_anything_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    port = _closed_port()
    assert main(["run", str(ray_spec(tmp_path, f"ray://127.0.0.1:{port}"))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"rung: error: spec.executor_options.address: cannot connect to the Ray Client server "
        f"at ray://127.0.0.1:{port}: nothing answers there (Connection refused); start the "
        f"cluster's head node (ray start --head serves Ray Client on port 10001) or give the "
        f"address of a running one"]
    assert not (tmp_path / "far.db").exists()


def test_ray_clients_port_without_its_scheme_is_refused_with_the_address_meant(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain listening socket that says nothing stands at Ray Client's port (moved to a
    free one: 10001 may be taken here)."""
    import rung.executors.ray.connect as rc

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_USE_TLS", raising=False)
    monkeypatch.setattr(rc, "PROBE_TIMEOUT", 0.5)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        monkeypatch.setattr(rc, "RAY_CLIENT_PORT", port)
        assert main(["run", str(ray_spec(tmp_path, f"127.0.0.1:{port}"))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"rung: error: spec.executor_options.address: cannot connect to the Ray cluster at "
        f"127.0.0.1:{port}: what answers there is not a Ray head node's GCS; did you mean "
        f"ray://127.0.0.1:{port}? (Ray Client's port; the GCS listens on ray start --head "
        f"--port, 6379 by default)"]
    assert not (tmp_path / "far.db").exists()


@pytest.mark.parametrize(("address", "why"), [
    ("127.0.0.1", "is not a Ray address"), ("localhost", "is not a Ray address"),
    (":6379", "is not a Ray address"), ("127.0.0.1:99999", "is not a Ray address"),
    ("http://127.0.0.1:6379", "is the Ray dashboard's address (its job API)"),
])
def test_a_malformed_address_is_refused_before_anything_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], address: str, why: str) -> None:
    """Before: the study was written, then ray.init refused the address (`spec.address:
    ray.init refused it: Invalid address format: 127.0.0.1`, a traceback before it with
    `:6379`, cut short with `http://`), and a corrected spec met 'already exists'."""
    assert main(["run", str(ray_spec(tmp_path, address))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"rung: error: spec.executor_options.address: {address!r} {why}"
                   + err[0].partition(why)[2]]
    assert err[0].endswith("give host:port (the head node's GCS: ray start --head --port, "
                           "6379 by default), ray://host:port (Ray Client), auto or local")
    assert not (tmp_path / "far.db").exists()
