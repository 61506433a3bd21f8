"""Exhaustive grid search.

Every categorical choice and ``points`` values of each numeric parameter (all of them when a
parameter has fewer), only active combinations under ``when=`` conditions. Points are proposed in
a fixed order, or in a seeded random permutation with ``shuffle=True`` (better anytime behaviour
when the budget is smaller than the grid). Each proposal is the first point, in that order, that
no trial of the study has (enqueued configurations included: a point enqueued runs once, and a
partial configuration the grid completes leaves the point it was completed from to run as
itself); ``suggest`` returns ``None`` once every point has a trial. What the searcher keeps is a
cache of the history (a cursor past points that have trials, which only ever gain one), so
replay rebuilds it by calling it as the run did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rung._validate import check_bool, is_int
from rung.core.components import BindContext, Searcher, SuggestRequest
from rung.core.registry import register
from rung.core.rng import derive_rng
from rung.errors import ConfigError, SpaceError


@register("searcher", "grid")
class GridSearcher(Searcher):
    """Args:
    points: values per numeric parameter (an int, or a mapping name -> int).
    shuffle: propose grid points in a seeded random order.
    """

    exhausts = True  # a finite grid: the study ends when every point was proposed
    version = 2
    changes = {2: "a proposal is the first grid point no trial has (before: the index-th point, "
                  "the index counting enqueued trials: enqueued configurations made the grid "
                  "skip points and repeat others)"}

    def __init__(self, points: int | Mapping[str, int] = 5, shuffle: bool = False) -> None:
        self.points = points
        self.shuffle = shuffle

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        check_bool("searcher.params.shuffle", self.shuffle)
        if not (is_int(self.points) or isinstance(self.points, Mapping)):
            raise ConfigError(
                key="searcher.params.points",
                message=f"expected an int or mapping, got {self.points!r}",
            )
        try:
            self._grid = self.space.grid(self.points)
        except SpaceError as e:  # a bad 'points', not a bad space: keyed on the searcher
            per = f".{e.param}" if isinstance(self.points, Mapping) and e.param else ""
            raise ConfigError(key=f"searcher.params.points{per}", message=e.message) from None
        if self.shuffle:
            order = derive_rng(ctx.seed, "grid").permutation(len(self._grid))
            self._grid = [self._grid[int(i)] for i in np.asarray(order)]
        from rung.searchers._common import UnitCache
        from rung.searchers._pending import config_key

        self._cache = UnitCache(self.space)
        self._keys = [config_key(self.space.to_unit(p)) for p in self._grid]
        self._next = 0  # every point before it has a trial

    def __len__(self) -> int:
        return len(self._grid)

    def suggest(self, request: SuggestRequest) -> dict[str, Any] | None:
        tried = self._cache.tried(request.history)
        while self._next < len(self._grid) and self._keys[self._next] in tried:
            self._next += 1
        if self._next >= len(self._grid):
            return None
        return dict(self._grid[self._next])
