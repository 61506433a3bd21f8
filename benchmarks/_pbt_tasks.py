"""bench_pbt's tasks: the data (split once, fixed seed) and a one-hidden-layer NumPy MLP trained
by minibatch SGD, one epoch per step.

- ``digits``: scikit-learn's ``load_digits`` (64 pixels scaled to [0, 1]; 600 train / 500
  validation / 697 test), 64 hidden units, SGD with momentum 0.9, batch 32, 40 epochs.
- ``mnist1d``: the MNIST-1D data (Greydanus 2020, "Scaling down deep learning"), generated
  locally by the ``mnist1d`` package from its templates with its default arguments (seed 42;
  no download), as ``make_curves.py`` loads it for the ``mlp-mnist1d`` table: 5,000 signals
  of length 40, 10 classes, standardized by the training set's mean and deviation; 3,000 train
  / 1,000 validation / 1,000 test; 100 hidden units, plain SGD (no momentum), batch 32.

The learning rate ``lr`` and the L2 weight decay ``alpha`` are read at every minibatch, so a
model keeps its weights (and momentum buffers) when they change. ``schedule_check`` measures
whether a learning-rate schedule can beat every fixed choice on a task.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rung import Float, SearchSpace

N_TRAIN, N_VAL = 600, 500  # digits
HIDDEN, BATCH, MOMENTUM = 64, 32, 0.9  # digits


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


@functools.cache
def _mnist1d() -> tuple[np.ndarray, np.ndarray]:
    from mnist1d.data import get_dataset_args, make_dataset

    d = make_dataset(get_dataset_args())  # generated from templates, seed 42: no download
    x = np.vstack([d["x"], d["x_test"]]).astype(np.float64)
    y = np.concatenate([d["y"], d["y_test"]]).astype(np.int64)
    return x, y


def load_mnist1d(n_train: int = 3000, n_val: int = 1000, label_noise: float = 0.0) -> Data:
    """MNIST-1D's 5,000 signals, split once by a fixed permutation into ``n_train`` train,
    ``n_val`` validation and (up to) 1,000 test signals, standardized by the training set;
    ``label_noise`` of the training labels (only) replaced by a uniformly drawn class."""
    x, y = _mnist1d()
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], y[order].copy()
    test = slice(len(y) - 1000, len(y))
    a, b = n_train, n_train + n_val
    if b > len(y) - 1000:
        raise ValueError(f"n_train + n_val must be at most {len(y) - 1000}, got {b}")
    mu, sd = x[:a].mean(axis=0), x[:a].std(axis=0) + 1e-8
    x = (x - mu) / sd
    ytr = y[:a].copy()
    if label_noise > 0:
        rng = np.random.default_rng(1)
        flip = rng.random(a) < label_noise
        ytr[flip] = rng.integers(0, 10, int(flip.sum()))
    return Data(x[:a], ytr, x[a:b], y[a:b], x[test], y[test])


@dataclass
class Model:
    """An MLP's weights and SGD momentum buffers; ``copy`` is a checkpoint."""

    w: list[np.ndarray]
    v: list[np.ndarray] = field(default_factory=list)
    batch: int = BATCH
    momentum: float = MOMENTUM

    @classmethod
    def init(cls, seed: int, trial: int, n_in: int = 64, n_out: int = 10, hidden: int = HIDDEN,
             batch: int = BATCH, momentum: float = MOMENTUM) -> Model:
        rng = np.random.default_rng([seed, trial, 7])
        w = [rng.normal(0, math.sqrt(2 / n_in), (n_in, hidden)), np.zeros(hidden),
             rng.normal(0, math.sqrt(1 / hidden), (hidden, n_out)), np.zeros(n_out)]
        return cls(w, [np.zeros_like(a) for a in w], batch, momentum)

    def copy(self) -> Model:
        return Model([a.copy() for a in self.w], [a.copy() for a in self.v], self.batch,
                     self.momentum)

    def logits(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = np.maximum(x @ self.w[0] + self.w[1], 0.0)
        return h, h @ self.w[2] + self.w[3]

    def epoch(self, x: np.ndarray, y: np.ndarray, lr: float, alpha: float,
              rng: np.random.Generator) -> None:
        """One pass of minibatch SGD with momentum and L2 decay ``alpha`` on the weights."""
        order = rng.permutation(len(y))
        for i in range(0, len(y), self.batch):
            idx = order[i:i + self.batch]
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
                v *= self.momentum
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


@dataclass(frozen=True)
class Task:
    """A data set and the MLP trained on it: ``space`` is what the methods explore,
    ``lr_grid x alpha_grid`` what ``schedule_check`` tries."""

    name: str
    load: Callable[[], Data]
    n_in: int
    hidden: int
    batch: int
    momentum: float
    max_step: int
    space: SearchSpace
    lr_grid: tuple[float, ...]
    alpha_grid: tuple[float, ...]
    about: str

    def model(self, seed: int, trial: int) -> Model:
        return Model.init(seed, trial, self.n_in, 10, self.hidden, self.batch, self.momentum)


DIGITS = Task(
    "digits", load_data, 64, HIDDEN, BATCH, MOMENTUM, 40,
    SearchSpace({"lr": Float(1e-3, 1.0, log=True), "alpha": Float(1e-6, 1e-1, log=True)}),
    (0.003, 0.01, 0.03, 0.1, 0.3), (1e-5, 1e-4, 1e-3, 1e-2),
    f"a NumPy MLP (64-{HIDDEN}-10, SGD momentum {MOMENTUM}, batch {BATCH}) on `load_digits` "
    f"({N_TRAIN} train / {N_VAL} validation / 697 test, fixed split)",
)
MNIST1D = Task(
    "mnist1d", load_mnist1d, 40, 100, 32, 0.0, 40,
    SearchSpace({"lr": Float(1e-3, 3.0, log=True), "alpha": Float(1e-6, 1e-1, log=True)}),
    (0.01, 0.03, 0.1, 0.3, 1.0), (1e-5, 1e-4, 1e-3),
    "a NumPy MLP (40-100-10, plain SGD, batch 32) on MNIST-1D (generated locally, default "
    "arguments; 3,000 train / 1,000 validation / 1,000 test, fixed split, standardized)",
)
TASKS = {t.name: t for t in (DIGITS, MNIST1D)}


def schedule_runs(task: Task, data: Data, lr: float, alpha: float, decay: bool,
                  seeds: int, max_step: int) -> list[float]:
    """Validation accuracy at ``max_step`` of ``seeds`` initializations trained with fixed
    ``(lr, alpha)``, or (``decay``) with lr / 10 after half the epochs."""
    accs = []
    for s in range(seeds):
        m = task.model(1000 + s, 0)
        for e in range(1, max_step + 1):
            f = 0.1 if decay and e > max_step // 2 else 1.0
            m.epoch(data.xtr, data.ytr, lr * f, alpha, np.random.default_rng([1000 + s, 0, e]))
        accs.append(1 - m.evaluate(data.xva, data.yva)[0])
    return accs


def schedule_check(data: Data, max_step: int, seeds: int = 3,
                   task: Task = DIGITS) -> tuple[list[list[object]], float]:
    """Fixed ``(lr, alpha)`` on the task's grid against the same with lr / 10 from half the
    epochs on: the best grid point of each (by median validation accuracy at ``max_step``
    over ``seeds`` initializations), and the two-sided Mann-Whitney p of the step decay's
    best against the fixed best on those initializations (``nan`` for fewer than 2)."""
    from scipy.stats import mannwhitneyu

    best: dict[str, tuple[float, float, float, list[float]]] = {}
    for lr in task.lr_grid:
        for alpha in task.alpha_grid:
            for kind in ("fixed", "step decay"):
                accs = schedule_runs(task, data, lr, alpha, kind == "step decay", seeds,
                                     max_step)
                acc = float(np.median(accs))
                if kind not in best or acc > best[kind][0]:
                    best[kind] = (acc, lr, alpha, accs)
    rows: list[list[object]] = [[kind, lr, alpha, round(acc, 4)]
                                for kind, (acc, lr, alpha, _) in best.items()]
    p = math.nan
    if seeds >= 2:
        p = float(mannwhitneyu(best["step decay"][3], best["fixed"][3],
                               alternative="two-sided").pvalue)
    return rows, p
