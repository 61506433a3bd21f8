"""The worker timeline's answer (``/api/study/NAME/workers``): ``charts.workers``'s runs with
the share of time the worker slots were busy as the ledger counts it.

The busy share is ``rung.cost``'s ``Ledger.utilization`` (``rung ledger`` and the dashboard's
ledger page print the same figure): busy worker-hours over the hours the driver's sessions
offered, worker start-up and the gaps between sessions left out (``docs/cost.md``). The
timeline's own span runs from the study's first event to now, gaps included, so a share
computed over it contradicted the ledger (4% against 100% for a study driven in bursts).

The answer is kept until new records arrive (``charts.memoized``, as the charts are): a refresh
of a finished study, or of a live one between two records, reads nothing, and one after new
records feeds only those to the ledger's fold (``rung.dashboard.ledger``). (It asked the ledger
on every refresh, under the lock every other page waits for: 273 ms of CPU per refresh at
20,000 trials, most of it copying the ledger's whole fold; 33 ms now, ``benchmarks/RESULTS.md``,
section ``bench_dashboard: live refresh``.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rung.dashboard.charts import memoized, workers

if TYPE_CHECKING:
    from rung.dashboard.data import Snapshot


@memoized
def workers_page(snap: Snapshot) -> dict[str, Any]:
    """``charts.workers(snap)`` with ``utilization`` the ledger's (``None`` while no worker
    slot has been offered any time), kept until ``snap`` has read new records. Reads the
    study's journal read-only, incrementally (``rung.dashboard.ledger.ledger_view``)."""
    from rung.dashboard.ledger import ledger_view

    led = ledger_view(snap.path, snap.name)
    offered = sum(w["available_hours"] for w in led["workers"])
    return {**workers(snap), "utilization": led["utilization"] if offered > 0 else None}


__all__ = ["workers_page"]
