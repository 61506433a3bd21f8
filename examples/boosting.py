"""Tune gradient boosting on the breast-cancer data set, boosting rounds as the step.

scikit-learn's ``HistGradientBoostingClassifier`` with ``warm_start=True`` adds trees to a
fitted model instead of starting over, so one step is ``--rounds`` more boosting rounds (10 by
default) and a trial that ASHA lets continue simply keeps growing its ensemble. The data set
(569 tumours, 30 features) ships with scikit-learn (``load_breast_cancer``).

The checkpoint is the fitted model itself, pickled into ``model.pkl`` after every step (by
default; ``--checkpoint-every N``: every N steps, ``0``: only when the scheduler asks for one):
a checkpoint is the user's own data, so any format works (the journal itself never holds
pickles). A resumed trial (after a pause, or a crash of the driver or of its worker) loads it
from ``ctx.checkpoint`` and goes on adding rounds from ``ctx.start_step``.

    pip install -e '.[examples]'
    python examples/boosting.py                          # 60 configurations, all cores
    python examples/boosting.py --trials 8 --max-step 9 --workers 2   # boosting-8trials-9steps
    rung show boosting --storage runs/examples.db        # the study, from its journal
    rung run examples/spec.yaml                          # the same objective from a YAML spec

Running a command again resumes its study (``load_if_exists``) until its budget is spent. A
study's budget and ``max_step`` are fixed when it is created, so other ``--trials`` or
``--max-step`` values run a study of their own, named after them (or ``--name``).
"""

from __future__ import annotations

import functools
import os
import pickle

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

import rung

SPACE = rung.SearchSpace({
    "learning_rate": rung.Float(0.01, 0.5, log=True),
    "max_leaf_nodes": rung.Int(4, 64, log=True),
    "min_samples_leaf": rung.Int(2, 64, log=True),
    "l2_regularization": rung.Float(1e-4, 10.0, log=True),
    "rounds": 10,  # boosting rounds per step (fixed)
})


@functools.lru_cache(maxsize=1)
def data() -> dict[str, np.ndarray]:
    """Train / validation split (70/30, stratified, fixed seed), cached per worker process."""
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    return {"X_tr": X_tr, "y_tr": y_tr, "X_va": X_va, "y_va": y_va}


def save(model: HistGradientBoostingClassifier, directory: str) -> None:
    with open(os.path.join(directory, "model.pkl"), "wb") as f:
        pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)


def restore(directory: str) -> HistGradientBoostingClassifier:
    with open(os.path.join(directory, "model.pkl"), "rb") as f:
        model: HistGradientBoostingClassifier = pickle.load(f)
    return model


def train(ctx: rung.TrialContext) -> None:
    """The objective: ``rounds`` more trees per step; validation log-loss after each."""
    d = data()
    p = ctx.params
    if ctx.checkpoint is not None:  # resuming from the model saved at step start_step - 1
        model = restore(ctx.checkpoint)
    else:
        model = HistGradientBoostingClassifier(
            learning_rate=p["learning_rate"],
            max_leaf_nodes=p["max_leaf_nodes"],
            min_samples_leaf=p["min_samples_leaf"],
            l2_regularization=p["l2_regularization"],
            early_stopping=False,
            warm_start=True,
            random_state=ctx.trial_id,
        )
    for step in range(ctx.start_step, ctx.max_step + 1):
        model.set_params(max_iter=step * p["rounds"])
        # one thread per trial: the workers already use every core, and OpenMP threads
        # competing across processes make small fits many times slower
        with threadpool_limits(1):
            model.fit(d["X_tr"], d["y_tr"])  # warm start: only the new rounds are fitted
            proba = model.predict_proba(d["X_va"])
        ctx.report(
            step,
            val_logloss=float(log_loss(d["y_va"], proba, labels=[0, 1])),
            val_acc=float(np.mean(proba.argmax(axis=1) == d["y_va"])),
            trees=int(model.n_iter_),
            save=functools.partial(save, model),
        )


def main(argv: list[str] | None = None) -> rung.Study:
    # the examples' shared command line
    from _examples_cli import parse_args, print_best, refused_as_bad_input

    ap, args = parse_args(argv, __doc__, name="boosting", unit="steps")
    with refused_as_bad_input(ap):  # a setting rung refuses: one line, exit code 2
        study = rung.Study.create(
            args.name, SPACE, objective=rung.Objective("val_logloss", "min"),
            searcher="random", scheduler=rung.ASHA(reduction_factor=3),
            max_step=args.max_step, budget=rung.Budget(n_trials=args.trials), seed=0,
            storage=args.storage, load_if_exists=True,
        )
    with refused_as_bad_input(ap, (rung.ConfigError,)):
        study.run(train, executor="local", n_workers=args.workers,
                  checkpoint_every=args.checkpoint_every)
    print_best(study, args, "steps", ["val_logloss", "val_acc"], count="trees")
    study.close()
    return study


if __name__ == "__main__":  # spawn workers import this file: keep the run behind the guard
    main()
