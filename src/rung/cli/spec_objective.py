"""Importing a spec's objective (``module:function``) and checking that it can be called.

``resolve_objective`` runs before any storage is opened, so an objective that cannot be imported
or that does not take the trial context as its one argument stops ``rung run`` with exit code 2
and a one-line error naming ``spec.objective``, instead of failing every trial at run time.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rung._extras import install_hint
from rung._validate import check_objective, close_hint
from rung.cli.spec_error import SpecError

if TYPE_CHECKING:
    from rung.cli.spec import RunSpec

#: Modules that moved, for objectives recorded in older journals (``rung resume``).
_MOVED = {"rung.demo": "rung.cli.demo"}


def add_spec_paths(paths: Sequence[str]) -> None:
    """Prepend a spec's ``path`` directories to ``sys.path`` and to ``PYTHONPATH`` (so worker
    processes find them too): where its objective and anything else it names by
    ``"module:function"`` (PBT's ``explore``) are imported from, with or without an objective
    (a simulated benchmark run has none)."""
    for p in reversed(paths):
        if p not in sys.path:
            sys.path.insert(0, p)
    if paths:
        old = os.environ.get("PYTHONPATH", "")
        parts = [p for p in paths if p not in old.split(os.pathsep)]
        if parts:
            os.environ["PYTHONPATH"] = os.pathsep.join([*parts, *([old] if old else [])])


def check_named_imports(spec: RunSpec) -> None:
    """Import what the spec's scheduler names by ``"module:function"`` (PBT's and PB2's
    ``explore``), once its ``path`` is on ``sys.path``: ``SpecError`` naming
    ``spec.scheduler.params.explore`` when it cannot be, before anything is written (the
    scheduler's own check leaves a module it cannot find yet to this one)."""
    ref = spec.study.scheduler.params.get("explore")
    if not isinstance(ref, str):
        return
    from rung.errors import ConfigError
    from rung.schedulers.pbt_explore import load_explore

    try:
        load_explore(ref)
    except ConfigError as e:
        where = ", ".join(spec.path) or "sys.path"
        raise SpecError("spec.scheduler.params.explore",
                        e.message.replace("; import or define it before loading the study",
                                          f" (looked in {where})")) from None


def resolve_objective(spec: RunSpec) -> Callable[..., Any]:
    """Import ``spec.objective`` (after prepending ``spec.path`` to ``sys.path``, and to
    ``PYTHONPATH`` so that worker processes find it too) and check its signature.

    Raises ``SpecError`` (key ``spec.objective``): no such module or attribute, the import
    raised (a missing module one of rung's extras installs is named with the extras:
    ``importing 'boosting' failed: No module named 'sklearn' (pip install 'rung[examples]'
    or 'rung[sklearn]')``), not callable, a signature that cannot take one argument (the
    trial context), or an ``async def`` or generator function (a call that returns without
    training).
    """
    ref = spec.objective
    if ref is None:
        raise SpecError("spec.objective", "missing (the training function as module:function)")
    add_spec_paths(spec.path)
    module_name, _, attr = ref.partition(":")
    module_name = _MOVED.get(module_name, module_name)
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and module_name.startswith(e.name):
            where = ", ".join(spec.path) or "sys.path"
            raise SpecError(
                "spec.objective", f"no module named {module_name!r} (looked in {where})"
            ) from None
        hint = install_hint(e.name)  # a package one of rung's extras installs
        raise SpecError(
            "spec.objective", f"importing {module_name!r} failed: {_one_line(e)}"
            + (f" ({hint})" if hint else "")
        ) from None
    except BaseException as e:  # a module that raises or exits on import
        if isinstance(e, KeyboardInterrupt):
            raise
        raise SpecError(
            "spec.objective", f"importing {module_name!r} failed: {type(e).__name__}: "
            f"{_one_line(e)}"
        ) from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            public = [n for n in dir(obj) if not n.startswith("_")]
            raise SpecError("spec.objective", f"module {module_name!r} has no attribute {attr!r}"
                            f"{close_hint(part, public)}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise SpecError("spec.objective", f"{ref} is not callable")
    fn: Callable[..., Any] = check_objective("spec.objective", obj, error=_spec_error)
    _check_plain(ref, fn)
    return fn


def _check_plain(ref: str, fn: Any) -> None:
    """Refuse an objective whose call returns at once without training: an ``async def``
    (a worker calls the objective and never awaits what it returns) or a generator function
    (its body would not run until iterated)."""
    # an instance is called through its class's __call__
    target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else type(fn).__call__
    if inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target):
        raise SpecError("spec.objective", f"{ref} is an async function: rung calls the objective "
                        "and never awaits it; write it as a plain def (asyncio.run(...) inside "
                        "it runs async code)")
    if inspect.isgeneratorfunction(target):
        raise SpecError("spec.objective", f"{ref} is a generator function (it yields): rung "
                        "calls it once; report each step with ctx.report(step, metric=value) "
                        "instead of yielding")


def _spec_error(*, key: str, message: str) -> SpecError:
    return SpecError(key, message)


def _one_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return " ".join(text.split())


__all__ = ["resolve_objective"]
