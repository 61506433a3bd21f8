"""Scrambled Sobol' sequence: quasi-random, space-filling search.

Sobol', "On the distribution of points in a cube and the approximate evaluation of integrals",
USSR Comput. Math. & Math. Phys. 7(4), 1967; scrambling after Owen, "Scrambling Sobol' and
Niederreiter-Xing points", J. Complexity 14(4), 1998 (via ``scipy.stats.qmc.Sobol``).

One scrambled sequence is drawn per study, seeded from the study seed; the configuration of the
``index``-th suggestion is the ``index``-th point of that sequence decoded through the space's
unit encoding (integer, log, categorical and conditional parameters included: coordinates of
parameters that the decoded values make inactive are ignored). The searcher therefore keeps no
state that replay would have to rebuild, and consecutive suggestions, pending or not, fill the
space evenly: pending trials are accounted for by construction, since each launched trial has
taken its own point. Where the active parameters are all discrete, two points can decode to
one configuration (a 3-choice categorical: the first two points often fall in one third): a
point whose configuration some trial already has, in any state, is skipped for the next one
that no trial has (then a uniform draw that none has; once every configuration was tried, the
next that is not pending), as in the initial design of ``tpe`` and ``gp``
(``_pending.initial_suggestion``). Where a continuous parameter is active nothing is skipped.
It is non-adaptive, so constraints and multiple objectives need nothing from it. It is also
the initial design of the model-based searchers (``tpe``, ``gp``).
"""

from __future__ import annotations

from typing import Any

from rung.core.components import BindContext, Searcher, SuggestRequest
from rung.core.registry import register
from rung.searchers._common import SobolDesign, UnitCache, dims_of
from rung.searchers._pending import initial_suggestion


@register("searcher", "sobol")
class SobolSearcher(Searcher):
    """Scrambled Sobol' points, the ``index``-th for the ``index``-th suggestion."""

    def __init__(self) -> None:
        pass

    version = 2
    changes = {
        2: "a point whose configuration some trial already has, in any state, is skipped for "
        "the next one that no trial has (only where the active parameters are all discrete; "
        "elsewhere suggestions are unchanged); was: Categorical(['a', 'b', 'c']) repeated a "
        "choice within its first 3 suggestions at every seed tried",
    }

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        self._dims = dims_of(ctx.space)
        self._design = SobolDesign(ctx.space.n_dims, ctx.seed)
        self._units = UnitCache(ctx.space)

    def suggest(self, request: SuggestRequest) -> dict[str, Any] | None:
        return initial_suggestion(self.space, self._dims, self._design, self._units, request,
                                  self._units.tried(request.history))
