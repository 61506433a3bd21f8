"""``rung demo``: a real search on real data, in a minute or two on a laptop.

A scikit-learn ``MLPClassifier`` learns the 8x8 handwritten digits that ship with scikit-learn
(``load_digits``: 1,797 images), with one-pixel shifts added to the training images. The step is
the epoch (one ``partial_fit`` pass), ASHA stops the weak configurations early, local worker
processes train on every core, and the journal is an SQLite file under ``runs/``. Checkpoints
are NumPy ``.npz`` files of the weights, saved when the scheduler asks for one and restored when
an interrupted trial is resumed.

Needs scikit-learn: ``pip install 'rung[examples]'``.
"""

from __future__ import annotations

import functools
import math
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from rung.cli.spec import RunSpec
from rung.core.records import Budget, ComponentSpec, Objective, StudySpec
from rung.space import Categorical, Float, Int, SearchSpace
from rung.study import Study

DEMO_SPACE = SearchSpace({
    "hidden": Int(32, 256, log=True),
    "layers": Categorical([1, 2]),
    "activation": Categorical(["relu", "tanh"]),
    "lr": Float(1e-4, 3e-2, log=True),
    "alpha": Float(1e-6, 1e-1, log=True),
    "batch_size": Categorical([16, 32, 64, 128]),
})


@functools.lru_cache(maxsize=1)
def digits() -> dict[str, np.ndarray]:
    """Train / validation / test splits of the digits (60/20/20, stratified, fixed seed); the
    training images are augmented with their one-pixel shifts in four directions."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float64) / 16.0
    X_tr, X_rest, y_tr, y_rest = train_test_split(X, y, test_size=0.4, random_state=0, stratify=y)
    X_va, X_te, y_va, y_te = train_test_split(
        X_rest, y_rest, test_size=0.5, random_state=0, stratify=y_rest
    )
    imgs = X_tr.reshape(-1, 8, 8)
    shifted = [imgs]
    for axis, shift in ((1, 1), (1, -1), (2, 1), (2, -1)):
        s = np.roll(imgs, shift, axis=axis)
        edge = 0 if shift == 1 else -1
        if axis == 1:
            s[:, edge, :] = 0.0
        else:
            s[:, :, edge] = 0.0
        shifted.append(s)
    X_aug = np.concatenate(shifted).reshape(-1, 64)
    y_aug = np.tile(y_tr, len(shifted))
    return {"X_tr": X_aug, "y_tr": y_aug, "X_va": X_va, "y_va": y_va, "X_te": X_te, "y_te": y_te,
            "classes": np.arange(10)}


def build_model(params: Any, seed: int) -> Any:
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=(int(params["hidden"]),) * int(params["layers"]),
        activation=params["activation"],
        learning_rate_init=float(params["lr"]),
        alpha=float(params["alpha"]),
        batch_size=int(params["batch_size"]),
        random_state=seed,
    )


def save_weights(model: Any, directory: str | os.PathLike[str]) -> None:
    """Checkpoint: the weights and biases of every layer, as one ``.npz`` file."""
    arrays = {f"W{i}": w for i, w in enumerate(model.coefs_)}
    arrays |= {f"b{i}": b for i, b in enumerate(model.intercepts_)}
    np.savez(Path(directory) / "weights.npz", **arrays)


def load_weights(
    model: Any, directory: str | os.PathLike[str], data: dict[str, np.ndarray]
) -> None:
    """Restore a checkpoint into a fresh model: one ``partial_fit`` on a few samples builds
    the layers and the optimizer, then the saved weights are copied in place (the optimizer
    holds references to these very arrays)."""
    model.partial_fit(data["X_tr"][:128], data["y_tr"][:128], classes=data["classes"])
    with np.load(Path(directory) / "weights.npz") as f:
        for i, w in enumerate(model.coefs_):
            w[...] = f[f"W{i}"]
        for i, b in enumerate(model.intercepts_):
            b[...] = f[f"b{i}"]


def train(ctx: Any) -> None:
    """The objective: one epoch per step, validation accuracy reported after each."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    data = digits()
    model = build_model(ctx.params, seed=int(ctx.trial_id))
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if ctx.checkpoint is not None:
            load_weights(model, ctx.checkpoint, data)
        for step in range(ctx.start_step, ctx.max_step + 1):
            model.partial_fit(data["X_tr"], data["y_tr"], classes=data["classes"])
            val_acc = float(model.score(data["X_va"], data["y_va"]))
            test_acc = float(model.score(data["X_te"], data["y_te"]))
            loss = float(model.loss_)
            if not math.isfinite(loss):
                val_acc = 0.0
            ctx.report(step, val_acc=val_acc, test_acc=test_acc, train_loss=loss,
                       save=functools.partial(save_weights, model))


def demo_spec(
    name: str | None = None,
    storage: str | os.PathLike[str] | None = None,
    n_trials: int | None = None,
    max_step: int | None = None,
    n_workers: int | None = None,
    seed: int = 0,
) -> RunSpec:
    """The demo's study: random search + ASHA (eta 3) on ``DEMO_SPACE``, maximizing
    validation accuracy, ``n_trials`` (200) configurations of up to ``max_step`` (27) epochs."""
    name = name or time.strftime("demo-%Y%m%d-%H%M%S")
    study = StudySpec(
        name=name,
        space=DEMO_SPACE,
        objective=Objective("val_acc", "max"),
        searcher=ComponentSpec("random", {}),
        scheduler=ComponentSpec("asha", {"reduction_factor": 3, "min_step": 1}),
        max_step=max_step or 27,
        budget=Budget(n_trials=n_trials or 200),
        seed=seed,
        keep_checkpoints=1,
    )
    return RunSpec(
        study=study, objective="rung.cli.demo:train", path=(), executor="local",
        n_workers=n_workers, storage=Path(storage) if storage else Path("runs") / "demo.db",
    )


def describe_best(study: Study) -> str:
    """The closing lines of the demo: the best configuration and its accuracies."""
    best = study.best_trial
    if best is None or not math.isfinite(best.score):
        return "rung demo: no trial finished"
    m = best.metrics
    params = ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items()
    )
    n_done = len(study.trials("completed"))
    return (
        f"rung demo: best configuration (trial #{best.id}, {best.last_step} epochs; "
        f"{n_done} of {len(study.trials())} trials ran to the end):\n"
        f"  {params}\n"
        f"  validation accuracy {m.get('val_acc', float('nan')):.4f}, "
        f"test accuracy {m.get('test_acc', float('nan')):.4f}"
    )
