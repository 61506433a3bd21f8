"""Ray, imported lazily: ``import rung`` never imports it, and a missing installation raises an
error that says how to install it."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from rung.errors import ConfigError, RungError

INSTALL_HINT = "pip install 'rung[ray]'"


def import_ray() -> Any:
    """The ``ray`` module, or a ``RungError`` that says how to install it (or, when Ray is
    installed but one of its parts cannot be loaded, to reinstall it)."""
    try:
        return importlib.import_module("ray")
    except ImportError as e:
        if e.name == "ray":
            raise RungError(
                f"executor='ray' needs Ray, which is not installed ({e}): {INSTALL_HINT}"
            ) from e
        raise RungError(
            f"executor='ray' needs Ray, which is installed but cannot be imported ({e}): "
            f"reinstall it ({INSTALL_HINT} --force-reinstall)") from e


#: what ``check_ray_installed`` says (``ConfigError`` key ``executor``)
NOT_INSTALLED = f"the ray executor needs Ray, which is not installed: {INSTALL_HINT}"


def check_ray_installed() -> None:
    """Fail fast, without importing Ray, when it is not installed (or a folder named ``ray``
    stands where Python finds it first: ``rung._extras.not_installed``): ``ConfigError`` keyed
    ``executor`` (a choice this machine cannot run, found before anything is started or
    written: ``rung resume`` exits with code 2)."""
    from rung._extras import not_installed

    mod = sys.modules.get("ray")
    if mod is not None and not (getattr(mod, "__file__", None) is None
                                and hasattr(mod, "__path__")):  # imported, no namespace
        return
    why = not_installed("ray")
    if why == "not installed":
        raise ConfigError(key="executor", message=NOT_INSTALLED)
    if why is not None:  # a folder named ray/ where Python looks first
        raise ConfigError(key="executor", message=f"the ray executor needs Ray, which is "
                                                  f"{why}: {INSTALL_HINT}")


__all__ = ["INSTALL_HINT", "NOT_INSTALLED", "check_ray_installed", "import_ray"]
