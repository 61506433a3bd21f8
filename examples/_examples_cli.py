"""The command line that the examples on real data share (``mlp_digits.py``, ``boosting.py``):
the same options, and the same report of the best trial at the end. Not an example itself.

Each example imports it inside its ``main``, so that the example's objective (``train``) stays
importable on its own: by the tests, by ``rung run examples/spec.yaml`` and by worker processes.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import rung


def parse_args(argv: list[str] | None, doc: str, name: str, unit: str) -> argparse.Namespace:
    """The example's options (``--trials``, ``--max-step``, ``--workers``,
    ``--checkpoint-every``, ``--storage``, ``--name``), parsed; the journal's folder exists.

    Args:
        argv: the arguments (``None``: the command line's).
        doc: the example's docstring; its first line describes the command.
        name: the study's default name.
        unit: what one step is, plural (``"epochs"``), for the help texts.
    """
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--trials", type=int, default=60, help="configurations to try")
    ap.add_argument("--max-step", type=int, default=27, help=f"{unit} of a full run")
    ap.add_argument("--workers", type=int, default=None, help="default: all cores")
    ap.add_argument("--checkpoint-every", type=int, default=None, metavar=unit.upper(),
                    help=f"also checkpoint every that many {unit}")
    ap.add_argument("--storage", default="runs/examples.db", help="SQLite journal")
    ap.add_argument("--name", default=name)
    args = ap.parse_args(argv)
    Path(args.storage).parent.mkdir(parents=True, exist_ok=True)
    return args


def print_best(study: rung.Study, unit: str, metrics: Sequence[str],
               count: str | None = None) -> None:
    """Print the best trial (its ``metrics``, and ``count`` in parentheses: ``"(270 trees)"``),
    its params and the trials by status."""
    best = study.best_trial
    assert best is not None
    m = best.metrics
    note = f" ({m[count]} {count})" if count is not None else ""
    values = " ".join(f"{k}={m[k]:.4f}" for k in metrics)
    print(f"best trial #{best.id} after {best.last_step} {unit}{note}: {values}")
    print("params:", dict(best.params))
    print("by status:", study.summary()["by_status"])
