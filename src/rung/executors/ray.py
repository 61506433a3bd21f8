"""Ray executor: trials on the actors of a Ray cluster.

One worker actor per slot, reused from trial to trial (like the local executor's processes),
each placed by Ray according to the per-trial resources (CPUs, GPU fractions, memory, custom
resources). Inside an actor the shared worker runtime (``rung.executors.runtime``) runs the
objective, so the lease protocol, ``TrialContext`` and checkpoint saving are exactly those of
the local executor.

Transport. Ray starts, places and watches the actors; the per-result traffic does not go
through Ray's task machinery, which costs about a millisecond of driver CPU per message on a
small machine. Two transports:

- ``"socket"`` (the default when the driver runs on a cluster node): every actor opens one
  authenticated TCP connection back to the driver (``multiprocessing.connection`` with a
  random key handed to the actor through Ray) and speaks the runtime's tuple protocol on it.
  Results below the lease are written to the socket and ``report`` returns at once; the driver
  waits on every connection at once (``multiprocessing.connection.wait``) and drains every
  message that is ready, so one driver turn and one journal transaction cover many events.
- ``"ray"`` (for Ray Client, ``ray://`` addresses, or clusters where workers cannot open a
  connection to the driver): each actor keeps one outstanding ``fetch()`` call that returns
  the messages its trial produced since the last one (a batch when they come fast); the driver
  ``ray.wait``\\ s on all of them at once. Replies go out as one ``deliver()`` call per actor
  and driver turn.

Either way Ray is the authority on liveness: an actor whose node dies (or that is killed) is
reported by Ray, its trial ends ``interrupted`` (the scheduler resumes it from its last
checkpoint on another node) and a replacement actor is started if the cluster still has room.
Capacity is the number of trials the cluster's alive nodes can hold at once (capped by
``max_concurrent``); it is re-read from Ray (``ray.nodes()``) every second or so (less often
when the call is slow) and at once after a death, and every change is reported as a
``CapacityChanged`` event.

Checkpoints need no shared filesystem. An actor saves into a private directory on its own
node; the save is packed as an uncompressed tar archive and shipped with the ``SAVED``
message, the driver unpacks it under the run's ``checkpoint_dir`` (``<trial>/<step>``, the
path the ``CheckpointSaved`` event records, relative to that directory) and the actor deletes
its copy. A trial resumed or forked from a checkpoint gets the archive with its ``LAUNCH``
message, on whichever node it lands. With ``transport="ray"`` the archives travel through
Ray's object store.

Event times are the driver's clock at receipt (workers' clocks on other machines may be
skewed; a batch is received within milliseconds of being sent).

Ray is imported lazily (``import rung`` never imports it); a missing installation raises an
error that says ``pip install 'rung[ray]'``.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import logging
import math
import os
import pickle
import queue
import secrets
import select
import shutil
import socket
import struct
import sys
import tarfile
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import (
    Client,
    Connection,
    answer_challenge,
    deliver_challenge,
    wait,
)
from pathlib import Path
from typing import Any

from rung.core.events import (
    Cancel,
    CapacityChanged,
    CheckpointSaved,
    Command,
    DeleteCheckpoint,
    Event,
    Launch,
    Reply,
    TrialEnded,
    TrialStarted,
)
from rung.core.records import Outcome
from rung.errors import ConfigError, RungError
from rung.executors.base import RunContext
from rung.executors.runtime import (
    ENDED,
    INIT_ERROR,
    LAUNCH,
    READY,
    RESULT,
    SAVED,
    TrialContext,
    decode,
    encode_launch,
    encode_reply,
    worker_loop,
)

log = logging.getLogger("rung.ray")

_dumps = pickle.dumps
_loads = pickle.loads
_PROTO = pickle.HIGHEST_PROTOCOL

INSTALL_HINT = "pip install 'rung[ray]'"
TRANSPORTS = ("auto", "socket", "ray")

# A TrialStarted made by the executor at dispatch waits at most this long for the next batch of
# worker messages, so it does not cost a driver turn (and a journal transaction) of its own.
_STARTED_DELAY = 0.05
# How often, at most, Ray is asked about actor deaths (a cheap ``ray.wait``).
_CHECK_INTERVAL = 0.5
# How often, at least, the cluster's nodes are re-read (``ray.nodes()``, a GCS round trip that
# takes well under a millisecond on an idle cluster and tens of them on a saturated one): the
# interval grows with the call's cost so that it never takes more than ~1% of the driver.
_NODES_INTERVAL = 1.0
_NODES_INTERVAL_MAX = 10.0
_NODES_COST_FACTOR = 100.0
# Consecutive actors whose creation fails (the class or the objective cannot be loaded on a
# node): after this many the run fails instead of creating actors forever.
_MAX_STARTUP_DEATHS = 3
# Seconds an accepted connection has to complete the authentication handshake.
_HANDSHAKE_TIMEOUT = 10.0
# Seconds idle actors get to exit cleanly at shutdown (and remove their scratch directory).
_SHUTDOWN_GRACE = 2.0
# Seconds between two "no node can run a trial" warnings while capacity is 0.
_NO_ROOM_WARNING_EVERY = 60.0
# Accelerator resources that Ray splits per device: a fraction must fit on one device.
_UNIT_RESOURCES = frozenset({"GPU", "TPU", "NPU", "HPU", "neuron_cores"})
_EPS = 1e-6


def _import_ray() -> Any:
    """The ``ray`` module, or a ``RungError`` that says how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError as e:
        raise RungError(
            f"executor='ray' needs Ray, which is not installed ({e}): {INSTALL_HINT}"
        ) from e


def _check_ray_installed() -> None:
    """Fail fast, without importing Ray, when it is not installed."""
    if "ray" in sys.modules and sys.modules["ray"] is not None:
        return
    try:
        found = importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise RungError(f"executor='ray' needs Ray, which is not installed: {INSTALL_HINT}")


