"""The dashboard's ledger page: ``GET /ledger`` (``static/ledger.html``) and
``GET /api/study/{name}/ledger`` (the ``rung.cost.ledger`` fold of the study's journal as JSON,
with the study's ``name`` and its objective's ``metric`` and ``mode``).

The journal is read read-only, like ``rung ledger``, and folded incrementally: the fold of the
records read so far is kept per study, a request counts the journal's records (one query, and
the guard below) and feeds the fold only those appended since, and an unchanged journal is
answered from the last answer. (Folding the whole journal on every poll took 0.6 s for a
2,500-trial study and 2 s for a live one of 46,000 records, once a second per open page.) The
kept fold is used only while the journal still starts with the records it folded: their
fingerprint (``rung.dashboard.snapshot.fingerprint``: the study's spec text and creation time
and evenly spaced samples of those records, the guard the page snapshots use) is taken with the
fold and compared at every request; a study deleted and created again (other prices, other
trials, as many records or fewer or more), or a journal cut and written again, is folded anew.
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

import copy
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# the fold's state, fed record by record (``rung.cost.ledger.ledger`` is this loop)
from rung.cost.ledger import _Fold


@dataclass
class _Kept:
    n_records: int
    fold: _Fold
    answer: dict[str, Any]
    fingerprint: str | None = None  # of the first ``n_records`` records, when they were read


_CACHE: dict[tuple[str, str], _Kept] = {}
_LOCK = threading.Lock()


def ledger_view(path: Path, name: str) -> dict[str, Any]:
    """The ledger of study ``name`` in the SQLite journal at ``path``, as JSON-safe data."""
    from rung.core.records import StudySpec
    from rung.dashboard.data import read_records
    from rung.storage import SQLiteJournal

    key = (str(path), name)
    with _LOCK:  # one fold per study: requests for it wait for each other
        with SQLiteJournal(path, readonly=True) as journal:
            n = journal.count(name)
            kept = _CACHE.get(key)
            if kept is not None and _guard(path, name, kept.n_records) != kept.fingerprint:
                kept = None  # re-created, cut or rewritten: not the journal it folded
            if kept is not None and kept.n_records == n:
                return kept.answer
            if kept is None or kept.n_records > n:  # first look, or another journal now
                spec = StudySpec.from_json(journal.load_study(name))
                kept = _Kept(0, _Fold(spec), {})
        new = read_records(path, name, kept.n_records, max(n - kept.n_records, 0))
        for rec in new:
            kept.fold.feed(rec)
        kept.n_records += len(new)
        kept.fingerprint = _guard(path, name, kept.n_records)
        # ``result`` charges the runs still going up to now and closes them: on a copy, so
        # that the kept fold goes on from where the journal is
        out: dict[str, Any] = copy.deepcopy(kept.fold).result().to_json()
        out["name"] = name
        # what the incumbent's values are, for the page's axis
        out["metric"] = kept.fold.spec.objective.metric
        out["mode"] = kept.fold.spec.objective.mode
        kept.answer = out
        _CACHE[key] = kept
        return out


def _guard(path: Path, name: str, n_records: int) -> str | None:
    """What must not change under a kept fold of study ``name``'s first ``n_records``
    records: their ``fingerprint`` (spec text, creation time, sampled records; ``None`` once
    the journal holds fewer), or, before any record, the study's spec text and creation
    time (``None``: no such study)."""
    from contextlib import closing

    from rung.dashboard.snapshot import connect_readonly, fingerprint

    with closing(connect_readonly(path)) as conn:
        if n_records > 0:
            return fingerprint(conn, name, n_records)
        row = conn.execute("SELECT spec, created FROM study WHERE name = ?",
                           (name,)).fetchone()
    return None if row is None else f"{row[0]}\0{row[1]!r}"


__all__ = ["ledger_view"]
