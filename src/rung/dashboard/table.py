"""The dashboard's trials table: sorted, filtered and cut into pages on the server.

A 100,000-trial study would be 50 MB of JSON and 1.5 million table cells in the browser, so the
browser asks for one page (``trials(snap, query)``) and the server keeps, per study, one row
per trial (``Snapshot.rows``) and its text for the filter, rebuilt only for the trials that new
records name (``Snapshot.dirty``), and the last sort order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from rung.analysis_frames import trial_rows
from rung.core.records import TrialStatus
from rung.dashboard._json import clean, jclean
from rung.reporter import error_summary

if TYPE_CHECKING:
    from rung.dashboard.data import Snapshot

#: rows of the trials table per page at most
MAX_PAGE = 1000


def trials(snap: Snapshot, query: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One page of the trials table, sorted and filtered on the server.

    ``query`` (the request's query string): ``sort`` (a column, default ``trial_id``),
    ``desc`` (``1``: descending), ``q`` (words that must all appear in a row, any case),
    ``offset`` and ``limit`` (at most ``MAX_PAGE``; default 200). Missing values sort last.
    The answer has the page's ``rows``, ``total`` trials, ``matched`` by the filter, and the
    page's ``offset``."""
    q = query or {}
    info = meta(snap)
    cols = info["columns"]
    sort = q.get("sort", "trial_id")
    sort = sort if sort in cols else "trial_id"
    desc = q.get("desc", "0") in ("1", "true")
    offset = max(_int(q.get("offset"), 0), 0)
    limit = min(max(_int(q.get("limit"), 200), 1), MAX_PAGE)
    words = q.get("q", "").lower().split()
    refresh_rows(snap)
    order = _sorted_ids(snap, sort, desc)
    if words:
        texts = snap.texts
        if len(texts) < len(snap.rows):  # rows from a snapshot: their text built once
            for t, row in snap.rows.items():
                if t not in texts:
                    texts[t] = _text(row)
        order = [t for t in order if all(w in texts[t] for w in words)]
    page = [snap.rows[t] for t in order[offset:offset + limit]]
    return jclean({**info, "rows": page, "matched": len(order), "offset": offset,
                   "limit": limit, "sort": sort, "desc": desc, "loading": snap.loading})


def meta(snap: Snapshot) -> dict[str, Any]:
    """What the trials table's answer says besides its rows (a snapshot's, when serving
    one): the parameters, the space, the objective(s), the columns, the number of trials."""
    if snap.view is not None:
        return dict(snap.view.table)
    h = snap.history
    return jclean({"params": list(h.space), "space": h.space.to_json(),
                   "metric": h.objective.metric, "mode": h.objective.mode,
                   "objectives": [o.metric for o in h.objectives], "columns": _columns(h),
                   "total": len(h)})


def _int(x: str | None, default: int) -> int:
    try:
        return int(x) if x is not None else default
    except ValueError:
        return default


#: the columns of the dashboard's trials table (a subset of ``trials_dataframe``'s; ``error``
#: is the line of a failed or interrupted trial's error that says what went wrong)
_TABLE = ("status", "value", "last_step", "decision", "decision_step", "reason", "duration",
          "slot", "error")


def _columns(h: Any) -> list[str]:
    multi = [f"values_{o.metric}" for o in h.objectives] if len(h.objectives) > 1 else []
    if h.constraints:
        multi.append("feasible")
    return ["trial_id", *(f"params_{n}" for n in h.space), *_TABLE[:2], *multi, *_TABLE[2:]]


class _Only:
    """A history that iterates over some trial ids only (to build just their rows)."""

    def __init__(self, history: Any, ids: list[int]) -> None:
        self._history = history
        self._ids = ids

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._history, name)


def refresh_rows(snap: Snapshot, limit: int | None = None) -> bool:
    """Rebuild the rows of the trials that records touched since the last page (none while
    a snapshot is served: its rows are final); with ``limit``, of at most that many of them
    (the lowest ids), the others left to rebuild. True if rows are left to rebuild (a
    background replay builds a large study's rows a batch per hold of the lock)."""
    if snap.view is not None:
        return False
    h = snap.history
    # a trial no record named may have changed too: a paused one its scheduler stopped
    changed = {t for t in snap.unsettled
               if t in h and h.status(t).value != snap.rows.get(t, {}).get("status")}
    dirty = sorted(t for t in snap.dirty | changed if t in h)
    left = dirty[limit:] if limit is not None else []
    dirty = dirty[:limit] if limit is not None else dirty
    snap.dirty = set(left)
    if not dirty:
        return False
    cols = _columns(h)
    for row in trial_rows(_Only(h, dirty), snap.fold):  # type: ignore[arg-type]
        if row.get("error"):  # a traceback is the detail page's; its last word is the row's
            row["error"] = last_words(row["error"])
        row = _flat_clean(row, cols)
        tid = row["trial_id"]
        snap.rows[tid] = row
        snap.texts[tid] = _text(row)
        if TrialStatus(row["status"]).final:
            snap.unsettled.discard(tid)
        else:
            snap.unsettled.add(tid)
    snap.order = None
    return bool(left)