# --- resources ---------------------------------------------------------------------------------
_ALIASES = {"cpu": "CPU", "gpu": "GPU", "num_cpus": "CPU", "num_gpus": "GPU"}


def normalize_resources(resources: Mapping[str, Any] | None) -> dict[str, float]:
    """Per-trial resources in Ray's spelling.

    ``cpu`` / ``gpu`` (any case) become ``CPU`` / ``GPU``; ``memory`` is in bytes; any other
    key is a custom Ray resource. ``CPU`` defaults to 1 when not given (as in Ray Tune); pass
    ``{"cpu": 0, ...}`` for trials that need none. Raises ``ConfigError`` for negative or
    non-numeric amounts and for GPU requests above 1 that are not whole numbers (Ray's rule).
    """
    out: dict[str, float] = {}
    for key, value in (resources or {}).items():
        name = _ALIASES.get(str(key).lower(), str(key))
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"resources_per_trial[{key!r}]: expected a number, got {value!r}")
        amount = float(value)
        if not math.isfinite(amount) or amount < 0:
            raise ConfigError(f"resources_per_trial[{key!r}]: must be >= 0, got {value!r}")
        if name in out:
            raise ConfigError(f"resources_per_trial: {key!r} given twice")
        out[name] = amount
    out.setdefault("CPU", 1.0)
    for name in _UNIT_RESOURCES:
        amount = out.get(name, 0.0)
        if amount > 1 and not float(amount).is_integer():
            raise ConfigError(
                f"resources_per_trial[{name!r}]: a request above 1 must be a whole number "
                f"(Ray splits one device at most), got {amount!r}"
            )
    return out


def actor_resource_options(resources: Mapping[str, float]) -> dict[str, Any]:
    """Ray actor options (``num_cpus``, ``num_gpus``, ``memory``, ``resources``) for
    normalized per-trial resources."""
    opts: dict[str, Any] = {"num_cpus": resources.get("CPU", 0.0),
                            "num_gpus": resources.get("GPU", 0.0)}
    if resources.get("memory", 0.0) > 0:
        opts["memory"] = resources["memory"]
    custom = {k: v for k, v in resources.items() if k not in ("CPU", "GPU", "memory") and v > 0}
    if custom:
        opts["resources"] = custom
    return opts


def trials_per_node(node: Mapping[str, float], resources: Mapping[str, float]) -> int | None:
    """How many trials needing ``resources`` a node with total resources ``node`` holds at once
    (``None``: the request is empty, so no limit). A fraction of a per-device resource (a GPU)
    must fit on one device, so a node with 2 GPUs holds 6 trials of 0.3 GPU, not 6.67."""
    n: int | None = None
    for name, need in resources.items():
        if need <= 0:
            continue
        have = float(node.get(name, 0.0))
        if name in _UNIT_RESOURCES and need < 1:
            fit = math.floor(have + _EPS) * math.floor(1.0 / need + _EPS)
        else:
            fit = math.floor(have / need + _EPS)
        n = fit if n is None else min(n, fit)
    return n


def cluster_capacity(
    nodes: Sequence[Mapping[str, Any]], resources: Mapping[str, float]
) -> int | None:
    """Trials the alive nodes of ``ray.nodes()`` hold at once (``None``: no limit)."""
    total: int | None = None
    for node in nodes:
        if not node.get("Alive", False):
            continue
        fit = trials_per_node(node.get("Resources", {}) or {}, resources)
        if fit is None:
            return None
        total = fit if total is None else total + fit
    return total if total is not None else 0


