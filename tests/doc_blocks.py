"""What the tests that run the docs' code blocks share: the blocks of a page, as the page shows
them, and a way to run one as a script (the way to run a block that starts worker processes:
the workers import the script).

A page is named by its file name without ``.md``: ``"cost"`` is ``docs/cost.md``,
``"api/study"`` is ``docs/api/study.md``, and ``"README"`` is the repository's ``README.md``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: the pages whose Python blocks tests/integrations/test_migration_guides.py runs (the Syne Tune
#: guide's: tests/integrations/test_migration_syne_tune.py)
MIGRATION_PAGES = ("migrate-optuna", "migrate-ray-tune", "migrate-sklearn", "integrations",
                   "migrate-syne-tune")

_FENCE = re.compile(r"^```(\S*)\n(.*?)^```", re.S | re.M)


def page_path(page: str) -> Path:
    return ROOT / "README.md" if page == "README" else DOCS / f"{page}.md"


def pages() -> list[str]:
    """Every page: the README and each ``docs/**/*.md``."""
    return ["README", *sorted(str(p.relative_to(DOCS).with_suffix(""))
                              for p in DOCS.rglob("*.md"))]


def fences(page: str) -> list[tuple[str, str]]:
    """Every fenced block of the page that starts a line (not one indented in a list), in
    order: its language (``""`` when the fence names none) and its text."""
    return [(m.group(1), m.group(2)) for m in _FENCE.finditer(page_path(page).read_text())]


def blocks(page: str) -> list[str]:
    """The Python blocks of the page, in order."""
    return [text for lang, text in fences(page) if lang == "python"]


def run_script(tmp_path: Path, name: str, code: str, timeout: float = 600,
               env: dict[str, str] | None = None) -> str:
    """``code`` as ``tmp_path/name``, run by this Python in ``tmp_path``; its stdout."""
    path = tmp_path / name
    path.write_text(code)
    proc = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def in_main(code: str) -> str:
    """Code to append inside a block's trailing ``if __name__ == "__main__":``."""
    return textwrap.indent(textwrap.dedent(code), "    ")


#: what the migration guides' MLP placeholders (``build``, ``fit_one_epoch``) stand for: a model
#: whose loss falls with the epochs and depends on ``lr`` and ``width``, saved and loaded as its
#: epoch count
MLP_PRELUDE = '''\
import math
import os


class _Model:
    def __init__(self, lr, width):
        self.lr, self.width, self.epoch = lr, width, 0

    def save(self, directory):
        with open(os.path.join(directory, "model.txt"), "w") as f:
            f.write(str(self.epoch))

    def load(self, directory):
        with open(os.path.join(directory, "model.txt")) as f:
            self.epoch = int(f.read())


def build(lr, width):
    return _Model(lr, width)


def fit_one_epoch(model):
    model.epoch += 1
    return (math.log10(model.lr) + 3) ** 2 / model.epoch + 1 / model.width
'''
