"""The local executor's transport: framed pickles over a process pipe, and the worker
process's entry point.

Every message is one ``write`` of ``[4-byte length][pickle]``, pickled with the highest
protocol; a read takes whatever is there, so several messages cost one system call. Nothing
here is journaled, so pickle is fine. POSIX only (``select.poll``).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import struct
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from rung.executors.fork_threads import limit_inherited_pools
from rung.executors.protocol import INIT_ERROR, READY
from rung.executors.warden import start_warden
from rung.executors.worker import TrialContext, worker_loop

_dumps = pickle.dumps
_loads = pickle.loads
_PROTO = pickle.HIGHEST_PROTOCOL
_HEADER = struct.Struct("!I")
_READ_SIZE = 1 << 18


def frame(msg: Any) -> bytes:
    """``msg`` as one frame: its pickle behind a 4-byte length."""
    payload = _dumps(msg, _PROTO)
    return _HEADER.pack(len(payload)) + payload


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (blocking)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class FrameReader:
    """Splits the bytes read from a pipe into messages (``[4-byte length][pickle]`` frames).
    A read takes whatever is there, so several messages cost one system call; a frame that
    arrived only in part waits in the buffer for its rest."""

    __slots__ = ("_buf", "fd")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buf: bytes | bytearray = b""

    def fill(self) -> bool:
        """Read what is available (blocks if nothing is); False at end-of-file."""
        data = os.read(self.fd, _READ_SIZE)
        if not data:
            return False
        buf = self._buf
        if not buf:
            self._buf = data  # the usual case: whole messages, no copy
        elif type(buf) is bytearray:
            buf += data  # a large frame arriving in parts: amortized, not quadratic
        else:
            self._buf = bytearray(buf) + data
        return True

    def messages(self) -> list[Any]:
        """Every complete message in the buffer, oldest first."""
        buf = self._buf
        end = len(buf)
        pos = 0
        out = []
        view = memoryview(buf)
        while end - pos >= 4:
            n = _HEADER.unpack_from(buf, pos)[0]
            if end - pos - 4 < n:
                break
            out.append(_loads(view[pos + 4:pos + 4 + n]))
            pos += 4 + n
        view.release()
        if pos:  # (nothing taken: the buffer stays as it is, not copied)
            self._buf = buf[pos:] if pos < end else b""
        return out


class PipeChannel:
    """The worker's ``Channel`` over its end of the pipe: framed pickles written with one
    ``write`` each, read through a ``FrameReader``; ``poll`` is a ``select.poll`` object
    registered once (``Connection.poll`` builds a selector per call)."""

    __slots__ = ("_fd", "_pending", "_poller", "_reader", "conn")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn  # keeps the descriptor open
        self._fd = conn.fileno()
        self._reader = FrameReader(self._fd)
        self._pending: deque[Any] = deque()
        self._poller = select.poll()
        self._poller.register(self._fd, select.POLLIN)

    def send(self, msg: Any) -> None:
        write_all(self._fd, frame(msg))

    def recv(self) -> Any:
        pending = self._pending
        while not pending:
            if not self._reader.fill():
                raise EOFError("the driver closed the pipe")
            pending.extend(self._reader.messages())
        return pending.popleft()

    def poll(self) -> bool:
        return bool(self._pending) or bool(self._poller.poll(0))



def _die_with_driver(driver_pid: int | None) -> None:
    """End this worker and its process group (what its objective started) when the driver
    dies, even by SIGKILL, so a crashed driver never leaves orphans computing for nobody.

    With pidfds (Linux >= 5.3) the worker's warden waits on the driver's
    (``rung.executors.warden``: a forked process, so a C call of the objective that holds
    the GIL cannot delay it) and kills the group, and the processes that left it, when the
    driver exits: the kernel's parent-death signal would kill the worker alone (its
    objective's processes lead on), and never reaches a forkserver worker (the fork server's
    child, which outlives the driver while its children live). Should the fork fail, a
    thread of the worker waits instead (it runs as soon as the worker's main thread lets go
    of the GIL). Without pidfds, a child of the driver asks for the parent-death signal
    (Linux); elsewhere the worker exits when it next finds the pipe closed (at its next
    report)."""
    if driver_pid is None:
        return
    try:
        pidfd: int | None = os.pidfd_open(driver_pid)
    except ProcessLookupError:
        os._exit(0)  # the driver is gone already
    except (AttributeError, OSError):
        pidfd = None
    child = os.getppid() == driver_pid  # spawn, fork (a forkserver worker is not)
    if pidfd is None and child and sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass  # best effort: the worker still exits when its pipe closes
        if os.getppid() != driver_pid:
            os._exit(0)  # the driver died before we could ask to follow it
    if pidfd is None:
        return
    if start_warden(pidfd):
        os.close(pidfd)  # the warden has its own
        return

    def follow() -> None:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)  # readable once the driver has exited
        while not poller.poll():
            pass
        _end_group()

    threading.Thread(target=follow, name="rung-follow-driver", daemon=True).start()


def _end_group() -> None:
    """SIGKILL this worker's process group (itself and what its objective started), or this
    worker alone if it does not lead one."""
    if os.getpgid(0) == os.getpid():
        os.killpg(0, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def _own_streams() -> None:
    """Take back ``sys.stdout`` / ``sys.stderr`` from a wrapper a fork worker inherited from
    its driver (rich's live view redirects them through proxies that draw above the view: in
    the worker they would write through a console of the driver's, which a notebook's kernel
    refuses from a forked process, losing every line): the streams they wrap."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        inner = getattr(stream, "rich_proxied_file", None)
        if inner is not None:
            setattr(sys, name, inner)


