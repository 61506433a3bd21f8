"""Exhaustive grid search.

Every categorical choice and ``points`` values of each numeric parameter (all of them when a
parameter has fewer), only active combinations under ``when=`` conditions. Points are proposed in
a fixed order, or in a seeded random permutation with ``shuffle=True`` (better anytime behaviour
when the budget is smaller than the grid). ``suggest`` returns ``None`` once every point has been
proposed. The ``index``-th proposal is the ``index``-th grid point, so the searcher holds no
state that replay would have to rebuild.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rung._validate import is_int
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

    def __init__(self, points: int | Mapping[str, int] = 5, shuffle: bool = False) -> None:
        self.points = points
        self.shuffle = shuffle

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
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

    def __len__(self) -> int:
        return len(self._grid)

    def suggest(self, request: SuggestRequest) -> dict[str, Any] | None:
        if request.index >= len(self._grid):
            return None
        return dict(self._grid[request.index])
