"""A large study, end to end: what the driver pays to run it (with the run's dashboard snapshot
on and off) and what reading it back costs (``rung show``, ``rung export``, ``Study.load``).

A simulated study (random search + ASHA, eta 3, on ``mf-hartmann3``, 4 workers) of ``--trials``
trials whose trials cost nothing, so every second is rung's own work. Each measurement runs in
a child process importing rung from a source tree: this checkout's, and with ``--base-src DIR``
another one's too (e.g. ``git worktree add /tmp/base REV`` and ``--base-src /tmp/base/src``),
so a change is measured against its base in the same run on the same machine. Per tree:

- the run: wall-clock, the driver's CPU and peak RSS, and its longest gap between two turns
  (a driver stall: a trial waiting for a decision waits that long), with snapshots on
  (the default) and off (``RUNG_DASHBOARD_SNAPSHOTS=0``);
- reading the study written with snapshots off (so no snapshot is used): wall-clock and CPU of
  ``rung show``, ``rung export -o x.csv`` and ``Study.load(...)`` + ``trials()``, each a new
  process (imports included), the median of ``--repeats``.

Prints the table and writes the section "bench_large_study" of RESULTS.md (``--no-write`` to
only print).

    python benchmarks/bench_large_study.py [--trials 30000] [--base-src DIR] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import table, write_section

HERE = Path(__file__).resolve().parents[1] / "src"

RUN = r"""
import json, resource, sys, time
import rung
from rung.benchmarks import get_benchmark

db, trials = sys.argv[1], int(sys.argv[2])
b = get_benchmark("mf-hartmann3")
s = rung.Study.create("big", b.space, objective=rung.Objective(b.metric, b.mode),
                      searcher="random", scheduler=rung.ASHA(reduction_factor=3),
                      max_step=b.max_step, budget=rung.Budget(n_trials=trials), seed=0,
                      storage=db)
turns = []
t0 = time.perf_counter()
s.simulate(b, n_workers=4, on_turn=lambda engine: turns.append(time.perf_counter()))
wall = time.perf_counter() - t0
s.close()
gaps = [b - a for a, b in zip(turns, turns[1:])]
u = resource.getrusage(resource.RUSAGE_SELF)
print("RESULT " + json.dumps({"wall": wall, "cpu": u.ru_utime + u.ru_stime,
                              "rss_mb": u.ru_maxrss / 1024, "stall": max(gaps, default=0.0)}))
"""

LOAD = r"""
import sys
import rung
s = rung.Study.load("big", sys.argv[1], readonly=True)
print(len(s.trials()))
"""


def child(src: Path, args: list[str], env: dict[str, str] | None = None) -> tuple[float, float,
                                                                                   str]:
    """Run ``python args`` importing rung from ``src``: (wall s, CPU s of the child, stdout)."""
    e = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", **(env or {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, *args], env=e, capture_output=True, text=True,
                         check=True).stdout
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out


def run_result(out: str) -> dict[str, Any]:
    line = [ln for ln in out.splitlines() if ln.startswith("RESULT ")][-1]
    result: dict[str, Any] = json.loads(line[len("RESULT "):])
    return result


def measure(src: Path, trials: int, repeats: int, work: Path) -> dict[str, Any]:
    """Every measurement of the module docstring for the rung under ``src``."""
    out: dict[str, Any] = {}
    for snapshots in ("1", "0"):
        db = work / f"s{snapshots}.db"
        _, _, text = child(src, ["-c", RUN, str(db), str(trials)],
                           {"RUNG_DASHBOARD_SNAPSHOTS": snapshots})
        out[f"run_{snapshots}"] = run_result(text)
    db = work / "s0.db"
    cli = "from rung.cli.main import main; import sys; sys.exit(main(sys.argv[1:]))"
    reads = {
        "rung show": ["-c", cli, "show", "big", "--storage", str(db)],
        "rung export": ["-c", cli, "export", "big", "--storage", str(db), "-o",
                        str(work / "x.csv")],
        "Study.load + trials()": ["-c", LOAD, str(db)],
    }
    for name, args in reads.items():
        runs = [child(src, args)[:2] for _ in range(repeats)]
        out[name] = (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
    out["journal_mb"] = db.stat().st_size / 2**20
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=30_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--base-src", type=Path, default=None,
                    help="another rung source tree to measure beside this one")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    trees = [("this checkout", HERE)]
    if a.base_src is not None:
        trees.insert(0, (f"base ({a.base_src})", a.base_src.resolve()))
    results = {}
    for label, src in trees:
        with tempfile.TemporaryDirectory() as tmp:
            results[label] = measure(src, a.trials, a.repeats, Path(tmp))
        print(label, json.dumps(results[label]), flush=True)
    rows: list[list[object]] = []
    for label, r in results.items():
        for snapshots, name in (("1", "run, snapshots on"), ("0", "run, snapshots off")):
            x = r[f"run_{snapshots}"]
            rows.append([label, name, x["wall"], x["cpu"], f"{x['rss_mb']:.0f} MB",
                         f"{x['stall']:.2f} s"])
        for name in ("rung show", "rung export", "Study.load + trials()"):
            wall, cpu = r[name]
            rows.append([label, name, wall, cpu, "", ""])
    body = (
        f"A simulated study of {a.trials:,} trials (random search + ASHA, eta 3, mf-hartmann3, "
        f"4 workers; trials cost nothing), each measurement a new process importing rung from "
        f"the tree named; reads are the median of {a.repeats} and read the journal written "
        f"with snapshots off ({next(iter(results.values()))['journal_mb']:.0f} MB). Wall-clock "
        "and CPU in seconds; peak RSS and the longest gap between two driver turns are the "
        "run's driver's.\n\n"
        + table(["rung", "what", "wall (s)", "CPU (s)", "peak RSS", "longest driver stall"],
                rows)
    )
    print(body)
    if not a.no_write:
        write_section("bench_large_study", body)


if __name__ == "__main__":
    main()
