"""Port of Ray Tune's ``bohb_example.py`` to rung.

The original runs BOHB (``TuneBOHB`` searcher + ``HyperBandForBOHB`` scheduler, ``max_t=100``,
``reduction_factor=4``) on a dummy agent whose ``episode_reward_mean`` follows a sigmoid-like
curve whose slope is set by ``width`` and whose ceiling by ``height``, with an ``activation``
categorical in the space (in this port it scales the reward, so the categorical matters, and
has a third choice, ``"sigmoid"``). That is the example as Ray 2.x long shipped it; the copy in
Ray 2.60 runs a smaller budget (``max_t=10``, ``reduction_factor=2``, 32 samples, at most 4 at
once), which this port does not reproduce (its ``reduction_factor`` is 4).

What changed in the port:

- The Trainable class (``setup`` / ``step`` / ``save_checkpoint`` / ``load_checkpoint``) is one
  function: a loop over ``ctx.start_step .. ctx.max_step`` that calls ``ctx.report``.
  ``save_checkpoint`` is the ``save=`` callback (it writes the time step, as the original
  does), called only when Hyperband pauses the trial at a rung; ``load_checkpoint`` is reading
  ``ctx.checkpoint`` when the trial is resumed (``ctx.start_step`` is the step after it).
- ``TuneBOHB`` + ``HyperBandForBOHB`` is ``searcher="bohb"`` + ``rung.Hyperband(reduction_factor=4,
  min_step=...)``; BOHB's ConfigSpace is rung's ``SearchSpace`` (no extra package).
- ``metric="episode_reward_mean", mode="max"`` is given once, to the study.

    python examples/ports/ray_tune_bohb.py                    # 4 Hyperband iterations
    python examples/ports/ray_tune_bohb.py --trials 12 --max-step 16 --workers 2

The default, 392 trials, is 4 Hyperband iterations at ``max_step=100``, eta 4: each iteration
opens brackets of 64, 22, 8 and 4 trials (first rungs at steps 1, 6, 25 and 100), 98 trials,
and completes 8 of them (1 + 1 + 2 + 4), so 32 trials reach step 100. It runs in about 10 s on
4 workers. Fewer trials than one iteration's 98 leave later brackets unopened: 60 trials fill
60 of the first bracket's 64 slots, and only one trial completes.
"""

from __future__ import annotations

import argparse
import json
import math
import os

import rung

SCALE = {"relu": 1.0, "tanh": 0.8, "sigmoid": 0.6}
TRIALS = 392  # 4 Hyperband iterations of 98 trials (max_step 100, eta 4)


def reward(step: int, width: float, height: float, activation: str) -> float:
    return math.tanh(step / max(width, 1e-9)) * height * SCALE[activation]


def agent(ctx: rung.TrialContext) -> None:
    p = ctx.params
    if ctx.checkpoint is not None:  # load_checkpoint
        with open(os.path.join(ctx.checkpoint, "state.json")) as f:
            assert json.load(f)["timestep"] == ctx.start_step - 1
    for step in range(ctx.start_step, ctx.max_step + 1):

        def save(directory: str, step: int = step) -> None:  # save_checkpoint
            with open(os.path.join(directory, "state.json"), "w") as f:
                json.dump({"timestep": step}, f)

        ctx.report(step, episode_reward_mean=reward(step, p["width"], p["height"],
                                                    p["activation"]), save=save)


def main(argv: list[str] | None = None) -> rung.Study:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=TRIALS)
    ap.add_argument("--max-step", type=int, default=100)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--storage", default=None)
    args = ap.parse_args(argv)
    space = {
        "width": rung.Float(1, 20),
        "height": rung.Float(1, 100),
        "activation": rung.Categorical(["relu", "tanh", "sigmoid"]),
    }
    study = rung.run(
        agent, space, metric="episode_reward_mean", mode="max",
        searcher="bohb", scheduler=rung.Hyperband(reduction_factor=4),
        max_step=args.max_step, n_trials=args.trials, n_workers=args.workers,
        storage=args.storage, name="bohb", seed=0,
    )
    best = study.best_trial
    assert best is not None
    print(f"best: {dict(best.params)} episode_reward_mean={best.value:.3f}")
    return study


if __name__ == "__main__":
    main()
