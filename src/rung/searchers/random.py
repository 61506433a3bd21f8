"""Random search (Bergstra & Bengio, JMLR 2012): each configuration drawn independently.

Uniform in the space's unit encoding (so log-scaled parameters are log-uniform), conditional
parameters drawn only when active. Each trial's draw comes from ``derive_rng(seed, "searcher",
trial_id)``, so the configuration of trial ``i`` does not depend on what happened before it.
"""

from __future__ import annotations

from typing import Any

from rung.core.components import Searcher, SuggestRequest
from rung.core.registry import register


@register("searcher", "random")
class RandomSearcher(Searcher):
    """Independent uniform draws from the search space."""

    def __init__(self) -> None:
        pass

    def suggest(self, request: SuggestRequest) -> dict[str, Any] | None:
        return self.space.sample(request.rng)
