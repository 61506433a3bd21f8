"""The command line that the examples on real data share (``mlp_digits.py``, ``boosting.py``):
the same options, the same rule for bad input, and the same report of the best trial at the
end. Not an example itself.

Each example imports it inside its ``main``, so that the example's objective (``train``) stays
importable on its own: by the tests, by ``rung run examples/spec.yaml`` and by worker processes.

Bad input is refused as ``rung`` refuses it: one line naming the option or the study setting
and what is wrong with it, exit code 2, nothing written (``--workers 0``; a ``--max-step``
that an existing study of the same name was not created with).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import rung

#: The defaults of ``--trials`` and ``--max-step``: a run with both is the study of the
#: example's own name; other values are other studies (see ``study_name``).
TRIALS = 60
MAX_STEP = 27


class Parser(argparse.ArgumentParser):
    """argparse with rung's rule for bad input: one line, exit code 2
    (``mlp_digits.py: error: --workers: must be >= 1, got 0 (mlp_digits.py --help)``),
    without argparse's usage block."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split()).removeprefix("argument ")
        print(f"{self.prog}: error: {text} ({self.prog} --help)", file=sys.stderr, flush=True)
        raise SystemExit(2)


def _count(least: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer >= ``least``."""

    def parse(s: str) -> int:
        try:
            v = int(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {s!r}") from None
        if v < least:
            raise argparse.ArgumentTypeError(f"must be >= {least}, got {v}")
        return v

    parse.__name__ = "integer"
    return parse


def study_name(base: str, trials: int, max_step: int, unit: str) -> str:
    """The default study name: ``base`` for the default ``--trials`` and ``--max-step``, else
    ``base`` with those that differ appended (``mlp_digits-8trials-9epochs``). A study's budget
    and ``max_step`` are fixed when it is created, so other values are another study, and
    running the same command again resumes its own study."""
    parts = [base]
    if trials != TRIALS:
        parts.append(f"{trials}trials")
    if max_step != MAX_STEP:
        parts.append(f"{max_step}{unit}")
    return "-".join(parts)


def parse_args(argv: list[str] | None, doc: str, name: str,
               unit: str) -> tuple[Parser, argparse.Namespace]:
    """The example's parser and its options (``--trials``, ``--max-step``, ``--workers``,
    ``--checkpoint-every``, ``--storage``, ``--name``), checked; the journal's folder exists.
    A bad value exits with code 2 and one line before anything is written.

    ``args.checkpoint_every`` is what ``Study.run`` takes: ``1`` by default (every step: the
    examples' ASHA has its first rung at step 1, and a trial resumed after a crash of the
    driver or of its worker goes on from its last step instead of retraining from step 1),
    ``None`` for ``--checkpoint-every 0`` (only the checkpoints the scheduler asks for).
    ``args.name`` is ``--name``, or ``study_name``'s default.

    Args:
        argv: the arguments (``None``: the command line's).
        doc: the example's docstring; its first line describes the command.
        name: the study's base name.
        unit: what one step is, plural (``"epochs"``), for the help texts and the name.
    """
    ap = Parser(description=doc.splitlines()[0])
    ap.add_argument("--trials", type=_count(1), default=TRIALS, metavar="N",
                    help=f"configurations to try (default {TRIALS})")
    ap.add_argument("--max-step", type=_count(1), default=MAX_STEP, metavar=unit.upper(),
                    help=f"{unit} of a full run (default {MAX_STEP})")
    ap.add_argument("--workers", type=_count(1), default=None, metavar="N",
                    help="trials at once (default: all cores)")
    ap.add_argument("--checkpoint-every", type=_count(0), default=1, metavar=unit.upper(),
                    help=f"checkpoint every that many {unit}, so that a trial resumed after a "
                         f"crash goes on from there (default 1); 0: only when the scheduler "
                         f"asks for one")
    ap.add_argument("--storage", default="runs/examples.db", help="SQLite journal "
                    "(default runs/examples.db)")
    ap.add_argument("--name", default=None,
                    help=f"the study (default {name}; with other --trials or --max-step, "
                         f"those appended: {name}-8trials-9{unit})")
    args = ap.parse_args(argv)
    if args.checkpoint_every == 0:
        args.checkpoint_every = None
    if args.name is None:
        args.name = study_name(name, args.trials, args.max_step, unit)
    try:
        Path(args.storage).parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        ap.error(f"--storage: cannot create the folder of {args.storage!r}: {e.strerror}")
    return ap, args


@contextmanager
def refused_as_bad_input(ap: argparse.ArgumentParser,
                         errors: tuple[type[Exception], ...] = (rung.RungError,)) -> Iterator[None]:
    """Inside: an error of ``errors`` (rung's own: a setting rung refuses, a study that exists
    with other settings) ends the program as bad input does: one line naming the key and what
    is wrong (``ap.error``), exit code 2. Study.create writes nothing when it refuses."""
    try:
        yield
    except errors as e:
        ap.error(str(e))


def print_best(study: rung.Study, args: argparse.Namespace, unit: str, metrics: Sequence[str],
               count: str | None = None) -> None:
    """Print the best trial (its ``metrics``, and ``count`` in parentheses: ``"(270 trees)"``),
    its params, the trials by status and the command that shows the study."""
    best = study.best_trial
    assert best is not None
    m = best.metrics
    note = f" ({m[count]} {count})" if count is not None else ""
    values = " ".join(f"{k}={m[k]:.4f}" for k in metrics)
    print(f"best trial #{best.id} after {best.last_step} {unit}{note}: {values}")
    print("params:", dict(best.params))
    print("by status:", study.summary()["by_status"])
    print(f"the study: rung show {args.name} --storage {args.storage}")
