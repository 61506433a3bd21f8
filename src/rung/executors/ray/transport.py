"""How messages travel between the driver and its Ray actors: one ``Transport`` interface, two
implementations.

Ray starts, places and watches the actors; the per-result traffic does not go through Ray's
task machinery, which costs about a millisecond of driver CPU per message on a small machine.

- ``SocketTransport`` (``"socket"``): every actor opens one authenticated TCP connection back
  to the driver (``multiprocessing.connection`` with a random key handed to the actor through
  Ray) and speaks the wire protocol on it. Results below the lease are written to the socket
  and ``report`` returns at once; the driver waits on every connection at once (one
  ``select.poll`` kept across calls) and drains every message that is ready, so one driver
  turn and one journal transaction cover many events. An actor's death shows as its
  connection closing, or as its ``serve()`` call ending.
- ``RayCallTransport`` (``"ray"``: Ray Client, ``ray://`` addresses, or clusters where workers
  cannot open a connection to the driver): each actor keeps one outstanding ``fetch()`` call
  that returns the messages its trial produced since the last one (a batch when they come
  fast); the driver ``ray.wait``\\ s on all of them at once. Replies go out as one
  ``deliver()`` call per actor and driver turn. An actor's death shows as a failed ``fetch()``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import pickle
import secrets
import select
import socket
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge, wait
from typing import Any

from rung.core.events import Event
from rung.errors import ConfigError, RungError
from rung.executors.pool import SHUTDOWN_GRACE, Slot
from rung.executors.ray.net import set_nodelay, set_recv_timeout

log = logging.getLogger("rung.ray")

_dumps = pickle.dumps
_loads = pickle.loads
_PROTO = pickle.HIGHEST_PROTOCOL

# Seconds an accepted connection has to complete the authentication handshake.
_HANDSHAKE_TIMEOUT = 10.0


class RayWorker(Slot):
    """One actor as the driver sees it (the transport keeps its own fields on it)."""

    __slots__ = ("actor", "conn", "fetch", "life", "node", "pid", "poller", "ready", "seq",
                 "wid")

    def __init__(self, wid: int, actor: Any) -> None:
        super().__init__()
        self.wid = wid
        self.actor = actor
        self.life: Any = None  # socket: the serve() call; it ends when the actor does
        self.fetch: Any = None  # ray: the fetch() call in flight
        self.conn: Connection | None = None
        self.poller: Any = None
        self.seq = 0  # next deliver() number (ray)
        self.ready = False
        self.node = "?"
        self.pid = 0

    def where(self) -> str:
        return f"Ray actor {self.wid} (pid {self.pid}) on node {self.node}"


#: ``handle(worker, message, time, out)``: the executor's handling of one actor message.
Handler = Callable[[RayWorker, Any, float, list[Event]], None]
#: A dead actor and what Ray said about it (``None``: not known yet).
Death = tuple[RayWorker, BaseException | None]


#: What a reason says when Ray has not yet said why an actor is gone.
NO_VERDICT = ("Ray has not said why yet (it reports the actors of a lost node dead after "
              "about 10 s)")


def error_of(ray: Any, ref: Any) -> BaseException | None:
    """The error a finished Ray call ended with: ``None`` if it returned, or if Ray has no
    verdict yet (the call has not finished: ``ray.get`` timed out). A ``GetTimeoutError`` is
    never returned: it says nothing about why an actor is gone, only that Ray has not said
    (it takes about 10 s to mark a lost node's actors dead)."""
    try:
        ray.get(ref, timeout=0)
    except Exception as e:
        timeout = getattr(getattr(ray, "exceptions", None), "GetTimeoutError", None)
        if isinstance(timeout, type) and isinstance(e, timeout):
            return None
        return e
    return None


def first_line(text: str, limit: int = 300) -> str:
    """The first non-blank line of ``text``, shortened to ``limit`` characters."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    s = lines[0] if lines else ""
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _unreachable(err: BaseException) -> bool:
    """Ray's ``ActorUnavailableError``: the actor did not answer, Ray does not know why yet
    (checked by name: this module does not import Ray)."""
    return any(c.__name__ == "ActorUnavailableError" for c in type(err).__mro__)


def death_known(err: BaseException | None) -> bool:
    """Whether ``err`` is Ray's verdict on why an actor is gone (not ``None``: only its
    connection closed; not ``ActorUnavailableError``: only unreachable so far)."""
    return err is not None and not _unreachable(err)


def describe_death(err: BaseException | None) -> str:
    """Why an actor is gone, in one line: what Ray said (the node loss if it says so), or,
    while Ray has no verdict, what is known (its connection closed, or Ray found it
    unreachable) and that Ray has not said why yet (``NO_VERDICT``)."""
    if err is None:
        return f"its connection closed; {NO_VERDICT}"
    msg = str(err)
    for line in msg.splitlines():
        if "node has died" in line or "node was terminated" in line:
            return line.strip()
    if _unreachable(err):
        return f"the actor is unreachable ({first_line(msg, 200)}); {NO_VERDICT}"
    return first_line(msg)


class Transport:
    """The driver's end of the message traffic with its actors.

    Attributes:
        name: ``"socket"`` or ``"ray"``.
        max_concurrency: the actor option this transport needs (the ray transport's
            ``fetch`` blocks while ``deliver`` calls come in).
    """

    name = ""
    max_concurrency = 1

    def __init__(self, ray: Any, workers: dict[int, RayWorker], handle: Handler,
                 now: Callable[[], float]) -> None:
        self._ray = ray
        self._workers = workers  # wid -> live worker, owned by the executor
        self._handle = handle
        self._now = now

    def open(self) -> None:
        """Prepare before the first actor starts."""

    def attach(self, w: RayWorker) -> None:
        """Start talking to a freshly created actor."""
        raise NotImplementedError

    def send(self, w: RayWorker, msg: Any) -> None:
        """Send (or queue until ``flush``) one message; never raises for a dead actor."""
        raise NotImplementedError

    def flush(self) -> None:
        """Deliver what ``send`` queued (once per driver turn)."""

    def poll(self, timeout: float, out: list[Event], dead: list[Death]) -> None:
        """Wait up to ``timeout`` seconds, hand every message that arrived to the handler
        (events into ``out``) and add the actors found dead to ``dead``."""
        raise NotImplementedError

    def find_deaths(self, dead: list[Death]) -> None:
        """Add actors Ray reports ended that ``poll`` cannot see (a cheap ``ray.wait``)."""

    def detach(self, w: RayWorker) -> None:
        """Forget an actor that is gone or being stopped."""
        raise NotImplementedError

    def drain(self, w: RayWorker, out: list[Event]) -> None:
        """Collect what a just-killed actor sent before it died (bounded wait)."""

    def ask_exit(self, w: RayWorker) -> Any:
        """Ask an idle actor to exit; returns a Ray reference that completes when it did
        (``None``: nothing to wait on)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release everything (the executor shuts down)."""


class SocketTransport(Transport):
    name = "socket"
    max_concurrency = 1

    def __init__(self, ray: Any, workers: dict[int, RayWorker], handle: Handler,
                 now: Callable[[], float], port: int) -> None:
        super().__init__(ray, workers, handle, now)
        self.port = port
        self._authkey = b""
        self._listener: socket.socket | None = None
        self._poller: Any = None  # one select.poll over the listener and every connection
        self._fds: dict[int, RayWorker] = {}  # connection fd -> worker
        self._address: tuple[str, int] | None = None

    def open(self) -> None:
        self._poller = select.poll()
        self._listen()

    def _listen(self) -> None:
        host = self._ray.util.get_node_ip_address()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            sock = socket.create_server((host, self.port), family=family, backlog=128)
        except OSError as e:
            if self.port:  # the user's choice of port: a configuration error naming it
                raise ConfigError(key="driver_port", message=(
                    f"cannot listen on {host}:{self.port}: {first_line(str(e))}")) from None
            raise RungError(f"RayExecutor: cannot listen on {host}:{self.port}: {e}") from e
        self._listener = sock
        self._poller.register(sock.fileno(), select.POLLIN)
        self._address = (host, sock.getsockname()[1])
        self._authkey = secrets.token_bytes(32)

    def attach(self, w: RayWorker) -> None:
        w.life = w.actor.serve.remote(self._address, self._authkey)

    def send(self, w: RayWorker, msg: Any) -> None:
        if w.conn is None:
            return
        try:
            w.conn.send_bytes(_dumps(msg, _PROTO))
        except OSError:
            # the actor is gone: its connection (or Ray) reports it at the next poll
            log.debug("%s: send failed", w.where())

    def poll(self, timeout: float, out: list[Event], dead: list[Death]) -> None:
        # one poll object kept across calls: building a selector per call (as
        # multiprocessing.connection.wait does) costs more than the rest of a turn's reading
        ready = self._poller.poll(math.ceil(timeout * 1000))
        if not ready:
            return
        t = self._now()
        fds = self._fds
        for fd, _ in ready:
            w = fds.get(fd)
            if w is None:
                if self._listener is not None and fd == self._listener.fileno():
                    self._accept(out)
                continue
            if w.dead:
                continue
            if not self._read(w, t, out):
                dead.append((w, None))

    def find_deaths(self, dead: list[Death]) -> None:
        lives = [w.life for w in self._workers.values() if not w.dead]
        if not lives:
            return
        ended, _ = self._ray.wait(lives, num_returns=len(lives), timeout=0)
        if ended:
            ended_set = set(ended)
            for w in list(self._workers.values()):
                if not w.dead and w.life in ended_set:
                    dead.append((w, error_of(self._ray, w.life)))

    def detach(self, w: RayWorker) -> None:
        if w.conn is None:
            return
        if not w.conn.closed:
            fd = w.conn.fileno()
            if self._fds.pop(fd, None) is not None and self._poller is not None:
                self._poller.unregister(fd)
        w.conn.close()

    def drain(self, w: RayWorker, out: list[Event]) -> None:
        deadline = time.monotonic() + SHUTDOWN_GRACE
        t = self._now()
        while w.conn is not None and not w.dead:
            left = deadline - time.monotonic()
            if left <= 0 or not wait([w.conn], left) or not self._read(w, t, out):
                break

    def ask_exit(self, w: RayWorker) -> Any:
        if w.conn is None:
            return None
        with contextlib.suppress(OSError):
            w.conn.send_bytes(_dumps(None, _PROTO))
        return w.life

    def close(self) -> None:
        for w in self._workers.values():
            if w.conn is not None:
                w.conn.close()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._poller = None
        self._fds.clear()

    def _read(self, w: RayWorker, t: float, out: list[Event]) -> bool:
        """Handle every message waiting on ``w``'s connection; False at end-of-file."""
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

    def _accept(self, out: list[Event]) -> None:
        assert self._listener is not None
        try:
            sock, peer = self._listener.accept()
        except OSError:
            return
        fd = sock.detach()
        set_nodelay(fd)
        set_recv_timeout(fd, _HANDSHAKE_TIMEOUT)
        conn = Connection(fd)
        try:
            deliver_challenge(conn, self._authkey)
            answer_challenge(conn, self._authkey)
            hello = _loads(conn.recv_bytes())
        except Exception as e:
            log.warning("refused a connection from %s: %s", peer, e)
            conn.close()
            return
        set_recv_timeout(fd, 0.0)
        w = self._workers.get(hello[1]) if isinstance(hello, tuple) and len(hello) > 1 else None
        if w is None or w.dead:
            conn.close()  # an actor we stopped meanwhile
            return
        w.conn = conn
        w.poller = select.poll()
        w.poller.register(conn.fileno(), select.POLLIN)
        self._fds[conn.fileno()] = w
        self._poller.register(conn.fileno(), select.POLLIN)
        self._handle(w, hello, self._now(), out)