# --- checkpoint archives -----------------------------------------------------------------------
def pack_dir(path: str | os.PathLike[str]) -> bytes:
    """The directory ``path`` as an uncompressed tar archive (its contents at the root)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(os.fspath(path), arcname=".")
    return buf.getvalue()


def unpack_dir(data: bytes, dest: str | os.PathLike[str]) -> None:
    """Extract an archive made by ``pack_dir`` into ``dest`` atomically: the archive is
    unpacked into a temporary sibling and renamed, so ``dest`` is either absent or complete.
    Members that would land outside ``dest`` (absolute paths, ``..``, links out) are
    refused."""
    target = Path(dest)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{target.name}-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmp, filter="data")
            else:  # pragma: no cover - Python < 3.11.4
                for m in tar.getmembers():
                    p = Path(m.name)
                    if p.is_absolute() or ".." in p.parts or m.issym() or m.islnk():
                        raise RungError(f"checkpoint archive member {m.name!r} is not allowed")
                tar.extractall(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _remove_dir(path: Path, stop: Path) -> None:
    """Remove ``path`` and then its parents up to (not including) ``stop`` while empty."""
    shutil.rmtree(path, ignore_errors=True)
    parent = path.parent
    while parent != stop and stop in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent


# --- worker (actor) side -----------------------------------------------------------------------
class _Shipper:
    """Moves checkpoints between an actor's private directory and the messages.

    Outgoing ``SAVED`` messages get the archive of the saved directory appended (and the local
    copy is deleted: the driver keeps the only one). Incoming ``LAUNCH`` messages carry the
    archive of the checkpoint to restore as a ninth element: it is unpacked under the actor's
    directory, where ``TrialContext.checkpoint`` points, and removed when the trial ends.
    """

    __slots__ = ("restored", "root")

    def __init__(self, root: Path) -> None:
        self.root = root
        self.restored: Path | None = None

    def outgoing(self, msg: tuple[Any, ...]) -> tuple[Any, ...]:
        tag = msg[0]
        if tag == SAVED:
            local = self.root / msg[3]
            try:
                data: bytes | None = pack_dir(local)
            except Exception:  # the driver records no checkpoint; the trial goes on
                log.exception("trial %s: cannot pack checkpoint %s", msg[1], local)
                data = None
            _remove_dir(local, self.root.parent)
            return (*msg, data)
        if tag == ENDED and self.restored is not None:
            _remove_dir(self.restored, self.root.parent)
            self.restored = None
        return msg

    def incoming(self, msg: Any) -> Any:
        if msg is None or msg[0] != LAUNCH or len(msg) < 9:
            return msg
        data = msg[8]
        msg = msg[:8]
        ckpt = msg[7]
        if self.restored is not None:
            _remove_dir(self.restored, self.root.parent)
            self.restored = None
        if ckpt is not None and data is not None:
            dest = self.root / ckpt
            unpack_dir(data, dest)
            self.restored = dest
        return msg


class _SocketChannel:
    """The runtime's ``Channel`` over the actor's connection to the driver."""

    __slots__ = ("_poller", "_recv_bytes", "_send_bytes", "_ship")

    def __init__(self, conn: Connection, ship: _Shipper) -> None:
        self._send_bytes = conn.send_bytes
        self._recv_bytes = conn.recv_bytes
        self._poller = select.poll()
        self._poller.register(conn.fileno(), select.POLLIN)
        self._ship = ship

    def send(self, msg: Any) -> None:
        if msg[0] != RESULT:  # the hot path (a result) skips the checkpoint shipper
            msg = self._ship.outgoing(msg)
        self._send_bytes(_dumps(msg, _PROTO))

    def recv(self) -> Any:
        msg = _loads(self._recv_bytes())
        if msg is not None and msg[0] == LAUNCH:
            msg = self._ship.incoming(msg)
        return msg

    def poll(self) -> bool:
        return bool(self._poller.poll(0))


class _QueueChannel:
    """The runtime's ``Channel`` for ``transport="ray"``: an inbox fed by ``deliver`` calls and
    an outbox drained by ``fetch`` calls (both made by the driver)."""

    __slots__ = ("_cv", "_inbox", "_out", "_ship")

    def __init__(self, ship: _Shipper, cv: threading.Condition, out: list[Any]) -> None:
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._cv = cv
        self._out = out
        self._ship = ship

    def send(self, msg: Any) -> None:
        if msg[0] != RESULT:  # the hot path (a result) skips the checkpoint shipper
            msg = self._ship.outgoing(msg)
        with self._cv:
            self._out.append(msg)
            self._cv.notify()

    def recv(self) -> Any:
        msg = self._inbox.get()
        if msg is not None and msg[0] == LAUNCH:
            msg = self._ship.incoming(msg)
        return msg

    def poll(self) -> bool:
        return not self._inbox.empty()

    def put(self, msg: Any) -> None:
        self._inbox.put(msg)


def _set_nodelay(fd: int) -> None:
    """Disable Nagle's algorithm: a result and the reply it waits for are small writes that
    must not wait for each other's acknowledgements."""
    s = socket.socket(fileno=fd)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # not TCP (a test double): nothing to tune
        pass
    finally:
        s.detach()


def _set_recv_timeout(fd: int, seconds: float) -> None:
    """Bound blocking reads on ``fd`` (0: no bound), so a stray connection that never completes
    the handshake cannot hang the driver."""
    s = socket.socket(fileno=fd)
    try:
        sec = int(seconds)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                     struct.pack("ll", sec, int((seconds - sec) * 1e6)))
    except (OSError, struct.error):  # best effort
        pass
    finally:
        s.detach()


class RungWorker:
    """The Ray actor that runs trials (one per slot; wrapped with ``ray.remote`` by the
    executor). Created by the driver only; every method is called by the driver.

    ``__init__`` loads the objective (cloudpickled by the driver) and never raises for it: a
    failure is reported as an ``INIT_ERROR`` message, which the driver turns into a clear
    error. Checkpoints live under a private scratch directory on the actor's node.
    """

    def __init__(self, payload: bytes, wid: int, checkpoint_every: int | None,
                 prefix: str) -> None:
        ray = importlib.import_module("ray")
        self._wid = wid
        self._every = checkpoint_every
        # created on demand (by the first save or restore) and removed whenever it is empty,
        # so an actor that is killed leaves nothing behind unless it dies mid-transfer
        self._root = Path(tempfile.gettempdir()) / f"{prefix}{os.getpid()}-{secrets.token_hex(4)}"
        self._ship = _Shipper(self._root)
        self._objective: Callable[[TrialContext], Any] | None = None
        node_id = ray.get_runtime_context().get_node_id()
        self._hello: tuple[Any, ...] = (READY, wid, node_id, ray.util.get_node_ip_address(),
                                        os.getpid(), socket.gethostname())
        try:
            fn = ray.cloudpickle.loads(payload)
            if not callable(fn):
                raise TypeError(f"the objective is not callable: {fn!r}")
            self._objective = fn
        except BaseException:  # reported to the driver, which raises it
            self._hello = (INIT_ERROR, wid, traceback.format_exc())
        # transport="ray" state
        self._cv = threading.Condition()
        self._out: list[Any] = [self._hello]
        self._chan = _QueueChannel(self._ship, self._cv, self._out)
        self._thread: threading.Thread | None = None
        self._finished = False
        self._dlock = threading.Lock()
        self._next_seq = 0
        self._held: dict[int, list[Any]] = {}

    # --- transport="socket" -------------------------------------------------------------------
    def serve(self, address: tuple[str, int], authkey: bytes) -> None:
        """Connect to the driver and run trials until it says to exit or goes away."""
        try:
            conn = Client(address, authkey=authkey)
        except (OSError, EOFError) as e:
            raise RungError(
                f"this Ray worker cannot connect to the rung driver at {address[0]}:"
                f"{address[1]} ({e}); open that port to the cluster's nodes (see "
                f"RayExecutor(driver_port=...)) or use RayExecutor(transport='ray')"
            ) from None
        _set_nodelay(conn.fileno())
        try:
            conn.send_bytes(_dumps(self._hello, _PROTO))
            if self._objective is not None:
                chan = _SocketChannel(conn, self._ship)
                worker_loop(chan, self._objective, self._root, self._every)
        finally:
            conn.close()
            shutil.rmtree(self._root, ignore_errors=True)

    # --- transport="ray" ----------------------------------------------------------------------
    def fetch(self) -> list[Any] | None:
        """Block until the trial produced messages and return them all (``None`` once the
        worker loop exited and everything was fetched). The driver keeps one call in flight."""
        if self._thread is None and self._objective is not None:
            self._thread = threading.Thread(target=self._loop, name="rung-trial", daemon=True)
            self._thread.start()
        with self._cv:
            while not self._out and not self._finished:
                self._cv.wait()
            if not self._out:
                return None
            batch = self._out[:]
            self._out.clear()
        return batch

    def deliver(self, seq: int, msgs: list[Any]) -> None:
        """Messages from the driver, numbered per actor: Ray does not promise that calls to a
        threaded actor run in order, so they are applied in ``seq`` order here."""
        with self._dlock:
            self._held[seq] = msgs
            while self._next_seq in self._held:
                for m in self._held.pop(self._next_seq):
                    self._chan.put(m)
                self._next_seq += 1

    def _loop(self) -> None:
        assert self._objective is not None
        try:
            worker_loop(self._chan, self._objective, self._root, self._every)
        finally:
            shutil.rmtree(self._root, ignore_errors=True)
            with self._cv:
                self._finished = True
                self._cv.notify_all()


