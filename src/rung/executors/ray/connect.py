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
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from rung.errors import ConfigError, RungError
from rung.executors.ray.transport import first_line

#: Seconds to wait for the cluster's head to answer before ``ray.init``, which retries an
#: address where nothing answers, or something else than Ray does, for about ten minutes.
PROBE_TIMEOUT = 5.0
#: Ray Client's port: ``ray start --head`` serves it there by default.
RAY_CLIENT_PORT = 10001
# A method every head's GCS serves (``ray.init`` calls it to join): a gRPC server that does not
# know it (UNIMPLEMENTED) is not a GCS, such as Ray Client's server on its port.
_GCS_METHOD = "/ray.rpc.NodeInfoGcsService/GetClusterId"
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


def starts_local_instance(address: str | None, ray_init: Mapping[str, Any]) -> bool:
    """Whether ``connect(ray, address, ray_init)``, called now, would start a new Ray instance
    on this machine (a single node no other node joins): this process is not connected to Ray
    yet, and the address (``address``, else ``ray_init``'s, else ``RAY_ADDRESS`` in place of
    ``None`` / ``"auto"``) is ``"local"``, or none at all while no cluster started with ``ray
    start`` is recorded on this machine (Ray's address file, read as ``ray.init`` reads it).
    ``"auto"``, ``host:port`` and ``ray://`` addresses join a cluster. False when Ray cannot
    say (its address file's reader moved): the caller then assumes a cluster. Imports Ray
    only to read that file (no address given)."""
    ray = sys.modules.get("ray")
    if ray is not None:
        with contextlib.suppress(Exception):
            if ray.is_initialized():
                return False  # a connection of this process: ray.init is not called
    addr = address if address is not None else ray_init.get("address")
    if addr is None or addr == "auto":
        addr = os.environ.get("RAY_ADDRESS") or addr
    if addr == "local":
        return True
    if addr is not None:
        return False
    with contextlib.suppress(Exception):
        import ray._private.utils as ray_utils

        return ray_utils.read_ray_address(ray_init.get("_temp_dir")) is None
    return False


def client_address(address: str | None) -> tuple[str, int] | None:
    """The ``(host, port)`` of the Ray Client server ``ray.init(address=address)`` would
    connect to (``address``, or ``RAY_ADDRESS`` in place of ``None`` / ``"auto"``): a
    ``ray://host:port`` address; ``None`` for any other address, or one without a port or
    malformed (``ray.init`` goes where gRPC takes it, or says what is wrong)."""
    addr = address
    if addr is None or addr == "auto":
        addr = os.environ.get("RAY_ADDRESS") or addr
    if not addr or not addr.startswith("ray://"):
        return None
    host, sep, port = addr[len("ray://"):].rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")  # an IPv6 address
    if (not sep or not host or not port.isdigit() or (":" in host and not bracketed)
            or host.startswith("[") != host.endswith("]")):
        return None
    return host.strip("[]"), int(port)


def check_format(address: str | None) -> None:
    """``RungError`` naming ``address`` (or ``RAY_ADDRESS``, in place of ``None`` / ``"auto"``)
    when it is none of what ``ray.init`` takes: ``auto``, ``local``, ``host:port`` (the head
    node's GCS, a port in 1..65535), ``ray://host[:port]`` (Ray Client) or another scheme's
    ``scheme://...`` (Ray's, e.g. ``anyscale://``); ``http(s)://`` is the dashboard's job
    API, not an address to connect a driver to. Ray's own refusal of ``127.0.0.1`` came after
    the study was written, with a traceback, or cut short."""
    addr = address
    if addr is None or addr == "auto":
        addr = os.environ.get("RAY_ADDRESS") or None
    if addr is None or addr in ("auto", "local"):
        return
    want = ("give host:port (the head node's GCS: ray start --head --port, 6379 by default), "
            "ray://host:port (Ray Client), auto or local")
    scheme, sep, rest = addr.partition("://")
    if sep and scheme.lower() in ("http", "https"):
        raise RungError(f"{addr!r} is the Ray dashboard's address (its job API), not one a "
                        f"driver connects to: {want}")
    if sep and (scheme != "ray" or ":" not in rest.rpartition("]")[2]):
        return  # another Ray scheme, or Ray Client's default port: ray.init decides
    host, colon, port = (rest if sep else addr).rpartition(":")
    if not colon or not host.strip("[]") or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise RungError(f"{addr!r} is not a Ray address: {want}")


