"""Connecting to a Ray cluster (``rung.executors.ray.connect``) without a cluster: an address
where nothing answers is refused at once, naming it (``ray.init`` retried it for about ten
minutes: ``rung run`` of a spec with ``address: 127.0.0.1:1`` was still waiting after 5)."""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import pytest

from rung.errors import RungError
from rung.executors.ray.connect import connect, head_address


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
