"""Watching the Ray cluster's head node from the driver, so that losing it ends a run in rung's
words instead of Ray's.

Without its head's GCS a Ray driver's calls that need it (``ray.nodes()``, starting or killing
an actor) block, and Ray itself ends the driver process once the GCS has not answered for
``gcs_rpc_server_reconnect_timeout_s`` seconds (60 by default; ``RAY_gcs_rpc_server_reconnect
_timeout_s`` in the environment changes it), exit code 1, before the run can say anything or
close its callbacks. ``HeadWatch`` is a daemon thread that opens a TCP connection to the GCS
once a second (a connection, not a Ray call: it never blocks for long). From it:

- ``down``: the GCS has not answered at the last probe (the executor then makes no Ray call
  that needs the GCS, so that the driver's thread stays free);
- after ``WARN_AFTER`` seconds down the thread says so once, on the ``rung.run`` reporter's
  path (``rung: the Ray cluster's head at HOST:PORT has not answered for 5 s (Connection
  refused); ...``), and once more when it answers again;
- ``lost``: down for ``end_after`` seconds, 10 s less than Ray's own limit (at least
  ``WARN_AFTER``): the executor then ends the run with a ``RungError`` that says the journal
  is intact and how to resume. A head that comes back sooner (a GCS restarted with fault
  tolerance) costs nothing but the wait.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

#: Seconds the GCS may stay silent before the run is told.
WARN_AFTER = 5.0
#: Seconds between two probes (and each probe's connection timeout).
PROBE_EVERY = 1.0
#: Ray's default for ``gcs_rpc_server_reconnect_timeout_s``.
RAY_GCS_TIMEOUT = 60.0
#: How much earlier than Ray's own limit the run ends.
MARGIN = 10.0


def ray_gcs_timeout() -> float:
    """Seconds Ray lets this driver live without its GCS (its environment's
    ``RAY_gcs_rpc_server_reconnect_timeout_s``, else 60)."""
    raw = os.environ.get("RAY_gcs_rpc_server_reconnect_timeout_s")  # noqa: SIM112 (Ray's name)
    try:
        value = float(raw) if raw is not None else RAY_GCS_TIMEOUT
    except ValueError:
        value = RAY_GCS_TIMEOUT
    return value if value > 0 else RAY_GCS_TIMEOUT


class HeadWatch:
    """Probes ``(host, port)`` (the head's GCS) every ``every`` seconds from a daemon thread.

    Args:
        host, port: where the GCS listens.
        study: the study's name, for the resume hint.
        ray_timeout: Ray's limit (``ray_gcs_timeout()`` when ``None``).
        every: seconds between probes.
        warn_after: seconds down before the one warning line.
    """

    def __init__(self, host: str, port: int, study: str, *, ray_timeout: float | None = None,
                 every: float = PROBE_EVERY, warn_after: float = WARN_AFTER) -> None:
        self.host, self.port, self.study = host, port, study
        self.ray_timeout = ray_gcs_timeout() if ray_timeout is None else ray_timeout
        self.end_after = max(warn_after, self.ray_timeout - MARGIN)
        self.every, self.warn_after = every, warn_after
        self.lines: list[str] = []  # what the watch said, in order
        self._down_since: float | None = None
        self._reason = ""
        self._warned = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="rung-ray-head-watch",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2 * self.every + 1.0)
        self._thread = None

    def down_for(self) -> float:
        """Seconds since the GCS stopped answering (0 while it answers)."""
        with self._lock:
            since = self._down_since
        return 0.0 if since is None else time.monotonic() - since

    @property
    def down(self) -> bool:
        """The GCS did not answer at the last probe."""
        with self._lock:
            return self._down_since is not None

    @property
    def lost(self) -> bool:
        """The GCS has not answered for ``end_after`` seconds."""
        return self.down_for() >= self.end_after

    def lost_message(self) -> str:
        """The ``RungError`` text of a run ended by a lost head."""
        return (f"the Ray cluster's head at {self.where} has not answered for "
                f"{self.down_for():.0f} s ({self._reason}): the cluster is gone, and Ray would "
                f"end this driver at {self.ray_timeout:.0f} s. Nothing recorded is lost; the "
                f"trials that were running are resumed from their checkpoints when the study "
                f"is resumed on a running cluster")

    def answers(self) -> bool:
        """Probe now, from the caller's thread (before a Ray call that would block without
        the GCS); whether it answered."""
        self.probe()
        return not self.down

    # --- the thread ---------------------------------------------------------------------------
    def probe(self) -> None:
        """One probe: a TCP connection to the GCS, and what follows from its answer."""
        try:
            with socket.create_connection((self.host, self.port), timeout=self.every):
                pass
            reason = None
        except OSError as e:
            reason = e.strerror or type(e).__name__
        now = time.monotonic()
        with self._lock:
            if reason is None:
                back = self._warned
                self._down_since, self._warned = None, False
            else:
                back = False
                if self._down_since is None:
                    self._down_since = now
                self._reason = reason
                down = now - self._down_since
                warn = not self._warned and down >= self.warn_after
                if warn:
                    self._warned = True
        if reason is None:
            if back:
                self._say(logging.INFO, f"the Ray cluster's head at {self.where} answers again")
        elif warn:
            self._say(logging.WARNING, (
                f"the Ray cluster's head at {self.where} has not answered for {down:.0f} s "
                f"({reason}); the run ends if it is not back within "
                f"{self.end_after:.0f} s (Ray ends a driver without it at "
                f"{self.ray_timeout:.0f} s). Nothing recorded is lost: resume study "
                f"{self.study} once a cluster runs"))

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.probe()

    def _say(self, level: int, text: str) -> None:
        from rung.reporter import Reporter

        self.lines.append(text)
        Reporter().emit(level, text)


__all__ = ["HeadWatch", "ray_gcs_timeout"]
