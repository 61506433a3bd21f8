"""The PBT toy of ``bench_schedulers.py`` (Jaderberg et al. 2017, section 4, Fig. 2): PBT and
PB2 beside a grid and random restarts, and its Markdown table and claim lines.

``theta in R^2`` trains by gradient ascent on a surrogate ``Q_hat(theta | h)`` and is judged by
the true ``Q(theta) = 1.2 - |theta|^2``. ``drive_toy`` runs a study through ``Study.ask /
report / tell / checkpoint`` with an in-process population whose state ``theta`` lives in
checkpoints keyed by path, so a fork really continues its donor's weights. ``pbt_toy(seeds)``
returns one row per run (``setting``, ``method``, ``seed``, ``best_q``, ``regret``, ``steps``);
``pbt_report`` appends the subsection and the claims built from those rows. Importing this
module registers the searcher ``_bench_fixed_list``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from _results import table

import rung
from rung import Budget, Float, Objective, SearchSpace, Study
from rung.core.components import Searcher, SuggestRequest
from rung.core.registry import register
from rung.schedulers import PB2, PBT
from rung.storage import MemoryJournal


class PBTToy:
    """``theta in R^2``, objective ``Q(theta) = 1.2 - |theta|^2``; a worker only sees the
    surrogate ``Q_hat(theta | h) = 1.2 - (h0 theta0^2 + h1 theta1^2)`` and takes gradient
    ascent steps on it (learning rate 0.01, from ``theta = (0.9, 0.9)``, as in the paper's
    figure). It reports the true ``Q`` (the paper's evaluation), which PBT ranks by. The state
    ``theta`` is what a checkpoint holds."""

    space = SearchSpace({"h0": Float(0.0, 1.0), "h1": Float(0.0, 1.0)})
    max_step = 100
    lr = 0.01

    def step(self, theta: np.ndarray, params: Any) -> np.ndarray:
        h = np.array([params["h0"], params["h1"]])
        return theta - self.lr * 2.0 * h * theta  # theta + lr * grad Q_hat

    @staticmethod
    def q(theta: np.ndarray) -> float:
        return float(1.2 - theta @ theta)


@register("searcher", "_bench_fixed_list")
class FixedList(Searcher):
    """Proposes ``configs`` in order (the paper's initial population, or its 'grid')."""

    def __init__(self, configs: list[dict[str, float]]) -> None:
        self.configs = configs

    def suggest(self, request: SuggestRequest) -> dict[str, Any] | None:
        if request.index >= len(self.configs):
            return None
        return dict(self.configs[request.index])


def drive_toy(study: Study, toy: PBTToy, workers: int) -> tuple[float, int]:
    """An in-process population: the least advanced running trial trains one step at a time;
    checkpoints are numpy arrays in a dict, registered with ``Study.checkpoint``."""
    store: dict[str, np.ndarray] = {}
    running: dict[int, tuple[np.ndarray, int, Any]] = {}
    best = -math.inf
    while True:
        while len(running) < workers:
            t = study.ask()
            if t is None:
                break
            if t.checkpoint is not None:  # a resume, or a PBT fork from its donor
                theta, start = store[t.checkpoint.path].copy(), t.checkpoint.step
            else:
                theta, start = np.array([0.9, 0.9]), 0
            running[t.id] = (theta, start, t.params)
        if not running:
            break
        tid = min(running, key=lambda i: (running[i][1], i))
        theta, step, params = running[tid]
        theta, step = toy.step(theta, params), step + 1
        q = toy.q(theta)
        best = max(best, q)
        d = study.report(tid, step, {"q": q})
        if d.checkpoint or d.action is rung.Action.PAUSE:
            path = f"toy/{tid}/{step}"
            store[path] = theta.copy()
            study.checkpoint(tid, step, path)
        if d.action is rung.Action.STOP:
            study.tell(tid, "stopped")
            del running[tid]
        elif d.action is rung.Action.PAUSE:
            study.tell(tid, "paused")
            del running[tid]
        elif step >= toy.max_step:
            study.tell(tid, "completed")
            del running[tid]
        else:
            running[tid] = (theta, step, params)
    return best, int(study.summary()["steps_consumed"])


ONE_HOT = [{"h0": 1.0, "h1": 0.0}, {"h0": 0.0, "h1": 1.0}]


def pbt_toy(seeds: int) -> list[dict[str, Any]]:
    toy = PBTToy()
    rows = []
    T = toy.max_step
    for seed in range(seeds):
        def study(
            name: str, searcher: Any, scheduler: Any, budget: Budget, seed: int = seed
        ) -> Study:
            return Study.create(
                name, toy.space, Objective("q", "max"), searcher=searcher, scheduler=scheduler,
                max_step=T, budget=budget, seed=seed, storage=MemoryJournal(),
            )

        fixed = {"name": "_bench_fixed_list", "params": {"configs": ONE_HOT}}
        grid4 = {"name": "grid", "params": {"points": 2}}
        settings = {
            # the paper's figure: two workers starting from h = (1, 0) and (0, 1)
            "paper (P=2, one-hot start)": {
                "pbt": (fixed, PBT(2, 4, 0.5, 0.25), Budget(n_trials=2, max_steps=2 * T), 2),
                "pb2": (fixed, PB2(2, 4, 0.5, 0.25), Budget(n_trials=2, max_steps=2 * T), 2),
                "grid": (fixed, "fifo", Budget(n_trials=2), 2),
                "random restarts": ("random", "fifo", Budget(n_trials=2), 2),
            },
            # h anywhere in the box: PBT's population starts from the random configurations
            "box (P=4, random start)": {
                "pbt": ("random", PBT(4, 4, 0.25, 0.25), Budget(n_trials=4, max_steps=4 * T), 4),
                "pb2": ("random", PB2(4, 4, 0.25, 0.25), Budget(n_trials=4, max_steps=4 * T), 4),
                "grid": (grid4, "fifo", Budget(n_trials=4), 4),
                "random restarts": ("random", "fifo", Budget(n_trials=4), 4),
            },
        }
        for setting, methods in settings.items():
            for method, (searcher, scheduler, budget, workers) in methods.items():
                best, steps = drive_toy(study(method, searcher, scheduler, budget), toy, workers)
                rows.append(
                    {"setting": setting, "method": method, "seed": seed, "best_q": best,
                     "regret": 1.2 - best, "steps": steps}
                )
    return rows


def pbt_report(
    toy_rows: list[dict[str, Any]], seeds: int, out: list[str], claims: list[str]
) -> None:
    toy: dict[tuple[str, str], list[float]] = {}
    steps: dict[tuple[str, str], list[int]] = {}
    for row in toy_rows:
        toy.setdefault((row["setting"], row["method"]), []).append(row["best_q"])
        steps.setdefault((row["setting"], row["method"]), []).append(row["steps"])
    out.append("\n### PBT toy (Jaderberg et al. 2017, section 4)\n")
    out.append(
        "theta0 = (0.9, 0.9), 100 gradient-ascent steps (lr 0.01) on the surrogate "
        "Q_hat(theta | h); best true Q = 1.2 - |theta|^2 reached (optimum 1.2), median over "
        f"{seeds} seeds. PBT: perturbation interval 4, explore x0.8/x1.2 or resample "
        "(p = 0.25); PB2: the same population, interval and quantile, forks' h by the "
        "time-varying GP-UCB (rung's defaults, not tuned to the toy); grid and random restarts run the same number of trials for the same steps "
        "(FIFO). 'paper' is the figure's setting: two workers from h = (1, 0) and (0, 1), "
        "whose fixed-h training is the paper's grid search; 'box' lets h be anywhere in "
        "[0, 1]^2, where a 2 x 2 grid contains the best fixed h = (1, 1)."
    )
    rows = []
    for (setting, method), qs in toy.items():
        rows.append([setting, method, float(np.median(qs)), float(np.quantile(qs, 0.25)),
                     float(np.quantile(qs, 0.75)), int(np.median(steps[(setting, method)]))])
    out.append(table(["setting", "method", "median best Q", "q25", "q75", "steps"], rows))
    from scipy.stats import mannwhitneyu

    for setting in dict.fromkeys(s for s, _ in toy):
        p = float(np.median(toy[(setting, "pbt")]))
        for base in ("grid", "random restarts"):
            b = float(np.median(toy[(setting, base)]))
            claims.append(
                f"- {'PASS' if p > b else 'FAIL'}: PBT toy, {setting}: PBT median best Q "
                f"{p:.3f} vs {base} {b:.3f} at equal steps."
            )
        if (setting, "pb2") in toy:  # a measurement, not a claim
            a, b2 = toy[(setting, "pb2")], toy[(setting, "pbt")]
            pval = float(mannwhitneyu(a, b2, alternative="two-sided").pvalue)
            claims.append(
                f"- (measured) PBT toy, {setting}: PB2 median best Q "
                f"{float(np.median(a)):.3f} vs PBT {p:.3f} at equal steps, Mann-Whitney U "
                f"two-sided p = {pval:.2g} over {len(a)} seeds."
            )
