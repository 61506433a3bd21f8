"""PBT and PB2 on real training, beside random search with FIFO and with ASHA.

**Task.** A one-hidden-layer MLP (64 -> 64 ReLU -> 10 softmax, plain NumPy) trained on
scikit-learn's ``load_digits`` (shipped with the package: no download) by minibatch SGD with
momentum 0.9, one epoch per step, ``MAX_STEP`` epochs per trial. The explored hyperparameters
are the learning rate ``lr`` (log, [1e-3, 1]) and the L2 weight decay ``alpha`` (log, [1e-6,
1e-1]); both are read at every minibatch, so a member keeps its weights (and momentum) when they
change. The data are split once (fixed seed) into ``N_TRAIN`` training, ``N_VAL`` validation and
the rest test images. The objective is the validation error (1 - accuracy) after each epoch.

**Studies** run in process through ``Study.ask / report / checkpoint / tell``: ``WORKERS``
concurrent slots, the least advanced running trial trains the next epoch; a checkpoint is the
model state (weights and velocities) copied into a dict keyed by its path, so a PBT fork
really continues its donor's weights with its own new hyperparameters. Every method spends the
same ``Budget(max_steps=POPULATION * MAX_STEP)`` epochs.

**Methods** (parameters fixed up front, not tuned to this task): PBT and PB2 with population
``POPULATION``, ``perturbation_interval=INTERVAL`` and rung's defaults otherwise (quantile 0.25,
resample probability 0.25, PBT's x0.8 / x1.2); random search + FIFO (each trial trained to
``MAX_STEP``); random search + ASHA (reduction factor 3, min step 1). With ``--ray``, Ray Tune's
``PopulationBasedTraining`` runs as a peer (the same population, interval, quantile and
resample probability; a checkpoint every interval; ``WORKERS`` concurrent trials): a bench
extra only, never a dependency of rung. Its exploits inherit the donor's epochs (a recipient
behind its donor skips ahead), so it may train fewer than the budget's epochs: ``epochs``
counts those it trained.

**Measured** per run: the chosen model is the trial whose model at its last reported epoch has
the lowest validation error (ties: lower validation loss); its validation and test accuracy,
and the epochs trained. ``--check`` first measures whether a learning-rate schedule can beat
every fixed choice on this task (a grid of fixed (lr, alpha) against the same grid with lr / 10
after half the epochs).

Usage: ``OMP_NUM_THREADS=1 python benchmarks/bench_pbt.py [--seeds 10] [--ray] [--quick]
[--no-write]``.
Writes ``benchmarks/results/pbt_real.csv`` (one row per run) and the ``bench_pbt`` section of
``benchmarks/RESULTS.md`` unless ``--no-write`` or ``--quick``.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _results import table, write_section

from rung import Budget, Float, SearchSpace, Study
from rung.storage.memory import MemoryJournal
from rung.testing.population import run_population

OUT = Path(__file__).resolve().parent / "results"
SECTION = "bench_pbt: PBT and PB2 on real training"

N_TRAIN, N_VAL = 600, 500
HIDDEN, BATCH, MOMENTUM = 64, 32, 0.9
MAX_STEP, POPULATION, INTERVAL, WORKERS = 40, 8, 4, 4
SPACE = SearchSpace({"lr": Float(1e-3, 1.0, log=True), "alpha": Float(1e-6, 1e-1, log=True)})
METHODS = ("pbt", "pb2", "random+fifo", "random+asha")


# --- the task ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Data:
    xtr: np.ndarray
    ytr: np.ndarray
    xva: np.ndarray
    yva: np.ndarray
    xte: np.ndarray
    yte: np.ndarray


def load_data(n_train: int = N_TRAIN, n_val: int = N_VAL) -> Data:
    """Digits scaled to [0, 1], split once by a fixed permutation."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order] / 16.0, y[order]
    a, b = n_train, n_train + n_val
    return Data(x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:])


