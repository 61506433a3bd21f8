"""The tasks of ``bench_allocation``: learning-curve tables and synthetic problems, and the
``Problem`` every method is measured on (equal compute, regret of a configuration)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from bench_schedulers import top_value

from rung.benchmarks import CurveTable, get_benchmark, regret

HERE = Path(__file__).resolve().parents[1]
CURVES = HERE / "curves"
OUT = HERE / "results" / "allocation"
#: How a table answers a configuration (``CurveTable``): ``nearest`` row, or the nearest row no
#: earlier configuration of the run took (``distinct``: sampling without replacement). Each
#: replay has its own results directory and RESULTS.md section.
REPLAYS = {"nearest": ("allocation", "bench_allocation"),
           "distinct": ("allocation-distinct", "bench_allocation: distinct rows")}
SECTION = REPLAYS["nearest"][1]
#: the held-out tables' runs (``--held-out``: always replayed without replacement), kept apart
#: from the runs of the tables the methods were chosen on
HELD_OUT_RESULTS = ("allocation-heldout", "bench_allocation: held-out tables (distinct rows)")


def set_replay(replay: str, held_out: bool = False) -> None:
    """Point ``OUT`` and ``SECTION`` at ``replay``'s results, or the held-out tables' (in the
    process that reads and writes them; runs get the replay in their job)."""
    global OUT, SECTION
    folder, SECTION = HELD_OUT_RESULTS if held_out else REPLAYS[replay]
    OUT = HERE / "results" / folder
ETA = 3  # every method's reduction factor

#: the tables every method and default was chosen and tuned on
TUNED = ("hgb-magic", "hgb-german", "hgb-ring", "hgb-satimage", "mlp-mnist1d")
#: tables built afterwards to check those choices out of sample (``make_curves.HELD_OUT``)
HELD_OUT = (
    "hgb-chess", "hgb-segment", "hgb-splice", "mlp-digits", "hgb-pima", "hgb-contraceptive"
)
TABLES = (*TUNED, *HELD_OUT)
SYNTHETIC: dict[str, tuple[str, dict[str, Any]]] = {
    "mf-hartmann3": ("mf-hartmann3", {}),
    "mf-hartmann6": ("mf-hartmann6", {}),
    "mf-branin": ("mf-branin", {}),
    "counting-ones": ("counting-ones", {}),
}
TASKS = (*TABLES, *SYNTHETIC)
#: what ``--tasks`` means when not given (``--held-out``: ``HELD_OUT``)
DEFAULT_TASKS = (*TUNED, *SYNTHETIC)


class Problem:
    """A benchmark with what the harness needs: a lower-is-better ``score`` of a result, the
    regret of a configuration, a key that identifies a configuration (its table row, or its
    parameters), and the compute budget."""

    def __init__(self, task: str, seed: int, rows: int | None, full_trials: int,
                 replay: str = "nearest") -> None:
        self.task = task
        if task in TABLES:
            path = CURVES / f"{task}.npz"
            self.bench: Any = CurveTable(path, metric="val_error", rows=clamp_rows(path, rows),
                                         distinct=replay == "distinct")
            self.rows: int | None = len(self.bench.params)
            full = float(self.bench.seconds.sum(axis=1).mean())
        else:
            name, kwargs = SYNTHETIC[task]
            self.bench = get_benchmark(name, seed=seed, **kwargs)
            self.rows = None
            full = mean_full_cost(self.bench)
        self.space = self.bench.space
        self.max_step: int = self.bench.max_step
        self.metric: str = self.bench.metric
        self.sign = 1.0 if self.bench.mode == "min" else -1.0
        self.full_cost = full
        self.budget = full_trials * full  # worker-seconds
        self._regret: dict[Any, float] = {}

    def key(self, params: Mapping[str, Any]) -> Any:
        if isinstance(self.bench, CurveTable):
            return self.bench.row_of(params)
        return json.dumps(dict(params), sort_keys=True)

    def step(self, params: Mapping[str, Any], step: int) -> tuple[float, float]:
        """``(score, seconds)`` of ``step``: score is lower-is-better."""
        metrics, seconds = self.bench.evaluate(params, step)
        return self.sign * float(metrics[self.metric]), float(seconds)

    def regret(self, params: Mapping[str, Any]) -> float:
        k = self.key(params)
        r = self._regret.get(k)
        if r is None:
            if isinstance(self.bench, CurveTable):
                value = self.bench.final_value(params)
            else:
                value = top_value(self.bench, params)
            r = self._regret[k] = regret(self.bench, value)
        return r


def clamp_rows(path: Path, rows: int | None) -> int | None:
    """``rows`` (``None``: all), at most the rows the table has now (it may still be growing)."""
    with np.load(path, allow_pickle=False) as z:
        n = len(z["params"])
    if rows is not None and rows > n:
        logging.getLogger("bench_allocation").warning(
            "%s has %d rows, fewer than --rows %d: using %d", path.name, n, rows, n)
    return n if rows is None else min(rows, n)


_FULL_COST: dict[str, float] = {}


def mean_full_cost(bench: Any, n: int = 1000) -> float:
    """Mean over ``n`` configurations drawn with a fixed seed (memoized per benchmark)."""
    key = json.dumps(bench.to_json()["params"] | {"name": bench.name, "seed": None},
                     sort_keys=True, default=str)
    if key in _FULL_COST:
        return _FULL_COST[key]
    rng = np.random.default_rng(12345)
    total = 0.0
    for _ in range(n):
        p = bench.space.sample(rng)
        total += sum(bench.evaluate(p, s)[1] for s in range(1, bench.max_step + 1))
    _FULL_COST[key] = total / n
    return total / n
