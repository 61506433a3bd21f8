"""Room in a Ray cluster: how many trials its alive nodes hold, and waiting when they hold none.

``RoomWatch`` is the part of ``RayExecutor`` that reads the cluster's capacity from
``ray.nodes()`` and decides what to do while no trial can run: refuse at once on a private Ray
instance that no node will ever join, wait up to ``no_room_timeout`` seconds for a node that can
hold a trial (warning every minute), and stop the run (``RungError``) when none came, or when
launches wait and Ray places none of the run's actors for that long. It reads the executor's
``resources``, ``max_concurrent``, ``capacity``, ``no_room_timeout``, ``_ray``, ``_open``,
``_queue`` and ``_workers`` and keeps its own clocks (``_no_room_since``, ``_unplaced_since``,
``_next_nodes`` and the times of the last warnings), which the executor initializes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections import deque
from typing import Any

from rung.core.events import Launch
from rung.errors import ConfigError, RungError
from rung.executors.ray.connect import private_instance
from rung.executors.ray.resources import cluster_capacity
from rung.executors.ray.transport import RayWorker, first_line

log = logging.getLogger("rung.ray")

# How often, at least, the cluster's nodes are re-read (``ray.nodes()``, a GCS round trip that
# takes well under a millisecond on an idle cluster and tens of them on a saturated one): the
# interval grows with the call's cost so that it never takes more than ~1% of the driver.
_NODES_INTERVAL = 1.0
_NODES_INTERVAL_MAX = 10.0
_NODES_COST_FACTOR = 100.0
# Seconds between two "no node can run a trial" warnings while capacity is 0.
_NO_ROOM_WARNING_EVERY = 60.0


class RoomWatch:
    """The cluster's capacity for ``RayExecutor``, and the waits and warnings while it has no
    room (a mixin: every attribute below is the executor's)."""

    resources: dict[str, float]
    max_concurrent: int | None
    capacity: int
    no_room_timeout: float
    _ray: Any
    _open: bool
    _queue: deque[Launch]
    _workers: dict[int, RayWorker]
    _no_room_warned: float
    _no_room_since: float | None
    _unplaced_since: float | None
    _unplaced_warned: float
    _next_nodes: float

    def _cluster_capacity(self) -> int:
        fit = cluster_capacity(self._ray.nodes(), self.resources)
        if fit is None:
            assert self.max_concurrent is not None
            return self.max_concurrent
        return fit if self.max_concurrent is None else min(fit, self.max_concurrent)

    def _reread_capacity(self, now: float) -> int:
        """The cluster's capacity read again at monotonic time ``now`` (the last one when Ray
        cannot say), and when to read it next (``_next_nodes``, later when the read was slow)."""
        try:
            cap = self._cluster_capacity()
        except Exception as e:  # the GCS is briefly unreachable: keep the last capacity
            log.warning("cannot read the Ray cluster's nodes (%s); capacity stays %d",
                        first_line(str(e)), self.capacity)
            cap = self.capacity
        cost = time.monotonic() - now
        self._next_nodes = time.monotonic() + min(
            _NODES_INTERVAL_MAX, max(_NODES_INTERVAL, _NODES_COST_FACTOR * cost)
        )
        return cap

    def _alive_resources(self) -> list[dict[str, Any]]:
        """The resources of the alive nodes, as Ray names them (without node labels)."""
        nodes = [n.get("Resources", {}) for n in self._ray.nodes() if n.get("Alive")]
        return [{k: v for k, v in r.items() if not k.startswith("node:")
                 and k != "object_store_memory"} for r in nodes]

    def _refuse_if_never_room(self) -> None:
        """``ConfigError`` when no trial fits on a Ray instance this process started: no node
        joins it, so waiting for room would wait forever."""
        if self.capacity > 0 or not private_instance(self._ray):
            return
        have = [{k: r.get(k, 0.0) for k in self.resources} for r in self._alive_resources()]
        shown = have[0] if len(have) == 1 else have
        raise ConfigError(key="resources_per_trial", message=(
            f"no trial needing {self.resources} fits on the local Ray instance this process "
            f"started (it has {shown}); ask for less, or connect to a cluster that has it "
            f"(address=...)"))

    def _no_room(self) -> str:
        """What the alive nodes have of what a trial needs, none of them enough."""
        have = sorted(([{k: r.get(k, 0.0) for k in self.resources}
                        for r in self._alive_resources()]), key=lambda h: list(h.values()))
        return (f"no node of the Ray cluster can hold a trial needing {self.resources} "
                f"(its alive nodes have {have})")

    def _wait_for_room(self) -> None:
        """At the start of a session whose cluster holds no trial: wait for a node that can,
        up to ``no_room_timeout`` seconds, before anything of the session is journaled.

        Raises:
            ConfigError: (key ``resources_per_trial``) none joined in time.
        """
        start, limit = time.monotonic(), self.no_room_timeout
        while self.capacity == 0:
            if time.monotonic() - start >= limit:
                raise ConfigError(key="resources_per_trial", message=(
                    f"{self._no_room()}, and none joined in {limit:g} s (no_room_timeout): "
                    f"ask for less, or add a node that has it (ray start --address=...)"))
            self._warn_if_no_room()
            time.sleep(min(_NODES_INTERVAL, max(0.0, limit - (time.monotonic() - start))))
            self.capacity = self._cluster_capacity()
        self._no_room_warned, self._no_room_since = -math.inf, None

    def _warn_if_no_room(self) -> None:
        """While capacity is 0: a warning every minute, and ``RungError`` once it has been 0
        for ``no_room_timeout`` seconds of a run (the nodes that held trials left)."""
        if self.capacity > 0:
            self._no_room_since = None
            return
        now = time.monotonic()
        if self._no_room_since is None:
            self._no_room_since = now
        elif self._open and now - self._no_room_since >= self.no_room_timeout:
            raise RungError(f"{self._no_room()}, and none joined in {self.no_room_timeout:g} s "
                            f"(no_room_timeout): the run stops")
        if now - self._no_room_warned < _NO_ROOM_WARNING_EVERY:
            return
        self._no_room_warned = now
        left = self.no_room_timeout - (now - self._no_room_since)
        log.warning("%s; waiting up to %.0f s more for nodes to join", self._no_room(), left)

    def _warn_if_unplaced(self) -> None:
        """While launches wait and none of the session's actors is ready (the nodes have room
        by their totals, but other jobs hold it; a ``runtime_env`` is being built; importing
        the objective hangs): a warning every minute, ``RungError`` after ``no_room_timeout``
        seconds."""
        live = [w for w in self._workers.values() if not w.dead]
        if not self._queue or not live or any(w.ready for w in live):
            self._unplaced_since = None
            return
        now = time.monotonic()
        if self._unplaced_since is None:
            self._unplaced_since = self._unplaced_warned = now
            return
        waited = now - self._unplaced_since
        limit = self.no_room_timeout
        if waited < limit and now - self._unplaced_warned < _NO_ROOM_WARNING_EVERY:
            return
        free: dict[str, float] = {}
        with contextlib.suppress(Exception):
            free = self._ray.available_resources()
        text = (f"none of the run's {len(live)} Ray worker actors is ready after {waited:.0f} s "
                f"(each needs {self.resources}; free in the cluster: "
                f"{ {k: float(free.get(k, 0.0)) for k in self.resources} }): other jobs hold "
                f"the resources, a runtime_env is still being set up, or importing the "
                f"objective's module does not end")
        if waited >= limit:
            raise RungError(f"{text}; the run stops (no_room_timeout: {limit:g} s)")
        self._unplaced_warned = now
        log.warning("%s; waiting up to %.0f s more", text, limit - waited)


__all__ = ["RoomWatch"]
