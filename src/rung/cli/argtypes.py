"""Argument types shared by the CLI's commands: each parses one flag's value or raises
``argparse.ArgumentTypeError`` (argparse then exits 2 naming the flag)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def seconds(minimum: float, inclusive: bool) -> Callable[[str], float]:
    """A finite number of seconds ``>= minimum`` (``inclusive``) or ``> minimum``."""
    op = ">=" if inclusive else ">"

    def parse(s: str) -> float:
        try:
            v = float(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {s!r}") from None
        if not (math.isfinite(v) and (v >= minimum if inclusive else v > minimum)):
            raise argparse.ArgumentTypeError(
                f"must be a number of seconds {op} {minimum:g}, got {s}")
        return v

    return parse


def _int_at_least(s: str, minimum: int) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {s!r}") from None
    if v < minimum:
        raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {v}")
    return v


def positive_int(s: str) -> int:
    """An integer ``>= 1``."""
    return _int_at_least(s, 1)


def max_step(s: str) -> int:
    """A study's ``max_step``: an integer in ``1..rung._validate.MAX_STEP``."""
    from rung._validate import MAX_STEP

    v = positive_int(s)
    if v > MAX_STEP:
        raise argparse.ArgumentTypeError(f"must be <= {MAX_STEP:,}, got {v:,}")
    return v


def seed(s: str) -> int:
    """A random seed: an integer ``>= 0``."""
    return _int_at_least(s, 0)


__all__ = ["max_step", "positive_int", "seconds", "seed"]
