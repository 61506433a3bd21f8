"""``rung._extras``, the one table of which extra installs which module (the hint of an error
about a missing module), agrees with ``pyproject.toml``'s optional dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from rung._extras import EXTRAS, NOT_FOR_USERS, extras_of, install_hint

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _dist(requirement: str) -> str:
    name = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert name is not None, requirement
    return re.sub(r"[-_.]+", "-", name.group()).lower()


def _user_extras() -> dict[str, set[str]]:
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    return {e: {_dist(r) for r in reqs} for e, reqs in extras.items() if e not in NOT_FOR_USERS}


def test_every_package_of_an_extra_is_in_the_table_under_that_extra() -> None:
    table = {_dist(dist): extras for dist, extras in EXTRAS.values()}
    for extra, dists in _user_extras().items():
        for dist in dists:
            assert extra in table.get(dist, ()), f"{dist} of rung[{extra}] is not in EXTRAS"


def test_every_extra_of_the_table_lists_the_package() -> None:
    extras = _user_extras()
    for module, (dist, named) in EXTRAS.items():
        for extra in named:
            assert _dist(dist) in extras.get(extra, set()), f"{module}: rung[{extra}]"


@pytest.mark.parametrize(("module", "hint"), [
    ("sklearn", "pip install 'rung[examples]' or 'rung[sklearn]'"),
    ("sklearn.datasets", "pip install 'rung[examples]' or 'rung[sklearn]'"),
    ("yaml", "pip install 'rung[cli]'"),
    ("tensorboardX", "pip install 'rung[tensorboard]'"),
    ("pyarrow", "pip install 'rung[dataframe]'"),
    ("numpy", None),  # a core dependency
    ("no_such_module", None),
    (None, None),
])
def test_install_hint(module: str | None, hint: str | None) -> None:
    assert install_hint(module) == hint
    assert bool(extras_of(module)) == (hint is not None)
