"""PBT and PB2 on real training, beside random search with FIFO and with ASHA.

**Tasks** (``--task``, data and model in ``_pbt_tasks.py``): a one-hidden-layer NumPy MLP
trained by minibatch SGD, one epoch per step, ``task.max_step`` epochs per trial, on
scikit-learn's ``load_digits`` (``digits``, the default: 64 hidden units, momentum 0.9) or on
MNIST-1D generated locally (``mnist1d``: 100 hidden units, plain SGD), neither downloaded. The
explored hyperparameters are the learning rate ``lr`` (log; [1e-3, 1] on digits, [1e-3, 3] on
mnist1d) and the L2 weight decay ``alpha`` (log, [1e-6, 1e-1]); both are read at every
minibatch, so a member keeps its weights (and momentum) when they change. The data are split
once (fixed seed) into training, validation and test sets. The objective is the validation
error (1 - accuracy) after each epoch.

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

Usage: ``OMP_NUM_THREADS=1 python benchmarks/bench_pbt.py [--task digits|mnist1d] [--seeds 10]
[--ray] [--quick] [--no-write]``.
Writes ``benchmarks/results/pbt_real.csv`` (``pbt_real_<task>.csv`` for another task; one row
per run) and the ``bench_pbt`` section of ``benchmarks/RESULTS.md`` (another task: its own
subsection there, ``_pbt_results.py``) unless ``--no-write`` or ``--quick``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _pbt_results import (
    READING,
    SECTION,
    TASK_NOTES,
    subsection_title,
    subsections,
    write_subsection,
)
from _pbt_tasks import (
    BATCH,
    HIDDEN,
    MOMENTUM,
    N_TRAIN,
    N_VAL,
    TASKS,
    Data,
    Model,
    Task,
    load_data,
    schedule_check,
)
from _results import table, write_section

from rung import Budget, Study
from rung.space import Float, SearchSpace
from rung.storage.memory import MemoryJournal
from rung.testing.population import run_population

OUT = Path(__file__).resolve().parent / "results"

MAX_STEP, POPULATION, INTERVAL, WORKERS = 40, 8, 4, 4
DIGITS = TASKS["digits"]
METHODS = ("pbt", "pb2", "random+fifo", "random+asha")
__all__ = ["BATCH", "HIDDEN", "MOMENTUM", "N_TRAIN", "N_VAL", "Data", "Model", "load_data"]


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
            workers: int = WORKERS, task: Task = DIGITS) -> dict[str, Any]:
    """One study of ``method`` at ``seed`` on ``task`` (``data`` is its data); returns its
    row."""
    t0 = time.perf_counter()
    study = Study.create(f"{method}-{seed}", task.space, "val_error", searcher="random",
                         scheduler=scheduler_spec(method, interval, population),
                         max_step=max_step, budget=Budget(max_steps=population * max_step),
                         seed=seed, storage=MemoryJournal())

    def init(tid: int, params: Mapping[str, Any]) -> Model:
        return task.model(seed, tid)

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
                workers: int = WORKERS, task: Task = DIGITS) -> dict[str, Any]:
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
                model, step, tid = pickle.loads((Path(d) / "m.pkl").read_bytes())
        else:
            tid = int(config["member"])
            model, step = task.model(seed, tid), 0
        while step < max_step:
            step += 1
            model.epoch(data.xtr, data.ytr, config["lr"], config["alpha"],
                        np.random.default_rng([seed, tid, step]))
            err, loss = model.evaluate(data.xva, data.yva)
            test_err, _ = model.evaluate(data.xte, data.yte)
            metrics = {"val_error": err, "val_loss": loss, "test_error": test_err}
            if step % interval == 0 or step == max_step:
                with tempfile.TemporaryDirectory() as d:
                    (Path(d) / "m.pkl").write_bytes(pickle.dumps((model, step, tid)))
                    tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(d))
            else:
                tune.report(metrics)

    lr = task.space["lr"]
    pbt = PopulationBasedTraining(
        time_attr="training_iteration", perturbation_interval=interval,
        quantile_fraction=0.25, resample_probability=0.25,
        hyperparam_mutations={"lr": tune.loguniform(lr.low, lr.high),
                              "alpha": tune.loguniform(1e-6, 1e-1)})
    tuner = tune.Tuner(
        tune.with_parameters(trainable),
        param_space={"lr": tune.loguniform(lr.low, lr.high), "alpha": tune.loguniform(1e-6, 1e-1),
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


def write_csv(rows: list[dict[str, Any]], task: Task = DIGITS) -> None:
    OUT.mkdir(exist_ok=True)
    name = "pbt_real.csv" if task is DIGITS else f"pbt_real_{task.name}.csv"
    with open(OUT / name, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def with_lr_low(task: Task, low: float) -> Task:
    """``task`` with its learning rate explored from ``low`` up (a floor under PBT's and PB2's
    decays), named ``<task>-lr<low>``: its own CSV and RESULTS.md subsection.

    Raises:
        ValueError: ``low`` is not inside the task's lr range.
    """
    lr = task.space["lr"]
    if not lr.low < low < lr.high:
        raise ValueError(f"--lr-low must lie in ({lr.low:g}, {lr.high:g}), got {low:g}")
    space = SearchSpace({"lr": Float(low, lr.high, log=True), "alpha": task.space["alpha"]})
    return dataclasses.replace(task, name=f"{task.name}-lr{low:g}", space=space)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", choices=sorted(TASKS), default="digits")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--quick", action="store_true",
                    help="2 seeds, 12 epochs, population 4: a smoke run; writes nothing")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--no-check", action="store_true", help="skip the schedule check")
    ap.add_argument("--check-seeds", type=int, default=None,
                    help="initializations per grid point in the schedule check (default: 3 on "
                         "digits, 5 on another task)")
    ap.add_argument("--ray", action="store_true",
                    help="also run Ray Tune's PBT as a peer (needs ray[tune]; minutes per seed)")
    ap.add_argument("--lr-low", type=float, default=None,
                    help="explore lr from this value up instead of the task's lower bound "
                         "(implies --no-check; results under the task name <task>-lr<value>)")
    args = ap.parse_args(argv)
    task = TASKS[args.task]
    if args.lr_low is not None:
        try:
            task = with_lr_low(task, args.lr_low)
        except ValueError as e:
            ap.error(str(e))
        args.no_check = True
    data = task.load()
    seeds = 2 if args.quick else args.seeds
    kw: dict[str, int] = ({"max_step": 12, "population": 4, "interval": 3} if args.quick
                          else {"max_step": task.max_step})
    check_seeds = 1 if args.quick else (args.check_seeds or (3 if task is DIGITS else 5))
    check: list[list[object]] = []
    p_check = float("nan")
    if not args.no_check:
        check, p_check = schedule_check(data, kw["max_step"], check_seeds, task)
        print(table(["schedule", "lr", "alpha", "val acc"], check))
        print(f"step decay vs fixed: Mann-Whitney p = {p_check:.3g}")
    rows = []
    for seed in range(seeds):
        for m in METHODS:
            r = run_one(m, seed, data, **kw, task=task)
            rows.append(r)
            print(r, flush=True)
    if args.ray:
        import tempfile

        ray_up()
        with tempfile.TemporaryDirectory(prefix="bench-pbt-") as d:
            for seed in range(seeds):
                r = run_ray_pbt(seed, data, Path(d), **kw, task=task)
                rows.append(r)
                print(r, flush=True)
    summary, tests = summarize(rows)
    report = table(HEADERS, summary) + "\n\n" + table(TEST_HEADERS, tests)
    print(report)
    if args.quick or args.no_write:
        return
    write_csv(rows, task)
    if task is DIGITS:
        write_digits(data, seeds, args.ray, check, report)
    else:
        write_task(task, data, seeds, args.ray, check, p_check, check_seeds, report)


def methods_text(seeds: int, ray: bool, max_step: int) -> str:
    return (
        f"rung's methods: {WORKERS} in-process "
        f"workers (ask / report / checkpoint / tell). Every method: budget "
        f"{POPULATION * max_step} epochs, {seeds} seeds. PBT and PB2: population "
        f"{POPULATION}, perturbation_interval "
        f"{INTERVAL}, defaults otherwise (chosen before any run). ASHA: reduction factor 3, "
        f"min step 1. "
        + ("Ray Tune's PopulationBasedTraining (the same population, interval, quantile and "
           "resample probability; checkpoints every interval; 4 concurrent trials on a local "
           "Ray with 4 logical CPUs; not seeded reproducibly, `forks` = -1: not counted). "
           if ray else "No Ray Tune peer in this run. ")
        + "The chosen model: the trial with the lowest validation error at its "
        "last epoch. "
    )


def write_digits(data: Data, seeds: int, ray: bool, check: list[list[object]],
                 report: str) -> None:
    body = (
        f"Task: a NumPy MLP (64-{HIDDEN}-10, SGD momentum {MOMENTUM}, batch {BATCH}) on "
        f"`load_digits` ({N_TRAIN} train / {N_VAL} validation / {len(data.yte)} test, fixed "
        f"split), one epoch per step, {MAX_STEP} epochs per trial; explored: lr (log "
        f"[1e-3, 1]) and L2 alpha (log [1e-6, 1e-1]). " + methods_text(seeds, ray, MAX_STEP)
        + "Per-run rows: `benchmarks/results/pbt_real.csv`.\n\n"
    )
    if check:
        body += ("Can a schedule matter? Best grid point (lr x alpha, 5 x 4) of fixed "
                 f"hyperparameters against lr / 10 after epoch {MAX_STEP // 2}, median "
                 "validation accuracy of 3 initializations:\n\n"
                 + table(["schedule", "lr", "alpha", "val acc"], check) + "\n\n")
    rest = subsections()
    write_section(SECTION, body + report + ("\n\n" + rest if rest else ""))


def write_task(task: Task, data: Data, seeds: int, ray: bool, check: list[list[object]],
               p_check: float, check_seeds: int, report: str) -> None:
    lr = task.space["lr"]
    body = (
        f"Task: {task.about}, one epoch per step, {task.max_step} epochs per trial; explored: "
        f"lr (log [{lr.low:g}, {lr.high:g}]) and L2 alpha (log [1e-6, 1e-1]). "
        + methods_text(seeds, ray, task.max_step)
        + f"Per-run rows: `benchmarks/results/pbt_real_{task.name}.csv`.\n\n"
        + TASK_NOTES.get(task.name, "")
    )
    if check:
        body += (f"Schedule check (the gate): best grid point (lr x alpha, {len(task.lr_grid)} "
                 f"x {len(task.alpha_grid)}) of fixed hyperparameters against lr / 10 after "
                 f"epoch {task.max_step // 2}, median validation accuracy of {check_seeds} "
                 f"initializations; step decay's best vs fixed's best: Mann-Whitney p = "
                 f"{p_check:.3g}:\n\n"
                 + table(["schedule", "lr", "alpha", "val acc"], check) + "\n\n")
    write_subsection(subsection_title(task), body + report + "\n\n" + READING.get(task.name, ""))


if __name__ == "__main__":
    main()
