"""The formatting the plain-text views share: numbers, params, durations and tables.

Each function returns a string and reads nothing but its arguments: numbers in at most ~6
significant digits (``nan``, ``inf`` and integers as they are), ``k=v`` params on one line,
durations as ``12.3s`` / ``4m05s`` / ``2h03m``, and tables as left-aligned columns separated by
two spaces. Importing this module imports no ``Study``.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rung._validate import is_int, is_number


def fmt_num(x: Any) -> str:
    """A number in at most ~6 significant digits; anything else as ``str``."""
    if not is_number(x) or is_int(x):
        return str(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.6g}"


def fmt_params(params: Mapping[str, Any]) -> str:
    """``k=v`` pairs on one line: a line break inside a value is shown as ``\\n``."""
    text = " ".join(f"{k}={fmt_num(v)}" for k, v in params.items())
    return text.replace("\r", "\\r").replace("\n", "\\n")


def fmt_duration(seconds: float) -> str:
    s = max(0.0, float(seconds))
    if s < 60:
        return f"{s:.1f}s"
    m, s = divmod(round(s), 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide East Asian characters (CJK) take two,
    combining marks none."""
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], indent: str = "  ") -> str:
    """Left-aligned columns separated by two spaces (aligned by ``width``: a study named in
    CJK keeps its columns)."""
    cells = [[str(h) for h in headers], *[[fmt_num(c) for c in r] for r in rows]]
    widths = [max(width(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c + " " * (w - width(c)) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in cells]
    return "\n".join(indent + line for line in lines)
