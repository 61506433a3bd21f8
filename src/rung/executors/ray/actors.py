"""The actors of a Ray run: one per slot, started, stopped, and buried when Ray reports them dead.

``ActorPool`` is the part of ``RayExecutor`` that keeps one worker actor per slot of the
cluster's capacity (starting missing ones, stopping idle or unready ones beyond it) and ends
the trials of actors Ray reports dead as ``interrupted``. It reads the executor's
``capacity``, ``resources``, ``actor_options``, ``checkpoint_every``, ``_ray``, ``_tp``,
``_cls``, ``_payload``, ``_study``, ``_workers`` and ``_wid``, which the executor initializes.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from rung.core.events import Event
from rung.core.records import Outcome
from rung.errors import ConfigError, RungError
from rung.executors.pool import MAX_STARTUP_DEATHS, Pool
from rung.executors.ray.resources import actor_resource_options
from rung.executors.ray.transport import (
    Death,
    RayWorker,
    Transport,
    death_known,
    describe_death,
    error_of,
    first_line,
)

log = logging.getLogger("rung.ray")


class ActorPool(Pool[RayWorker]):
    """The worker actors of ``RayExecutor`` (a base class: every attribute below is the
    executor's)."""

    capacity: int
    resources: dict[str, float]
    actor_options: dict[str, Any]
    checkpoint_every: int | None
    _ray: Any
    _tp: Transport | None
    _cls: Any
    _payload: Any
    _study: str
    _workers: dict[int, RayWorker]
    _wid: int

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
        tp = self._tp
        assert tp is not None
        self._wid += 1
        wid = self._wid
        opts = {**actor_resource_options(self.resources), "max_restarts": 0,
                "max_task_retries": 0, **self.actor_options,
                "max_concurrency": tp.max_concurrency}
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self._study)[:40]
        prefix = f"rung-ray-{safe}-{wid}-"
        try:
            cls = self._cls.options(**opts)
        except ValueError as e:  # Ray refuses an option: a key of actor_options
            raise ConfigError(key="actor_options", message=first_line(str(e))) from None
        actor = cls.remote(self._payload, wid, self.checkpoint_every, prefix)
        w = RayWorker(wid, actor)
        self._workers[wid] = w
        tp.attach(w)

    def _retire(self, w: RayWorker) -> None:
        """Stop a worker that is not running a trial (surplus, or after its trial)."""
        self._drop(w)
        self._kill(w)

    def _drop(self, w: RayWorker) -> None:
        w.dead = True
        self._workers.pop(w.wid, None)
        if self._tp is not None:
            self._tp.detach(w)
        with contextlib.suppress(ValueError):
            self._idle.remove(w)

    def _kill(self, w: RayWorker) -> None:
        with contextlib.suppress(Exception):
            self._ray.kill(w.actor, no_restart=True)

    def _bury(self, dead: list[Death], out: list[Event]) -> None:
        """End the trials of dead actors as interrupted and forget the actors."""
        ray = self._ray
        # a connection that closed is usually seen before Ray reports the death: give Ray a
        # moment to say why (a killed process) for the trial's error text. A lost node takes
        # Ray about 10 s: without a verdict the text says what is known (describe_death)
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
                err = error_of(ray, w.life)
            self._drop(w)
            self._kill(w)
            if not w.ready:
                if err is not None and getattr(err, "actor_init_failed", False):
                    self._startup_deaths += 1
                    log.warning("%s failed to start: %s", w.where(), first_line(str(err)))
                    if self._startup_deaths >= MAX_STARTUP_DEATHS:
                        raise RungError(
                            f"{self._startup_deaths} Ray worker actors in a row failed to "
                            f"start (is rung installed on every node?):\n{err}"
                        )
                elif isinstance(getattr(err, "cause", None), RungError):
                    raise RungError(str(getattr(err, "cause", err)))  # serve() could not connect
                else:
                    log.warning("%s died before it was ready: %s", w.where(),
                                describe_death(err))
                continue
            if w.trial is not None:
                # "died" only when Ray said so; else "was lost" and what is known so far
                verb = "died" if death_known(err) else "was lost"
                reason = (f"{w.where()} {verb} while running trial {w.trial}: "
                          f"{describe_death(err)}")
                self._end_run(w, out, Outcome.INTERRUPTED, reason)


__all__ = ["ActorPool"]
