"""Cost-aware search: prices, the ledger (a pure fold over the journal), the stop rule.

- ``prices.Prices``: money per device-hour;
- ``ledger``: what a study spent, by outcome, per worker, against what it saved;
- ``stop_rule.StopRule``: stops the search when more trials are unlikely to pay;
- ``noise``: the statistical error of an error rate on ``n`` examples (``n`` read off the rates).

Importing this package imports no SciPy (the stop rule's model is imported when it first runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rung.core.registry import declare
from rung.cost.prices import Prices

if TYPE_CHECKING:  # served lazily by ``__getattr__`` (it imports the stop rule's modules)
    from rung.cost.stop_rule import StopRule

# the stop rules by name (``Budget(stop="auto")``), imported on first use
declare("stop_rule", "auto", "rung.cost.stop_rule")


if not TYPE_CHECKING:  # hidden from type checkers, so that they flag unknown names

    def __getattr__(name: str) -> Any:
        if name == "StopRule":
            from rung.cost.stop_rule import StopRule

            return StopRule
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Prices", "StopRule"]