def check_reachable(ray: Any, address: str | None) -> None:
    """``RungError`` (one line naming the address) when nothing answers at the head node or
    the Ray Client server ``ray.init`` would connect to, or what answers is not a gRPC server
    as both are, or (at a head's address whose port is ``RAY_CLIENT_PORT``) a gRPC server
    that is not a GCS: Ray Client's, the message then asks for ``ray://host:port``. Each
    probe waits at most ``PROBE_TIMEOUT`` seconds; with ``RAY_USE_TLS`` only the connection
    is checked. Nothing to check when ``ray.init`` would start a local instance. A malformed
    address is refused first (``check_format``)."""
    check_format(address)
    client = client_address(address)
    if client is not None:
        host, port = client
        where = f"the Ray Client server at ray://{host}:{port}"
        if not _answers_grpc(host, port, where, (
                f"start the cluster's head node (ray start --head serves Ray Client on port "
                f"{RAY_CLIENT_PORT}) or give the address of a running one")):
            raise RungError(
                f"cannot connect to {where}: what answers there is not a Ray Client server; "
                f"give the port it listens on (ray start --head --ray-client-server-port, "
                f"{RAY_CLIENT_PORT} by default; 8265 is the dashboard's)")
        return
    target = head_address(ray, address)
    if target is None:
        return
    host, port = target
    where = f"the Ray cluster at {host}:{port}"
    grpc = _answers_grpc(host, port, where, (
        f"start its head node (ray start --head --port={port}) or give the address of a "
        f"running one"))
    if port == RAY_CLIENT_PORT and (not grpc or _answers_as_gcs(host, port) is False):
        raise RungError(
            f"cannot connect to {where}: what answers there is not a Ray head node's GCS; "
            f"did you mean ray://{host}:{port}? (Ray Client's port; the GCS listens on ray "
            f"start --head --port, 6379 by default)")
    if not grpc:
        raise RungError(
            f"cannot connect to {where}: what answers there is not a Ray head node; give the "
            f"port its GCS listens on (ray start --head --port, 6379 by default; 8265 is the "
            f"dashboard's, and Ray Client's {RAY_CLIENT_PORT} takes "
            f"ray://{host}:{RAY_CLIENT_PORT})")


def _tls() -> bool:
    return os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true")


def _answers_grpc(host: str, port: int, where: str, advice: str) -> bool:
    """Whether what answers at ``host:port`` is a gRPC server (it answers the HTTP/2 preface
    with a SETTINGS frame; always true with ``RAY_USE_TLS``, which encrypts it).

    Raises:
        RungError: nothing answers (naming ``where``, then ``advice``).
    """
    try:
        conn = socket.create_connection((host, port), timeout=PROBE_TIMEOUT)
    except OSError as e:
        why = e.strerror or str(e) or type(e).__name__
        raise RungError(f"cannot connect to {where}: nothing answers there ({why}); "
                        f"{advice}") from None
    with conn:
        if _tls():
            return True
        head = b""
        with contextlib.suppress(OSError):
            conn.sendall(_H2_PREFACE)
            while len(head) < 9:
                chunk = conn.recv(9 - len(head))
                if not chunk:
                    break
                head += chunk
    return len(head) == 9 and head[3] == _H2_SETTINGS


def _answers_as_gcs(host: str, port: int) -> bool | None:
    """Whether the gRPC server at ``host:port`` serves the GCS method ``_GCS_METHOD``:
    ``False`` only when it says it does not (UNIMPLEMENTED); ``None`` when the call cannot
    tell (no ``grpc``, TLS, a timeout, any other error)."""
    if _tls():
        return None
    try:
        import grpc
    except ImportError:
        return None
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    channel = grpc.insecure_channel(target)
    try:
        call = channel.unary_unary(_GCS_METHOD)
        call(b"", timeout=PROBE_TIMEOUT, wait_for_ready=False)
    except grpc.RpcError as e:
        code = e.code() if callable(getattr(e, "code", None)) else None
        return False if code == grpc.StatusCode.UNIMPLEMENTED else None
    except Exception:
        return None
    finally:
        channel.close()
    return True


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


__all__ = ["PROBE_TIMEOUT", "RAY_CLIENT_PORT", "check_reachable", "client_address", "connect",
           "head_address", "private_instance", "starts_local_instance", "use_socket"]
