"""Searchers: what to try next.

Every built-in searcher is declared here by name (``rung.core.registry.declare``) and its class
exported lazily: importing this package imports no searcher module (and so no SciPy);
``lookup`` / ``build`` by name, or reading an attribute below, imports just that module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rung.core.components import Searcher, SuggestRequest
from rung.core.registry import declare, declare_builtins

if TYPE_CHECKING:
    from rung.searchers.bohb import BOHBSearcher
    from rung.searchers.gp import GPSearcher
    from rung.searchers.grid import GridSearcher
    from rung.searchers.random import RandomSearcher
    from rung.searchers.sobol import SobolSearcher
    from rung.searchers.tpe import TPESearcher

# registry name, class name, module (the module registers the class under that name)
_BUILTIN = (
    ("bohb", "BOHBSearcher", "rung.searchers.bohb"),
    ("gp", "GPSearcher", "rung.searchers.gp"),
    ("grid", "GridSearcher", "rung.searchers.grid"),
    ("random", "RandomSearcher", "rung.searchers.random"),
    ("sobol", "SobolSearcher", "rung.searchers.sobol"),
    ("tpe", "TPESearcher", "rung.searchers.tpe"),
)
_getattr = declare_builtins("searcher", __name__, _BUILTIN)
# adapters of other libraries' samplers: known by name (journals, YAML specs), imported on use
declare("searcher", "optuna", "rung.integrations.optuna")
if not TYPE_CHECKING:  # hidden from type checkers, so that they flag unknown names
    __getattr__ = _getattr


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
