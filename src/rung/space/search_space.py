"""``SearchSpace``: named parameters, their conditions, and the unit encoding all searchers use.

Its grids (``SearchSpace.grid`` and the size bounds) are ``rung.space.grid``; ``MAX_GRID`` and
``product_size`` are re-exported here.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rung._validate import close_hint, is_int, is_number
from rung.errors import SpaceError
from rung.space.grid import MAX_GRID, grid_bound, space_grid
from rung.space.grid import product_size as product_size
from rung.space.params import (
    Categorical,
    Fixed,
    Float,
    Int,
    Param,
    Scalar,
    param_error,
    param_from_json,
)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

ParamLike = Param | Mapping[str, object] | Sequence[Scalar] | np.ndarray[Any, Any] | Scalar
"""What a ``SearchSpace`` accepts per name: a ``Param``, its JSON form (``{"type": ...}``), a
list (or 1-D NumPy array) of choices (categorical) or a scalar (fixed)."""


def _coerce_param(name: str, value: Any) -> Param:
    if isinstance(value, Param):
        return copy.copy(value)
    if not isinstance(value, str | int | float | bool | list | np.ndarray) and value is not None:
        from rung.space.peer_params import peer_hint  # (another library's parameter)

        hint = peer_hint(name, value)
        if hint is not None:
            raise param_error(name, hint)
    if isinstance(value, Mapping):
        return param_from_json(name, value)
    if isinstance(value, tuple):
        raise param_error(name, _tuple_message(value))
    if isinstance(value, np.ndarray) and value.ndim == 1:  # np.linspace(...), np.arange(...)
        value = value.tolist()
    if isinstance(value, list):
        if not value:
            raise param_error(name, "an empty list: a categorical parameter needs choices")
        return Categorical(list(value))
    if isinstance(value, str | int | float | bool) or value is None:
        return Fixed(value)
    raise param_error(name, f"cannot make a parameter from {value!r}")


def _tuple_message(value: tuple[Any, ...]) -> str:
    """What to write instead of a tuple: a range is ``Float`` / ``Int``, choices are a list."""
    if len(value) == 2 and all(is_number(v) for v in value):
        low, high = value
        kind = "Int" if all(is_int(v) for v in value) else "Float"
        other = "Float" if kind == "Int" else "Int"
        return (f"a tuple is ambiguous: write rung.{kind}({low!r}, {high!r}) (or rung.{other}) "
                f"for a range, or a list [{low!r}, {high!r}] for two choices")
    return f"a tuple is ambiguous: write a list {list(value)!r} for categorical choices"


class SearchSpace:
    """An ordered mapping of parameter names to parameters, with ``when=`` conditions.

    The constructor validates everything and raises ``SpaceError`` naming the offending key:
    an empty space, ``low > high``, ``log`` with ``low <= 0``, duplicate or non-scalar choices,
    ``when`` conditions naming unknown parents, parent values the parent cannot take, an
    unstepped ``Float`` parent (it takes any one value with probability 0), cycles, or a
    parameter that no configuration makes active. A condition holds for its parent's value as
    a typed value: ``when={"a": 1}`` holds for ``a=1`` (and ``1.0`` of a float parent), not for
    ``a=True``.

    A plain mapping is accepted too: a ``Param``, a JSON parameter (``{"type": "float", ...}``),
    a list (categorical) or a scalar (fixed) per name.
    """

    def __init__(self, params: Mapping[str, ParamLike]) -> None:
        if isinstance(params, SearchSpace):
            params = params.params
        if not isinstance(params, Mapping):
            raise SpaceError(message=f"a search space is a mapping of names to parameters, "
                             f"got {params!r}")
        if not params:
            raise SpaceError(message="the search space is empty: give at least one parameter")
        self.params: dict[str, Param] = {}
        for name, value in params.items():
            if not isinstance(name, str) or not name:
                key = None if name is None or name == "" else str(name)
                raise SpaceError(key=key, param=None, message=f"parameter names "
                                 f"in a search space must be non-empty strings, got {name!r}")
            if not name.isprintable():  # a newline breaks tables and log lines; the others hide
                raise param_error(name, "a parameter name holds printable characters only (no "
                                  "newline, tab, zero-width or non-breaking space)")
            self.params[name] = _coerce_param(name, value)._bind(name)
        self._check_conditions()
        self.order: list[str] = self._topological_order()
        self._conds = self._condition_keys()
        self._check_reachable()
        self.dims: list[str] = [n for n, p in self.params.items() if p.tunable]
        self._dim_index = {n: i for i, n in enumerate(self.dims)}
        self.conditional = any(p.when for p in self.params.values())
        # no conditions and the definition order is the sampling order: the fast paths of
        # ``sample`` and ``validate`` give exactly what the general loops give
        self._plain = not self.conditional and self.order == list(self.params)

    # --- construction -----------------------------------------------------------------------
    @classmethod
    def empty(cls) -> SearchSpace:
        """A space with no parameters: a define-by-run study's before its first trial (the
        constructor refuses an empty mapping, which is almost always a mistake)."""
        s = cls.__new__(cls)
        s.params, s.order, s.dims, s._dim_index, s._conds = {}, [], [], {}, {}
        s.conditional, s._plain = False, True
        return s

    @classmethod
    def coerce(cls, space: SearchSpace | Mapping[str, ParamLike]) -> SearchSpace:
        """Return ``space`` itself if it is a ``SearchSpace``, else build one from the mapping."""
        return space if isinstance(space, SearchSpace) else cls(space)

    def _check_conditions(self) -> None:
        for name, p in self.params.items():
            for parent, values in p.when.items():
                if parent == name:
                    raise param_error(name, "'when' refers to the parameter itself")
                if parent not in self.params:
                    raise param_error(name, f"'when' refers to unknown parameter {parent!r}"
                                      f"{close_hint(parent, self.params)}")
                pp = self.params[parent]
                for v in values:
                    if not pp.contains(v):
                        raise param_error(
                            name, f"'when' value {v!r} can never be taken by {parent!r}"
                        )

    def _condition_keys(self) -> dict[str, tuple[tuple[str, frozenset[tuple[type, Any]]], ...]]:
        """Every parameter's conditions as parent -> the typed keys (``value_key``) of the
        values it is active under, each value as its parent normalizes it (``1`` for a stepped
        ``Float`` parent is ``1.0``). Activity compares typed keys, as ``Categorical`` does:
        ``when={"a": 1}`` does not hold for ``a=True``. Raises ``SpaceError`` for a condition
        on an unstepped ``Float``: it names a value that parent takes with probability 0."""
        out: dict[str, tuple[tuple[str, frozenset[tuple[type, Any]]], ...]] = {}
        for name, p in self.params.items():
            conds = []
            for parent, values in p.when.items():
                pp = self.params[parent]
                if isinstance(pp, Float) and pp.step is None and pp.tunable:
                    raise param_error(
                        name, f"'when' on {parent!r}, a continuous parameter, which takes "
                        f"{values[0]!r} with probability 0: condition on a categorical, "
                        "integer, stepped float or fixed parameter"
                    )
                conds.append((parent, frozenset(value_key(pp.validate(v)) for v in values)))
            out[name] = tuple(conds)
        return out

    def _check_reachable(self) -> None:
        """Raise ``SpaceError`` for a parameter that no configuration makes active: its own
        conditions and those of its parents (recursively) need one parameter in disjoint sets
        of values (``b`` active when ``c == 2`` and ``a == 2``, but ``c`` only when ``a == 1``)."""
        # what each parameter's activity requires: parent -> the keys it must be among
        need: dict[str, dict[str, frozenset[tuple[type, Any]]]] = {}
        for n in self.order:
            req: dict[str, frozenset[tuple[type, Any]]] = {}
            for parent, keys in self._conds[n]:
                for k, allowed in [*need[parent].items(), (parent, keys)]:
                    both = req.get(k, allowed) & allowed
                    if not both:
                        raise param_error(n, "can never be active: its 'when' conditions and "
                                          f"its parents' need {k!r} in disjoint sets of values")
                    req[k] = both
            need[n] = req

    def _topological_order(self) -> list[str]:
        order: list[str] = []
        state: dict[str, int] = {}  # 1 = visiting, 2 = done

        def visit(n: str, path: list[str]) -> None:
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                cycle = " -> ".join([*path[path.index(n) :], n])
                raise param_error(n, f"cyclic 'when' conditions ({cycle})")
            state[n] = 1
            for parent in self.params[n].when:
                visit(parent, [*path, n])
            state[n] = 2
            order.append(n)

        for n in self.params:
            visit(n, [])
        return order

    # --- mapping protocol -----------------------------------------------------------------
    def __getitem__(self, name: str) -> Param:
        return self.params[name]

    def __contains__(self, name: object) -> bool:
        return name in self.params

    def __iter__(self) -> Iterator[str]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_json(), sort_keys=True))

    def __repr__(self) -> str:
        return f"SearchSpace({self.params!r})"

    # --- conditions -----------------------------------------------------------------------
    def _is_active(self, p: Param, values: Mapping[str, Any]) -> bool:
        """``p``'s conditions hold for ``values`` (normalized values: ``validate``'s)."""
        for parent, allowed in self._conds[p.name]:
            if parent not in values:
                return False
            v = values[parent]
            if (type(v), v) not in allowed:
                return False
        return True

    def active(self, params: Mapping[str, object]) -> list[str]:
        """Names of the parameters that are active given the values in ``params`` (in
        topological order). A value its parameter does not accept activates nothing."""
        seen: dict[str, Any] = {}
        out: list[str] = []
        for n in self.order:
            p = self.params[n]
            if self._is_active(p, seen):
                out.append(n)
                if n in params:
                    with contextlib.suppress(SpaceError):
                        seen[n] = p.validate(params[n])
        return out

    # --- sampling and validation ----------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draw one configuration uniformly in the unit encoding (log parameters uniformly in log
        space). Only active parameters appear in the result, in definition order."""
        if self._plain:
            return {n: p.sample(rng) for n, p in self.params.items()}
        values: dict[str, Any] = {}
        for n in self.order:
            p = self.params[n]
            if self._is_active(p, values):
                values[n] = p.sample(rng)
        return {n: values[n] for n in self.params if n in values}

    def validate(self, params: Mapping[str, object]) -> dict[str, Any]:
        """Check a configuration and return it normalized (ints as ``int``, floats as ``float``,
        missing values of ``Fixed`` parameters and one-value ranges filled in). Raises
        ``SpaceError`` naming the first bad key: an unknown name, a missing active parameter,
        a value of the wrong type or out of range, or a value given for a parameter that its
        conditions make inactive."""
        if type(params) is not dict and not isinstance(params, Mapping):  # (ABC check is slow)
            raise SpaceError(message=f"a configuration is a mapping of names to values, "
                             f"got {params!r}")
        for k in params:
            if k not in self.params:
                raise param_error(k, f"not a parameter of this space"
                                  f"{close_hint(k, self.params, given=params)} "
                                  f"({list(self.params)})")
        if self._plain and len(params) == len(self.params):
            return {n: p.validate(params[n]) for n, p in self.params.items()}
        values: dict[str, Any] = {}
        for n in self.order:
            p = self.params[n]
            if self._is_active(p, values):
                if n in params:
                    values[n] = p.validate(params[n])
                elif not p.tunable:  # Fixed, or a range of one value
                    values[n] = p.from_unit(0.5)
                else:
                    raise param_error(n, "missing a value for this active parameter")
            elif n in params:
                cond = ", ".join(f"{k} in {list(v)!r}" for k, v in p.when.items())
                raise param_error(n, f"given, but inactive here (active when {cond})")
        return {n: values[n] for n in self.params if n in values}

    def complete(
        self, partial: Mapping[str, object], proposal: Mapping[str, object],
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        """A configuration holding every value of ``partial`` (an enqueued configuration):
        an active parameter it lacks takes the ``proposal``'s value (a searcher's suggestion),
        else a fresh draw from ``rng``; parameters the result makes inactive are dropped.
        Raises ``SpaceError`` naming the key if ``partial`` itself is not valid."""
        values: dict[str, Any] = {}
        for n in self.order:
            p = self.params[n]
            if not self._is_active(p, values):
                continue
            if n in partial:
                values[n] = p.validate(partial[n])
            elif n in proposal:
                values[n] = p.validate(proposal[n])
            else:
                values[n] = p.sample(rng)
        return self.validate({n: values[n] for n in self.params if n in values})

    def check_partial(self, partial: Mapping[str, object]) -> dict[str, Any]:
        """Check an enqueued (possibly partial) configuration: every key a parameter of this
        space, every value valid for it. Returns it normalized; ``SpaceError`` naming the
        first bad key otherwise."""
        if not isinstance(partial, Mapping):
            raise SpaceError(message=f"a configuration is a mapping of names to values, "
                             f"got {partial!r}")
        out: dict[str, Any] = {}
        for k, v in partial.items():
            if k not in self.params:
                raise param_error(str(k), f"not a parameter of this space"
                                  f"{close_hint(k, self.params, given=partial)} "
                                  f"({list(self.params)})")
            out[k] = self.params[k].validate(v)
        for k in out:  # a conditional value needs its branch given too (never dropped later)
            for parent in self.params[k].when:
                if parent not in out:
                    raise param_error(k, f"conditional on {parent!r}: give {parent!r} too")
            if not self._is_active(self.params[k], out):
                cond = ", ".join(f"{p} in {list(v)!r}" for p, v in self.params[k].when.items())
                raise param_error(k, f"given, but inactive here (active when {cond})")
        return out

    # --- unit encoding --------------------------------------------------------------------
    @property
    def n_dims(self) -> int:
        return len(self.dims)

    def to_unit(self, params: Mapping[str, Scalar]) -> np.ndarray:
        """Encode a configuration as a point of ``[0, 1]^n_dims`` (one coordinate per tunable
        parameter, in ``self.dims`` order). Inactive (or absent) parameters are NaN."""
        u = np.full(len(self.dims), np.nan)
        for i, n in enumerate(self.dims):
            if n in params:
                u[i] = self.params[n].to_unit(params[n])
        return u

    def from_unit(self, u: ArrayLike) -> dict[str, Any]:
        """Decode a point of the unit cube. Coordinates of parameters that the decoded values make
        inactive are ignored; a NaN coordinate of an active parameter decodes as 0.5."""
        arr = np.asarray(u, dtype=float)
        if arr.shape != (len(self.dims),):
            raise SpaceError(
                message=f"expected a vector of {len(self.dims)} unit coordinates, got {arr.shape}"
            )
        values: dict[str, Any] = {}
        for n in self.order:
            p = self.params[n]
            if not self._is_active(p, values):
                continue
            if p.tunable:
                x = arr[self._dim_index[n]]
                values[n] = p.from_unit(0.5 if math.isnan(x) else float(x))
            else:
                values[n] = p.from_unit(0.5)
        return {n: values[n] for n in self.params if n in values}

    def dim_index(self, name: str) -> int:
        return self._dim_index[name]

    # --- grid (rung.space.grid) -----------------------------------------------------------
    def grid(self, points: int | Mapping[str, int] = 5) -> list[dict[str, Any]]:
        """All configurations of a grid: every choice of each categorical, ``points`` values of
        each numeric parameter (all values if it has fewer), only active combinations, no
        duplicates, in a deterministic order."""
        return space_grid(self, points)

    def _grid_bound(self, counts: Mapping[str, int]) -> int:
        """An upper bound of the grid's size (exact unless a numeric axis loses duplicates),
        ``MAX_GRID + 1`` as soon as it exceeds ``MAX_GRID``, found without building the grid:
        the parents of conditions are enumerated, the other parameters only counted."""
        return grid_bound(self, counts)

    def grid_size(self, points: int | Mapping[str, int] = 5) -> int:
        return len(self.grid(points))

    def values_per_param(self) -> dict[str, int] | None:
        """How many values each tunable parameter takes (``Int``, a stepped ``Float``,
        ``Categorical``), or ``None`` when one is continuous: then the space is infinite."""
        out: dict[str, int] = {}
        for n in self.order:
            p = self.params[n]
            if not p.tunable:
                continue
            if isinstance(p, Categorical):
                out[n] = len(p.choices)
            elif isinstance(p, Int) or (isinstance(p, Float) and p.step is not None):
                out[n] = int(p._n)
            else:
                return None
        return out

    def size(self) -> int | None:
        """The number of distinct configurations (active combinations only) of a finite space,
        ``MAX_GRID + 1`` when above ``MAX_GRID`` (counted without enumerating); ``None`` for a
        space with a continuous parameter."""
        values = self.values_per_param()
        if values is None:
            return None
        bound = self._grid_bound({n: values.get(n, 1) for n in self.order})
        return bound if bound > MAX_GRID else self.grid_size({n: values.get(n, 1)
                                                              for n in self.order})

    # --- JSON -----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {n: p.to_json() for n, p in self.params.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> SearchSpace:
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as e:
                raise SpaceError(message=f"a JSON search space is not JSON: {e}") from None
        if not isinstance(data, Mapping):
            raise SpaceError(message=f"a JSON search space is an object, got {data!r}")
        return cls({n: param_from_json(n, d) for n, d in data.items()})


def value_key(value: Any) -> tuple[type, Any]:
    """A value with its type, so that ``1``, ``1.0`` and ``True`` (equal in Python) differ,
    as they do among a ``Categorical``'s choices."""
    return (type(value), value)


__all__ = ["Categorical", "Fixed", "Float", "Int", "Param", "SearchSpace", "product_size"]
