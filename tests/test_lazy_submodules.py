"""After a bare ``import rung``, rung's submodules are attributes of ``rung`` at run time too
(imported on first access), as type checkers assume from ``rung/__init__.py``'s imports.

Before, ``import rung; rung.dbr.FixedTrial(...)`` type-checked but was an ``AttributeError``
(``dbr``, ``planning``, ``executors``, ``study``, ``shorthand``, ``reporter``, ``callbacks``
were only there once something else had imported them)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

import rung

#: the submodules ``rung/__init__.py`` imports for type checkers (its TYPE_CHECKING block)
SUBMODULES = ("callbacks", "core", "cost", "dbr", "errors", "executors", "planning", "reporter",
              "schedulers", "searchers", "shorthand", "space", "study")


def _fresh(code: str) -> Any:
    """Run ``code`` in a fresh interpreter (nothing of rung imported yet); its last stdout
    line, as JSON."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_submodules_are_attributes_after_a_bare_import() -> None:
    got = _fresh(f"""
        import json, sys
        import rung
        before = sorted(m for m in {SUBMODULES!r} if "rung." + m in sys.modules)
        fixed = rung.dbr.FixedTrial({{"x": 0.5}})
        seen = {{m: getattr(rung, m) is sys.modules["rung." + m] for m in {SUBMODULES!r}}}
        print(json.dumps({{"before": before, "x": fixed.suggest_float("x", 0.0, 1.0),
                          "seen": seen, "plan": rung.planning.plan is rung.plan}}))
    """)
    # `import rung` stays lazy: what a study needs is imported on first access only
    assert not {"dbr", "planning", "study", "shorthand", "executors"} & set(got["before"])
    assert got["x"] == 0.5
    assert got["seen"] == dict.fromkeys(SUBMODULES, True)
    assert got["plan"] is True


def test_other_names_stay_attribute_errors() -> None:
    for name in ("nope", "Nope", "__wrapped__", "_no_such_module"):
        with pytest.raises(AttributeError, match=f"module 'rung' has no attribute '{name}'"):
            getattr(rung, name)
    assert not hasattr(rung, "sugest")


def test_a_submodule_that_fails_to_import_raises_its_own_error(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing extra is said as such (``ModuleNotFoundError`` naming it), not hidden
    behind "no attribute"."""
    real = importlib.import_module

    def import_module(name: str, package: str | None = None) -> Any:
        if name == "rung.fake_extra_module":
            raise ModuleNotFoundError("No module named 'starlette'", name="starlette")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", import_module)
    with pytest.raises(ModuleNotFoundError, match="starlette"):
        rung.fake_extra_module  # type: ignore[attr-defined]  # noqa: B018
