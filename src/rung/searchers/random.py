"""Random search (Bergstra & Bengio, JMLR 2012): each configuration drawn independently.

Uniform in the space's unit encoding (so log-scaled parameters are log-uniform), conditional
parameters drawn only when active. Each trial's draws come from ``derive_rng(seed, "searcher",
trial_id)``, so the configuration of trial ``i`` depends on what happened before it only through
the configurations already tried: a draw that some trial already has (in any state) is drawn
again, up to 100 times, then taken uniformly among the untried configurations of a finite
space. Only where the active parameters are all discrete can a draw repeat one; elsewhere the
first draw is always taken, as in version 1.

Finite spaces: where every tunable parameter is an integer, a stepped float or a categorical
(at most ``_common.EXHAUSTIBLE``, 10,000, configurations), ``suggest`` returns ``None`` once
every configuration has been proposed, whatever became of the trials (pending, failed,
stopped): the searcher is exhausted and the search ends, as a grid's does. ``repeats=True`` (a
noisy objective, where trying a configuration again measures its noise) keeps drawing then,
independently, repeats included: the searcher is never exhausted.
"""

from __future__ import annotations

from typing import Any

from rung._validate import check_bool
from rung.core.components import BindContext, Searcher, SuggestRequest
from rung.core.registry import register
from rung.searchers._common import DEFINE_BY_RUN_TRIED, FiniteConfigs, UnitCache
from rung.searchers._pending import config_key
from rung.space import Float

#: Draws before a finite space's untried configurations are listed.
_DRAWS = 100


@register("searcher", "random")
class RandomSearcher(Searcher):
    """Uniform draws from the search space, without repeats (see the module docstring).

    Args:
        repeats: once every configuration of a finite space was tried, go on drawing
            (repeats, for a noisy objective) instead of being exhausted.
    """

    version = 3
    changes = {
        2: "a draw that some trial already has, in any state, is drawn again (up to 100 "
        "times, then a uniform pick among the untried configurations), and a finite space "
        "whose every configuration was tried exhausts the searcher (the search ends); only "
        "where the active parameters are all discrete (elsewhere suggestions are unchanged); "
        "repeats=True draws on once all were tried; was: Int(0, 4) with 20 trials "
        "tried 0 four times and 1 eight times",
        3: DEFINE_BY_RUN_TRIED,
    }

    def __init__(self, repeats: bool = False) -> None:
        self.repeats = repeats

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        check_bool("searcher.params.repeats", self.repeats)
        self._units = UnitCache(ctx.space)
        self._finite = FiniteConfigs(ctx.space)
        # a continuous parameter that is always active: no two draws coincide, nothing to track
        # (a Float(a, a) is one value, not continuous: it takes no coordinate)
        self._distinct = any(isinstance(p, Float) and p.step is None and not p.when
                             and p.tunable for p in ctx.space.params.values())

    def suggest(self, request: SuggestRequest) -> dict[str, Any] | None:
        rng = request.rng
        cfg = self.space.sample(rng)
        if self._distinct:
            return cfg
        tried = self._units.tried(request.history)
        if not tried or config_key(self.space.to_unit(cfg)) not in tried:
            return cfg
        if self._finite.exhausted(tried):
            return cfg if self.repeats else None
        for _ in range(_DRAWS - 1):
            cfg = self.space.sample(rng)
            if config_key(self.space.to_unit(cfg)) not in tried:
                return cfg
        untried = self._finite.untried(tried, rng)
        return untried if untried is not None else cfg
