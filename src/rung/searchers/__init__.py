"""Searchers: what to try next. Each module registers its searcher by name."""

from rung.core.components import Searcher, SuggestRequest
from rung.searchers.bohb import BOHBSearcher
from rung.searchers.gp import GPSearcher
from rung.searchers.grid import GridSearcher
from rung.searchers.random import RandomSearcher
from rung.searchers.sobol import SobolSearcher
from rung.searchers.tpe import TPESearcher

__all__ = [
    "BOHBSearcher",
    "GPSearcher",
    "GridSearcher",
    "RandomSearcher",
    "Searcher",
    "SobolSearcher",
    "SuggestRequest",
    "TPESearcher",
]
