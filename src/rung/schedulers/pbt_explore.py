"""PBT's explore step (Jaderberg et al., "Population Based Training of Neural Networks",
arXiv:1711.09846, 2017: the paper's "perturb", section 3.1 and appendix A).

Each explored hyperparameter is resampled from the space with probability
``resample_probability``; otherwise a number is multiplied by one of ``perturbation_factors``
(default 1.2 or 0.8, equally likely), clipped to its range and snapped to the nearest point of
its grid (integers, and floats with a ``step``) inside the range; a value on a grid that would
not move moves by one grid step (unless it is at the end it moves towards), an ordered
categorical moves to a neighbouring choice (up for a factor above 1), and an unordered
categorical keeps its value. Parameters that the new values make inactive are
dropped and newly active ones are sampled, so the result is always valid in the space. A
factor of 1 leaves a value as it is (no grid step, no neighbouring choice): with
``perturbation_factors=[1]`` and ``resample_probability=0`` explore changes nothing, and a user's
``explore=`` function (below) alone decides.

**A user's explore** (``PBT(explore=...)``): a function ``(params: dict) -> dict`` applied
*after* the built-in explore to a copy of its result; what it returns must be a valid
configuration of the space (``ConfigError`` keyed ``scheduler.params.explore`` naming the bad
parameter otherwise). It must be deterministic given its argument (draw any randomness from a
generator seeded by the params), or replaying the journal diverges. A study stores its
scheduler as a plain value, so the function is stored by name, ``"module:function"`` (it may be
given so, also in a YAML spec): ``Study.load`` and ``rung resume`` import it again, and refuse
with that key when they cannot. A function defined in the script that creates the study is
stored as ``"__main__:function"``: only a process running that script finds it again, so a
``Study.load`` from another script refuses it, saying so (run it from that script, or move the
function into a module). Reading a study needs none of this: ``Study.load(readonly=True)`` and a
study loaded from a read-only journal (``rung show``, ``rung ls``, ``rung export``) replay the
journal with a stand-in (``rung.study_resume.reading_journal``), since every fork's params and
every reason are journaled. A name whose module is not importable yet when the study is built
(``rung run`` adds the spec's ``path`` to ``sys.path`` after checking the spec) is imported at
the first fork. A lambda, a nested function or a bound method has no such name and is refused
when the study is created.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from rung._validate import is_number
from rung.core.registry import reading_journal_only
from rung.errors import ConfigError, SpaceError
from rung.space import Categorical, Float, Int, Param, SearchSpace

#: The multipliers of the paper's perturb (and Ray Tune's ``perturbation_factors`` default).
DEFAULT_FACTORS = (1.2, 0.8)

ExploreFn = Callable[[dict[str, Any]], Any]


def perturb(p: Param, value: Any, up: bool, factor: float | None = None) -> Any:
    """PBT's perturbation of one value by ``factor`` (default 1.2 if ``up`` else 0.8; see the
    module docstring). ``up`` is the direction a value on a grid or an ordered choice moves
    (``factor > 1``); a factor of 1 returns ``value``."""
    if factor is None:
        factor = 1.2 if up else 0.8
    elif factor == 1:
        return value
    if isinstance(p, Float):
        x = float(value) * factor
        x = min(max(x, p.low), p.high)
        if p.step is not None:
            x = _on_grid(p.low, p.high, p.step, x, float(value), up)
        return x
    if isinstance(p, Int):
        x = round(int(value) * factor)
        x = min(max(x, p.low), p.high)
        return int(_on_grid(p.low, p.high, p.step, x, int(value), up))
    if isinstance(p, Categorical) and p.ordered:
        i = p.index(value) + (1 if up else -1)
        return p.choices[min(max(i, 0), len(p.choices) - 1)]
    return value


def _on_grid(low: float, high: float, step: float, x: float, value: float, up: bool) -> float:
    """The grid point ``low + k * step`` (inside ``[low, high]``) nearest to ``x``; if that is
    ``value``'s own point, the next one up or down (the perturbation always moves a value
    that can move)."""
    top = math.floor((high - low) / step + 1e-9)  # the last grid point's k
    k = min(max(round((x - low) / step), 0), top)
    own = round((value - low) / step)
    if k == own:
        k = min(max(own + (1 if up else -1), 0), top)
    return min(low + k * step, high)


def explore(
    space: SearchSpace,
    params: Mapping[str, Any],
    names: Sequence[str],
    resample_probability: float,
    rng: np.random.Generator,
    factors: Sequence[float] = DEFAULT_FACTORS,
) -> dict[str, Any]:
    """Perturb or resample ``names`` in ``params``; returns a valid configuration. A perturbed
    value is multiplied by one of ``factors``, each equally likely."""
    out = dict(params)
    n = len(factors)
    for name in names:
        if name not in out:
            continue  # inactive in this configuration
        p = space.params[name]
        if rng.random() < resample_probability:
            out[name] = p.sample(rng)
        else:
            # with the default (1.2, 0.8): 1.2 when the draw is below 0.5, as before factors
            # were a parameter (the same draws, the same decisions)
            f = float(factors[min(int(rng.random() * n), n - 1)])
            out[name] = perturb(p, out[name], f > 1, f)
    return settle(space, out, rng)


def settle(space: SearchSpace, params: Mapping[str, Any], rng: np.random.Generator
           ) -> dict[str, Any]:
    """``params`` made valid under the space's conditions: values the others make inactive
    are dropped, newly active parameters are sampled from ``rng``."""
    out = dict(params)
    for _ in range(len(space.params) + 1):  # settle conditions (a DAG: this terminates)
        active = space.active(out)
        changed = False
        for n in [n for n in out if n not in active]:
            del out[n]
            changed = True
        for n in active:
            if n not in out:
                out[n] = space.params[n].sample(rng)
                changed = True
        if not changed:
            break
    return space.validate(out)


def check_hyperparams(space: SearchSpace, hyperparams: Any) -> list[str]:
    """The parameters explore changes: ``hyperparams`` (each a tunable parameter of ``space``,
    named once, at least one), or every tunable parameter when it is ``None``.

    Raises:
        ConfigError: key ``scheduler.params.hyperparams``, saying which rule it breaks."""
    key = "scheduler.params.hyperparams"
    if hyperparams is None:
        return list(space.dims)
    if isinstance(hyperparams, str) or not isinstance(hyperparams, list):
        raise ConfigError(key=key, message=f"must be a list of parameter names, got "
                          f"{hyperparams!r}")
    if not hyperparams:
        raise ConfigError(key=key, message="must name at least one parameter to explore "
                          "(leave it out to explore every tunable parameter), got []")
    names: list[str] = []
    for n in hyperparams:
        if n in names:
            raise ConfigError(key=key, message=f"{n!r} is named twice")
        if n not in space.dims:
            raise ConfigError(key=key, message=f"{n!r} is not a tunable parameter of the "
                              f"space ({space.dims})")
        names.append(n)
    return names


def check_factors(value: Any) -> tuple[float, ...]:
    """``perturbation_factors``: a non-empty list of positive numbers."""
    key = "scheduler.params.perturbation_factors"
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ConfigError(key=key, message=f"must be a non-empty list of positive numbers "
                          f"(e.g. [1.2, 0.8]), got {value!r}")
    for f in value:
        if not is_number(f) or not math.isfinite(float(f)) or float(f) <= 0:
            raise ConfigError(key=key, message=f"must hold positive numbers, got {f!r}")
    return tuple(float(f) for f in value)


def reference(fn: Any) -> str | None:
    """``"module:qualname"`` naming ``fn``, when importing that name gives ``fn`` back (a
    function defined at the top level of a module); else ``None``."""
    module, qual = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qual, str) or "<" in qual:
        return None
    try:
        found = _import(f"{module}:{qual}")
    except Exception:  # any failure means: no name to store
        return None
    return f"{module}:{qual}" if found is fn else None


def _import(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def resolve_explore(value: Any) -> tuple[ExploreFn | None, str | None]:
    """The user's explore function and its stored name, from ``PBT(explore=...)``: ``None``, a
    function with a name (``reference``), or ``"module:function"`` (imported). A name whose
    module is not on ``sys.path`` yet gives ``(None, name)``: it is imported when first
    needed (``load_explore``), since ``rung run`` puts the spec's ``path`` on ``sys.path``
    after the spec, scheduler included, has been checked. While a journal is only read
    (``reading_journal``), a name that cannot be imported gives a stand-in (``load_explore``)."""
    key = "scheduler.params.explore"
    if value is None:
        return None, None
    if isinstance(value, str):
        module, sep, attr = value.partition(":")
        if not sep or not module or not attr:
            raise ConfigError(key=key, message=f"must be 'module:function', got {value!r}")
        try:
            return load_explore(value), value
        except ConfigError as e:
            if e.message.startswith(f"cannot import {value!r} (ModuleNotFoundError: No module "
                                    f"named {module.split('.')[0]!r})"):
                return None, value
            raise
    if not callable(value):
        raise ConfigError(key=key, message=f"must be a function (params -> params) or "
                          f"'module:function', got {value!r}")
    ref = reference(value)
    if ref is None:
        name = getattr(value, "__qualname__", type(value).__name__)
        raise ConfigError(
            key=key, message=f"{name} cannot be stored with the study (Study.load rebuilds the "
            "scheduler from its spec): pass a function defined at the top level of a module, "
            "or its 'module:function' name",
        )
    return value, ref


def load_explore(ref: str) -> ExploreFn:
    """Import the explore function named ``"module:function"``; ``ConfigError`` if that fails
    or gives something that is not callable. A function of a script's ``__main__`` that this
    process's ``__main__`` lacks is named as such (run from that script, or move it into a
    module). While a journal is only read (``reading_journal``), a name that cannot be
    imported gives a stand-in instead: replay takes each fork's params from the journal, so
    it returns its argument there, and raises that ``ConfigError`` if called otherwise."""
    key = "scheduler.params.explore"
    try:
        fn = _import(ref)
    except Exception as e:  # an import may raise anything: one line
        module, _, attr = ref.partition(":")
        if module == "__main__" and isinstance(e, AttributeError):
            message = (f"{ref!r} is defined in the script that created the study (__main__), "
                       f"not in this one: run Study.load from that script, or move {attr} "
                       f"into a module (its 'module:function' name is then stored)")
        else:
            text = " ".join(str(e).split())
            message = (f"cannot import {ref!r} ({type(e).__name__}: {text}); import or "
                       f"define it before loading the study")
        error = ConfigError(key=key, message=message)
        if reading_journal_only():
            return _stand_in(error)
        raise error from None
    if not callable(fn):
        raise ConfigError(key=key, message=f"{ref!r} is not callable")
    return fn  # type: ignore[no-any-return]


def _stand_in(error: ConfigError) -> ExploreFn:
    """An explore function this process cannot import, for reading a journal: replay takes
    every fork's params from the journal, so what it returns there is never used."""

    def journaled(params: dict[str, Any]) -> dict[str, Any]:
        if reading_journal_only():
            return params
        raise error

    return journaled


def apply_explore(fn: ExploreFn, ref: str, space: SearchSpace, params: Mapping[str, Any]
                  ) -> dict[str, Any]:
    """``fn`` applied to a copy of ``params``; its result checked against ``space``."""
    key = "scheduler.params.explore"
    out = fn(dict(params))
    if not isinstance(out, Mapping):
        raise ConfigError(key=key, message=f"{ref} must return a dict of params, got {out!r}")
    try:
        return space.validate(out)
    except SpaceError as e:
        raise ConfigError(key=key, message=f"{ref} returned an invalid configuration: "
                          f"{e}") from None


def describe_changes(space: SearchSpace, old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """``"lr 0.01 -> 0.012, opt adam -> sgd, momentum (inactive) -> 0.9"``: what explore
    changed (``"no change"`` when nothing did)."""
    out = []
    for name in space.params:
        a, b = old.get(name, _INACTIVE), new.get(name, _INACTIVE)
        if a != b:
            out.append(f"{name} {_show(a)} -> {_show(b)}")
    return ", ".join(out) if out else "no change"


_INACTIVE = object()


def _show(value: Any) -> str:
    if value is _INACTIVE:
        return "(inactive)"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