@dataclass
class Model:
    """An MLP's weights and SGD momentum buffers; ``copy`` is a checkpoint."""

    w: list[np.ndarray]
    v: list[np.ndarray] = field(default_factory=list)

    @classmethod
    def init(cls, seed: int, trial: int, n_in: int = 64, n_out: int = 10) -> Model:
        rng = np.random.default_rng([seed, trial, 7])
        w = [rng.normal(0, math.sqrt(2 / n_in), (n_in, HIDDEN)), np.zeros(HIDDEN),
             rng.normal(0, math.sqrt(1 / HIDDEN), (HIDDEN, n_out)), np.zeros(n_out)]
        return cls(w, [np.zeros_like(a) for a in w])

    def copy(self) -> Model:
        return Model([a.copy() for a in self.w], [a.copy() for a in self.v])

    def logits(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = np.maximum(x @ self.w[0] + self.w[1], 0.0)
        return h, h @ self.w[2] + self.w[3]

    def epoch(self, x: np.ndarray, y: np.ndarray, lr: float, alpha: float,
              rng: np.random.Generator) -> None:
        """One pass of minibatch SGD with momentum and L2 decay ``alpha`` on the weights."""
        order = rng.permutation(len(y))
        for i in range(0, len(y), BATCH):
            idx = order[i:i + BATCH]
            xb, yb = x[idx], y[idx]
            h, z = self.logits(xb)
            z = z - z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(yb)), yb] -= 1.0
            p /= len(yb)
            dh = (p @ self.w[2].T) * (h > 0)
            grads = [xb.T @ dh + alpha * self.w[0], dh.sum(0),
                     h.T @ p + alpha * self.w[2], p.sum(0)]
            for a, v, g in zip(self.w, self.v, grads, strict=True):
                v *= MOMENTUM
                v -= lr * g
                a += v
        if not all(np.isfinite(a).all() for a in self.w):  # diverged: a dead model
            for a, v in zip(self.w, self.v, strict=True):
                a[...] = 0.0
                v[...] = 0.0

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(error, mean cross-entropy) on ``x, y``."""
        _, z = self.logits(x)
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(np.mean(z.argmax(1) != y)), float(-logp[np.arange(len(y)), y].mean())


# --- one study --------------------------------------------------------------------------------
def scheduler_spec(method: str, interval: int = INTERVAL, population: int = POPULATION) -> Any:
    if method in ("pbt", "pb2"):
        return {"name": method, "params": {"population_size": population,
                                           "perturbation_interval": interval}}
    if method == "random+asha":
        return {"name": "asha", "params": {"reduction_factor": 3, "min_step": 1}}
    if method == "random+fifo":
        return "fifo"
    raise ValueError(f"unknown method {method!r}")


def run_one(method: str, seed: int, data: Data, max_step: int = MAX_STEP,
            population: int = POPULATION, interval: int = INTERVAL,
            workers: int = WORKERS) -> dict[str, Any]:
    """One study of ``method`` at ``seed``; returns its row."""
    t0 = time.perf_counter()
    study = Study.create(f"{method}-{seed}", SPACE, "val_error", searcher="random",
                         scheduler=scheduler_spec(method, interval, population),
                         max_step=max_step, budget=Budget(max_steps=population * max_step),
                         seed=seed, storage=MemoryJournal())

    def init(tid: int, params: Mapping[str, Any]) -> Model:
        return Model.init(seed, tid)

    def train(model: Model, tid: int, params: Mapping[str, Any],
              step: int) -> tuple[Model, dict[str, float]]:
        model.epoch(data.xtr, data.ytr, params["lr"], params["alpha"],
                    np.random.default_rng([seed, tid, step]))
        err, loss = model.evaluate(data.xva, data.yva)
        return model, {"val_error": err, "val_loss": loss}

    run = run_population(study, workers, init, train, Model.copy, max_step)
    last = {tid: (r.metrics["val_error"], r.metrics["val_loss"], r.step, r.state)
            for tid, r in run.last.items()}
    epochs = run.steps
    best = min(last, key=lambda i: (last[i][0], last[i][1], i))
    err, _, step, model = last[best]
    test_err, _ = model.evaluate(data.xte, data.yte)
    trials = study.trials()
    return {"method": method, "seed": seed, "val_acc": round(1 - err, 6),
            "test_acc": round(1 - test_err, 6), "best_trial": best, "best_step": step,
            "epochs": epochs, "trials": len(trials),
            "forks": sum(1 for t in trials if t.parent_id is not None),
            "seconds": round(time.perf_counter() - t0, 2)}


# --- Ray Tune's PBT, a peer (--ray) ----------------------------------------------------------
def ray_up(cpus: int = WORKERS) -> None:
    """A fresh local Ray whose workers can import this script (its trainable's module)."""
    import os

    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    import ray

    here = str(Path(__file__).resolve().parent)
    ray.init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": here, "OMP_NUM_THREADS": "1"}})


def run_ray_pbt(seed: int, data: Data, tmp: Path, max_step: int = MAX_STEP,
                population: int = POPULATION, interval: int = INTERVAL,
                workers: int = WORKERS) -> dict[str, Any]:
    """Ray Tune's ``PopulationBasedTraining`` on the same task, population, interval,
    quantile and resample probability, ``workers`` trials at once (Ray must be up). Its draws
    are not seeded by ``seed`` alone (Ray's own processes), so runs are not reproducible;
    ``epochs`` counts the epochs the trainables actually ran."""
    import pickle
    import random
    import tempfile

    from ray import tune
    from ray.tune.schedulers import PopulationBasedTraining

    random.seed(seed)
    np.random.seed(seed)
    t0 = time.perf_counter()

    def trainable(config: dict[str, Any]) -> None:
        ckpt = tune.get_checkpoint()
        if ckpt is not None:
            with ckpt.as_directory() as d:
                w, v, step, tid = pickle.loads((Path(d) / "m.pkl").read_bytes())
                model = Model(w, v)
        else:
            tid = int(config["member"])
            model, step = Model.init(seed, tid), 0
        while step < max_step:
            step += 1
            model.epoch(data.xtr, data.ytr, config["lr"], config["alpha"],
                        np.random.default_rng([seed, tid, step]))
            err, loss = model.evaluate(data.xva, data.yva)
            test_err, _ = model.evaluate(data.xte, data.yte)
            metrics = {"val_error": err, "val_loss": loss, "test_error": test_err}
            if step % interval == 0 or step == max_step:
                with tempfile.TemporaryDirectory() as d:
                    (Path(d) / "m.pkl").write_bytes(pickle.dumps((model.w, model.v, step, tid)))
                    tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(d))
            else:
                tune.report(metrics)

    pbt = PopulationBasedTraining(
        time_attr="training_iteration", perturbation_interval=interval,
        quantile_fraction=0.25, resample_probability=0.25,
        hyperparam_mutations={"lr": tune.loguniform(1e-3, 1.0),
                              "alpha": tune.loguniform(1e-6, 1e-1)})
    tuner = tune.Tuner(
        tune.with_parameters(trainable),
        param_space={"lr": tune.loguniform(1e-3, 1.0), "alpha": tune.loguniform(1e-6, 1e-1),
                     "member": tune.grid_search(list(range(population)))},
        tune_config=tune.TuneConfig(metric="val_error", mode="min", scheduler=pbt,
                                    num_samples=1, max_concurrent_trials=workers),
        run_config=tune.RunConfig(storage_path=str(tmp / f"ray-{seed}"), verbose=0,
                                  stop={"training_iteration": max_step}),
    )
    grid = tuner.fit()
    if grid.errors:
        raise RuntimeError(f"Ray Tune trials failed: {grid.errors[0]!r}")
    finals = []
    epochs = 0
    for i in range(len(grid)):
        df = grid[i].metrics_dataframe
        if df is None or not len(df):
            continue
        epochs += len(df)  # one report per epoch trained, across the trial's restores
        m = grid[i].metrics or {}
        finals.append((m["val_error"], m["val_loss"], i, m["test_error"],
                       m["training_iteration"]))
    err, _, best, test_err, step = min(finals)
    return {"method": "ray-pbt", "seed": seed, "val_acc": round(1 - err, 6),
            "test_acc": round(1 - test_err, 6), "best_trial": best, "best_step": step,
            "epochs": epochs, "trials": len(grid), "forks": -1,
            "seconds": round(time.perf_counter() - t0, 2)}


