"""A PBT toy in the spirit of Ray Tune's ``pbt_function`` example (written from its description):
the accuracy grows while ``lr`` is within a factor 3 of an optimum that itself moves with the
accuracy (rising to 0.01 at accuracy 100, falling back after), so no fixed ``lr`` gets far and a
population that exploits and explores does. A member whose accuracy passes 200 is done and
returns early. The state (the accuracy) lives in checkpoints, so a fork continues its donor's
run. Deterministic: no noise."""

from __future__ import annotations

import json
import os

from rung import TrialContext

GOAL = 200.0


def optimal_lr(acc: float) -> float:
    mid = GOAL / 2
    best = 0.01 * acc / mid if acc < mid else 0.01 - 0.01 * (acc - mid) / mid
    return min(0.01, max(0.001, best))


def step_accuracy(acc: float, lr: float) -> float:
    opt = optimal_lr(acc)
    q = max(lr, opt) / min(lr, opt)
    if q < 3:
        acc += 10.0 / q
    elif lr > opt:
        acc -= q - 3
    return max(acc, 0.0)


def toy(ctx: TrialContext) -> None:
    lr = float(ctx.params["lr"])
    acc = 0.0
    if ctx.checkpoint is not None:
        with open(os.path.join(ctx.checkpoint, "state.json")) as f:
            acc = float(json.load(f)["acc"])
    for step in range(ctx.start_step, ctx.max_step + 1):
        acc = step_accuracy(acc, lr)

        def save(directory: str, acc: float = acc) -> None:
            with open(os.path.join(directory, "state.json"), "w") as f:
                json.dump({"acc": acc}, f)

        ctx.report(step, acc=acc, save=save)
        if acc > GOAL:
            return