class RayCallTransport(Transport):
    name = "ray"
    max_concurrency = 2

    def __init__(self, ray: Any, workers: dict[int, RayWorker], handle: Handler,
                 now: Callable[[], float]) -> None:
        super().__init__(ray, workers, handle, now)
        self._owner: dict[Any, RayWorker] = {}  # fetch ref in flight -> worker
        self._posts: dict[int, list[Any]] = {}  # wid -> messages to deliver

    def attach(self, w: RayWorker) -> None:
        w.fetch = w.actor.fetch.remote()
        self._owner[w.fetch] = w

    def send(self, w: RayWorker, msg: Any) -> None:
        self._posts.setdefault(w.wid, []).append(msg)

    def flush(self) -> None:
        if not self._posts:
            return
        for wid, msgs in self._posts.items():
            w = self._workers.get(wid)
            if w is None or w.dead:
                continue
            w.actor.deliver.remote(w.seq, msgs)
            w.seq += 1
        self._posts.clear()

    def poll(self, timeout: float, out: list[Event], dead: list[Death]) -> None:
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
        t = self._now()
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
                self.attach(w)

    def detach(self, w: RayWorker) -> None:
        if w.fetch is not None:
            self._owner.pop(w.fetch, None)
        self._posts.pop(w.wid, None)

    def ask_exit(self, w: RayWorker) -> Any:
        with contextlib.suppress(Exception):
            w.actor.deliver.remote(w.seq, [None])
            w.seq += 1
        return w.fetch

    def close(self) -> None:
        self._owner.clear()
        self._posts.clear()


__all__ = [
    "NO_VERDICT",
    "Death",
    "RayCallTransport",
    "RayWorker",
    "SocketTransport",
    "Transport",
    "death_known",
    "describe_death",
    "error_of",
    "first_line",
]
