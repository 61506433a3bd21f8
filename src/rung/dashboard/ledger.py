"""The dashboard's ledger page: ``GET /ledger`` (``static/ledger.html``) and
``GET /api/study/{name}/ledger`` (the ``rung.cost.ledger`` fold of the study's journal as JSON,
with the study's ``name`` and its objective's ``metric`` and ``mode``).

The fold reads the journal read-only on each request, like ``rung ledger``; it is cached by the
number of records, so a page polling an idle study costs one count. Non-finite numbers (the
first improvement's cost per unit) are sent as ``null`` (``Ledger.to_json``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

_CACHE: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
_LOCK = threading.Lock()


def ledger_view(path: Path, name: str) -> dict[str, Any]:
    """The ledger of study ``name`` in the SQLite journal at ``path``, as JSON-safe data."""
    from rung.core.records import StudySpec
    from rung.cost.ledger import ledger
    from rung.storage import SQLiteJournal

    with SQLiteJournal(path, readonly=True) as journal:
        records = journal.read(name)
        key = (str(path), name)
        with _LOCK:
            hit = _CACHE.get(key)
            if hit is not None and hit[0] == len(records):
                return hit[1]
        spec = StudySpec.from_json(journal.load_study(name))
    out: dict[str, Any] = ledger(spec, records).to_json()
    out["name"] = name
    # what the incumbent's values are, for the page's axis
    out["metric"] = spec.objective.metric
    out["mode"] = spec.objective.mode
    with _LOCK:
        _CACHE[key] = (len(records), out)
    return out


__all__ = ["ledger_view"]
