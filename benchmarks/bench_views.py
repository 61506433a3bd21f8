"""A writable study's views called again and again: ``trials_dataframe``, ``results_dataframe``
and ``ledger`` on a study loaded for writing (``Study.load`` without ``readonly``), as a notebook
or a script that keeps a study open calls them.

A simulated study (random search + ASHA, eta 3, on ``mf-hartmann3``, 4 workers) of ``--trials``
trials is written once; then, in a child process importing rung from a source tree (this
checkout's, and with ``--base-src DIR`` another one's, e.g. ``git worktree add /tmp/base REV``),
the study is loaded for writing and each view is called three times in a row: the wall-clock of
each call. The first call reads and folds the whole journal in both trees; a later one, since
``rung.study_folds``, reads only what was appended since (here nothing).

Prints the table and writes the section "bench_views" of RESULTS.md (``--no-write`` to only
print).

    python benchmarks/bench_views.py [--trials 20000] [--base-src DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import table, write_section
from bench_large_study import HERE, RUN, child, run_result

VIEWS = r"""
import json, sys, time
import rung

s = rung.Study.load("big", sys.argv[1])  # writable: no records kept from the load
out = {}
for view in ("trials_dataframe", "results_dataframe", "ledger"):
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        getattr(s, view)()
        times.append(time.perf_counter() - t0)
    out[view] = times
s.close()
print("RESULT " + json.dumps(out))
"""


def measure(src: Path, db: Path) -> dict[str, list[float]]:
    """Each view's three call times, in a child importing rung from ``src``."""
    _, _, out = child(src, ["-c", VIEWS, str(db)])
    result: dict[str, list[float]] = run_result(out)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=20000)
    ap.add_argument("--base-src", type=Path, default=None,
                    help="a source tree to measure beside this checkout's (its src/)")
    ap.add_argument("--base-name", default="base", help="how the base tree is named")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    trees: list[tuple[str, Path]] = [("this tree", HERE)]
    if args.base_src is not None:
        trees.insert(0, (args.base_name, args.base_src))
    rows: list[list[Any]] = []
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "big.db"
        t0 = time.perf_counter()
        child(HERE, ["-c", RUN, str(db), str(args.trials)])  # bench_large_study's study
        print(f"wrote {args.trials} trials in {time.perf_counter() - t0:.0f} s "
              f"({db.stat().st_size / 1e6:.0f} MB)", flush=True)
        for name, src in trees:
            got = measure(src, db)
            for view, times in got.items():
                rows.append([name, view, *(f"{t:.2f}" for t in times)])
                print(f"{name:>14} {view:>18}: " + "  ".join(f"{t:.2f}" for t in times),
                      flush=True)
    text = "\n".join([
        f"A simulated study of {args.trials:,} trials (random search + ASHA, eta 3, "
        "mf-hartmann3, 4 workers), loaded for writing (`Study.load` without `readonly`) in a "
        "new process per tree; each view called three times in a row, wall-clock seconds per "
        "call. Nothing is appended between the calls, so a later call's work is the check "
        "that the journal still starts with what was folded, and building the frame.",
        "",
        table(["rung", "view", "1st call (s)", "2nd call (s)", "3rd call (s)"], rows),
    ])
    if not args.no_write:
        write_section("bench_views", text)


if __name__ == "__main__":
    main()
