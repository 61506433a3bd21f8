"""Connecting to a Ray cluster (``rung.executors.ray.connect``) without a cluster: an address
where nothing answers is refused at once, naming it (``ray.init`` retried it for about ten
minutes: ``rung run`` of a spec with ``address: 127.0.0.1:1`` was still waiting after 5)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from rung.errors import RungError
from rung.executors.ray.connect import client_address, connect, head_address


class _NoRay:
    """Stands in for ``ray``: not connected, and ``init`` must not be reached."""

    class _private:  # Ray's module names
        class services:
            @staticmethod
            def canonicalize_bootstrap_address(addr: str) -> str:
                return "127.0.0.1:6380"

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs: Any) -> None:
        raise AssertionError(f"ray.init({kwargs}) was called")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_address_where_nothing_answers_is_refused_before_ray_init(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = _closed_port()
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    for address in (f"127.0.0.1:{port}", None):
        if address is None:  # RAY_ADDRESS stands for it
            monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
        with pytest.raises(RungError) as e:
            connect(_NoRay(), address, {})
        assert str(e.value) == (
            f"cannot connect to the Ray cluster at 127.0.0.1:{port}: nothing answers there "
            f"(Connection refused); start its head node (ray start --head --port={port}) or "
            f"give the address of a running one")


def test_which_head_is_probed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ray = _NoRay()
    assert head_address(ray, "10.0.0.7:6379") == ("10.0.0.7", 6379)
    assert head_address(ray, "[::1]:6379") == ("::1", 6379)
    assert head_address(ray, "auto") == ("127.0.0.1", 6380)  # Ray's lookup on this machine
    # a local instance, Ray Client, or a malformed address (ray.init says what is wrong)
    for address in (None, "local", "ray://10.0.0.7:10001", "10.0.0.7", "10.0.0.7:port"):
        assert head_address(ray, address) is None
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.8:6379")
    assert head_address(ray, None) == head_address(ray, "auto") == ("10.0.0.8", 6379)
    assert head_address(ray, "10.0.0.7:1") == ("10.0.0.7", 1)  # given beats the variable


class _Listener:
    """A TCP server on 127.0.0.1 that answers each connection with ``reply`` (``None``:
    says nothing) and keeps it open until closed."""

    def __init__(self, reply: bytes | None) -> None:
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = int(self.sock.getsockname()[1])
        self.reply = reply
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
                if self.reply is not None:
                    conn.sendall(self.reply)

    def close(self) -> None:
        for c in self.conns:
            c.close()
        self.sock.close()


class _Ray(_NoRay):
    def __init__(self) -> None:
        self.inits: list[dict[str, Any]] = []

    def init(self, **kwargs: Any) -> None:
        self.inits.append(kwargs)


def test_an_address_where_something_else_than_ray_answers_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The dashboard's port (8265) given for the head's: ray.init retried it for about ten
    minutes. The head's GCS is a gRPC server, which answers the HTTP/2 preface with a
    SETTINGS frame; anything else (an HTTP/1 reply, silence) is refused at once."""
    import rung.executors.ray.connect as rc

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_USE_TLS", raising=False)
    monkeypatch.setattr(rc, "PROBE_TIMEOUT", 0.5)
    http = _Listener(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    silent = _Listener(None)
    grpc = _Listener(bytes([0, 0, 0x18, 4, 0, 0, 0, 0, 0]))  # a SETTINGS frame, as the GCS's
    try:
        for server in (http, silent):
            with pytest.raises(RungError) as e:
                connect(_NoRay(), f"127.0.0.1:{server.port}", {})
            assert str(e.value) == (
                f"cannot connect to the Ray cluster at 127.0.0.1:{server.port}: what answers "
                "there is not a Ray head node; give the port its GCS listens on (ray start "
                "--head --port, 6379 by default; 8265 is the dashboard's, and Ray Client's "
                "10001 takes ray://127.0.0.1:10001)")
        ray = _Ray()
        assert connect(ray, f"127.0.0.1:{grpc.port}", {}) is True
        assert ray.inits == [{"address": f"127.0.0.1:{grpc.port}", "log_to_driver": True}]
        monkeypatch.setenv("RAY_USE_TLS", "1")  # a TLS head does not answer in clear text
        assert connect(_Ray(), f"127.0.0.1:{http.port}", {}) is True
    finally:
        for server in (http, silent, grpc):
            server.close()


# --- Ray Client addresses, and Ray Client's port given as a head's --------------------------------
def test_which_ray_client_server_is_probed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert client_address("ray://10.0.0.7:10001") == ("10.0.0.7", 10001)
    assert client_address("ray://[::1]:10001") == ("::1", 10001)
    # not Ray Client, or no port (gRPC's default, not Ray's), or malformed: ray.init says
    for address in (None, "auto", "local", "10.0.0.7:10001", "ray://10.0.0.7",
                    "ray://10.0.0.7:port", "ray://::1", "ray://[::1"):
        assert client_address(address) is None
    monkeypatch.setenv("RAY_ADDRESS", "ray://10.0.0.8:10002")
    assert client_address(None) == client_address("auto") == ("10.0.0.8", 10002)
    assert client_address("ray://10.0.0.7:1") == ("10.0.0.7", 1)  # given beats the variable


def test_a_ray_client_address_where_nothing_or_not_ray_answers_is_refused_before_ray_init(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``ray://`` addresses were not probed: ray.init's Ray Client retried a closed port."""
    import rung.executors.ray.connect as rc

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_USE_TLS", raising=False)
    monkeypatch.setattr(rc, "PROBE_TIMEOUT", 0.5)
    port = _closed_port()
    with pytest.raises(RungError) as e:
        connect(_NoRay(), f"ray://127.0.0.1:{port}", {})
    assert str(e.value) == (
        f"cannot connect to the Ray Client server at ray://127.0.0.1:{port}: nothing answers "
        "there (Connection refused); start the cluster's head node (ray start --head serves "
        "Ray Client on port 10001) or give the address of a running one")
    http = _Listener(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    grpc = _Listener(bytes([0, 0, 0x18, 4, 0, 0, 0, 0, 0]))
    try:
        with pytest.raises(RungError) as e:
            connect(_NoRay(), f"ray://127.0.0.1:{http.port}", {})
        assert str(e.value) == (
            f"cannot connect to the Ray Client server at ray://127.0.0.1:{http.port}: what "
            "answers there is not a Ray Client server; give the port it listens on (ray start "
            "--head --ray-client-server-port, 10001 by default; 8265 is the dashboard's)")
        ray = _Ray()
        assert connect(ray, f"ray://127.0.0.1:{grpc.port}", {}) is True
        assert ray.inits == [{"address": f"ray://127.0.0.1:{grpc.port}", "log_to_driver": True}]
    finally:
        http.close()
        grpc.close()


@contextlib.contextmanager
def _grpc_server(gcs: bool) -> Iterator[int]:
    """A gRPC server on 127.0.0.1 (its port), serving the GCS method the probe calls if
    ``gcs`` (Ray Client's server does not: UNIMPLEMENTED), nothing else."""
    grpc = pytest.importorskip("grpc")
    from concurrent.futures import ThreadPoolExecutor

    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    if gcs:
        handler = grpc.method_handlers_generic_handler("ray.rpc.NodeInfoGcsService", {
            "GetClusterId": grpc.unary_unary_rpc_method_handler(lambda req, ctx: b"")})
        server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port
    finally:
        server.stop(0)


def test_ray_clients_port_given_as_a_heads_asks_for_ray_scheme(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``host:10001`` (Ray Client's port without ``ray://``) passed the check: Ray Client's
    server is a gRPC server too. At that port, a gRPC server that does not serve the GCS, or
    something that is not gRPC, is refused with the address it meant; a GCS there passes.
    (``RAY_CLIENT_PORT`` is moved to a free port: 10001 may be taken on this machine.)"""
    import rung.executors.ray.connect as rc

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_USE_TLS", raising=False)
    monkeypatch.setattr(rc, "PROBE_TIMEOUT", 2.0)
    silent = _Listener(None)
    try:
        with _grpc_server(gcs=False) as client:
            for port in (client, silent.port):
                monkeypatch.setattr(rc, "RAY_CLIENT_PORT", port)
                with pytest.raises(RungError) as e:
                    connect(_NoRay(), f"127.0.0.1:{port}", {})
                assert str(e.value) == (
                    f"cannot connect to the Ray cluster at 127.0.0.1:{port}: what answers "
                    f"there is not a Ray head node's GCS; did you mean ray://127.0.0.1:{port}? "
                    "(Ray Client's port; the GCS listens on ray start --head --port, 6379 by "
                    "default)")
            # the same gRPC server at another port: not told apart from a GCS (as before)
            monkeypatch.setattr(rc, "RAY_CLIENT_PORT", _closed_port())
            assert connect(_Ray(), f"127.0.0.1:{client}", {}) is True
        with _grpc_server(gcs=True) as head:
            monkeypatch.setattr(rc, "RAY_CLIENT_PORT", head)
            assert connect(_Ray(), f"127.0.0.1:{head}", {}) is True
    finally:
        silent.close()
