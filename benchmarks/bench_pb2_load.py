"""Cost of loading a PB2 study: what ``rung resume``, ``Study.load`` and ``rung show`` pay.

A PB2 study is built on the simulated executor (``mf-hartmann3``, a population of 8 on 4
workers, ``--trials`` total: forks are trials), then loaded ``--repeat`` times each way:

- ``writer``: ``Study.load`` (it may run the study on): PB2 fits no GP before the journal's
  last event (``Scheduler.replaying``), only the forks still planned when the study goes on;
- ``writer, eager``: the same with every fork refitted during replay (what it did before,
  ``PB2.replaying`` forced off), the baseline;
- ``reader``: ``Study.load(readonly=True)`` then ``engine.scheduler.state()`` (``rung show``),
  which fits the last fork's GP once.

Both loads replay the same journal and end in the same scheduler state (checked). Prints the
median and best seconds and writes the ``bench_pb2_load`` section of RESULTS.md.

Usage::

    python benchmarks/bench_pb2_load.py --trials 80 300 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _results import machine, table, write_section

import rung
from rung.benchmarks import get_benchmark
from rung.schedulers import PB2

POPULATION, WORKERS, INTERVAL = 8, 4, 4


def max_step(trials: int) -> int:
    """Steps enough for ``trials``: about two of the population's eight are forked at each
    interval (its bottom quarter)."""
    return max(16, (trials - POPULATION) * INTERVAL // 2 + 4 * INTERVAL)


def build(path: Path, trials: int) -> int:
    """A PB2 study of about ``trials`` trials in ``path``; returns how many it holds."""
    bench = get_benchmark("mf-hartmann3", max_step=max_step(trials))

    class Enough(rung.Callback):
        def on_start(self, study: rung.Study) -> None:
            self.study = study

        def on_turn(self, events: Any, commands: Any, history: Any) -> None:
            if len(history) >= trials:
                self.study.stop()

    study = rung.Study.create("pb2", bench.space, max_step=bench.max_step, searcher="random",
                              scheduler=PB2(POPULATION, INTERVAL), seed=0, storage=path,
                              budget=rung.Budget(max_steps=10**7))
    study.simulate(bench, n_workers=WORKERS, callbacks=[Enough()])
    n = len(study.history)
    study.close()
    return n


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def load(path: Path, readonly: bool = False) -> dict[str, Any]:
    study = rung.Study.load("pb2", storage=path, readonly=readonly)
    state = study.engine.scheduler.state()
    study.close()
    return state


def eager(path: Path) -> dict[str, Any]:
    saved = PB2.replaying
    PB2.replaying = property(lambda _: False, lambda _, __: None,  # type: ignore[assignment]
                             lambda _: None)
    try:
        return load(path)
    finally:
        PB2.replaying = saved  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, nargs="+", default=[80, 300])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for n in args.trials:
            path = Path(d) / f"pb2-{n}.db"
            held = build(path, n)
            fast, state = timed(lambda p=path: load(p), args.repeat)
            slow, eager_state = timed(lambda p=path: eager(p), args.repeat)
            read, _ = timed(lambda p=path: load(p, readonly=True), args.repeat)
            assert state == eager_state, "the two replays must end in the same state"
            med = statistics.median
            rows.append([held, f"{med(slow):.2f} ({min(slow):.2f})",
                         f"{med(fast):.3f} ({min(fast):.3f})",
                         f"{med(slow) / med(fast):.0f}x", f"{med(read):.3f} ({min(read):.3f})"])
            print(f"{held} trials: eager {med(slow):.2f} s, writer {med(fast):.3f} s, "
                  f"reader + state {med(read):.3f} s", flush=True)
    body = (f"Machine: {machine()}. PB2({POPULATION}, {INTERVAL}) on mf-hartmann3 (max_step "
            f"long enough), {WORKERS} simulated workers, the study stopped (``Study.stop``) "
            f"once it held the trials below (forks are trials); each load timed {args.repeat} times, median "
            "(best) seconds, the study's state read after each (``state()``, as `rung show` "
            "does). The eager writer refits every fork's GP during replay (before this "
            "change); the writer now fits none before the journal's last event, then the "
            "forks still planned; both end in the same scheduler state (checked).\n\n"
            + table(["trials", "writer, eager (before)", "writer (now)", "speed-up",
                     "reader + state()"], rows))
    if not args.no_write:
        write_section("bench_pb2_load", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
