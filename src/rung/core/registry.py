"""Searchers and schedulers by name.

Built-in components register themselves when ``rung.searchers`` / ``rung.schedulers`` are
imported; the registry imports those packages on first lookup, so ``rung.core`` itself stays
free of them.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from rung.core.components import Component, Scheduler, Searcher
from rung.core.records import ComponentSpec
from rung.errors import ConfigError

C = TypeVar("C", bound=type[Component])

_REGISTRY: dict[str, dict[str, type[Component]]] = {"searcher": {}, "scheduler": {}}
_PACKAGES = {"searcher": "rung.searchers", "scheduler": "rung.schedulers"}
_BASES: dict[str, type[Component]] = {"searcher": Searcher, "scheduler": Scheduler}


def register(kind: str, name: str) -> Callable[[C], C]:
    """Class decorator: make a component available by ``name`` (also in YAML specs)."""

    def deco(cls: C) -> C:
        if not issubclass(cls, _BASES[kind]):
            raise TypeError(f"{cls.__name__} is not a {kind}")
        cls.name = name
        _REGISTRY[kind][name] = cls
        return cls

    return deco


def names(kind: str) -> list[str]:
    importlib.import_module(_PACKAGES[kind])
    return sorted(_REGISTRY[kind])


def lookup(kind: str, name: str) -> type[Component]:
    importlib.import_module(_PACKAGES[kind])
    try:
        return _REGISTRY[kind][name]
    except KeyError:
        raise ConfigError(
            f"{kind}: unknown {kind} {name!r} (known: {', '.join(sorted(_REGISTRY[kind]))})"
        ) from None


def build(kind: str, spec: ComponentSpec) -> Component:
    """Instantiate a component from its persisted form, checking parameter names."""
    cls = lookup(kind, spec.name)
    sig = inspect.signature(cls.__init__)
    accepted = {p for p in sig.parameters if p != "self"}
    for key in spec.params:
        if key not in accepted:
            raise ConfigError(
                f"{kind}.params.{key}: {spec.name!r} takes no parameter {key!r} "
                f"(accepted: {', '.join(sorted(accepted)) or 'none'})"
            )
    try:
        return cls(**dict(spec.params))
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{kind}.params: {spec.name!r}: {e}") from None


def to_spec(kind: str, value: Any) -> ComponentSpec:
    """Accept a name, a ``{"name", "params"}`` mapping, a ``ComponentSpec`` or an instance."""
    if isinstance(value, ComponentSpec):
        spec = value
    elif isinstance(value, str):
        spec = ComponentSpec(value, {})
    elif isinstance(value, Mapping):
        if "name" not in value:
            raise ConfigError(f"{kind}: a mapping needs a 'name' key, got {dict(value)!r}")
        extra = set(value) - {"name", "params"}
        if extra:
            raise ConfigError(f"{kind}.{sorted(extra)[0]}: unknown key (use 'name' and 'params')")
        spec = ComponentSpec(str(value["name"]), dict(value.get("params") or {}))
    elif isinstance(value, _BASES[kind]):
        spec = value.to_spec()
    else:
        raise ConfigError(f"{kind}: expected a name or a {kind} instance, got {value!r}")
    build(kind, spec)  # validate now: an invalid spec never starts a run
    return spec
