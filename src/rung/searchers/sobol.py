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
taken its own point. It is non-adaptive, so constraints and multiple objectives need nothing
from it. It is also the initial design of the model-based searchers (``tpe``, ``gp``, ``bohb``).
"""

from __future__ import annotations

from typing import Any

from rung.core.components import BindContext, Searcher, SuggestRequest
from rung.core.registry import register
from rung.searchers._common import SobolDesign, decode


@register("searcher", "sobol")
class SobolSearcher(Searcher):
    """Scrambled Sobol' points, the ``index``-th for the ``index``-th suggestion."""

    def __init__(self) -> None:
        pass

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        self._design = SobolDesign(ctx.space.n_dims, ctx.seed)

    def suggest(self, request: SuggestRequest) -> dict[str, Any] | None:
        return decode(self.space, self._design.point(request.index))
