"""Port of Ray Tune's ``pbt_function.py`` example to rung.

The original trains a toy "accuracy" that grows only while the learning rate ``lr`` is close to
an optimum that moves as the accuracy grows, so no fixed ``lr`` gets far: a population must
exploit (copy the state of a better member) and explore (perturb ``lr``). A member stops once
its accuracy passes 200. Its state lives in checkpoints, which is what an exploit copies.

What changed in the port:

- ``PopulationBasedTraining(time_attr="training_iteration", perturbation_interval=4,
  hyperparam_mutations={"lr": ...})`` is ``rung.PBT(population_size=8,
  perturbation_interval=4, hyperparams=["lr"])``; the mutation range is the space's ``lr``
  (``rung.Float(1e-4, 0.1, log=True)``), so there is one place that says what ``lr`` may be.
- ``train.get_checkpoint()`` / ``train.report(..., checkpoint=Checkpoint.from_directory(...))``
  is ``ctx.checkpoint`` (a directory to read, or ``None``) and ``ctx.report(step, acc=...,
  save=fn)``: rung calls ``fn(directory)`` only when it needs a checkpoint (at a perturbation
  interval), not at every step.
- A population larger than the workers time-shares them (members pause and resume from their
  checkpoints); ``study.best_trial`` is the best member by its latest accuracy.
- The toy itself is made deterministic and faster: a step adds ``10 / q`` (the original adds
  ``random() / q``, 0.5 / q on average, plus Gaussian noise of scale 2), so 100 steps go as far
  as the original's 1,000 iterations and a run is reproducible; the members start from ``lr``
  drawn log-uniformly from [1e-4, 0.1] (the original starts all eight at 1e-4 and resamples from
  ``uniform(1e-4, 0.02)``); ``some_other_factor``, which the original mutates but never uses, is
  left out.

    python examples/ports/ray_tune_pbt.py                       # 8 members, 4 workers
    python examples/ports/ray_tune_pbt.py --population 4 --workers 2 --max-step 40
"""

from __future__ import annotations

import argparse
import json
import os

import rung

GOAL = 200.0


def optimal_lr(acc: float) -> float:
    """The lr that grows the accuracy fastest: rises to 0.01 at accuracy 100, then falls."""
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


def train(ctx: rung.TrialContext) -> None:
    lr = float(ctx.params["lr"])
    acc = 0.0
    if ctx.checkpoint is not None:  # our own, or the donor's after an exploit
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


def main(argv: list[str] | None = None) -> rung.Study:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, default=8)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--max-step", type=int, default=100)
    ap.add_argument("--storage", default=None)
    args = ap.parse_args(argv)
    study = rung.run(
        train, {"lr": rung.Float(1e-4, 0.1, log=True)}, metric="acc", mode="max",
        searcher="random",
        scheduler=rung.PBT(population_size=args.population, perturbation_interval=4,
                           hyperparams=["lr"]),
        max_step=args.max_step, n_trials=args.population,  # forks do not count as trials
        n_workers=args.workers, storage=args.storage, name="pbt", seed=0,
    )
    best = study.best_trial
    assert best is not None
    print(f"best member: trial {best.id}, lr={best.params['lr']:.5f}, acc={best.value:.1f}")
    return study


if __name__ == "__main__":
    main()