# --- driver side -------------------------------------------------------------------------------
class _Worker:
    __slots__ = ("actor", "conn", "dead", "fetch", "life", "node", "pid", "poller", "ready",
                 "seq", "token", "trial", "wid")

    def __init__(self, wid: int, actor: Any) -> None:
        self.wid = wid
        self.actor = actor
        self.life: Any = None  # socket: the serve() call; it ends when the actor does
        self.fetch: Any = None  # ray: the fetch() call in flight
        self.conn: Connection | None = None
        self.poller: Any = None
        self.seq = 0  # next deliver() number (transport="ray")
        self.ready = False
        self.dead = False
        self.trial: int | None = None
        self.token = 0
        self.node = "?"
        self.pid = 0

    def where(self) -> str:
        return f"Ray actor {self.wid} (pid {self.pid}) on node {self.node}"


def _name(fn: Any) -> str:
    mod = getattr(fn, "__module__", None)
    qual = getattr(fn, "__qualname__", None) or getattr(type(fn), "__qualname__", repr(fn))
    return f"{mod}.{qual}" if mod else str(qual)


def _first_line(text: str, limit: int = 300) -> str:
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    s = lines[0] if lines else ""
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _describe_death(err: BaseException | None) -> str:
    if err is None:
        return "its connection closed"
    msg = str(err)
    for line in msg.splitlines():
        if "node has died" in line or "node was terminated" in line:
            return line.strip()
    return _first_line(msg)


