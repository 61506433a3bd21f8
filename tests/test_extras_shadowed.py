"""A folder named like a package an extra installs (``ray/`` in the working directory) imports
as an empty namespace package when the package is not installed; rung says so where it checks
for the package, instead of failing later deep inside (``module 'ray' has no attribute
'cloudpickle'``)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

import pytest

from rung._extras import not_installed
from rung.errors import ConfigError


def test_a_folder_without_init_is_not_the_package(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rung_shadow_pkg").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    assert not_installed("rung_shadow_pkg") == (
        f"not installed: 'rung_shadow_pkg' here is the folder {tmp_path / 'rung_shadow_pkg'}, "
        "not the package")
    (tmp_path / "rung_shadow_pkg" / "__init__.py").write_text("")
    importlib.invalidate_caches()
    assert not_installed("rung_shadow_pkg") is None
    assert not_installed("rung_no_such_module_anywhere") == "not installed"


def test_the_ray_check_names_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rung.executors.ray import importing

    folder = tmp_path / "ray"
    folder.mkdir()
    spec = importlib.machinery.ModuleSpec("ray", None, is_package=True)
    spec.submodule_search_locations = [str(folder)]
    monkeypatch.delitem(sys.modules, "ray", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: spec if name == "ray" else None)
    with pytest.raises(ConfigError) as e:
        importing.check_ray_installed()
    assert str(e.value) == (
        f"executor: the ray executor needs Ray, which is not installed: 'ray' here is the "
        f"folder {folder}, not the package: pip install 'rung[ray]'")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ConfigError) as e:
        importing.check_ray_installed()
    assert str(e.value) == ("executor: the ray executor needs Ray, which is not installed: "
                            "pip install 'rung[ray]'")
