"""The dashboard's ledger page: ``GET /ledger`` (``static/ledger.html``) and
``GET /api/study/{name}/ledger`` (the ``rung.cost.ledger`` fold of the study's journal as JSON,
with the study's ``name`` and its objective's ``metric`` and ``mode``).

The journal is read read-only, like ``rung ledger``, and folded incrementally: the fold of the
records read so far is kept per study, a request counts the journal's records and feeds the fold
only those appended since, and an unchanged journal is answered from the last answer. (Folding
the whole journal on every poll took 0.6 s for a 2,500-trial study and 2 s for a live one of
46,000 records, once a second per open page.) The answer is the fold's ``result()``, which
charges the runs still open on a side copy of them alone and leaves the fold as it was (a deep
copy of the whole fold for it took 256 ms of CPU a refresh at 20,000 trials, 13 ms now:
``benchmarks/RESULTS.md``, section ``bench_dashboard: live refresh``). The kept fold is used
only while the journal still starts with the records it folded (``rung.dashboard.guard``, the
check the dashboard's other pages make: the fingerprint of those records, compared again once
the new records are read, with the new fingerprint taken in the same read transaction); a study
deleted and created again (other prices, other trials, as many records or fewer or more), or a
journal cut and written again, is folded anew.
Non-finite numbers (the first improvement's cost per unit) are sent as ``null``
(``Ledger.to_json``).

``priced`` (``Ledger.priced``, the rule ``rung ledger`` follows) says whether money measures the
study: ``false`` without prices or when the prices charge none of what the trials held (prices
for GPUs, trials on CPUs), and the page then speaks in device-hours, as ``rung ledger`` does.
For that the answer carries the figures ``rung ledger`` prints in device-hours
(``Ledger.saving_device_hours``, ``Improvement.device_hours_per_unit``: ``null`` for the
first), so the page computes nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# the fold's state, fed record by record (``rung.cost.ledger.ledger`` is this loop)
from rung.cost.ledger import _Fold
from rung.dashboard.guard import Rewritten, guard_of, reguard


@dataclass
class _Kept:
    n_records: int
    fold: _Fold
    answer: dict[str, Any]
    fingerprint: str | None = None  # ``guard`` of the first ``n_records`` records


_CACHE: dict[tuple[str, str], _Kept] = {}
_LOCK = threading.Lock()
#: looks at a study that is re-created again and again while it is read, before giving up
ATTEMPTS = 3


def ledger_view(path: Path, name: str) -> dict[str, Any]:
    """The ledger of study ``name`` in the SQLite journal at ``path``, as JSON-safe data: the
    fold of every record the journal holds now (a study re-created since the last call is
    folded anew)."""
    key = (str(path), name)
    with _LOCK:  # one fold per study: requests for it wait for each other
        for _ in range(ATTEMPTS - 1):
            try:
                return _look(path, name, key)
            except Rewritten:  # not the journal it folded: fold it anew
                _CACHE.pop(key, None)
        return _look(path, name, key)


def _look(path: Path, name: str, key: tuple[str, str]) -> dict[str, Any]:
    """``ledger_view``'s one look, under its lock; ``Rewritten`` if the journal is not the
    one the kept fold read."""
    from rung.core.records import StudySpec
    from rung.dashboard import data
    from rung.storage import SQLiteJournal

    with SQLiteJournal(path, readonly=True) as journal:
        n = journal.count(name)
        kept = _CACHE.get(key)
        if kept is None:  # the guard before the spec (a study re-created between fails below)
            ident = guard_of(path, name, 0)
            kept = _Kept(0, _Fold(StudySpec.from_json(journal.load_study(name))), {}, ident)
        elif kept.n_records >= n:  # nothing new (or fewer), if it still is the journal it read
            if guard_of(path, name, kept.n_records) != kept.fingerprint:
                raise Rewritten(f"{path}: study {name!r} was re-created")
            return kept.answer
    new = data.read_records(path, name, kept.n_records, n - kept.n_records)
    check = (kept.n_records, kept.fingerprint)
    fingerprint = reguard(path, name, check, kept.n_records + len(new))  # before it is fed
    for rec in new:
        kept.fold.feed(rec)
    kept.n_records += len(new)
    kept.fingerprint = fingerprint
    out: dict[str, Any] = kept.fold.result().to_json()  # leaves the fold as it is
    out["name"] = name
    # what the incumbent's values are, for the page's axis
    out["metric"] = kept.fold.spec.objective.metric
    out["mode"] = kept.fold.spec.objective.mode
    kept.answer = out
    _CACHE[key] = kept
    return out


__all__ = ["ledger_view"]