class RayExecutor:
    """Runs trials on a Ray cluster.

    Args:
        address: the cluster to connect to: ``"auto"`` (the cluster this machine belongs to),
            ``"host:port"`` of a head node, or ``"ray://host:10001"`` (Ray Client). ``None``:
            the Ray connection already opened by this process if any, else ``ray.init()``
            (which honours ``RAY_ADDRESS``, or starts a local Ray instance).
        resources_per_trial: what one trial needs, reserved by its actor: ``{"cpu": 1}`` by
            default; ``{"cpu": 1, "gpu": 0.5}`` runs two trials per GPU; ``"memory"`` is in
            bytes; any other key is a custom Ray resource. ``cpu`` defaults to 1 when not given.
        max_concurrent: at most this many trials at once (default: as many as the cluster's
            nodes can hold, following nodes as they join and leave).
        objective: ``objective(ctx: rung.TrialContext)``; ``Study.run`` sets it, so it is only
            needed when driving the executor yourself. It is cloudpickled, so lambdas and
            closures work; modules it imports must be installed on every node.
        checkpoint_every: if set, every report whose step is a multiple of it (and the report
            at ``max_step``) saves a checkpoint through the report's ``save`` callback, so a
            trial interrupted by a node loss resumes from there.
        transport: ``"socket"`` (workers connect back to the driver over TCP: fastest),
            ``"ray"`` (everything through Ray calls: works with Ray Client and closed ports)
            or ``"auto"`` (``"ray"`` for ``ray://`` addresses and Ray Client sessions, else
            ``"socket"``).
        driver_port: the TCP port the driver listens on for its workers (transport
            ``"socket"``; 0 picks a free one). Set it to open a single port in a firewall.
        ray_init: extra keyword arguments for ``ray.init`` when this executor connects (e.g.
            ``{"num_cpus": 4}`` for a local instance, ``{"runtime_env": {...}}``).
        actor_options: extra Ray actor options (e.g. ``{"scheduling_strategy": "SPREAD"}``,
            ``{"runtime_env": {...}}``); resources come from ``resources_per_trial``.

    Raises:
        RungError: Ray is not installed (the message says ``pip install 'rung[ray]'``).
        ConfigError: an invalid argument (names it).

    If this executor started Ray (``ray.init``), ``shutdown`` stops it again; a connection
    opened before is left open. The driver must run on a node of the cluster for
    ``transport="socket"``; Ray Client drivers get ``"ray"`` automatically.
    """

    def __init__(
        self,
        address: str | None = None,
        resources_per_trial: Mapping[str, Any] | None = None,
        max_concurrent: int | None = None,
        *,
        objective: Callable[[TrialContext], Any] | None = None,
        checkpoint_every: int | None = None,
        transport: str = "auto",
        driver_port: int = 0,
        ray_init: Mapping[str, Any] | None = None,
        actor_options: Mapping[str, Any] | None = None,
    ) -> None:
        _check_ray_installed()
        if address is not None and not isinstance(address, str):
            raise ConfigError(f"address: expected a string or None, got {address!r}")
        if objective is not None and not callable(objective):
            raise ConfigError(f"objective: expected a callable, got {objective!r}")
        if max_concurrent is not None and (
            isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int)
            or max_concurrent < 1
        ):
            raise ConfigError(
                f"max_concurrent: must be a positive integer or None, got {max_concurrent!r}"
            )
        if checkpoint_every is not None and (
            isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int)
            or checkpoint_every < 1
        ):
            raise ConfigError(
                f"checkpoint_every: must be a positive integer or None, got {checkpoint_every!r}"
            )
        if transport not in TRANSPORTS:
            raise ConfigError(f"transport: must be one of {TRANSPORTS}, got {transport!r}")
        if isinstance(driver_port, bool) or not isinstance(driver_port, int) or not (
            0 <= driver_port < 65536
        ):
            raise ConfigError(f"driver_port: must be a port number or 0, got {driver_port!r}")
        self.resources = normalize_resources(
            {"cpu": 1} if resources_per_trial is None else resources_per_trial
        )
        if trials_per_node({}, self.resources) is None and max_concurrent is None:
            raise ConfigError(
                "resources_per_trial: requests no resource, so the cluster sets no limit; "
                "pass max_concurrent"
            )
        self.address = address
        self.max_concurrent = max_concurrent
        self.objective = objective
        self.checkpoint_every = checkpoint_every
        self.transport = transport
        self.driver_port = driver_port
        self.ray_init = dict(ray_init or {})
        self.actor_options = dict(actor_options or {})
        self.capacity = 0  # last capacity reported
        self._ray: Any = None
        self._started_ray = False
        self._socket = True
        self._cls: Any = None
        self._payload: Any = None
        self._authkey = b""
        self._listener: socket.socket | None = None
        self._poller: Any = None  # one select.poll over the listener and every connection
        self._fds: dict[int, _Worker] = {}  # connection fd -> worker
        self._address: tuple[str, int] | None = None
        self._workers: dict[int, _Worker] = {}  # wid -> live worker (pending or ready)
        self._owner: dict[Any, _Worker] = {}  # fetch ref in flight -> worker (transport="ray")
        self._idle: deque[_Worker] = deque()
        self._running: dict[int, _Worker] = {}  # trial id -> worker
        self._queue: deque[Launch] = deque()
        self._events: list[Event] = []
        self._urgent = False
        self._posts: dict[int, list[Any]] = {}  # transport="ray": messages to deliver
        self._wid = 0
        self._token = 0
        self._last = 0.0
        self._next_check = 0.0
        self._next_nodes = 0.0
        self._startup_deaths = 0
        self._no_room_warned = -math.inf
        self._root: Path | None = None
        self._tmp_root: str | None = None
        self._study = "study"
        self._open = False

    # --- the Executor protocol ------------------------------------------------------------------
    def start(self, ctx: RunContext) -> list[Event]:
        """Connect to Ray, start one actor per slot the cluster has room for, and return
        ``[CapacityChanged(capacity, now, new_session=True)]``. Actors start in the background;
        launches wait until one is ready."""
        if self._open:
            raise RuntimeError("RayExecutor.start: already started (call shutdown first)")
        if self.objective is None:
            raise ConfigError("RayExecutor: no objective (pass objective=..., or use Study.run)")
        ray = self._ray = _import_ray()
        try:
            payload = ray.cloudpickle.dumps(self.objective)
        except Exception as e:
            raise ConfigError(
                f"objective {_name(self.objective)} cannot be sent to Ray workers: {e}"
            ) from None
        self._study = ctx.study
        self._open = True
        try:
            self._connect()
            self._root, self._tmp_root = ctx.checkpoint_root()
            self._payload = ray.put(payload)
            self._cls = ray.remote(RungWorker)
            if self._socket:
                self._poller = select.poll()
                self._listen()
            self._startup_deaths = 0
            self._next_check = 0.0
            self._next_nodes = time.monotonic() + _NODES_INTERVAL
            self.capacity = self._cluster_capacity()
            self._warn_if_no_room()
            self._fill_pool()
        except BaseException:
            self.shutdown()
            raise
        log.info("Ray executor: capacity %d, resources per trial %s, transport %s",
                 self.capacity, self.resources, "socket" if self._socket else "ray")
        return [CapacityChanged(self.capacity, self.now(), new_session=True)]

    def now(self) -> float:
        """Wall-clock time on the driver, never earlier than any time already reported."""
        t = time.time()
        if t < self._last:
            return self._last
        self._last = t
        return t

    @property
    def idle(self) -> bool:
        """Nothing runs, waits for a worker, or waits to be reported, and the cluster has room
        (with no room, the executor waits for nodes to join: it is not stalled)."""
        return (self.capacity > 0 and not self._running and not self._queue
                and not self._events)

    def submit(self, commands: Sequence[Command]) -> None:
        """Launches go to ready idle actors (or wait for one), replies to the actor running the
        trial (a reply for a trial no longer running is dropped), ``Cancel`` kills the trial's
        actor (a replacement is started), ``DeleteCheckpoint`` removes the driver's copy."""
        for c in commands:
            if isinstance(c, Reply):
                w = self._running.get(c.trial_id)
                if w is not None:
                    self._post(w, encode_reply(c, w.token))
            elif isinstance(c, Launch):
                self._queue.append(c)
            elif isinstance(c, Cancel):
                self._cancel(c)
            elif isinstance(c, DeleteCheckpoint):
                self._delete(c.path)
            else:
                raise TypeError(f"RayExecutor cannot run {c!r}")
        if self._queue:
            self._dispatch()
        self._flush()

    def poll(self, timeout: float | None) -> list[Event]:
        """Wait up to ``timeout`` seconds for worker messages and return every event that is
        ready: messages from every actor, actor deaths, and capacity changes."""
        if self._events:
            if self._urgent:
                timeout = 0.0
            elif timeout is None or timeout > _STARTED_DELAY:
                timeout = _STARTED_DELAY
        out = self._events
        self._events = []
        self._urgent = False
        now = time.monotonic()
        until_check = max(0.0, self._next_check - now)
        if timeout is None or timeout > until_check:
            timeout = until_check
        dead: list[tuple[_Worker, BaseException | None]] = []
        if self._socket:
            self._poll_sockets(timeout, out, dead)
        else:
            self._poll_fetches(timeout, out, dead)
        if dead or time.monotonic() >= self._next_check:
            self._check(out, dead)
        if self._queue:
            self._dispatch()
        self._flush()
        if self._events:  # made while reading (dispatches, cancellations): deliver them too
            out.extend(self._events)
            self._events = []
            self._urgent = False
        return out

    def shutdown(self) -> None:
        """Stop every actor (idle ones exit cleanly and remove their scratch directories, busy
        ones are killed), close the listener, and stop Ray if this executor started it.
        Idempotent."""
        if not self._open:
            return
        self._open = False
        ray = self._ray
        waits: list[Any] = []
        for w in self._workers.values():
            if w.ready and w.trial is None and not w.dead:
                if self._socket and w.conn is not None:
                    with contextlib.suppress(OSError):
                        w.conn.send_bytes(_dumps(None, _PROTO))
                    waits.append(w.life)
                elif not self._socket:
                    with contextlib.suppress(Exception):
                        w.actor.deliver.remote(w.seq, [None])
                        w.seq += 1
                        if w.fetch is not None:
                            waits.append(w.fetch)
        if waits and ray is not None:
            with contextlib.suppress(Exception):
                ray.wait(waits, num_returns=len(waits), timeout=_SHUTDOWN_GRACE)
        for w in self._workers.values():
            self._kill(w)
            if w.conn is not None:
                w.conn.close()
        self._workers.clear()
        self._owner.clear()
        self._idle.clear()
        self._running.clear()
        self._queue.clear()
        self._posts.clear()
        self._events = []
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._poller = None
        self._fds.clear()
        self._payload = None
        if self._tmp_root is not None:
            shutil.rmtree(self._tmp_root, ignore_errors=True)
            self._tmp_root = None
        if self._started_ray and ray is not None:
            self._started_ray = False
            with contextlib.suppress(Exception):
                ray.shutdown()

    # --- connection and capacity -----------------------------------------------------------------
    def _connect(self) -> None:
        ray = self._ray
        client = False
        if not ray.is_initialized():
            kwargs = dict(self.ray_init)
            if self.address is not None:
                kwargs["address"] = self.address
            kwargs.setdefault("log_to_driver", True)
            ray.init(**kwargs)
            self._started_ray = True
        with contextlib.suppress(Exception):
            client = bool(ray.util.client.ray.is_connected())
        if self.transport == "auto":
            addr = self.address or os.environ.get("RAY_ADDRESS", "")
            self._socket = not (client or addr.startswith("ray://"))
        else:
            self._socket = self.transport == "socket"
            if self._socket and client:
                raise ConfigError("transport='socket' needs the driver on a cluster node; this "
                                  "is a Ray Client session: use transport='ray' (or 'auto')")

    def _listen(self) -> None:
        host = self._ray.util.get_node_ip_address()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            sock = socket.create_server((host, self.driver_port), family=family, backlog=128)
        except OSError as e:
            raise RungError(f"RayExecutor: cannot listen on {host}:{self.driver_port}: {e}") from e
        self._listener = sock
        self._poller.register(sock.fileno(), select.POLLIN)
        self._address = (host, sock.getsockname()[1])
        self._authkey = secrets.token_bytes(32)

    def _cluster_capacity(self) -> int:
        fit = cluster_capacity(self._ray.nodes(), self.resources)
        if fit is None:
            assert self.max_concurrent is not None
            return self.max_concurrent
        return fit if self.max_concurrent is None else min(fit, self.max_concurrent)

    def _warn_if_no_room(self) -> None:
        if self.capacity > 0:
            return
        now = time.monotonic()
        if now - self._no_room_warned < _NO_ROOM_WARNING_EVERY:
            return
        self._no_room_warned = now
        nodes = [n.get("Resources", {}) for n in self._ray.nodes() if n.get("Alive")]
        shown = [{k: v for k, v in r.items() if not k.startswith("node:")
                  and k != "object_store_memory"} for r in nodes]
        log.warning("no node of the Ray cluster can run a trial needing %s (alive nodes: %s); "
                    "waiting for nodes to join", self.resources, shown)

    def _check(self, out: list[Event], dead: list[tuple[_Worker, BaseException | None]]) -> None:
        """Ask Ray about actor deaths (transport="socket") and the cluster's capacity."""
        ray = self._ray
        self._next_check = time.monotonic() + _CHECK_INTERVAL
        if self._socket:
            lives = [w.life for w in self._workers.values() if not w.dead]
            if lives:
                ended, _ = ray.wait(lives, num_returns=len(lives), timeout=0)
                if ended:
                    ended_set = set(ended)
                    for w in list(self._workers.values()):
                        if not w.dead and w.life in ended_set:
                            dead.append((w, self._error_of(w.life)))
        if dead:
            self._bury(dead, out)
        now = time.monotonic()
        if not dead and now < self._next_nodes:
            self._fill_pool()
            return
        try:
            cap = self._cluster_capacity()
        except Exception as e:  # the GCS is briefly unreachable: keep the last capacity
            log.warning("cannot read the Ray cluster's nodes (%s); capacity stays %d",
                        _first_line(str(e)), self.capacity)
            cap = self.capacity
        cost = time.monotonic() - now
        self._next_nodes = time.monotonic() + min(
            _NODES_INTERVAL_MAX, max(_NODES_INTERVAL, _NODES_COST_FACTOR * cost)
        )
        if cap != self.capacity:
            log.info("cluster capacity changed: %d -> %d trials", self.capacity, cap)
            self.capacity = cap
            out.append(CapacityChanged(cap, self.now()))
            self._warn_if_no_room()
        elif cap == 0:
            self._warn_if_no_room()
        self._fill_pool()

    def _error_of(self, ref: Any) -> BaseException | None:
        try:
            self._ray.get(ref, timeout=0)
        except Exception as e:
            return e
        return None

    # --- actors -------------------------------------------------------------------------------
    def _fill_pool(self) -> None:
        """Keep one actor per slot: start missing ones, stop idle or unready ones beyond it."""
        if not self._open:
            return
        live = [w for w in self._workers.values() if not w.dead]
        surplus = len(live) - self.capacity
        if surplus > 0:
            for w in sorted(live, key=lambda x: (x.ready, x.trial is not None)):
                if surplus == 0 or w.trial is not None:
                    break
                self._retire(w)
                surplus -= 1
        for _ in range(-surplus):
            self._spawn()

    def _spawn(self) -> None:
        self._wid += 1
        wid = self._wid
        opts = {**actor_resource_options(self.resources), "max_restarts": 0,
                "max_task_retries": 0, **self.actor_options,
                "max_concurrency": 1 if self._socket else 2}
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self._study)[:40]
        prefix = f"rung-ray-{safe}-{wid}-"
        actor = self._cls.options(**opts).remote(self._payload, wid, self.checkpoint_every, prefix)
        w = _Worker(wid, actor)
        if self._socket:
            w.life = actor.serve.remote(self._address, self._authkey)
        else:
            w.fetch = actor.fetch.remote()
            self._owner[w.fetch] = w
        self._workers[wid] = w

    def _retire(self, w: _Worker) -> None:
        """Stop a worker that is not running a trial (surplus, or after its trial)."""
        self._drop(w)
        self._kill(w)

    def _drop(self, w: _Worker) -> None:
        w.dead = True
        self._workers.pop(w.wid, None)
        if w.conn is not None:
            if not w.conn.closed:
                fd = w.conn.fileno()
                if self._fds.pop(fd, None) is not None and self._poller is not None:
                    self._poller.unregister(fd)
            w.conn.close()
        if w.fetch is not None:
            self._owner.pop(w.fetch, None)
        with contextlib.suppress(ValueError):
            self._idle.remove(w)
        self._posts.pop(w.wid, None)

    def _kill(self, w: _Worker) -> None:
        with contextlib.suppress(Exception):
            self._ray.kill(w.actor, no_restart=True)

    def _bury(self, dead: list[tuple[_Worker, BaseException | None]], out: list[Event]) -> None:
        """End the trials of dead actors as interrupted and forget the actors."""
        ray = self._ray
        # a connection that closed is usually seen before Ray reports the death: give Ray a
        # moment to say why (node lost, process killed) for the trial's error text
        unknown = [w.life for w, err in dead if err is None and w.life is not None]
        if unknown:
            with contextlib.suppress(Exception):
                ray.wait(unknown, num_returns=len(unknown), timeout=1.0)
        seen: set[int] = set()
        for w, err in dead:
            if w.wid in seen or (w.dead and w.trial is None):
                continue
            seen.add(w.wid)
            if err is None and w.life is not None:
                err = self._error_of(w.life)
            self._drop(w)
            self._kill(w)
            if not w.ready:
                if err is not None and getattr(err, "actor_init_failed", False):
                    self._startup_deaths += 1
                    log.warning("%s failed to start: %s", w.where(), _first_line(str(err)))
                    if self._startup_deaths >= _MAX_STARTUP_DEATHS:
                        raise RungError(
                            f"{self._startup_deaths} Ray worker actors in a row failed to "
                            f"start (is rung installed on every node?):\n{err}"
                        )
                elif isinstance(getattr(err, "cause", None), RungError):
                    raise RungError(str(getattr(err, "cause", err)))  # serve() could not connect
                else:
                    log.warning("%s died before it was ready: %s", w.where(),
                                _describe_death(err))
                continue
            if w.trial is not None:
                tid = w.trial
                w.trial = None
                del self._running[tid]
                reason = f"{w.where()} died while running trial {tid}: {_describe_death(err)}"
                log.warning("trial %d: %s", tid, reason)
                out.append(TrialEnded(tid, Outcome.INTERRUPTED, self.now(), reason))

    # --- dispatch and messages -----------------------------------------------------------------
    def _dispatch(self) -> None:
        t = self.now()
        while self._queue and self._idle:
            w = self._idle.popleft()
            if w.dead:
                continue
            launch = self._queue.popleft()
            self._token += 1
            w.trial = launch.trial_id
            w.token = self._token
            self._running[launch.trial_id] = w
            self._post(w, (*encode_launch(launch, self._token), self._archive(launch)))
            self._events.append(TrialStarted(launch.trial_id, t))

    def _archive(self, launch: Launch) -> bytes | None:
        if launch.checkpoint is None or self._root is None:
            return None
        src = self._root / launch.checkpoint
        if not src.is_dir():
            log.warning("trial %d: checkpoint %s is missing on the driver; the trial starts "
                        "without it", launch.trial_id, src)
            return None
        return pack_dir(src)

    def _post(self, w: _Worker, msg: Any) -> None:
        if self._socket:
            if w.conn is None:
                return
            try:
                w.conn.send_bytes(_dumps(msg, _PROTO))
            except OSError:
                # the actor is gone: its connection (or Ray) reports it at the next poll
                log.debug("%s: send failed", w.where())
        else:
            self._posts.setdefault(w.wid, []).append(msg)

    def _flush(self) -> None:
        if not self._posts:
            return
        for wid, msgs in self._posts.items():
            w = self._workers.get(wid)
            if w is None or w.dead:
                continue
            w.actor.deliver.remote(w.seq, msgs)
            w.seq += 1
        self._posts.clear()

    def _handle(self, w: _Worker, msg: Any, t: float, out: list[Event]) -> None:
        tag = msg[0]
        if tag == RESULT:
            out.append(decode(msg, t))
        elif tag == ENDED:
            tid = msg[1]
            out.append(decode(msg, t))
            if w.trial == tid:
                w.trial = None
                del self._running[tid]
                live = sum(1 for x in self._workers.values() if not x.dead)
                if live > self.capacity:
                    self._retire(w)  # the cluster shrank: this slot is gone
                else:
                    self._idle.append(w)
        elif tag == SAVED:
            ev = self._store(msg, t)
            if ev is not None:
                out.append(ev)
        elif tag == READY:
            self._ready(w, msg)
        elif tag == INIT_ERROR:
            raise RungError(
                f"Ray workers cannot load the objective {_name(self.objective)}:\n{msg[2]}"
            )
        else:
            raise RungError(f"unexpected message from {w.where()}: {msg!r}")

    def _ready(self, w: _Worker, msg: Any) -> None:
        _, _, node_id, ip, pid, _host = msg
        w.node = f"{ip} ({str(node_id)[:8]})"
        w.pid = pid
        w.ready = True
        self._startup_deaths = 0
        if not w.dead:
            self._idle.append(w)

    def _store(self, msg: Any, t: float) -> CheckpointSaved | None:
        """Unpack a shipped checkpoint under the checkpoint directory; the event is made only
        once the copy is complete on the driver."""
        _, tid, step, path, _wt, size, data = msg
        root = self._root
        if data is None or root is None:
            log.warning("trial %d: checkpoint at step %d did not arrive; not recorded", tid, step)
            return None
        target = (root / path).resolve()
        if root not in target.parents:
            log.warning("trial %d: refusing checkpoint path %r outside %s", tid, path, root)
            return None
        unpack_dir(data, target)
        return CheckpointSaved(tid, step, path, t, size)

    # --- transport="socket" ---------------------------------------------------------------------
    def _poll_sockets(self, timeout: float, out: list[Event],
                      dead: list[tuple[_Worker, BaseException | None]]) -> None:
        # one poll object kept across calls: building a selector per call (as
        # multiprocessing.connection.wait does) costs more than the rest of a turn's reading
        ready = self._poller.poll(math.ceil(timeout * 1000))
        if not ready:
            return
        t = self.now()
        fds = self._fds
        for fd, _ in ready:
            w = fds.get(fd)
            if w is None:
                if self._listener is not None and fd == self._listener.fileno():
                    self._accept()
                continue
            if w.dead:
                continue
            if not self._read(w, t, out):
                dead.append((w, None))

    def _read(self, w: _Worker, t: float, out: list[Event]) -> bool:
        """Decode every message waiting on ``w``'s connection; False at end-of-file."""
        assert w.conn is not None
        recv = w.conn.recv_bytes
        ready = w.poller.poll
        try:
            while ready(0):
                self._handle(w, _loads(recv()), t, out)
                if w.conn is None or w.dead:
                    return True  # retired while handling (the cluster shrank)
        except (EOFError, OSError):
            return False
        return True

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            sock, peer = self._listener.accept()
        except OSError:
            return
        fd = sock.detach()
        _set_nodelay(fd)
        _set_recv_timeout(fd, _HANDSHAKE_TIMEOUT)
        conn = Connection(fd)
        try:
            deliver_challenge(conn, self._authkey)
            answer_challenge(conn, self._authkey)
            hello = _loads(conn.recv_bytes())
        except Exception as e:
            log.warning("refused a connection from %s: %s", peer, e)
            conn.close()
            return
        _set_recv_timeout(fd, 0.0)
        w = self._workers.get(hello[1]) if isinstance(hello, tuple) and len(hello) > 1 else None
        if w is None or w.dead:
            conn.close()  # an actor we stopped meanwhile
            return
        w.conn = conn
        w.poller = select.poll()
        w.poller.register(conn.fileno(), select.POLLIN)
        self._fds[conn.fileno()] = w
        self._poller.register(conn.fileno(), select.POLLIN)
        self._handle(w, hello, self.now(), self._events)

    # --- transport="ray" ------------------------------------------------------------------------
    def _poll_fetches(self, timeout: float, out: list[Event],
                      dead: list[tuple[_Worker, BaseException | None]]) -> None:
        ray = self._ray
        refs = [w.fetch for w in self._workers.values() if w.fetch is not None and not w.dead]
        if not refs:
            if timeout > 0:
                time.sleep(timeout)  # nothing to wait on: no actor yet (no room in the cluster)
            return
        ready, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        if not ready:
            return
        if len(refs) > 1:
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        t = self.now()
        for ref in ready:
            w = self._owner.pop(ref, None)
            if w is None or w.dead:
                continue
            w.fetch = None
            try:
                batch = ray.get(ref)
            except Exception as e:
                dead.append((w, e))
                continue
            if batch is None:  # the worker loop exited (shutdown)
                dead.append((w, None))
                continue
            for msg in batch:
                self._handle(w, msg, t, out)
            if not w.dead:
                w.fetch = w.actor.fetch.remote()
                self._owner[w.fetch] = w

    # --- commands -------------------------------------------------------------------------------
    def _cancel(self, c: Cancel) -> None:
        w = self._running.get(c.trial_id)
        if w is None:
            for launch in self._queue:
                if launch.trial_id == c.trial_id:
                    self._queue.remove(launch)
                    self._events.append(
                        TrialEnded(c.trial_id, Outcome.STOPPED, self.now(), c.reason)
                    )
                    self._urgent = True
                    break
            return  # not running here (it ended already): nothing to cancel
        self._kill(w)
        if self._socket and w.conn is not None:
            # what the trial sent before it died is still worth recording
            deadline = time.monotonic() + _SHUTDOWN_GRACE
            t = self.now()
            while w.conn is not None and not w.dead:
                left = deadline - time.monotonic()
                if left <= 0 or not wait([w.conn], left) or not self._read(w, t, self._events):
                    break
        if w.trial == c.trial_id:
            del self._running[c.trial_id]
            w.trial = None
            self._events.append(TrialEnded(c.trial_id, Outcome.STOPPED, self.now(), c.reason))
        self._drop(w)
        self._urgent = True
        self._fill_pool()

    def _delete(self, path: str) -> None:
        root = self._root
        if root is None:
            return
        target = (root / path).resolve()
        if root not in target.parents:
            log.warning("not deleting checkpoint %r: outside the checkpoint directory %s",
                        path, root)
            return
        _remove_dir(target, root)


__all__ = [
    "RayExecutor",
    "actor_resource_options",
    "cluster_capacity",
    "normalize_resources",
    "pack_dir",
    "trials_per_node",
    "unpack_dir",
]
