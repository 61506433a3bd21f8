"""Tune a small neural network on handwritten digits, epochs as the step, with checkpoints.

A scikit-learn ``MLPClassifier`` learns the 8x8 digit images that ship with scikit-learn
(``load_digits``). Each step is one epoch (one ``partial_fit`` pass over the training set); ASHA
stops the weak configurations early, at 1, 3 and 9 epochs. After every epoch (by default;
``--checkpoint-every N``: every N epochs, ``0``: only when the scheduler asks for one) the
weights are written to ``weights.npz``; a trial that is resumed (after a pause, or a crash of
the driver or of its worker) restores them from ``ctx.checkpoint`` and goes on from
``ctx.start_step``.

    pip install -e '.[examples]'
    python examples/mlp_digits.py                        # 60 configurations, all cores
    python examples/mlp_digits.py --trials 8 --max-step 9 --workers 2   # mlp_digits-8trials-9epochs
    rung show mlp_digits --storage runs/examples.db      # the study, from its journal

Running a command again resumes its study (``load_if_exists``) until its budget is spent. A
study's budget and ``max_step`` are fixed when it is created, so other ``--trials`` or
``--max-step`` values run a study of their own, named after them (or ``--name``).
"""

from __future__ import annotations

import functools
import os
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

import rung

SPACE = rung.SearchSpace({
    "hidden": rung.Int(16, 256, log=True),
    "layers": rung.Categorical([1, 2]),
    "lr": rung.Float(1e-4, 3e-2, log=True),
    "alpha": rung.Float(1e-6, 1e-1, log=True),
    "batch_size": rung.Categorical([16, 32, 64, 128]),
})


@functools.lru_cache(maxsize=1)
def data() -> dict[str, np.ndarray]:
    """Train / validation split of the digits (75/25, stratified, fixed seed), pixels in [0, 1].
    Cached: a worker process loads it once and reuses it for every trial it runs."""
    X, y = load_digits(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X / 16.0, y, test_size=0.25, random_state=0,
                                              stratify=y)
    return {"X_tr": X_tr, "y_tr": y_tr, "X_va": X_va, "y_va": y_va, "classes": np.arange(10)}


def save(model: MLPClassifier, directory: str) -> None:
    """The checkpoint: every layer's weights and biases in one ``.npz`` file."""
    arrays = {f"W{i}": w for i, w in enumerate(model.coefs_)}
    arrays.update({f"b{i}": b for i, b in enumerate(model.intercepts_)})
    np.savez(os.path.join(directory, "weights.npz"), **arrays)


def restore(model: MLPClassifier, directory: str, d: dict[str, np.ndarray]) -> None:
    """Load a checkpoint into a fresh model. One ``partial_fit`` on a few samples builds the
    layers and the optimizer; the saved weights are then copied *in place*, because the
    optimizer keeps references to these very arrays. (The optimizer's moment estimates start
    afresh: for a resumed trial that is a slightly warmer restart, nothing worse.)"""
    model.partial_fit(d["X_tr"][:128], d["y_tr"][:128], classes=d["classes"])
    with np.load(os.path.join(directory, "weights.npz")) as f:
        for i, w in enumerate(model.coefs_):
            w[...] = f[f"W{i}"]
        for i, b in enumerate(model.intercepts_):
            b[...] = f[f"b{i}"]


def train(ctx: rung.TrialContext) -> None:
    """The objective: one epoch per step, validation accuracy and loss reported after each."""
    d = data()
    p = ctx.params
    model = MLPClassifier(
        hidden_layer_sizes=(p["hidden"],) * p["layers"],
        learning_rate_init=p["lr"],
        alpha=p["alpha"],
        batch_size=p["batch_size"],
        random_state=ctx.trial_id,
    )
    # one BLAS thread per trial: the workers already use every core
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if ctx.checkpoint is not None:  # resuming: own checkpoint (or a PBT donor's)
            restore(model, ctx.checkpoint, d)
        for epoch in range(ctx.start_step, ctx.max_step + 1):
            model.partial_fit(d["X_tr"], d["y_tr"], classes=d["classes"])
            proba = model.predict_proba(d["X_va"])
            val_loss = float(-np.mean(np.log(np.clip(proba[np.arange(len(d["y_va"])),
                                                           d["y_va"]], 1e-12, None))))
            val_acc = float(np.mean(proba.argmax(axis=1) == d["y_va"]))
            # may raise StopTrial / PauseTrial: let them propagate
            ctx.report(epoch, val_loss=val_loss, val_acc=val_acc,
                       save=functools.partial(save, model))


def main(argv: list[str] | None = None) -> rung.Study:
    # the examples' shared command line
    from _examples_cli import parse_args, print_best, refused_as_bad_input

    ap, args = parse_args(argv, __doc__, name="mlp_digits", unit="epochs")
    with refused_as_bad_input(ap):  # a setting rung refuses: one line, exit code 2
        study = rung.Study.create(
            args.name, SPACE, objective=rung.Objective("val_loss", "min"),
            searcher="random", scheduler=rung.ASHA(reduction_factor=3),
            max_step=args.max_step, budget=rung.Budget(n_trials=args.trials), seed=0,
            storage=args.storage, load_if_exists=True,
        )
    with refused_as_bad_input(ap, (rung.ConfigError,)):
        study.run(train, executor="local", n_workers=args.workers,
                  checkpoint_every=args.checkpoint_every)
    print_best(study, args, "epochs", ["val_loss", "val_acc"])
    study.close()
    return study


if __name__ == "__main__":  # spawn workers import this file: keep the run behind the guard
    main()
