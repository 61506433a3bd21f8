"""Scripted scheduler tests: drive a real ``Engine`` event by event and look at its commands."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rung import Budget, Float, Objective, SearchSpace
from rung.core import (
    CapacityChanged,
    CheckpointSaved,
    Command,
    ComponentSpec,
    Decision,
    Engine,
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
from rung.storage.codec import from_body, to_body

SPACE = SearchSpace({"x": Float(0.0, 1.0)})


class Script:
    """An engine fed by hand. Every method feeds one or two events and returns what they caused;
    ``records`` keeps the journal, so ``replayed()`` can check that replay reproduces the run."""

    def __init__(
        self,
        scheduler: Scheduler,
        max_step: int = 9,
        budget: Budget | None = None,
        space: SearchSpace = SPACE,
        seed: int = 0,
        keep: int = 1,
        objective: Objective | None = None,
    ) -> None:
        self.spec = StudySpec(
            "t",
            space,
            objective or Objective("loss"),
            ComponentSpec("random"),
            scheduler.to_spec(),
            max_step,
            budget or Budget(n_trials=1000),
            seed=seed,
            keep_checkpoints=keep,
        )
        self.engine = Engine(self.spec, RandomSearcher(), scheduler)
        self.scheduler = scheduler
        self.time = 0.0
        self.records: list[Record] = []
        self.commands: list[Command] = []

    def feed(self, *events: Any) -> list[Command]:
        out: list[Command] = []
        for ev in events:
            cmds = self.engine.handle(ev)
            self.records.append(ev)
            self.records.extend(cmds)
            out.extend(cmds)
        self.commands.extend(out)
        return out

    def tick(self) -> float:
        self.time += 1.0
        return self.time

    def capacity(self, n: int) -> list[Launch]:
        return launches(self.feed(CapacityChanged(n, self.tick())))

    def start(self, *tids: int) -> None:
        for tid in tids:
            self.feed(TrialStarted(tid, self.tick()))

    def report(self, tid: int, step: int, loss: float) -> Decision | None:
        """The decision replied to this result (``loss``: the objective's metric, ``"loss"``
        unless the script was given another), or ``None`` (no reply: streaming on)."""
        metric = self.spec.objective.metric
        cmds = self.feed(ResultReported(tid, step, {metric: loss}, self.tick()))
        replies = [c for c in cmds if isinstance(c, Reply) and c.trial_id == tid]
        assert len(replies) <= 1
        return replies[0].decision if replies else None

    def run(self, tid: int, steps: Sequence[int], loss: float) -> Decision | None:
        """Report ``loss`` at each step; returns the last reply."""
        d = None
        for s in steps:
            d = self.report(tid, s, loss)
        return d

    def checkpoint(self, tid: int, step: int) -> list[Command]:
        return self.feed(CheckpointSaved(tid, step, f"c/{tid}/{step}", self.tick(), 10))

    def end(self, tid: int, outcome: str = "completed") -> list[Launch]:
        return launches(self.feed(TrialEnded(tid, Outcome(outcome), self.tick())))

    def pause(self, tid: int, step: int) -> list[Launch]:
        """What a worker does on PAUSE: save a checkpoint, end paused."""
        self.checkpoint(tid, step)
        return self.end(tid, "paused")

    def replayed(self) -> Engine:
        decoded = [from_body(*to_body(r)) for r in self.records]
        return Engine.replay(self.spec, decoded)

    def assert_replay_matches(self) -> None:
        again = self.replayed()
        assert json.dumps(again.scheduler.state(), sort_keys=True) == json.dumps(
            self.scheduler.state(), sort_keys=True
        )


def launches(cmds: Sequence[Command]) -> list[Launch]:
    return [c for c in cmds if isinstance(c, Launch)]


def summary(ls: Sequence[Launch]) -> list[tuple[int, int, int, str | None]]:
    """``(trial, start_step, until_step, checkpoint)`` of each launch."""
    return [(c.trial_id, c.start_step, c.until_step, c.checkpoint) for c in ls]


def tags(engine: Engine, tid: int) -> Mapping[str, Any]:
    return engine.history.tags(tid)
