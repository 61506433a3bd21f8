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
(``_pending.initial_suggestion``; near the end of a finite space, a uniform pick among the
untried configurations). Where a continuous parameter is active nothing is skipped.

Finite spaces: where every tunable parameter is an integer, a stepped float or a categorical
(at most ``_common.EXHAUSTIBLE``, 10,000, configurations), ``suggest`` returns ``None`` once
every configuration has been proposed, whatever became of the trials (pending, failed,
stopped): the searcher is exhausted and the search ends, as a grid's does. ``repeats=True`` (a
noisy objective) goes on with the next Sobol' point that is not pending instead.
It is non-adaptive, so constraints and multiple objectives need nothing from it. It is also
the initial design of the model-based searchers (``tpe``, ``gp``).
"""

from __future__ import annotations

from typing import Any

from rung._validate import check_bool
from rung.core.components import BindContext, Searcher, SuggestRequest
from rung.core.registry import register
from rung.searchers._common import (
    DEFINE_BY_RUN_TRIED,
    FiniteConfigs,
    SobolDesign,
    UnitCache,
    dims_of,
)
from rung.searchers._pending import initial_suggestion


@register("searcher", "sobol")
class SobolSearcher(Searcher):
    """Scrambled Sobol' points, the ``index``-th for the ``index``-th suggestion.

    Args:
        repeats: once every configuration of a finite space was tried, propose tried ones
            again (a noisy objective) instead of being exhausted.
    """

    def __init__(self, repeats: bool = False) -> None:
        self.repeats = repeats

    version = 4
    changes = {
        2: "a point whose configuration some trial already has, in any state, is skipped for "
        "the next one that no trial has (only where the active parameters are all discrete; "
        "elsewhere suggestions are unchanged); was: Categorical(['a', 'b', 'c']) repeated a "
        "choice within its first 3 suggestions at every seed tried",
        3: "a finite space (at most 10,000 configurations) whose every configuration was "
        "tried, in any state, exhausts the searcher (suggest returns None: the search ends), "
        "unless repeats=True; before that, when neither Sobol' points nor draws find an "
        "untried configuration, one is picked uniformly among them; was: Int(0, 4) with 20 "
        "trials spent 15 of them on repeats",
        4: DEFINE_BY_RUN_TRIED,
    }

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        check_bool("searcher.params.repeats", self.repeats)
        self._dims = dims_of(ctx.space)
        self._design = SobolDesign(ctx.space.n_dims, ctx.seed)
        self._units = UnitCache(ctx.space)
        self._finite = FiniteConfigs(ctx.space)

    def suggest(self, request: SuggestRequest) -> dict[str, Any] | None:
        tried = self._units.tried(request.history)
        if not self.repeats and self._finite.exhausted(tried):
            return None
        return initial_suggestion(self.space, self._dims, self._design, self._units, request,
                                  tried, self._finite)
