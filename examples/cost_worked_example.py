"""Is another 100 trials worth it? The worked example of docs/cost.md.

A search of 100 trials (TPE + ASHA, 4 workers) replays the recorded learning curves of an MLP
on MNIST-1D (``benchmarks/curves/mlp-mnist1d.npz``) on the simulated executor. The table's
times are CPU seconds of a small model; ``--scale`` stretches them to stand for a model that
trains for minutes on one A100 at ``--price`` dollars per hour. Then:

1. ``study.ledger()`` says what the 100 trials cost and what another 100 would cost;
2. ``rung.cost.stop_rule.assess`` says what more search can still buy: the regret bound of
   Makarova et al. (2022) and the expected improvement of one more trial, priced at ``--value``
   dollars per unit of validation error;
3. the same search with 200 trials says what the next 100 actually bought.

    python examples/cost_worked_example.py
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import rung
from rung.benchmarks import CurveTable
from rung.cli.ledger import render
from rung.cost.stop_rule import assess

TABLE = Path(__file__).resolve().parent.parent / "benchmarks" / "curves" / "mlp-mnist1d.npz"


class Scaled:
    """A benchmark whose step times are ``scale`` times the table's."""

    def __init__(self, table: CurveTable, scale: float) -> None:
        self.table, self.scale = table, scale
        self.max_step, self.space = table.max_step, table.space

    def evaluate(self, params: dict[str, Any], step: int) -> tuple[dict[str, float], float]:
        metrics, seconds = self.table.evaluate(params, step)
        return metrics, seconds * self.scale


def search(bench: Scaled, n_trials: int, price: float, seed: int) -> rung.Study:
    study = rung.Study.create(
        f"mnist1d-{n_trials}", bench.space, objective=rung.Objective("val_error", "min"),
        searcher="tpe", scheduler=rung.ASHA(reduction_factor=3), max_step=bench.max_step,
        budget=rung.Budget(n_trials=n_trials), seed=seed,
        prices=rung.Prices({"gpu:A100": price}), resources_per_trial={"gpu:A100": 1},
    )
    return study.simulate(bench, n_workers=4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=150.0, help="time stretch of the table")
    ap.add_argument("--price", type=float, default=3.2, help="dollars per A100-hour")
    ap.add_argument("--value", type=float, default=2000.0,
                    help="dollars per unit of validation error gained (0.01 = $20)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    logging.getLogger("rung").setLevel(logging.WARNING)
    bench = Scaled(CurveTable(TABLE, metric="val_error"), args.scale)

    first = search(bench, 100, args.price, args.seed)
    led = first.ledger()
    print(render(led, first.name))
    per_trial = led.total.cost / led.trials
    print(f"cost per trial so far: ${per_trial:.2f}; another 100 trials: about "
          f"${100 * per_trial:.2f}")

    ev = assess(first, value=args.value)
    assert ev is not None
    print(f"the rule models step {ev['step']:.0f} ({ev['trials']:.0f} results there)")
    print(f"best val_error there {ev['best']:.4f}; regret bound {ev['regret_bound']:.4f} "
          f"(the most the search can still gain, with high probability); expected "
          f"improvement of one more trial {ev['expected_improvement']:.5f}; noise "
          f"{ev['noise']:.4f}")
    worth_one = ev["expected_improvement"] * args.value
    print(f"at ${args.value:g} per unit of val_error: one more trial is expected to be worth "
          f"${worth_one:.2f} against ${per_trial:.2f} it costs; the whole remaining gain is "
          f"worth at most ${ev['regret_bound'] * args.value:.2f}")

    more = search(bench, 200, args.price, args.seed)
    led2 = more.ledger()
    best1, best2 = first.best_trial, more.best_trial
    assert best1 is not None and best2 is not None and best1.value is not None \
        and best2.value is not None
    gain = best1.value - best2.value
    print(f"what the next 100 trials did: cost ${led2.total.cost - led.total.cost:.2f}, "
          f"best val_error {best1.value:.4f} -> {best2.value:.4f} (gain {gain:.4f}, worth "
          f"${gain * args.value:.2f})")


if __name__ == "__main__":
    main()
