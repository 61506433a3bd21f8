"""Peers driven through ask/tell on one event-heap clock: Optuna 5 (TPE + Hyperband or
successive halving pruners) and DEHB."""

from __future__ import annotations

import heapq
import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from bench_searchers import _ask_params, _optuna_distributions

from allocation.regret import Obs
from allocation.tasks import ETA, Problem


class AskTellPeer(Protocol):
    def start(self) -> tuple[Mapping[str, Any], int] | None:
        """A new trial: ``(params, last step to train)``, or ``None`` (nothing to start)."""

    def report(self, handle: int, step: int, score: float) -> bool:
        """A step's score; ``False`` stops the trial here."""

    def end(self, handle: int, step: int, score: float, completed: bool) -> None:
        """The trial ended at ``step`` (``completed``: it reached its last step)."""


@dataclass
class AskTellRun:
    obs: list[Obs] = field(default_factory=list)
    params: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    busy: float = 0.0


def simulate_ask_tell(
    peer: AskTellPeer,
    step_fn: Callable[[Mapping[str, Any], int], tuple[float, float]],
    n_workers: int,
    horizon: float,
) -> AskTellRun:
    """Run an ask/tell optimizer on ``n_workers`` simulated slots until ``horizon``.

    A trial is a sequence of steps from 1; ``step_fn(params, step) -> (score, seconds)`` gives
    each step's result and cost. Step ``s`` of a trial started at ``t0`` finishes at ``t0`` plus
    the costs of steps ``1..s``; its result is reported then, and a trial that ends (its last
    step, or a ``False`` from ``report``) frees its slot at that instant, which asks for the next
    trial at once. Events are ordered by ``(time, sequence)``: deterministic. Handles are
    ``0, 1, 2, ...`` in start order. Nothing finishing after ``horizon`` is reported."""
    run = AskTellRun()
    heap: list[tuple[float, int, int, int, int]] = []  # (time, seq, handle, step, last)
    seq = 0
    next_handle = 0

    def launch(now: float) -> bool:
        nonlocal seq, next_handle
        got = peer.start()
        if got is None:
            return False
        params, last = got
        h = next_handle
        next_handle += 1
        run.params[h] = params
        _, cost = step_fn(params, 1)
        heapq.heappush(heap, (now + cost, seq, h, 1, last))
        seq += 1
        return True

    for _ in range(n_workers):
        if not launch(0.0):
            break
    while heap:
        t, _, h, s, last = heapq.heappop(heap)
        if t > horizon:
            break
        params = run.params[h]
        score, cost = step_fn(params, s)
        run.busy += cost
        run.obs.append((t, h, s, score))
        go_on = peer.report(h, s, score)
        if s >= last or not go_on:
            peer.end(h, s, score, completed=s >= last)
            launch(t)
        else:
            _, nxt = step_fn(params, s + 1)
            heapq.heappush(heap, (t + nxt, seq, h, s + 1, last))
            seq += 1
    return run



class OptunaPeer:
    """TPE with a pruner; trials report every step and stop when ``should_prune``."""

    def __init__(self, p: Problem, pruner: str, seed: int) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if pruner == "hyperband":
            pr: Any = optuna.pruners.HyperbandPruner(
                min_resource=1, max_resource=p.max_step, reduction_factor=ETA)
        else:
            pr = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=ETA)
        self.optuna = optuna
        self.study = optuna.create_study(
            sampler=optuna.samplers.TPESampler(seed=seed), pruner=pr, direction="minimize")
        self.p = p
        self.dists = _optuna_distributions(p.space)
        self.trials: dict[int, Any] = {}
        self.n = 0

    def start(self) -> tuple[Mapping[str, Any], int]:
        t = self.study.ask()
        self.trials[self.n] = t
        self.n += 1
        return _ask_params(t, self.p.space, self.dists), self.p.max_step

    def report(self, handle: int, step: int, score: float) -> bool:
        t = self.trials[handle]
        t.report(score, step)
        return not t.should_prune()

    def end(self, handle: int, step: int, score: float, completed: bool) -> None:
        t = self.trials.pop(handle)
        if completed:
            self.study.tell(t, score)
        else:
            self.study.tell(t, state=self.optuna.trial.TrialState.PRUNED)


class DEHBPeer:
    """DEHB (Awad et al. 2021) on the unit cube of the space (``cs=None``), decoded by
    ``SearchSpace.from_unit``; a job trains from step 1 to its fidelity (DEHB does not resume),
    and its final score is told with its cost."""

    def __init__(self, p: Problem, seed: int, tmp: str) -> None:
        from dehb import DEHB

        self.p = p
        self.opt = DEHB(
            cs=None, dimensions=p.space.n_dims, min_fidelity=1, max_fidelity=p.max_step,
            eta=ETA, n_workers=1, seed=seed, output_path=tmp, save_freq=None,
            log_level="ERROR",
        )
        self.jobs: dict[int, tuple[dict[str, Any], float]] = {}
        self.n = 0

    def start(self) -> tuple[Mapping[str, Any], int]:
        job = self.opt.ask()
        params = self.p.space.from_unit(np.clip(np.asarray(job["config"], float), 0.0, 1.0))
        last = max(1, min(self.p.max_step, round(float(job["fidelity"]))))
        cost = sum(self.p.step(params, s)[1] for s in range(1, last + 1))
        self.jobs[self.n] = (job, cost)
        self.n += 1
        return params, last

    def report(self, handle: int, step: int, score: float) -> bool:
        return True

    def end(self, handle: int, step: int, score: float, completed: bool) -> None:
        job, cost = self.jobs.pop(handle)
        self.opt.tell(job, {"fitness": score, "cost": cost})


def run_ask_tell(method: str, p: Problem, workers: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        if method == "optuna-tpe+hyperband":
            peer: Any = OptunaPeer(p, "hyperband", seed)
        elif method == "optuna-tpe+sh":
            peer = OptunaPeer(p, "sh", seed)
        elif method == "dehb":
            logging.getLogger("distributed").setLevel(logging.ERROR)
            peer = DEHBPeer(p, seed, tmp)
            from loguru import logger

            logger.remove()
        else:
            raise ValueError(method)
        run = simulate_ask_tell(peer, p.step, workers, p.budget / workers)
    return {"obs": run.obs, "params": run.params, "busy": run.busy}

