"""A scheduler's ``state()`` and a study's ``diagnostics()`` as plain text, for ``rung show``
and the live view.

A state is JSON: its scalars become ``key=value`` pairs and every list of mappings (ASHA's
``rungs``, a bracket's rungs nested in it) a table, nested tables indented under their row.
A display never raises: a state or diagnostics that cannot be read is shown as one line saying
so.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rung.cli.report_format import fmt_num, table

if TYPE_CHECKING:
    from rung.study import Study


def state_sections(
    state: Mapping[str, Any], limit: int | None = None
) -> tuple[list[str], list[tuple[str, str]]]:
    """Split a scheduler's JSON ``state()`` into ``key=value`` scalars and titled tables (any
    value that is a list of mappings, such as ASHA's ``rungs``)."""
    scalars: list[str] = []
    tables: list[tuple[str, str]] = []
    for key, value in state.items():
        if is_records(value):
            tables.append((key, records_table(value, indent="    ", limit=limit)))
        else:
            scalars.append(f"{key}={fmt_num(_cell(value))}")
    return scalars, tables


def is_records(value: Any) -> bool:
    """A non-empty list of mappings (rendered as a table)."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def records_table(
    rows: Sequence[Mapping[str, Any]], indent: str = "  ", limit: int | None = None
) -> str:
    """A table of ``rows``. A column holding lists of mappings (a bracket's rungs) becomes a
    nested table under each row, whose other columns are shown as ``key=value``. With
    ``limit``, only the last ``limit`` rows of a table holding nested ones are shown."""
    headers: list[str] = []
    for row in rows:
        headers.extend(k for k in row if k not in headers)
    nested = [h for h in headers if any(is_records(r.get(h)) for r in rows)]
    flat = [h for h in headers if h not in nested]
    if not nested:
        return table(flat, [[_cell(r.get(h, "")) for h in flat] for r in rows], indent)
    out: list[str] = []
    if limit is not None and len(rows) > limit:
        out.append(f"{indent}({len(rows) - limit} earlier not shown)")
        rows = rows[-limit:]
    for r in rows:
        out.append(indent + " ".join(f"{h}={fmt_num(_cell(r.get(h, '')))}" for h in flat))
        for h in nested:
            value: Any = r.get(h)
            if is_records(value):
                out.append(f"{indent}  {h}:")
                out.append(records_table(value, indent + "    "))
            else:
                out.append(f"{indent}  {h}: {fmt_num(_cell(value))}")
    return "\n".join(out)


def _cell(v: Any) -> Any:
    """A table cell: a scalar as it is (``-`` for ``None``), a container as compact JSON with
    its floats in at most 6 significant digits (a GP's fitted values, not 17 digits of noise)."""
    if isinstance(v, int | float | str) or v is None:
        return "-" if v is None else v
    return json.dumps(_short(v), sort_keys=True, default=str)


def _short(v: Any) -> Any:
    """``v`` with every finite float rounded to 6 significant digits, recursively."""
    if isinstance(v, float) and math.isfinite(v):
        return float(f"{v:.6g}")
    if isinstance(v, Mapping):
        return {k: _short(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_short(x) for x in v]
    return v


def occupancy_text(study: Study, limit: int | None = 12) -> str:
    """The scheduler's state (ASHA: results and continued trials per rung), or ``""``."""
    try:
        state = study.engine.scheduler.state()
    except Exception as e:  # a display must not take the run down
        return f"  (scheduler state unavailable: {e})"
    if not state:
        return ""
    scalars, tables = state_sections(state, limit)
    parts = [f"  {' '.join(scalars)}"] if scalars else []
    for title, text in tables:
        parts.append(f"  {title}:")
        parts.append(text)
    return "\n".join(parts)


def diagnostics_text(study: Study) -> str:
    """``study.diagnostics()`` rendered as lines, if the study has that method."""
    fn = getattr(study, "diagnostics", None)
    if fn is None:
        return ""
    try:
        try:
            diag = fn(emit=False)  # rung's own: do not also log the warnings
        except TypeError:
            diag = fn()
        if hasattr(diag, "pairs") and hasattr(diag, "warnings"):
            return fidelity_text(diag)
        if hasattr(diag, "to_json"):
            diag = diag.to_json()
    except Exception as e:
        return f"  (diagnostics unavailable: {e})"
    return _render_any(diag, "  ")


def fidelity_text(diag: Any) -> str:
    """``rung.analysis.FidelityDiagnostics`` in words: per pair of adjacent steps, the rank
    correlation of the trials' scores at the two (``low`` flags it), then every warning."""
    lines = ["  rank correlation (Spearman) of the scores at adjacent steps:"]
    rows = []
    for p in diag.pairs:
        rho = "-" if not math.isfinite(p.spearman) else f"{p.spearman:.3g}"
        rows.append([f"{p.low_step} -> {p.high_step}", p.n_pairs, rho,
                     "low: early results predict late ones poorly" if p.low else ""])
    lines.append(table(["steps", "trials", "spearman", ""], rows, indent="    "))
    lines += [f"  warning: {w}" for w in diag.warnings]
    return "\n".join(lines)


def _render_any(value: Any, indent: str) -> str:
    if value is None or value == {} or value == []:
        return ""
    if isinstance(value, str):
        return "\n".join(indent + line for line in value.splitlines())
    if isinstance(value, Mapping):
        lines = []
        for k, v in value.items():
            if isinstance(v, Mapping | list) and v and not _flat(v):
                lines.append(f"{indent}{k}:")
                lines.append(_render_any(v, indent + "  "))
            else:
                lines.append(f"{indent}{k}: {_cell(v) if not isinstance(v, str) else v}")
        return "\n".join(line for line in lines if line)
    if isinstance(value, list):
        if is_records(value):
            return records_table(value, indent)
        return "\n".join(f"{indent}- {v if isinstance(v, str) else _cell(v)}" for v in value)
    return indent + str(_cell(value))


def _flat(v: Mapping[str, Any] | list[Any]) -> bool:
    items = v.values() if isinstance(v, Mapping) else v
    return all(isinstance(x, int | float | bool) or x is None for x in items)
