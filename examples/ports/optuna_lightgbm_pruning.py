"""Port of Optuna's LightGBM pruning example (``lightgbm/lightgbm_integration.py``) to rung.

The original tunes LightGBM's bagging and leaf-size parameters on the breast-cancer data
(scikit-learn's ``load_breast_cancer``, a 75/25 split), reports the validation AUC after every
boosting round through ``optuna.integration.LightGBMPruningCallback``, prunes with
``MedianPruner(n_warmup_steps=10)`` and maximizes the validation accuracy of the final model.

What changed in the port:

- ``trial.suggest_*`` inside the objective is a declared ``SearchSpace``.
- ``LightGBMPruningCallback(trial, "auc")`` is ``rung.integrations.lightgbm.LightGBMCallback``
  (used through ``rung.integrations.lightgbm.train``): it reports every metric of the evaluation
  list as ``"valid-auc"``, ``"valid-binary_error"``, one step per boosting round, and lets rung's
  ``StopTrial`` end training. It can also pause a trial and resume it from the saved booster
  (Optuna's pruner can only stop).
- ``MedianPruner(n_warmup_steps=10)`` is ``rung.integrations.optuna.median_pruner(
  n_warmup_steps=10)`` (no Optuna needed): ``rung.MedianStoppingRule(rule="optuna",
  min_step=11, startup_trials=5, min_trials=1)``, the same rule with the same defaults (the
  median of earlier trials' values at the same step, nothing pruned before 5 trials completed),
  decided in the driver for every worker. ``min_step`` (the grace period) is one more than
  the warm-up because Optuna's callback reports LightGBM's 0-based iteration as the step and
  rung's counts rounds from 1: Optuna's step 10, its first prunable one, is rung's step 11.
- One metric ranks and judges trials in rung: the original prunes on AUC but returns accuracy;
  here both come from LightGBM's evaluation list at every round, the study ranks by the AUC it
  prunes on, and the best trial's accuracy (1 - binary error at the last round) is printed.
- ``study.optimize(objective, n_trials=100, timeout=600)`` is ``rung.run(..., n_trials=100,
  max_time=600)``, on worker processes instead of one thread.

    pip install 'rung[lightgbm]'
    python examples/ports/optuna_lightgbm_pruning.py                 # 100 trials, 2 workers
    python examples/ports/optuna_lightgbm_pruning.py --trials 12 --workers 2
"""

from __future__ import annotations

import argparse
import functools
from typing import Any

import rung
from rung.integrations.optuna import median_pruner

SPACE = rung.SearchSpace({
    "bagging_fraction": rung.Float(0.4, 1.0),
    "bagging_freq": rung.Int(1, 7),
    "min_child_samples": rung.Int(5, 100),
})


@functools.lru_cache(maxsize=1)
def data() -> tuple[Any, Any]:
    """The training and validation ``lgb.Dataset``, built once per worker process and reused
    by every trial it runs. Trials differ in ``min_child_samples`` (LightGBM's
    ``min_data_in_leaf``), so the datasets are built with ``feature_pre_filter=False``: with
    LightGBM's default (``True``) the features are filtered for the first trial's value, and a
    later trial with a smaller one makes LightGBM print a ``[Fatal]`` line and rebuild them."""
    import lightgbm as lgb
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.25, random_state=0)
    dtrain = lgb.Dataset(X_tr, label=y_tr, free_raw_data=False,
                         params={"feature_pre_filter": False})
    return dtrain, lgb.Dataset(X_va, label=y_va, reference=dtrain, free_raw_data=False)


def objective(ctx: rung.TrialContext) -> None:
    from rung.integrations import lightgbm as rlgb

    params = {"objective": "binary", "metric": ["auc", "binary_error"], "verbosity": -1,
              "boosting_type": "gbdt", "seed": 0, "num_threads": 1, **ctx.params}
    dtrain, dvalid = data()
    rlgb.train(ctx, params, dtrain, valid_sets=[dvalid], valid_names=["valid"])


def main(argv: list[str] | None = None) -> rung.Study:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=100, help="boosting rounds (lgb.train's 100)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-time", type=float, default=600.0)
    ap.add_argument("--storage", default=None)
    args = ap.parse_args(argv)
    if args.rounds <= 10:  # rung refuses a median rule that would never stop a trial
        ap.error(f"--rounds must be above 10, got {args.rounds}: MedianPruner(n_warmup_steps=10) "
                 "prunes from round 11 on")
    study = rung.run(
        objective, SPACE, metric="valid-auc", mode="max", searcher="tpe",
        scheduler=median_pruner(n_warmup_steps=10),  # Optuna's MedianPruner(n_warmup_steps=10)
        max_step=args.rounds, n_trials=args.trials, max_time=args.max_time,
        n_workers=args.workers, storage=args.storage, name="lightgbm-pruning", seed=0,
    )
    best = study.best_trial
    assert best is not None
    accuracy = 1.0 - best.results[-1].metrics["valid-binary_error"]
    pruned = sum(t.status is rung.TrialStatus.STOPPED for t in study.trials())
    print(f"{len(study.trials())} trials, {pruned} pruned; best: {dict(best.params)} "
          f"AUC {best.value:.4f}, accuracy {accuracy:.4f}")
    return study


if __name__ == "__main__":
    main()
