"""What the tests that check the docs' command output share: running ``rung`` in a
subprocess (``_cli``), a page's text with white space flattened (``_flat``, for prose that
rewraps), the line comparison the output checks use (``_same_line``: words exact, numbers within
2%), and ``SPACE``, the README's search space that the pages leave to the reader.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import rung
from doc_blocks import ROOT

#: the names a page leaves to the reader: the README's space
SPACE = {
    "lr": rung.Float(1e-5, 1e-1, log=True),
    "width": rung.Int(16, 512, log=True),
    "opt": rung.Categorical(["adam", "sgd"]),
    "momentum": rung.Float(0.0, 0.99, when={"opt": "sgd"}),
}


def _cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rung", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def _flat(page: str) -> str:
    """The page's text with every run of white space one space (lines rewrap freely)."""
    return " ".join((ROOT / ("README.md" if page == "README" else f"docs/{page}.md"))
                    .read_text().split())


_NUMBER = re.compile(r"(\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?)")


def _same_line(printed: str, shown: str, rel: float = 0.02) -> bool:
    """Whether ``printed`` is the ``shown`` line: the same words (white space aside: columns
    widen with their numbers) and the same numbers, each within ``rel`` of the shown one (a
    library's rounding may move a last digit; an exact run reproduces the page)."""
    a, b = _NUMBER.split(printed), _NUMBER.split(shown)
    if len(a) != len(b):
        return False
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if i % 2 == 0:
            if x.split() != y.split():
                return False
        elif float(x.replace(",", "")) != pytest.approx(float(y.replace(",", "")), rel=rel):
            return False
    return True


def _same_lines(printed: list[str], shown: list[str]) -> bool:
    return len(printed) == len(shown) and all(map(_same_line, printed, shown))