# --- can a schedule matter? -------------------------------------------------------------------
def schedule_check(data: Data, max_step: int, seeds: int = 3) -> list[list[object]]:
    """Fixed (lr, alpha) on a grid against the same with lr / 10 from half the epochs on:
    the best grid point of each, median validation accuracy at ``max_step`` over ``seeds``
    initializations."""
    rows: list[list[object]] = []
    best: dict[str, tuple[float, float, float]] = {}
    for lr in (0.003, 0.01, 0.03, 0.1, 0.3):
        for alpha in (1e-5, 1e-4, 1e-3, 1e-2):
            for kind in ("fixed", "step decay"):
                accs = []
                for s in range(seeds):
                    m = Model.init(1000 + s, 0)
                    for e in range(1, max_step + 1):
                        f = 0.1 if kind == "step decay" and e > max_step // 2 else 1.0
                        m.epoch(data.xtr, data.ytr, lr * f, alpha,
                                np.random.default_rng([1000 + s, 0, e]))
                    accs.append(1 - m.evaluate(data.xva, data.yva)[0])
                acc = float(np.median(accs))
                if kind not in best or acc > best[kind][0]:
                    best[kind] = (acc, lr, alpha)
    for kind, (acc, lr, alpha) in best.items():
        rows.append([kind, lr, alpha, round(acc, 4)])
    return rows


