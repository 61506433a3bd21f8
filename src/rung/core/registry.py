"""Searchers and schedulers by name.

A component becomes available by name in one of two ways, both made by the component's own
package, never by this module:

- ``@register(kind, name)`` on the class: the class is in the registry once its module is
  imported (user components, tests, benchmarks).
- ``declare(kind, name, module)``: the name is known at once and its module is imported only
  when the name is first looked up or built. The built-in packages (``rung.searchers``,
  ``rung.schedulers``) declare their components this way, so knowing every name costs no import
  of a component module (and none of SciPy). The declared module must ``@register`` the name.

``rung.core`` imports nothing above it: this module names no package; it imports a declared
module path when asked for that name.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from rung._renamed import COMPONENTS, accept_aliases, rename
from rung._validate import close_hint
from rung.core.components import Component, Scheduler, Searcher
from rung.core.records import ComponentSpec
from rung.core.stopping import SearchStopRule
from rung.errors import ConfigError

C = TypeVar("C", bound=type[Component])

# kinds: searchers, schedulers and stop-searching rules (``Budget.stop``)
_REGISTRY: dict[str, dict[str, type[Component]]] = {"searcher": {}, "scheduler": {},
                                                    "stop_rule": {}}
_DECLARED: dict[str, dict[str, str]] = {"searcher": {}, "scheduler": {}, "stop_rule": {}}
_BASES: dict[str, type[Component]] = {"searcher": Searcher, "scheduler": Scheduler,
                                      "stop_rule": SearchStopRule}


def _never() -> bool:
    return False


#: answers ``reading_journal_only``; ``rung.study_resume`` installs its own when imported
_reading: list[Callable[[], bool]] = [_never]


def set_reading_probe(probe: Callable[[], bool]) -> None:
    """Install what ``reading_journal_only`` answers with (``rung.study_resume`` does, with
    its ``reading_journal`` context; the core itself keeps no such state)."""
    _reading[0] = probe


def reading_journal_only() -> bool:
    """Whether components are being built and replayed only to read a journal
    (``rung.study_resume.reading_journal``: ``Study.load(readonly=True)``, a study loaded from
    a read-only journal). A component that names the user's code (a PBT ``explore=``
    function, an ``OptunaSearcher``'s sampler class) which this process cannot import binds
    all the same then, since replay takes every launched trial's params, and every
    decision's reason, from the journal; it refuses to propose or explore anything new
    (``ConfigError`` naming the code)."""
    return _reading[0]()


def register(kind: str, name: str) -> Callable[[C], C]:
    """Class decorator: make a component available by ``name`` (also in YAML specs). A
    built-in component with deprecated parameter aliases (``rung._renamed.COMPONENTS``) takes
    them as constructor keywords from here on."""

    def deco(cls: C) -> C:
        if not issubclass(cls, _BASES[kind]):
            raise TypeError(f"{cls.__name__} is not a {kind}")
        cls.name = name
        aliases = COMPONENTS.get((kind, name))
        if aliases and "__init__" in vars(cls) and not hasattr(cls.__init__, "aliases"):
            cls.__init__ = accept_aliases(  # type: ignore[method-assign]
                vars(cls)["__init__"], aliases, f"{kind}.params.")
        _REGISTRY[kind][name] = cls
        return cls

    return deco


def declare(kind: str, name: str, module: str) -> None:
    """Make ``name`` known now and import ``module`` (which registers it) on first use."""
    if kind not in _DECLARED:
        raise ValueError(f"unknown component kind {kind!r}")
    _DECLARED[kind][name] = module


def declare_builtins(
    kind: str, package: str, builtin: tuple[tuple[str, str, str], ...]
) -> Callable[[str], Any]:
    """Declare a package's built-in components and return the package's module ``__getattr__``.

    ``builtin`` holds ``(registry name, class name, module)`` triples. Each name is declared
    (``declare``); the returned function imports a class's module on first attribute access, so
    importing the package imports no component module (and none of their dependencies).
    """
    module_of = {cls: module for _, cls, module in builtin}
    for name, _, module in builtin:
        declare(kind, name, module)

    def get(attr: str) -> Any:
        module = module_of.get(attr)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {attr!r}")
        return getattr(importlib.import_module(module), attr)

    return get


def names(kind: str) -> list[str]:
    """Every registered or declared public name of ``kind``, sorted (imports nothing). A name
    that starts with ``_`` is private (a benchmark's own helper): it is looked up by name like
    any other, but not listed, so the names offered to a user (``known: ...``) do not depend
    on which modules a process happened to import."""
    return sorted(n for n in _REGISTRY[kind].keys() | _DECLARED[kind].keys()
                  if not n.startswith("_"))


def lookup(kind: str, name: str) -> type[Component]:
    """The class registered as ``name``, importing its declared module if needed."""
    cls = _REGISTRY[kind].get(name)
    if cls is None and name in _DECLARED[kind]:
        importlib.import_module(_DECLARED[kind][name])
        cls = _REGISTRY[kind].get(name)
        if cls is None:
            raise ConfigError(
                key=kind,
                message=f"{name!r} is declared in {_DECLARED[kind][name]}, which does not "
                f"register it",
            )
    if cls is None:
        raise ConfigError(key=kind, message=unknown_message(kind, name))
    return cls


def unknown_message(kind: str, name: object, also: tuple[str, ...] = ()) -> str:
    """What is wrong with ``name``, which is no ``kind``: ``unknown searcher 'tpee' (did you
    mean 'tpe'?) (known: bohb, gp, ...)``, the close match drawn from the public names and
    ``also`` (other values the caller accepts, listed first: the CLI's ``auto``). The one
    message for an unknown component name, for the library and the CLI alike."""
    known = [*also, *names(kind)]
    return f"unknown {kind} {name!r}{close_hint(name, known)} (known: {', '.join(known)})"


def canonical(kind: str, spec: ComponentSpec, stacklevel: int = 2) -> ComponentSpec:
    """``spec``, as a user gave it, with its deprecated parameter aliases (``rung._renamed``)
    under rung's names: a ``DeprecationWarning`` for each (``stacklevel`` counted from the
    caller); ``spec`` itself when it has none. A stored spec reads its aliases silently
    (``StudySpec.from_json``).

    Raises:
        ConfigError: keyed ``kind.params.<alias>``, when rung's name is given too.
    """
    aliases = COMPONENTS.get((kind, spec.name))
    if not aliases or not any(a in spec.params for a in aliases):
        return spec
    return ComponentSpec(spec.name, rename(spec.params, aliases, f"{kind}.params.",
                                           f"{kind}.params", stacklevel=stacklevel + 1))


def build(kind: str, spec: ComponentSpec) -> Component:
    """Instantiate a component from its persisted form, checking parameter names (a
    deprecated alias is taken as rung's name, with a ``DeprecationWarning``: ``canonical``)."""
    cls = lookup(kind, spec.name)
    spec = canonical(kind, spec, stacklevel=3)
    sig = inspect.signature(cls.__init__)
    accepted = {p for p in sig.parameters if p != "self"}
    for key in spec.params:
        if key not in accepted:
            raise ConfigError(
                key=f"{kind}.params.{key}",
                message=f"{spec.name!r} takes no parameter {key!r}"
                f"{close_hint(key, sorted(accepted), given=spec.params)} "
                f"(accepted: {', '.join(sorted(accepted)) or 'none'})",
            )
    try:
        return cls(**dict(spec.params))
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        text = " ".join(str(e).split())  # one line, whatever the constructor raised
        raise ConfigError(key=f"{kind}.params", message=f"{spec.name!r}: {text}") from None


def to_spec(kind: str, value: Any, also: tuple[str, ...] = ()) -> ComponentSpec:
    """Accept a name, a ``{"name", "params"}`` mapping, a ``ComponentSpec`` or an instance.

    ``also``: names the caller accepts besides the registered ones and has handled before
    (``Study.create`` and the CLI: ``"auto"``). They are listed and suggested in an unknown
    name's message (``unknown_message``), and one of them reaching here with parameters is
    refused as taking none. A deprecated parameter alias is returned under rung's name
    (``canonical``, with a ``DeprecationWarning``).

    Raises:
        ConfigError: keyed ``kind`` (an unknown name, a value of no accepted form),
            ``kind.name``, ``kind.params`` or ``kind.params.<key>``, or the component's own
            check of its parameters.
    """
    if isinstance(value, ComponentSpec):
        spec = value
    elif isinstance(value, str):
        spec = ComponentSpec(value, {})
    elif isinstance(value, Mapping):
        if "name" not in value:
            raise ConfigError(
                key=kind, message=f"a mapping needs a 'name' key, got {dict(value)!r}"
            )
        extra = sorted(set(value) - {"name", "params"}, key=str)
        if extra:
            hint = close_hint(extra[0], ("name", "params"), given=value)
            raise ConfigError(
                key=f"{kind}.{extra[0]}", message=f"unknown key{hint} (use 'name' and 'params')"
            )
        if not isinstance(value["name"], str) or not value["name"]:
            raise ConfigError(key=f"{kind}.name", message=f"must be a {kind}'s name, got "
                              f"{value['name']!r} (known: {', '.join([*also, *names(kind)])})")
        params = value.get("params")
        if params is not None and not isinstance(params, Mapping):
            raise ConfigError(key=f"{kind}.params", message=f"must be a mapping of parameter "
                              f"names to values, got {params!r}")
        spec = ComponentSpec(value["name"], dict(params or {}))
    elif isinstance(value, _BASES[kind]):
        spec = value.to_spec()
    else:
        raise ConfigError(key=kind, message=f"expected a name or a {kind} instance, got {value!r}")
    if spec.name in also and spec.params:  # the caller's own value, with parameters
        raise ConfigError(key=f"{kind}.params", message=f"{spec.name!r} takes no parameters, "
                          f"got {dict(spec.params)!r}")
    if also and spec.name not in _REGISTRY[kind] and spec.name not in _DECLARED[kind]:
        raise ConfigError(key=kind, message=unknown_message(kind, spec.name, also))
    spec = canonical(kind, spec, stacklevel=3)  # a new study's spec has rung's names only
    build(kind, spec)  # validate now: an invalid spec never starts a run
    return spec