def _line_buffered_output() -> None:
    """Make ``sys.stdout`` and ``sys.stderr`` flush at every newline. Written to a file or a
    pipe they are block-buffered, so a worker killed (a timeout, a cancel, the OOM killer)
    would lose the last lines of its trial, and of the trials before it still in the buffer,
    and two workers' lines would interleave mid-line. Streams without ``reconfigure`` (a
    notebook's, under fork) are left as they are."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if callable(reconfigure):
            with contextlib.suppress(Exception):  # (a detached or closed stream)
                reconfigure(line_buffering=True)


def worker_main(
    conn: Connection,
    payload: bytes | None,
    objective: Callable[[TrialContext], Any] | None,
    checkpoint_root: str,
    checkpoint_every: int | None,
    driver_pid: int | None,
    limit_threads: bool = False,
    environ: dict[str, str] | None = None,
    prefix_lines: bool = False,
) -> None:
    """Entry point of a worker process (module level, so spawn can import it). A worker
    that finds its driver gone (at start-up, or a closed pipe) returns without a word. Its
    ``sys.stdout`` and ``sys.stderr`` are line-buffered, so a trial's printed lines are
    written as they are printed, and survive the worker's death.

    ``limit_threads`` (a fork worker given a thread count): the thread pools inherited from
    the driver are set to the ``OMP_NUM_THREADS`` of the worker's environment before the
    objective runs (``rung.executors.fork_threads``). ``environ``: variables set before the
    objective is loaded (the worker's ``CUDA_VISIBLE_DEVICES``: ``rung.executors.local_devices``),
    so a CUDA library it imports sees them, whatever the start method. ``prefix_lines``: the
    lines a trial prints start with ``[trial <id>] `` (``rung.executors.output_prefix``)."""
    # Ctrl-C in a terminal reaches the whole process group: the driver decides what happens
    # (it shuts the workers down), so a worker does not die half-way through a message.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # started with SIGINT blocked as well (LocalExecutor's _sigint_held): a pending one is
    # now dropped, and the objective's own processes start with the usual mask
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    # a process group of its own, which the processes the objective starts (data loaders,
    # servers) join: the driver ends the group with the worker (LocalExecutor._kill_group),
    # so none of them outlives it, and a terminal's Ctrl-C reaches none of them either
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    if environ:
        os.environ.update(environ)
    _die_with_driver(driver_pid)
    _own_streams()
    _line_buffered_output()
    if prefix_lines:
        from rung.executors.output_prefix import prefix_output

        prefix_output()
    if limit_threads:
        limit_inherited_pools()
    chan = PipeChannel(conn)
    try:
        try:
            fn = pickle.loads(payload) if payload is not None else objective
            if not callable(fn):
                raise TypeError(f"the objective is not callable: {fn!r}")
        except BaseException:  # reported to the driver, which raises it
            chan.send((INIT_ERROR, traceback.format_exc()))
            return
        chan.send((READY, os.getpid()))
    except (BrokenPipeError, ConnectionResetError):
        return  # the driver died while the objective loaded
    worker_loop(chan, fn, Path(checkpoint_root), checkpoint_every)


__all__ = ["FrameReader", "PipeChannel", "frame", "worker_main", "write_all"]
