"""Port of Ray Tune's ``async_hyperband_example.py`` to rung.

The original tunes two dummy hyperparameters, ``width`` and ``height``, of a closed-form learning
curve (``mean_loss`` falls like ``1 / (0.1 + width * step / 100)`` plus ``height / 10``) with
``AsyncHyperBandScheduler(grace_period=5, max_t=100)`` and 20 samples. Ray's defaults make that
scheduler one bracket (``brackets=1``) with ``reduction_factor=4``: asynchronous successive
halving with rungs at 5, 20 and 80 (and the stop at 100), as rung's ``ASHA(reduction_factor=4,
min_step=5)`` has with ``max_step=100``.

What changed in the port:

- ``train.report({"mean_loss": ...})`` is ``ctx.report(step, mean_loss=...)``; the step is
  explicit and starts at 1 (Ray counts ``training_iteration``).
- ``AsyncHyperBandScheduler(grace_period=5, max_t=100)`` is ``rung.ASHA(reduction_factor=4,
  min_step=5)`` with ``max_step=100`` on the study (Ray's one bracket; rung's
  ``AsyncHyperband`` is ``brackets=n`` for more, and its default is every bracket);
  ``metric`` / ``mode`` are given once, to the study, not to the scheduler and the tuner.
- ``tune.Tuner(...).fit()`` is ``rung.run(...)``; ``results.get_best_result()`` is
  ``study.best_trial``. The per-step ``time.sleep(0.1)`` of the original is an option here
  (``--sleep``) so the example runs in seconds.

    python examples/ports/ray_tune_async_hyperband.py                 # 20 trials, 4 workers
    python examples/ports/ray_tune_async_hyperband.py --trials 6 --max-step 20 --workers 2
"""

from __future__ import annotations

import argparse
import time

import rung


def evaluation_fn(step: int, width: float, height: float) -> float:
    return (0.1 + width * step / 100) ** (-1) + height * 0.1


def easy_objective(ctx: rung.TrialContext) -> None:
    width, height = ctx.params["width"], ctx.params["height"]
    for step in range(ctx.start_step, ctx.max_step + 1):
        if ctx.params["sleep"]:
            time.sleep(ctx.params["sleep"])
        ctx.report(step, mean_loss=evaluation_fn(step, width, height))


def main(argv: list[str] | None = None) -> rung.Study:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--max-step", type=int, default=100)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--sleep", type=float, default=0.0, help="seconds per step (original: 0.1)")
    ap.add_argument("--storage", default=None, help="SQLite file (default: in memory)")
    args = ap.parse_args(argv)
    space = {
        "width": rung.Float(0, 20),
        "height": rung.Float(-100, 100),
        "sleep": args.sleep,  # a constant, passed to every trial
    }
    study = rung.run(
        easy_objective, space, metric="mean_loss", mode="min",
        searcher="random", scheduler=rung.ASHA(reduction_factor=4, min_step=5),
        max_step=args.max_step, n_trials=args.trials, n_workers=args.workers,
        storage=args.storage, name="async-hyperband", seed=0,
    )
    best = study.best_trial
    assert best is not None
    print(f"best: width={best.params['width']:.3f} height={best.params['height']:.3f} "
          f"mean_loss={best.value:.4f}")
    return study


if __name__ == "__main__":
    main()
