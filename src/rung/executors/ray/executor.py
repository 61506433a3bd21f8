"""Ray executor, the driver side: trials on the actors of a Ray cluster.

One worker actor per slot, reused from trial to trial (like the local executor's processes),
each placed by Ray according to the per-trial resources (CPUs, GPU fractions, memory, custom
resources). Inside an actor the shared worker loop (``rung.executors.worker``) runs the
objective, so the lease protocol, ``TrialContext`` and checkpoint saving are exactly those of
the local executor. Messages travel over one of two transports (``transport.py``, chosen in
``connect.py``); starting, stopping and burying the actors is ``actors.py``, the cluster's
capacity and the waits while it has none ``room.py``.

Ray is the authority on liveness: an actor whose node dies (or that is killed) is reported by
Ray, its trial ends ``interrupted`` (the scheduler resumes it from its last checkpoint on
another node) and a replacement actor is started if the cluster still has room. Capacity is
the number of trials the cluster's alive nodes can hold at once (capped by
``max_concurrent``); it is re-read from Ray (``ray.nodes()``) every second or so (less often
when the call is slow) and at once after a death, and every change is reported as a
``CapacityChanged`` event.

Checkpoints need no shared filesystem. An actor saves into a private directory on its own
node; the save is packed as an uncompressed tar archive and shipped with the ``SAVED``
message, the driver unpacks it under the run's ``checkpoint_dir`` (``<trial>/<step>``, the
path the ``CheckpointSaved`` event records, relative to that directory) and the actor deletes
its copy. A trial resumed or forked from a checkpoint gets the archive with its ``LAUNCH``
message, on whichever node it lands.

The head node's GCS is watched from the driver (``head_watch.py``): while it does not answer
no ``ray.nodes()`` call is made (it would block), and a run whose head stays silent ends with a
``RungError`` 10 s before Ray would end the process, its Ray connection closed.

Event times are the driver's clock at receipt (workers' clocks on other machines may be
skewed; a batch is received within milliseconds of being sent).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from rung.core.events import Cancel, CapacityChanged, Event, Launch
from rung.core.pricing import from_ray
from rung.core.records import Outcome
from rung.errors import ConfigError, RungError
from rung.executors.base import RunContext
from rung.executors.pool import SHUTDOWN_GRACE, callable_name
from rung.executors.protocol import (
    ENDED,
    INIT_ERROR,
    PARAMS,
    READY,
    RESULT,
    SAVED,
    Message,
    decode,
    encode_launch,
)
from rung.executors.ray.actor import RungWorker
from rung.executors.ray.actors import ActorPool
from rung.executors.ray.archive import archive_for, store_shipped
from rung.executors.ray.arguments import TRANSPORTS, check_arguments
from rung.executors.ray.connect import connect, use_socket
from rung.executors.ray.head_watch import HeadWatch
from rung.executors.ray.importing import check_ray_installed, import_ray
from rung.executors.ray.precheck import check_local_gpus
from rung.executors.ray.resources import normalize_resources, trials_per_node
from rung.executors.ray.room import _NODES_INTERVAL, RoomWatch
from rung.executors.ray.transport import (
    Death,
    RayCallTransport,
    RayWorker,
    SocketTransport,
    Transport,
)
from rung.executors.worker import TrialContext

log = logging.getLogger("rung.ray")

# How often, at most, Ray is asked about actor deaths (a cheap ``ray.wait``).
_CHECK_INTERVAL = 0.5
# What to do when actors cannot import the objective's module (or one it imports).
_IMPORT_HINT = (
    "The objective's module, and every module it imports, must be importable on each node: "
    "install them there, or ship them with ray_init={'runtime_env': {'working_dir': DIR}} "
    "(or 'py_modules'); a Ray instance started after `rung run` read the spec inherits its "
    "path")
#: Default of ``RayExecutor(no_room_timeout=...)``: seconds a run waits for a node that can
#: hold a trial, when none of the cluster's alive nodes can (at the start of a session, or
#: after they left), and for Ray to place one of its actors, when launches wait and none is
#: placed (other jobs hold the resources): then it stops, so that what will never come is not
#: waited for forever. Nodes that join in time (the autoscaler's, a ``ray start --address``),
#: or an actor placed in time, end the wait.
NO_ROOM_LIMIT = 600.0


class RayExecutor(RoomWatch, ActorPool):
    """Runs trials on a Ray cluster.

    Args:
        address: the cluster to connect to: ``"auto"`` (the cluster this machine belongs to),
            ``"host:port"`` of a head node, or ``"ray://host:10001"`` (Ray Client). ``None``:
            the Ray connection already opened by this process if any, else ``ray.init()``
            (which honours ``RAY_ADDRESS``, or starts a local Ray instance).
        resources_per_trial: what one trial needs, reserved by its actor:
            ``{"cpu": 1, "gpu": 0.5}`` runs two trials per GPU; ``"memory"`` is in bytes; any
            other key is a custom Ray resource; ``cpu`` defaults to 1 when not given. ``None``
            (the default): the study's ``resources_per_trial`` under ``Study.run`` (exactly
            its devices: see ``use_study_resources``), else ``{"cpu": 1}``. Given with a
            study that has its own, both must hold the same devices.
        max_concurrent: at most this many trials at once (default: as many as the cluster's
            nodes can hold, following nodes as they join and leave).
        objective: ``objective(ctx: rung.TrialContext)``; without one, the session's
            (``RunContext.objective``, the one ``Study.run`` was given) is run and kept. It
            is cloudpickled, so lambdas and closures work; modules it imports must be
            installed on every node.
        checkpoint_every: if set, every report whose step is a multiple of it (and the report
            at ``max_step``) saves a checkpoint through the report's ``save`` callback, so a
            trial interrupted by a node loss resumes from there.
        transport: ``"socket"`` (workers connect back to the driver over TCP: fastest),
            ``"ray"`` (everything through Ray calls: works with Ray Client and closed ports)
            or ``"auto"`` (``"ray"`` for ``ray://`` addresses and Ray Client sessions, else
            ``"socket"``).
        driver_port: the TCP port the driver listens on for its workers (transport
            ``"socket"``; 0 picks a free one). Set it to open a single port in a firewall.
        no_room_timeout: seconds a run waits, when no alive node can hold a trial (at the
            start, or after the nodes that held trials left) or Ray places none of the run's
            actors while launches wait, before it stops (default ``NO_ROOM_LIMIT``, 600);
            raise it for an autoscaler that is slow to add nodes.
        ray_init: extra keyword arguments for ``ray.init`` when this executor connects (e.g.
            ``{"num_cpus": 4}`` for a local instance, ``{"runtime_env": {...}}``).
        actor_options: extra Ray actor options (e.g. ``{"scheduling_strategy": "SPREAD"}``,
            ``{"runtime_env": {...}}``); resources come from ``resources_per_trial``, so
            ``num_cpus``, ``num_gpus``, ``memory`` and ``resources`` are refused here, as are
            ``max_concurrency``, ``max_restarts`` and ``max_task_retries`` (the executor's).

    Raises:
        ConfigError: Ray is not installed (key ``executor``; the message says
            ``pip install 'rung[ray]'``), or an invalid argument (names it), including what
            Ray would refuse only once it runs (``rung.executors.ray.precheck``): a key of
            ``ray_init`` that ``ray.init`` does not take (``ray_init.<key>``), an actor option
            Ray does not know or a value it refuses (``actor_options.<key>``), and a trial
            needing more GPUs than the local Ray instance this executor would start has
            (``resources_per_trial.gpu``; ``use_study_resources`` checks the study's too).
            Nothing starts: Ray is imported only when there is one of these to check.

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
        no_room_timeout: float = NO_ROOM_LIMIT,
        ray_init: Mapping[str, Any] | None = None,
        actor_options: Mapping[str, Any] | None = None,
    ) -> None:
        check_ray_installed()
        no_room_timeout = check_arguments(
            address, objective, max_concurrent, checkpoint_every, transport, driver_port,
            no_room_timeout, ray_init, actor_options)
        self.max_concurrent = max_concurrent
        self.address = address
        self.ray_init = dict(ray_init or {})
        self.actor_options = dict(actor_options or {})
        self._given_resources = resources_per_trial  # None: the study's, else one CPU
        self.resources = self._reserve(resources_per_trial)
        self.objective = objective
        self.checkpoint_every = checkpoint_every
        self.transport = transport
        self.driver_port = driver_port
        self.no_room_timeout = no_room_timeout
        self.capacity = 0  # last capacity reported
        self._ray: Any = None
        self._started_ray = False
        self._tp: Transport | None = None  # this session's transport
        self._cls: Any = None
        self._payload: Any = None
        self._workers: dict[int, RayWorker] = {}  # wid -> live worker (pending or ready)
        self._wid = 0
        self._next_check = 0.0
        self._next_nodes = 0.0
        self._no_room_warned = -math.inf
        self._no_room_since: float | None = None  # monotonic time capacity fell to 0
        self._unplaced_since: float | None = None  # since when launches wait, no actor ready
        self._unplaced_warned = -math.inf
        self._study = "study"
        self._watch: HeadWatch | None = None  # the head's GCS, watched while a session runs
        self._head_lost = False
        super().__init__()

    def _reserve(self, resources: Mapping[str, Any] | None) -> dict[str, float]:
        """``resources`` normalized (``None``: one CPU); ``ConfigError`` for a request of
        nothing without ``max_concurrent``, and (key ``resources_per_trial.gpu``) for more
        GPUs than the local Ray instance this executor would start has
        (``precheck.check_local_gpus``): no node would ever join it."""
        reserved = normalize_resources({"cpu": 1} if resources is None else resources)
        if trials_per_node({}, reserved) is None and self.max_concurrent is None:
            raise ConfigError(key="resources_per_trial", message=(
                "requests no resource, so the cluster sets no limit; pass max_concurrent "
                "(n_workers with executor='ray')"))
        check_local_gpus(reserved, self.address, self.ray_init)
        return reserved

    def use_study_resources(
        self, study: Mapping[str, float] | None,
        study_key: str = "the study's resources_per_trial (Study.create)",
    ) -> None:
        """Reserve what the study says a trial holds (its ``resources_per_trial``, cost-model
        devices; ``None``: the study says nothing) unless this executor was given its own
        ``resources_per_trial``, which must then hold the same devices. ``Study.run`` calls
        it before the session starts, so the actors, the capacity and the ledger agree.

        Raises:
            ConfigError: the two disagree (one line naming both:
                ``rung.executors.options.ray_resources``), or the study's GPUs are more than
                the local Ray instance this executor would start has (as ``__init__``);
                nothing has started.
        """
        from rung.executors.options import ray_resources

        chosen = ray_resources(study, self._given_resources, study_key=study_key)
        self.resources = self._reserve(chosen)

    # --- the Executor protocol ------------------------------------------------------------------
    def start(self, ctx: RunContext) -> list[Event]:
        """Connect to Ray, start one actor per slot the cluster has room for, and return
        ``[CapacityChanged(capacity, now, new_session=True)]``. Actors start in the background;
        launches wait until one is ready."""
        if self._open:
            raise RuntimeError("RayExecutor.start: already started (call shutdown first)")
        if self.objective is None:
            self.objective = ctx.objective
        if self.objective is None:
            raise ConfigError("RayExecutor: no objective (pass objective=..., or use Study.run)")
        ray = self._ray = import_ray()
        try:
            payload = ray.cloudpickle.dumps(self.objective)
        except Exception as e:
            raise ConfigError(
                f"objective {callable_name(self.objective)} cannot be sent to Ray workers: {e}"
            ) from None
        self._study = ctx.study
        self._open = True
        try:
            tp = self._tp = self._connect()
            self._watch_head()
            self._open_root(ctx)
            self._payload = ray.put(payload)
            self._cls = ray.remote(RungWorker)
            tp.open()
            self._startup_deaths = 0
            self._next_check = 0.0
            self._next_nodes = time.monotonic() + _NODES_INTERVAL
            self.capacity = self._cluster_capacity()
            self._refuse_if_never_room()
            self._wait_for_room()
            self._fill_pool()
        except BaseException:
            self.shutdown()
            raise
        log.info("Ray executor: capacity %d, resources per trial %s, transport %s",
                 self.capacity, self.resources, tp.name)
        # what each trial holds, in the cost model's devices (the ledger and Budget.max_cost)
        return [CapacityChanged(self.capacity, self.now(), new_session=True,
                                resources=from_ray(self.resources), executor=self._described())]

    def _described(self) -> dict[str, Any]:
        """This session's executor for the journal: ``ray``, the address it was given
        (``None``: the default connection), the cluster it reached (the GCS address, when Ray
        says) and the transport."""
        reached = None
        with contextlib.suppress(Exception):
            reached = str(self._ray.get_runtime_context().gcs_address)
        assert self._tp is not None
        return {"name": "ray", "address": self.address, "cluster": reached,
                "transport": self._tp.name}

    @property
    def idle(self) -> bool:
        """Nothing runs, waits for a worker, or waits to be reported, and the cluster has room
        (with no room, the executor waits for nodes to join: it is not stalled)."""
        return self.capacity > 0 and super().idle

    def poll(self, timeout: float | None) -> list[Event]:
        """Wait up to ``timeout`` seconds for worker messages and return every event that is
        ready: messages from every actor, actor deaths, and capacity changes."""
        out, timeout = self._begin_poll(timeout)
        until_check = max(0.0, self._next_check - time.monotonic())
        if timeout is None or timeout > until_check:
            timeout = until_check
        dead: list[Death] = []
        assert self._tp is not None
        self._tp.poll(timeout, out, dead)
        if dead or time.monotonic() >= self._next_check:
            self._check(out, dead)
        return self._end_poll(out)

    def shutdown(self) -> None:
        """Stop every actor (idle ones exit cleanly and remove their scratch directories, busy
        ones are killed), close the listener, and stop Ray if this executor started it.
        Idempotent."""
        if not self._open:
            return
        self._open = False
        ray, tp = self._ray, self._tp
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        if tp is not None:
            waits: list[Any] = []
            for w in self._workers.values():
                if w.ready and w.trial is None and not w.dead:
                    ref = tp.ask_exit(w)
                    if ref is not None:
                        waits.append(ref)
            if waits and ray is not None:
                with contextlib.suppress(Exception):
                    ray.wait(waits, num_returns=len(waits), timeout=SHUTDOWN_GRACE)
        for w in self._workers.values():
            self._kill(w)
        if tp is not None:
            tp.close()
        self._tp = None
        self._workers.clear()
        self._idle.clear()
        self._running.clear()
        self._queue.clear()
        self._events = []
        self._payload = None
        self._close_root()
        if (self._started_ray or self._head_lost) and ray is not None:
            # a connection whose head is lost is closed whoever opened it: Ray would end the
            # process once it has been without the GCS for its limit
            self._started_ray = self._head_lost = False
            with contextlib.suppress(Exception):
                ray.shutdown()

    # --- connection and capacity (waiting for room: room.py) ---------------------------------
    def _connect(self) -> Transport:
        """Connect to Ray (unless connected) and choose the transport."""
        ray = self._ray
        if connect(ray, self.address, self.ray_init):
            self._started_ray = True
        if use_socket(ray, self.address, self.transport):
            return SocketTransport(ray, self._workers, self._handle, self.now, self.driver_port)
        return RayCallTransport(ray, self._workers, self._handle, self.now)

    def _watch_head(self) -> None:
        """Start watching the head's GCS (``head_watch``), unless this is a Ray Client
        session or Ray does not say where its GCS is."""
        ray = self._ray
        with contextlib.suppress(Exception):
            if ray.util.client.ray.is_connected():
                return
        gcs = ""
        with contextlib.suppress(Exception):
            gcs = str(ray.get_runtime_context().gcs_address or "")
        host, sep, port = gcs.rpartition(":")
        if sep and host and port.isdigit():
            self._watch = HeadWatch(host.strip("[]"), int(port), self._study)
            self._watch.start()

    def _head_answers(self) -> bool:
        """Whether the head's GCS answers, so that a Ray call that needs it will not block
        (True when it is not watched); ``RungError`` once it has been silent for the watch's
        ``end_after`` seconds: the run ends."""
        w = self._watch
        if w is None:
            return True
        if w.down or not w.answers():
            if w.lost:
                self._head_lost = True
                raise RungError(w.lost_message())
            return False
        return True

    def _check(self, out: list[Event], dead: list[Death]) -> None:
        """Ask Ray about actor deaths (transport="socket") and the cluster's capacity
        (not while the head does not answer: ``ray.nodes()`` would block)."""
        self._next_check = time.monotonic() + _CHECK_INTERVAL
        assert self._tp is not None
        self._tp.find_deaths(dead)
        if dead:
            self._bury(dead, out)
        now = time.monotonic()
        if (not dead and now < self._next_nodes) or not self._head_answers():
            self._fill_pool()
            self._warn_if_unplaced()
            return
        cap = self._reread_capacity(now)
        if cap != self.capacity:
            log.info("cluster capacity changed: %d -> %d trials", self.capacity, cap)
            self.capacity = cap
            out.append(CapacityChanged(cap, self.now()))
        self._warn_if_no_room()
        self._fill_pool()
        self._warn_if_unplaced()

    # --- messages and commands ------------------------------------------------------------------
    def _send(self, w: RayWorker, msg: Any) -> None:
        assert self._tp is not None
        self._tp.send(w, msg)

    def _flush(self) -> None:
        if self._tp is not None:
            self._tp.flush()

    def _launch_message(self, launch: Launch, token: int) -> Message:
        """``LAUNCH`` with the archive of the checkpoint to restore (or ``None``) appended."""
        return (*encode_launch(launch, token), archive_for(self._root, launch))

    def _handle(self, w: RayWorker, msg: Any, t: float, out: list[Event]) -> None:
        tag = msg[0]
        if tag in (RESULT, PARAMS):
            out.append(decode(msg, t))
        elif tag == ENDED:
            out.append(decode(msg, t))
            if self._release(w, msg[1]):
                live = sum(1 for x in self._workers.values() if not x.dead)
                if live > self.capacity:
                    self._retire(w)  # the cluster shrank: this slot is gone
                else:
                    self._idle.append(w)
        elif tag == SAVED:
            ev = store_shipped(self._root, msg, t)
            if ev is not None:
                out.append(ev)
        elif tag == READY:
            self._ready(w, msg)
        elif tag == INIT_ERROR:
            hint = ""
            if "ModuleNotFoundError" in str(msg[2]):  # imported by name, from the driver's path
                hint = (f"\n{_IMPORT_HINT}")
            raise RungError(f"Ray workers cannot load the objective "
                            f"{callable_name(self.objective)}:\n{msg[2]}{hint}")
        else:
            raise RungError(f"unexpected message from {w.where()}: {msg!r}")

    def _ready(self, w: RayWorker, msg: Any) -> None:
        _, _, node_id, ip, pid, _host = msg
        w.node = f"{ip} ({str(node_id)[:8]})"
        w.pid = pid
        w.ready = True
        self._startup_deaths = 0
        if not w.dead:
            self._idle.append(w)

    def _stop_running(
        self, w: RayWorker, c: Cancel, outcome: Outcome = Outcome.STOPPED
    ) -> None:
        self._kill(w)
        assert self._tp is not None
        self._tp.drain(w, self._events)  # what the trial sent before it died is worth recording
        if w.trial == c.trial_id:
            self._end_run(w, self._events, outcome, c.reason)
        self._drop(w)
        self._fill_pool()


__all__ = ["TRANSPORTS", "RayExecutor"]
