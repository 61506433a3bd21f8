"""Connecting to a Ray cluster (``rung.executors.ray.connect``) without a cluster: an address
where nothing answers is refused at once, naming it (``ray.init`` retried it for about ten
minutes: ``rung run`` of a spec with ``address: 127.0.0.1:1`` was still waiting after 5)."""

from __future__ import annotations

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
