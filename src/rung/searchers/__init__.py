"""Searchers: what to try next. Each module registers its searcher by name."""

from rung.core.components import Searcher, SuggestRequest
from rung.searchers.grid import GridSearcher
from rung.searchers.random import RandomSearcher

__all__ = ["GridSearcher", "RandomSearcher", "Searcher", "SuggestRequest"]
