"""The component registry: declared names are known without importing their modules."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rung.core.components import Scheduler
from rung.core.registry import declare, lookup, names
from rung.errors import ConfigError


@pytest.fixture(autouse=True)
def restore_registry() -> Iterator[None]:
    """Names a test declares or registers ("lazy_test", "ghost") leave with it: later tests
    compare the registry's names with exact lists (``known: ...`` in spec errors), and failed
    when these ran first."""
    from rung.core import registry

    tables = (registry._REGISTRY, registry._DECLARED)
    saved = [{kind: dict(entries) for kind, entries in table.items()} for table in tables]
    yield
    for table, before in zip(tables, saved, strict=True):
        for kind, entries in before.items():
            table[kind].clear()
            table[kind].update(entries)


BUILTIN = {
    "asha", "async_hyperband", "curve", "fifo", "hyperband", "median", "mo_asha", "pb2", "pbt",
    "successive_halving",
}


def test_every_builtin_name_is_declared_and_builds() -> None:
    assert set(names("scheduler")) >= BUILTIN
    assert {"random", "grid", "sobol", "tpe", "gp", "bohb"} <= set(names("searcher"))
    for name in BUILTIN:
        cls = lookup("scheduler", name)
        assert issubclass(cls, Scheduler) and cls.name == name


def test_a_declared_module_is_imported_on_first_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lazy_sched_mod.py").write_text(
        "from rung.core.registry import register\n"
        "from rung.schedulers.fifo import FIFOScheduler\n"
        "@register('scheduler', 'lazy_test')\n"
        "class Lazy(FIFOScheduler):\n"
        "    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    declare("scheduler", "lazy_test", "lazy_sched_mod")
    assert "lazy_test" in names("scheduler")
    assert "lazy_sched_mod" not in sys.modules
    assert lookup("scheduler", "lazy_test").__name__ == "Lazy"
    assert "lazy_sched_mod" in sys.modules


def test_unknown_and_unregistered_names_raise_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match="unknown scheduler 'nope'") as e:
        lookup("scheduler", "nope")
    assert e.value.key == "scheduler"
    (tmp_path / "empty_sched_mod.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    declare("scheduler", "ghost", "empty_sched_mod")
    with pytest.raises(ConfigError, match="does not register it"):
        lookup("scheduler", "ghost")


def test_a_private_name_is_looked_up_but_not_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A benchmark's own helper (``_bench_fixed_list``) registered by an import in the same
    process appeared in the CLI's ``known: ...`` lists; names starting with ``_`` stay usable
    by name and are not offered to users."""
    from rung.core import registry
    from rung.searchers.random import RandomSearcher

    monkeypatch.setitem(registry._REGISTRY["searcher"], "_private_test", RandomSearcher)
    assert "_private_test" not in names("searcher")
    assert lookup("searcher", "_private_test") is RandomSearcher
    with pytest.raises(ConfigError) as e:
        lookup("searcher", "nope")
    assert "_private_test" not in str(e.value) and "random" in str(e.value)