# --- the report -------------------------------------------------------------------------------
def summarize(rows: list[dict[str, Any]]) -> tuple[list[list[object]], list[list[object]]]:
    """The table (per method) and the Mann-Whitney U p-values (two-sided) on validation
    accuracy."""
    from scipy.stats import mannwhitneyu

    by: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(r["method"], []).append(r)
    out: list[list[object]] = []
    for m in (*METHODS, "ray-pbt"):
        rs = by.get(m, [])
        if not rs:
            continue
        va = np.array([r["val_acc"] for r in rs])
        te = np.array([r["test_acc"] for r in rs])
        q1, med, q3 = np.percentile(va, [25, 50, 75])
        tq1, tmed, tq3 = np.percentile(te, [25, 50, 75])
        out.append([m, len(rs), f"{med:.4f}", f"{q1:.4f}-{q3:.4f}", f"{tmed:.4f}",
                    f"{tq1:.4f}-{tq3:.4f}", int(np.median([r["epochs"] for r in rs])),
                    int(np.median([r["trials"] for r in rs])),
                    f"{np.median([r['seconds'] for r in rs]):.1f}"])
    tests: list[list[object]] = []
    for a, b in (("pb2", "pbt"), ("pbt", "random+fifo"), ("pb2", "random+fifo"),
                 ("pbt", "random+asha"), ("pb2", "random+asha"), ("pbt", "ray-pbt"),
                 ("pb2", "ray-pbt")):
        if a in by and b in by:
            for metric in ("val_acc", "test_acc"):
                x = [r[metric] for r in by[a]]
                y = [r[metric] for r in by[b]]
                p = float(mannwhitneyu(x, y, alternative="two-sided").pvalue)
                tests.append([f"{a} vs {b}", metric, f"{np.median(x) - np.median(y):+.4f}",
                              f"{p:.3g}"])
    return out, tests


HEADERS = ["method", "runs", "val acc (median)", "val IQR", "test acc (median)", "test IQR",
           "epochs", "trials", "s/run"]
TEST_HEADERS = ["comparison", "metric", "median difference", "Mann-Whitney p (two-sided)"]


def write_csv(rows: list[dict[str, Any]]) -> None:
    OUT.mkdir(exist_ok=True)
    with open(OUT / "pbt_real.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--quick", action="store_true",
                    help="2 seeds, 12 epochs, population 4: a smoke run; writes nothing")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--no-check", action="store_true", help="skip the schedule check")
    ap.add_argument("--ray", action="store_true",
                    help="also run Ray Tune's PBT as a peer (needs ray[tune]; minutes per seed)")
    args = ap.parse_args(argv)
    data = load_data()
    seeds = 2 if args.quick else args.seeds
    kw: dict[str, int] = ({"max_step": 12, "population": 4, "interval": 3} if args.quick
                          else {})
    check: list[list[object]] = []
    if not args.no_check:
        check = schedule_check(data, kw.get("max_step", MAX_STEP), 1 if args.quick else 3)
        print(table(["schedule", "lr", "alpha", "val acc"], check))
    rows = []
    for seed in range(seeds):
        for m in METHODS:
            r = run_one(m, seed, data, **kw)
            rows.append(r)
            print(r, flush=True)
    if args.ray:
        import tempfile

        ray_up()
        with tempfile.TemporaryDirectory(prefix="bench-pbt-") as d:
            for seed in range(seeds):
                r = run_ray_pbt(seed, data, Path(d), **kw)
                rows.append(r)
                print(r, flush=True)
    summary, tests = summarize(rows)
    report = table(HEADERS, summary) + "\n\n" + table(TEST_HEADERS, tests)
    print(report)
    if args.quick or args.no_write:
        return
    write_csv(rows)
    body = (
        f"Task: a NumPy MLP (64-{HIDDEN}-10, SGD momentum {MOMENTUM}, batch {BATCH}) on "
        f"`load_digits` ({N_TRAIN} train / {N_VAL} validation / {len(data.yte)} test, fixed "
        f"split), one epoch per step, {MAX_STEP} epochs per trial; explored: lr (log "
        f"[1e-3, 1]) and L2 alpha (log [1e-6, 1e-1]). rung's methods: {WORKERS} in-process "
        f"workers (ask / report / checkpoint / tell). Every method: budget "
        f"{POPULATION * MAX_STEP} epochs, {seeds} seeds. PBT and PB2: population {POPULATION}, perturbation_interval "
        f"{INTERVAL}, defaults otherwise (chosen before any run). ASHA: reduction factor 3, "
        f"min step 1. "
        + ("Ray Tune's PopulationBasedTraining (the same population, interval, quantile and "
           "resample probability; checkpoints every interval; 4 concurrent trials on a local "
           "Ray with 4 logical CPUs; not seeded reproducibly, `forks` = -1: not counted). "
           if args.ray else "No Ray Tune peer in this run. ")
        + "The chosen model: the trial with the lowest validation error at its "
        "last epoch. Per-run rows: `benchmarks/results/pbt_real.csv`.\n\n"
    )
    if check:
        body += ("Can a schedule matter? Best grid point (lr x alpha, 5 x 4) of fixed "
                 f"hyperparameters against lr / 10 after epoch {MAX_STEP // 2}, median "
                 "validation accuracy of 3 initializations:\n\n"
                 + table(["schedule", "lr", "alpha", "val acc"], check) + "\n\n")
    write_section(SECTION, body + report)


if __name__ == "__main__":
    main()
