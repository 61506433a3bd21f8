"""Cost-aware search: prices, the ledger (a pure fold over the journal), the stop rule.

- ``prices.Prices``: money per device-hour;
- ``ledger``: what a study spent, by outcome, per worker, against what it saved;
- ``stop_rule.StopRule``: stops the search when more trials are unlikely to pay.

Importing this package imports no SciPy (the stop rule's model is imported when it first runs).
"""

from __future__ import annotations

from rung.cost.prices import Prices

__all__ = ["Prices"]
