"""Port of scikit-learn's "Successive Halving Iterations" example
(``plot_successive_halving_iterations.py``) to rung.

The original draws 400 samples of ``make_classification`` (12 features), tunes a 20-tree
``RandomForestClassifier`` (``max_depth``, ``max_features``, ``min_samples_split``,
``bootstrap``, ``criterion``) with ``HalvingRandomSearchCV(factor=2)`` over the number of
samples, and plots each candidate's mean test score per iteration.

What changed in the port:

- ``HalvingRandomSearchCV`` is ``rung.sklearn.RungSearchCV`` with the same arguments and the
  same fitted attributes (``cv_results_``, ``n_resources_``, ``n_candidates_``,
  ``best_params_``...); the search runs as a rung study, and with ``--storage`` its journal is
  there for ``rung show`` and the dashboard (each candidate, score and halving decision).
- The original's ``random_state=np.random.RandomState(0)`` (a shared generator) is the seed
  ``random_state=0``, so the run is reproducible on its own.
- The plot is optional (``--plot FILE.png``, needs matplotlib); without it the example prints
  each iteration's resource, candidates and best mean test score.

    python examples/ports/sklearn_successive_halving.py
    python examples/ports/sklearn_successive_halving.py --plot iterations.png
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np


def param_dist() -> dict[str, Any]:
    from scipy.stats import randint

    return {
        "max_depth": [3, None],
        "max_features": randint(1, 6),
        "min_samples_split": randint(2, 11),
        "bootstrap": [True, False],
        "criterion": ["gini", "entropy"],
    }


def search(storage: str | None = None, n_samples: int = 400) -> Any:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    from rung.sklearn import RungSearchCV

    X, y = make_classification(n_samples=n_samples, n_features=12, random_state=0)
    rsh = RungSearchCV(RandomForestClassifier(n_estimators=20, random_state=0), param_dist(),
                       factor=2, random_state=0, storage=storage)
    return rsh.fit(X, y)


def main(argv: list[str] | None = None) -> Any:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=400)
    ap.add_argument("--storage", default=None, help="SQLite file for the study's journal")
    ap.add_argument("--plot", default=None, help="write the per-iteration plot here")
    args = ap.parse_args(argv)
    rsh = search(args.storage, args.samples)
    res = rsh.cv_results_
    for i, (r, n) in enumerate(zip(rsh.n_resources_, rsh.n_candidates_, strict=True)):
        scores = np.asarray(res["mean_test_score"])[np.asarray(res["iter"]) == i]
        print(f"iteration {i}: {n:3d} candidates on {r:3d} samples, best mean test score "
              f"{np.nanmax(scores):.3f}")
    print(f"best: {rsh.best_params_} ({rsh.best_score_:.3f})")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        ids = [str(p) for p in res["params"]]
        for pid in dict.fromkeys(ids):
            rows = [j for j, q in enumerate(ids) if q == pid]
            ax.plot([res["iter"][j] for j in rows], [res["mean_test_score"][j] for j in rows],
                    marker="o", alpha=0.6)
        ax.set(xlabel="iteration", ylabel="mean test score",
               title="Scores of candidates over iterations")
        fig.savefig(args.plot, dpi=100)
    return rsh


if __name__ == "__main__":
    main()