def _flat_clean(row: Mapping[str, Any], cols: list[str]) -> dict[str, Any]:
    """``jclean`` of ``row``'s ``cols``, fast for the table's scalar cells (a 100,000-trial
    study builds 1.2 million of them): non-finite floats become ``None``, anything that is
    not a scalar goes through ``clean``."""
    out: dict[str, Any] = {}
    for c in cols:
        v = row.get(c)
        t = type(v)
        if isinstance(v, float):
            out[c] = v if math.isfinite(v) else None
        elif v is None or t is int or t is str or t is bool:
            out[c] = v
        else:
            out[c] = clean(v)
    return out


def _text(row: Mapping[str, Any]) -> str:
    return " ".join(_fmt(v) for v in row.values()).lower()


def _fmt(v: Any) -> str:
    """A cell as the page's table writes it (``fmt``, the filter matches what is shown)."""
    return js_number(v) if isinstance(v, float) else "" if v is None else str(v)


def js_number(x: float) -> str:
    """``x`` as ``static/app.js``'s ``fmt`` writes a number, character for character: a whole
    number as itself (``3``), ``|x|`` under 1e-3 or from 1e5 up in exponent form with 4
    significant digits (``2.908e-4``, ``1.235e+5``), from 1e4 rounded to a whole number
    (``12346``), else 4 significant digits (``0.002470``, ``12.30``). Ties round as
    JavaScript's ``toExponential``, ``toPrecision`` and ``Math.round`` do (the larger
    magnitude; ``Math.round`` up)."""
    if not math.isfinite(x):
        return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
    if x.is_integer():  # JavaScript's String(x): the shortest digits that read back as x
        if x == 0:
            return "0"
        r = repr(x)
        return f"{Decimal(r).normalize():f}" if abs(x) < 1e21 else r
    a = abs(x)
    d = Decimal(x)
    if a < 1e-3 or a >= 1e5:
        e = d.adjusted()
        m = d.scaleb(-e).quantize(Decimal("0.001"), ROUND_HALF_UP)
        if abs(m) >= 10:  # 9.9996e-4 -> 1.000e-3
            e += 1
            m = d.scaleb(-e).quantize(Decimal("0.001"), ROUND_HALF_UP)
        return f"{m}e{'+' if e >= 0 else '-'}{abs(e)}"
    if a >= 1e4:
        return str(int((d + Decimal("0.5")).to_integral_value(ROUND_FLOOR)))
    # toPrecision(4): 4 significant digits, in fixed notation for 1e-3 <= |x| < 1e4
    e = d.adjusted()
    q = d.quantize(Decimal(1).scaleb(e - 3), ROUND_HALF_UP)
    if q.adjusted() > e:  # 9.9996 -> 10.00: one digit fewer after the point
        q = d.quantize(Decimal(1).scaleb(e - 2), ROUND_HALF_UP)
    return f"{q:f}"


_NUMBER = re.compile(r"(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)")


def natural_key(text: str) -> tuple[Any, ...]:
    """``text``'s sort key in natural order: its runs of digits (a decimal number, with an
    exponent) compared by value, the text between them as text. The key alternates text
    and number from a text part (maybe empty), so two keys compare part by part, like with
    like."""
    parts = _NUMBER.split(text)
    return tuple(float(p) if i % 2 else p for i, p in enumerate(parts))


def last_words(error: str) -> str:
    """The table's line of a trial's error: what went wrong, on one line, at most
    ``ERROR_CHARS`` characters. A traceback's exception, its type and its whole message
    (``ValueError: out of memory on device 0``: a message of several lines joined by
    spaces); any other error's text likewise (an exception told as the error of
    ``Study.tell`` is its type and message)."""
    raw = error.strip().splitlines()
    if raw and raw[0].startswith("Traceback"):
        frames = [i for i, ln in enumerate(raw) if ln.startswith((" ", "\t"))]
        raw = raw[frames[-1] + 1:] if frames else raw[1:]
    text = " ".join(ln.strip() for ln in raw if ln.strip())
    if not text:
        return error_summary(error)
    return text if len(text) <= ERROR_CHARS else text[:ERROR_CHARS - 1] + "\u2026"


#: the most characters of an error the trials table shows (the detail shows all of it)
ERROR_CHARS = 300


def _sorted_ids(snap: Snapshot, col: str, desc: bool) -> list[int]:
    key = (snap.fold.n_records, col, desc)
    if snap.order is not None and snap.order[0] == key:
        return snap.order[1]
    rows = snap.rows
    if col == "trial_id":
        ids = sorted(rows, reverse=desc)
    else:
        present = [t for t in rows if rows[t].get(col) is not None]
        missing = [t for t in rows if rows[t].get(col) is None]
        if all(type(rows[t][col]) is str for t in present):
            # text in natural order, its numbers by value: "rank 2/9" before "rank 10/9",
            # "rank 1/1" before "rank 1/125"
            present.sort(key=lambda t: (natural_key(rows[t][col]), t), reverse=desc)
        else:
            try:
                present.sort(key=lambda t: (rows[t][col], t), reverse=desc)
            except TypeError:  # mixed types in a column (a categorical of numbers and text)
                present.sort(key=lambda t: (natural_key(str(rows[t][col])), t), reverse=desc)
        ids = present + sorted(missing)
    snap.order = (key, ids)
    return ids


__all__ = ["MAX_PAGE", "js_number", "last_words", "meta", "natural_key", "refresh_rows", "trials"]
