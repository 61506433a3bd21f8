"""Ray, imported lazily: ``import rung`` never imports it, and a missing installation raises an
error that says how to install it."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

from rung.errors import RungError

INSTALL_HINT = "pip install 'rung[ray]'"


def import_ray() -> Any:
    """The ``ray`` module, or a ``RungError`` that says how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError as e:
        raise RungError(
            f"executor='ray' needs Ray, which is not installed ({e}): {INSTALL_HINT}"
        ) from e


def check_ray_installed() -> None:
    """Fail fast, without importing Ray, when it is not installed."""
    if "ray" in sys.modules and sys.modules["ray"] is not None:
        return
    try:
        found = importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise RungError(f"executor='ray' needs Ray, which is not installed: {INSTALL_HINT}")


__all__ = ["INSTALL_HINT", "check_ray_installed", "import_ray"]
