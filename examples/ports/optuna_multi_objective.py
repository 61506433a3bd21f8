"""Port of Optuna's multi-objective example (``multi_objective/pytorch_simple.py``) to rung.

The original trains a small PyTorch MLP on FashionMNIST and minimizes two objectives at once,
the number of FLOPS and the validation error, with ``optuna.create_study(directions=["minimize",
"maximize"])`` and NSGA-II or TPE, then reads ``study.best_trials`` (the Pareto front).

What changed in the port:

- Data: FashionMNIST is a download, which this port avoids; it trains scikit-learn's
  ``MLPClassifier`` on the digits data that ships with scikit-learn (8x8 images, 10 classes),
  and the cost objective is the number of weights (a proxy for FLOPS per prediction).
- The define-and-run objective ``objective(trial)`` with ``trial.suggest_int("n_layers", 1, 3)``
  and per-layer sizes becomes a declared ``SearchSpace`` with conditional parameters
  (``when=``): ``n_units_l1`` exists only when ``n_layers`` is 2 or 3
  (``when={"n_layers": [2, 3]}``), ``n_units_l2`` only when it is 3.
- ``directions=["minimize", "maximize"]`` is ``metric=["n_weights", "accuracy"], mode=["min",
  "max"]``; ``study.best_trials`` is ``study.pareto_front()``.

    python examples/ports/optuna_multi_objective.py                  # 40 trials, 2 workers
    python examples/ports/optuna_multi_objective.py --trials 8 --workers 1
"""

from __future__ import annotations

import argparse
import functools
import warnings
from typing import Any

import rung

SPACE = rung.SearchSpace({
    "n_layers": rung.Categorical([1, 2, 3]),
    "n_units_l0": rung.Int(4, 128, log=True),
    "n_units_l1": rung.Int(4, 128, log=True, when={"n_layers": [2, 3]}),
    "n_units_l2": rung.Int(4, 128, log=True, when={"n_layers": [3]}),
    "alpha": rung.Float(1e-6, 1e-1, log=True),
    "learning_rate_init": rung.Float(1e-4, 1e-1, log=True),
})


@functools.lru_cache(maxsize=1)
def data() -> tuple[Any, Any, Any, Any]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return tuple(train_test_split(X / 16.0, y, test_size=0.3, random_state=0, stratify=y))


def objective(ctx: rung.TrialContext) -> None:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    p = ctx.params
    layers = tuple(int(p[f"n_units_l{i}"]) for i in range(int(p["n_layers"])))
    X_tr, X_va, y_tr, y_va = data()
    model = MLPClassifier(hidden_layer_sizes=layers, alpha=p["alpha"],
                          learning_rate_init=p["learning_rate_init"], max_iter=p["epochs"],
                          random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_tr, y_tr)
    n_weights = sum(w.size + b.size for w, b in zip(model.coefs_, model.intercepts_,
                                                     strict=True))
    ctx.report(1, n_weights=float(n_weights), accuracy=float(model.score(X_va, y_va)))


def main(argv: list[str] | None = None) -> rung.Study:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--storage", default=None)
    args = ap.parse_args(argv)
    space = rung.SearchSpace({**SPACE.params, "epochs": args.epochs})  # epochs: a constant
    study = rung.run(
        objective, space, metric=["n_weights", "accuracy"], mode=["min", "max"],
        searcher="tpe", n_trials=args.trials, n_workers=args.workers, storage=args.storage,
        name="multi-objective", seed=0,
    )
    front = sorted(study.pareto_front(), key=lambda t: t.results[-1].metrics["n_weights"])
    print(f"Pareto front ({len(front)} of {len(study.trials())} trials):")
    for t in front:
        m = t.results[-1].metrics
        print(f"  trial {t.id:3d}: {int(m['n_weights']):6d} weights, accuracy "
              f"{m['accuracy']:.4f}, layers {int(t.params['n_layers'])}")
    return study


if __name__ == "__main__":
    main()
