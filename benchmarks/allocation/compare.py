"""``bench_allocation.py --compare METHOD``: one of rung's variants against the default, from
the runs on disk: issue 14's criteria (a)-(c) judged for the default and again with ``METHOD``
in its place, and per (table, workers) cell the medians at 1/3 and all of the budget with a
two-sided Mann-Whitney p (is the variant different from the default beyond seed noise?)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from _results import table, write_section
from bench_schedulers import values_at

from allocation import tasks
from allocation.report import claim_cells, criteria
from allocation.rung_methods import DEFAULT
from allocation.storage import load_runs

FRACTIONS = ((1 / 3, "1/3"), (1.0, "1"))


def _counts(text: str) -> str:
    """``(a) k/n, (b) k/n, (c) k/n`` read off ``criteria``'s text."""
    a_part, _, rest = text.partition("(b)")
    c_part = rest.partition("(c) compute")[2]
    yes = re.compile(r"\| (yes|\*\*no\*\*) \|")
    a, c = yes.findall(a_part), yes.findall(c_part)
    b = re.search(r"in (\d+) of (\d+) \(task", rest)
    return (f"(a) {a.count('yes')}/{len(a)}, (b) {b.group(1) if b else 0}/"
            f"{b.group(2) if b else 0}, (c) {c.count('yes')}/{len(c)}")


def _two_sided(a: list[float], b: list[float]) -> float:
    from scipy.stats import mannwhitneyu

    if len(set(a) | set(b)) < 2:
        return 1.0
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


def compare(names: list[str], method: str, rows: int | None, write: bool,
            baseline: str = DEFAULT) -> str:
    """The comparison of the module docstring over ``names``' cells at 1 and 8 workers that
    hold runs of both ``method`` and ``baseline`` (the default unless given; issue 14's
    criteria only against the default, on the tables); writes it as its own RESULTS.md
    section when ``write``."""
    runs = [r for r in load_runs(names) if "error" not in r and r["workers"] in (1, 8)]
    if rows is not None:
        runs = [r for r in runs if r["rows"] in (rows, None)]
    cells: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in runs:
        cells.setdefault((r["task"], r["workers"]), []).append(r)
    both = {k: v for k, v in sorted(cells.items())
            if {baseline, method} <= {r["method"] for r in v}}
    if not both:
        return f"no cell holds runs of both {baseline} and {method}"
    rows_out = []
    for (task, w), run in both.items():
        by = {m: [r for r in run if r["method"] == m] for m in (baseline, method)}
        budget = run[0]["budget"]
        row: list[Any] = [task, w, f"{len(by[baseline])} / {len(by[method])}"]
        for frac, _ in FRACTIONS:
            x = np.array([frac * budget])
            d = values_at(by[baseline], x, "curve")[:, 0].tolist()
            v = values_at(by[method], x, "curve")[:, 0].tolist()
            row += [f"{np.median(d):.4g}", f"{np.median(v):.4g}", f"{_two_sided(d, v):.2f}"]
        row += [f"{np.mean([r['cpu_seconds'] for r in by[m]]):.1f}" for m in (baseline, method)]
        rows_out.append(row)
    head = ["task", "workers", "seeds", "baseline @1/3", "variant @1/3", "p", "baseline @1",
            "variant @1", "p", "CPU s baseline", "CPU s variant"]
    parts = [
        f"Variant `{method}` against `{baseline}` on the runs in "
        f"`benchmarks/results/{tasks.OUT.name}/`, cells at 1 and 8 workers that hold both "
        "(the same seeds, tasks and budget). Median regret; p: two-sided Mann-Whitney, "
        "variant against baseline; CPU: mean seconds per run (the whole simulated study) as "
        "recorded with each run: runs made on other days, on a machine loaded differently, "
        "are not a timing comparison.",
        table(head, rows_out),
    ]
    claim = {(t, w): run for t, w, run, _ in claim_cells(both)}
    if baseline == DEFAULT and claim:
        swapped = {k: [dict(r, method=DEFAULT) if r["method"] == method else r
                       for r in v if r["method"] != DEFAULT] for k, v in claim.items()}
        parts.append(f"Issue 14's criteria over these table cells: default "
                     f"{_counts(criteria(claim))}; with the variant as the default "
                     f"{_counts(criteria(swapped))}.")
    body = "\n\n".join(parts)
    if write:
        write_section(f"{tasks.SECTION}: {method} against {baseline}", body)
    return body
