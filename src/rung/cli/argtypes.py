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


__all__ = ["seconds"]
