"""How the ledger counts a run the engine itself stopped: ``stop_cause`` reads the reason of
the engine's own STOP reply (``BUDGET_REASON``, ``RULE_PREFIX``) into the ``by_outcome`` key
the run counts under (``stopped-by-budget``, ``stopped-by-rule``) instead of ``stopped``."""

from __future__ import annotations

#: the reasons of the STOP replies the engine itself sends a running trial (``Engine._on_result``)
#: once the budget is spent, or after the stop rule ended the search (this prefix, then the
#: rule's reason): the by_outcome key such a stopped run is counted under instead of ``stopped``
BUDGET_REASON = "budget exhausted"
RULE_PREFIX = "search stopped: "


def stop_cause(reason: str) -> str | None:
    """``stopped-by-budget`` or ``stopped-by-rule`` for the reason of a STOP the engine sent
    on its own (``BUDGET_REASON``, ``RULE_PREFIX``); ``None`` for a scheduler's."""
    if reason == BUDGET_REASON:
        return "stopped-by-budget"
    if reason.startswith(RULE_PREFIX):
        return "stopped-by-rule"
    return None


__all__ = ["BUDGET_REASON", "RULE_PREFIX", "stop_cause"]
