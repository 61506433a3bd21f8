"""The worker timeline's answer (``/api/study/NAME/workers``): ``charts.workers``'s runs with
the share of time the worker slots were busy as the ledger counts it.

The busy share is ``rung.cost``'s ``Ledger.utilization`` (``rung ledger`` and the dashboard's
ledger page print the same figure): busy worker-hours over the hours the driver's sessions
offered, worker start-up and the gaps between sessions left out (``docs/cost.md``). The
timeline's own span runs from the study's first event to now, gaps included, so a share
computed over it contradicted the ledger (4% against 100% for a study driven in bursts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rung.dashboard.charts import workers

if TYPE_CHECKING:
    from rung.dashboard.data import Snapshot


def workers_page(snap: Snapshot) -> dict[str, Any]:
    """``charts.workers(snap)`` with ``utilization`` the ledger's (``None`` while no worker
    slot has been offered any time). Reads the study's journal read-only, incrementally
    (``rung.dashboard.ledger.ledger_view``)."""
    from rung.dashboard.ledger import ledger_view

    led = ledger_view(snap.path, snap.name)
    offered = sum(w["available_hours"] for w in led["workers"])
    return {**workers(snap), "utilization": led["utilization"] if offered > 0 else None}


__all__ = ["workers_page"]
