"""A worker model driven by hypothesis: which trial reports next, which worker dies, when the
capacity changes. It follows the lease protocol exactly as the simulated executor does, but the
interleaving is chosen by the test, so schedulers meet orders a clock would rarely produce."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rung import Budget, Float, Objective, SearchSpace
from rung.core import (
    Action,
    Cancel,
    CapacityChanged,
    CheckpointSaved,
    Command,
    ComponentSpec,
    Decision,
    Engine,
    Event,
    Launch,
    Record,
    Reply,
    ResultReported,
    StudySpec,
    TrialEnded,
    TrialStarted,
)
from rung.core.components import Scheduler
from rung.core.records import Outcome
from rung.searchers import RandomSearcher

SPACE = SearchSpace({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})


def loss(params: Any, step: int) -> float:
    """A small deterministic multi-fidelity function: a bowl plus a step-dependent wiggle."""
    x, y = float(params["x"]), float(params["y"])
    return (x - 0.3) ** 2 + (y - 0.6) ** 2 + 0.3 * math.sin(13 * x + 7 * y + step) / math.sqrt(step)


class SmallBench:
    """The same function for the simulated executor; step costs differ per configuration."""

    def __init__(self, max_step: int) -> None:
        self.max_step = max_step
        self.space = SPACE

    def evaluate(self, params: Any, step: int) -> tuple[dict[str, float], float]:
        return {"loss": loss(params, step)}, 0.5 + float(params["x"]) + 0.5 * float(params["y"])


@dataclass
class _Job:
    step: int
    until: int
    max_step: int
    waiting: bool = False
    pending: Decision | None = None


class RandomWorld:
    """Run ``scheduler`` with choices drawn from ``choose(n) -> int in [0, n)``."""

    def __init__(
        self, scheduler: Scheduler, max_step: int, budget: Budget, seed: int = 0,
        stride: int = 1,
    ) -> None:
        self.spec = StudySpec(
            "w", SPACE, Objective("loss"), ComponentSpec("random"), scheduler.to_spec(),
            max_step, budget, seed=seed,
        )
        self.engine = Engine(self.spec, RandomSearcher(), scheduler)
        self.records: list[Record] = []
        self.jobs: dict[int, _Job] = {}
        self.queue: deque[Event] = deque()
        self.time = 0.0
        self.capacity = 0
        self.max_active = 0
        self.stride = stride  # steps between two reports (an objective that skips steps)

    # --- events in, commands out --------------------------------------------------------------
    def _now(self) -> float:
        self.time += 1.0
        return self.time

    def _flush(self) -> None:
        while self.queue:
            ev = self.queue.popleft()
            cmds = self.engine.handle(ev)
            self.records.append(ev)
            self.records.extend(cmds)
            for c in cmds:
                self._apply(c)

    def _apply(self, c: Command) -> None:
        if isinstance(c, Launch):
            assert c.trial_id not in self.jobs, f"trial {c.trial_id} launched while running"
            self.jobs[c.trial_id] = _Job(c.start_step - 1, c.until_step, c.max_step)
            self.max_active = max(self.max_active, len(self.jobs))
            self.queue.append(TrialStarted(c.trial_id, self._now()))
        elif isinstance(c, Reply):
            job = self.jobs.get(c.trial_id)
            if job is None:
                return
            d = c.decision
            if job.waiting and c.step == job.step:
                job.waiting = False
                if d.action is Action.CONTINUE:
                    job.until = d.until_step if d.until_step is not None else job.max_step
                    if d.checkpoint:
                        self._save(c.trial_id, job.step)
                else:
                    self._honour(c.trial_id, job, d)
            elif d.action is not Action.CONTINUE:
                job.pending = d
            elif d.checkpoint:
                self._save(c.trial_id, c.step)
        elif isinstance(c, Cancel) and c.trial_id in self.jobs:
            del self.jobs[c.trial_id]
            self.queue.append(TrialEnded(c.trial_id, Outcome.STOPPED, self._now()))

    def _save(self, tid: int, step: int) -> None:
        self.queue.append(CheckpointSaved(tid, step, f"w/{tid}/{step}", self._now(), 1))

    def _honour(self, tid: int, job: _Job, d: Decision) -> None:
        if d.action is Action.PAUSE:
            self._save(tid, job.step)
            self._end(tid, Outcome.PAUSED)
        else:
            self._end(tid, Outcome.STOPPED)

    def _end(self, tid: int, outcome: Outcome) -> None:
        del self.jobs[tid]
        self.queue.append(TrialEnded(tid, outcome, self._now()))

    # --- actions ------------------------------------------------------------------------------
    def set_capacity(self, n: int) -> None:
        self.capacity = n
        self.queue.append(CapacityChanged(n, self._now()))
        self._flush()

    def advance(self, tid: int) -> None:
        job = self.jobs[tid]
        assert not job.waiting
        job.step = min(job.step + self.stride, job.max_step)
        params = self.engine.history.params(tid)
        self.queue.append(ResultReported(tid, job.step, {"loss": loss(params, job.step)},
                                         self._now()))
        if job.pending is not None:
            self._honour(tid, job, job.pending)
        elif job.step >= job.max_step:
            self._end(tid, Outcome.COMPLETED)
        elif job.step >= job.until:
            job.waiting = True
        self._flush()

    def kill(self, tid: int, outcome: Outcome) -> None:
        self._end(tid, outcome)
        self._flush()

    def run(self, choose: Callable[[int], int], capacity: int, chaos_steps: int) -> None:
        """``chaos_steps`` choices (reports in any order, failures, interruptions, capacity
        changes), then a deterministic drain until nothing runs."""
        self.set_capacity(capacity)
        for _ in range(chaos_steps):
            ready = sorted(t for t, j in self.jobs.items() if not j.waiting)
            if not ready:
                break
            what = choose(40)
            tid = ready[choose(len(ready))]
            if what == 0:
                self.kill(tid, Outcome.FAILED)
            elif what == 1:
                self.kill(tid, Outcome.INTERRUPTED)
            elif what == 2:
                self.set_capacity(1 + choose(capacity + 2))
            else:
                self.advance(tid)
        self.set_capacity(max(self.capacity, 1))
        for _ in range(1_000_000):
            ready = sorted(t for t, j in self.jobs.items() if not j.waiting)
            if not ready:
                break
            self.advance(ready[0])
        assert not self.jobs, f"stalled with trials {sorted(self.jobs)} waiting for replies"
        assert not self.engine.active, "the engine thinks trials still run"

    # --- checks -------------------------------------------------------------------------------
    def check_protocol(self) -> None:
        """Running <= capacity at every launch; every launched run ends exactly once."""
        active: set[int] = set()
        launched: dict[int, int] = {}
        ended: dict[int, int] = {}
        cap = 0
        for r in self.records:
            if isinstance(r, CapacityChanged):
                cap = r.capacity
            elif isinstance(r, Launch):
                assert r.trial_id not in active
                active.add(r.trial_id)
                launched[r.trial_id] = launched.get(r.trial_id, 0) + 1
                assert len(active) <= cap, f"{len(active)} running with capacity {cap}"
            elif isinstance(r, TrialEnded) and r.trial_id in active:
                active.discard(r.trial_id)
                ended[r.trial_id] = ended.get(r.trial_id, 0) + 1
            elif isinstance(r, Reply):
                assert r.trial_id in active, f"decision for trial {r.trial_id}, not running"
        assert not active
        assert launched == ended

    def check_replay(self) -> None:
        again = Engine.replay(self.spec, self.records)
        assert again.scheduler.state() == self.engine.scheduler.state()
        assert again.history.version == self.engine.history.version
