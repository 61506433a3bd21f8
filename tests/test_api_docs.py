"""The API pages list every built-in searcher and scheduler (by its registry entry) and every
executor (MOASHA and LocalExecutor were missing)."""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs" / "api"


@pytest.mark.parametrize("kind", ["searchers", "schedulers"])
def test_every_builtin_component_is_on_its_page(kind: str) -> None:
    import importlib

    builtin = importlib.import_module(f"rung.{kind}")._BUILTIN
    text = (DOCS / f"{kind}.md").read_text()
    missing = [name for name, cls, module in builtin if f"::: {module}.{cls}\n" not in text]
    assert missing == []


@pytest.mark.parametrize("target", ["rung.executors.local.LocalExecutor",
                                    "rung.executors.simulated.SimulatedExecutor",
                                    "rung.executors.ray.RayExecutor"])
def test_every_executor_is_on_the_executors_page(target: str) -> None:
    assert f"::: {target}\n" in (DOCS / "executors.md").read_text()
