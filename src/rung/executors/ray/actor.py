"""The actor side: ``RungWorker``, the Ray actor that runs trials with the shared worker loop,
its two channels (a socket to the driver, or an inbox / outbox drained by Ray calls) and the
shipper that moves checkpoints between the actor's private directory and the messages."""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import queue
import secrets
import select
import shutil
import socket
import tempfile
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Client, Connection
from pathlib import Path
from typing import Any

from rung.errors import RungError
from rung.executors.protocol import ENDED, INIT_ERROR, LAUNCH, READY, RESULT, SAVED
from rung.executors.ray.archive import pack_dir, remove_dir, unpack_dir
from rung.executors.ray.net import set_nodelay
from rung.executors.worker import TrialContext, install_termination_flag, worker_loop

log = logging.getLogger("rung.ray")

_dumps = pickle.dumps
_loads = pickle.loads
_PROTO = pickle.HIGHEST_PROTOCOL


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
            remove_dir(local, self.root.parent)
            return (*msg, data)
        if tag == ENDED and self.restored is not None:
            remove_dir(self.restored, self.root.parent)
            self.restored = None
        return msg

    def incoming(self, msg: Any) -> Any:
        if msg is None or msg[0] != LAUNCH or len(msg) < 9:
            return msg
        data = msg[8]
        msg = msg[:8]
        ckpt = msg[7]
        if self.restored is not None:
            remove_dir(self.restored, self.root.parent)
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


def remove_orphans(tmp: Path) -> list[Path]:
    """Remove the scratch directories of dead actors on this node: every
    ``rung-ray-<study>-<actor>-<pid>-<token>`` directory in ``tmp`` whose process ``pid`` no
    longer exists (a live process, or one of another user, keeps its own). Returns the removed
    directories."""
    removed: list[Path] = []
    try:
        entries = list(tmp.glob("rung-ray-*"))
    except OSError:
        return removed
    for d in entries:
        parts = d.name.rsplit("-", 2)
        if len(parts) != 3 or not parts[1].isdigit() or not d.is_dir():
            continue
        try:
            os.kill(int(parts[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
        except OSError:  # alive, but another user's
            continue
    return removed


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
        install_termination_flag()  # a node leaving ends its trial interrupted, not failed
        self._wid = wid
        self._every = checkpoint_every
        # created on demand (by the first save or restore) and removed whenever it is empty;
        # an actor killed while it holds a restored checkpoint (a timeout, a cancel, a crash
        # of the objective) leaves its directory behind: the next actor on the node removes it
        tmp = Path(tempfile.gettempdir())
        remove_orphans(tmp)
        self._root = tmp / f"{prefix}{os.getpid()}-{secrets.token_hex(4)}"
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
        set_nodelay(conn.fileno())
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


__all__ = ["RungWorker", "remove_orphans"]
