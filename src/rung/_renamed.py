"""Parameters whose name is not rung's word for their concept (DESIGN, section 3) under another
name, kept as deprecated aliases of rung's: ``MedianStoppingRule(grace_period=)`` is
``min_step``, ``BOHBSearcher(num_samples=)`` is ``n_candidates``, ``Fidelity(eta=)`` is
``reduction_factor``.

An alias is accepted wherever the parameter is: the constructor, a spec's ``params`` (YAML or
a ``{"name", "params"}`` mapping) and a stored study's spec (a journal written with the alias
reads and replays as written with rung's name: the value and the decisions are the same).
What a user wrote (a constructor call, a spec) warns with an ``AliasWarning``, a
``DeprecationWarning`` naming rung's name (``rung run`` prints it as a ``rung: warning:``
line); a stored spec reads silently, since its journal cannot be changed. Both names at once
are refused (``ConfigError`` naming both). Specs of new studies are written with rung's names
only.

Stdlib only: ``rung.space`` and ``rung.core`` use it.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from rung.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


class AliasWarning(DeprecationWarning):
    """A deprecated alias of a parameter was given (its text names rung's name)."""


#: ``(kind, registry name)`` -> ``{alias: rung's name}`` of the built-in components' parameters
COMPONENTS: Mapping[tuple[str, str], Mapping[str, str]] = {
    ("scheduler", "median"): {"grace_period": "min_step"},
    ("searcher", "bohb"): {"num_samples": "n_candidates"},
}

#: ``Fidelity``'s ``{alias: rung's name}`` (its constructor and its JSON form)
FIDELITY: Mapping[str, str] = {"eta": "reduction_factor"}


def message(owner: str, alias: str, name: str) -> str:
    """The ``DeprecationWarning`` text for ``alias`` of ``owner``'s parameter ``name``."""
    return f"{owner}: {alias!r} is deprecated, use {name!r} (the same parameter)"


def both(key: str, alias: str, name: str) -> ConfigError:
    """The error for ``alias`` given together with ``name``; ``key`` is the alias's key."""
    return ConfigError(key=key, message=f"deprecated name of {name!r}, which is given too: "
                       f"give {name!r} only")


def rename(
    params: Mapping[str, Any], aliases: Mapping[str, str], prefix: str, owner: str, *,
    warn: bool = True, stacklevel: int = 2,
) -> dict[str, Any]:
    """``params`` with every alias key of ``aliases`` replaced by rung's name, in place (the
    order of the keys is kept).

    Args:
        prefix: what an error's key starts with (``"scheduler.params."``, ``"fidelity."``).
        owner: who takes the parameters, for the warning (``"scheduler.params"``).
        warn: an ``AliasWarning`` (a ``DeprecationWarning``) per alias (``False``: a stored
            spec, read silently).
        stacklevel: the warning's, counted from the caller of ``rename``.

    Raises:
        ConfigError: keyed ``prefix + alias``, when rung's name is given too.
    """
    if not any(a in params for a in aliases):
        return dict(params)
    for alias, name in aliases.items():
        if alias in params and name in params:
            raise both(prefix + alias, alias, name)
    out: dict[str, Any] = {}
    for key, value in params.items():
        new = aliases.get(key)
        if new is not None and warn:
            warnings.warn(message(owner, key, new), AliasWarning, stacklevel=stacklevel + 1)
        out[key if new is None else new] = value
    return out


def _positional(sig: inspect.Signature, self: Any, args: tuple[Any, ...]) -> Mapping[str, Any]:
    """The parameters ``args`` give by position (none if they do not bind: the constructor
    then says why)."""
    try:
        return sig.bind_partial(self, *args).arguments
    except TypeError:
        return {}


def accept_aliases(init: F, aliases: Mapping[str, str], prefix: str) -> F:
    """``init`` (a constructor) that also takes each alias of ``aliases`` as a keyword, with a
    ``DeprecationWarning`` naming rung's name; both at once (rung's by keyword or by position)
    raise ``ConfigError`` keyed ``prefix + alias``. The signature ``inspect`` reports is
    ``init``'s own: aliases are no parameters of their own (``get_params`` never lists one)."""
    sig = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        for alias, name in aliases.items():
            if alias not in kwargs:
                continue
            value = kwargs.pop(alias)
            if name in kwargs or name in _positional(sig, self, args):
                raise both(prefix + alias, alias, name)
            warnings.warn(message(type(self).__name__, alias, name), AliasWarning, stacklevel=2)
            kwargs[name] = value
        return init(self, *args, **kwargs)

    wrapper.aliases = dict(aliases)  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def accepts(aliases: Mapping[str, str], prefix: str) -> Callable[[F], F]:
    """Decorator form of ``accept_aliases``, for a constructor."""
    return lambda init: accept_aliases(init, aliases, prefix)


__all__ = ["COMPONENTS", "FIDELITY", "AliasWarning", "accept_aliases", "accepts", "both",
           "message", "rename"]
