"""Connecting the driver to Ray, and choosing the transport of a session.

``connect`` calls ``ray.init`` unless this process is connected already (a connection opened
before is the user's: the executor must not stop it). ``use_socket`` decides between the two
transports of ``rung.executors.ray.transport``: ``"socket"`` needs the driver on a node of the
cluster, so ``"auto"`` picks ``"ray"`` for Ray Client sessions and ``ray://`` addresses.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from rung.errors import ConfigError, RungError
from rung.executors.ray.transport import first_line

#: Seconds to wait for the cluster's head to answer before ``ray.init``, which retries an
#: address where nothing answers, or something else than Ray does, for about ten minutes.
PROBE_TIMEOUT = 5.0
# The head's GCS is a gRPC (HTTP/2) server: it answers a client's connection preface with a
# SETTINGS frame (frame type 4, the fourth byte of the 9-byte frame header).
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
_H2_SETTINGS = 4


def connect(ray: Any, address: str | None, ray_init: Mapping[str, Any]) -> bool:
    """Connect to Ray at ``address`` (``None``: ``RAY_ADDRESS`` or a local instance) with the
    extra ``ray.init`` arguments ``ray_init``, unless connected; True if this call started
    Ray. ``ConfigError`` (naming ``ray_init.<key>``, else ``address`` or ``ray_init``) when
    ``ray.init`` refuses its arguments; ``RungError`` when it cannot reach the cluster.

    A SIGTERM handler installed before (``rung run``'s, which stops a run as Ctrl-C does, or
    the user's) is kept: ``ray.init`` replaces it with one that exits with code 15."""
    if ray.is_initialized():
        return False
    check_reachable(ray, address)
    kwargs = dict(ray_init)
    if address is not None:
        kwargs["address"] = address
    kwargs.setdefault("log_to_driver", True)
    try:
        with _keeping_sigterm_handler():
            ray.init(**kwargs)
    except ConnectionError as e:
        where = address or os.environ.get("RAY_ADDRESS") or "this machine"
        raise RungError(f"cannot connect to the Ray cluster at {where}: "
                        f"{first_line(str(e))}") from None
    except (TypeError, ValueError, RuntimeError) as e:  # ray.init refused its arguments
        text = first_line(str(e))
        key = next((f"ray_init.{k}" for k in ray_init if k in text), None)
        raise ConfigError(key=key or ("address" if address is not None else "ray_init"),
                          message=f"ray.init refused it: {text}") from None
    return True


def head_address(ray: Any, address: str | None) -> tuple[str, int] | None:
    """The ``(host, port)`` of the head node ``ray.init(address=address)`` would connect to
    (``address``, or ``RAY_ADDRESS``, or for ``"auto"`` the cluster started on this machine),
    or ``None`` when it would start a local instance, goes through Ray Client (``ray://``),
    or the address is malformed (``ray.init`` says so)."""
    addr = address
    if addr is None or addr == "auto":
        addr = os.environ.get("RAY_ADDRESS") or addr
    if addr == "auto":
        addr = None
        with contextlib.suppress(Exception):  # Ray's own lookup; no cluster: ray.init says so
            addr = ray._private.services.canonicalize_bootstrap_address("auto")
    if not addr or addr == "local" or "://" in addr:
        return None
    host, sep, port = addr.rpartition(":")
    if not sep or not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def check_reachable(ray: Any, address: str | None) -> None:
    """``RungError`` naming the address when nothing answers at the head node ``ray.init``
    would connect to, or what answers is not a gRPC server as the head's GCS is (both within
    ``PROBE_TIMEOUT`` seconds; the second is not checked with ``RAY_USE_TLS``); nothing to
    check when it would start a local instance or use Ray Client."""
    target = head_address(ray, address)
    if target is None:
        return
    host, port = target
    try:
        conn = socket.create_connection((host, port), timeout=PROBE_TIMEOUT)
    except OSError as e:
        why = e.strerror or str(e) or type(e).__name__
        raise RungError(
            f"cannot connect to the Ray cluster at {host}:{port}: nothing answers there "
            f"({why}); start its head node (ray start --head --port={port}) or give the "
            f"address of a running one") from None
    with conn:
        if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
            return
        head = b""
        with contextlib.suppress(OSError):
            conn.sendall(_H2_PREFACE)
            while len(head) < 9:
                chunk = conn.recv(9 - len(head))
                if not chunk:
                    break
                head += chunk
    if len(head) < 9 or head[3] != _H2_SETTINGS:
        raise RungError(
            f"cannot connect to the Ray cluster at {host}:{port}: what answers there is not "
            f"a Ray head node; give the port its GCS listens on (ray start --head --port, "
            f"6379 by default; 8265 is the dashboard's, and Ray Client's 10001 takes "
            f"ray://{host}:10001)")


@contextlib.contextmanager
def _keeping_sigterm_handler() -> Iterator[None]:
    """Restore, on leaving, the SIGTERM handler this process had on entering, unless it was
    the default (then the one set inside stays)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread: ray.init sets none here either
        return
    before = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        if before is not signal.SIG_DFL and before is not None:
            signal.signal(signal.SIGTERM, before)


def private_instance(ray: Any) -> bool:
    """Whether the connected Ray instance was started by this process (``ray.init()`` without
    a cluster to join, by the executor or by the user's script): a single node no other node
    joins, so what it lacks now it never gets. False for a connection to a cluster started
    elsewhere (``ray start``, an address, Ray Client), and when Ray does not say."""
    with contextlib.suppress(Exception):
        node = ray._private.worker._global_node
        return node is not None and bool(node.head)
    return False


def use_socket(ray: Any, address: str | None, transport: str) -> bool:
    """Whether a connected session uses the socket transport (``transport``: ``"auto"``,
    ``"socket"`` or ``"ray"``). ``ConfigError`` for ``"socket"`` in a Ray Client session."""
    client = False
    with contextlib.suppress(Exception):
        client = bool(ray.util.client.ray.is_connected())
    if transport == "auto":
        addr = address or os.environ.get("RAY_ADDRESS", "")
        return not (client or addr.startswith("ray://"))
    socket = transport == "socket"
    if socket and client:
        raise ConfigError("transport='socket' needs the driver on a cluster node; this "
                          "is a Ray Client session: use transport='ray' (or 'auto')")
    return socket


__all__ = ["PROBE_TIMEOUT", "check_reachable", "connect", "head_address", "private_instance",
           "use_socket"]
