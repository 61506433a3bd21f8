"""The peers of ``bench_cost.py`` part (a), run on recorded search trajectories.

Run with the peers' interpreter (Optuna 5 lives in ``/tmp/peers``, not in rung's venv):

    /tmp/peers/bin/python benchmarks/cost_peers.py < trajectories.json > stops.json

Input: a JSON list of runs ``{"key", "space": {name: [low, high, log, integer]}, "n_val",
"trials": [{"params", "final"}, ...]}`` (trials in the order the search ran them). Output: a line
``STOP {"key", "rows", "n_val", "variant", "n"}`` per answer as it is found, then one line
``RESULT {key: {"optuna": n, "optuna-se": n}}``, where ``n`` is the number of trials after
which that Terminator says stop (``None``: it never did within the run).

Optuna's Terminator (``optuna.terminator``, deprecated in Optuna 4.9 but importable in 5.0) is
run as Optuna's documentation pairs it when no cross-validation scores exist: the
``RegretBoundEvaluator`` (Makarova et al. 2022's GP regret bound, fitted on the top half of the
trials) against a ``MedianErrorEvaluator`` threshold (1% of the median regret bound of trials
10-30), ``min_n_trials=20``, checked after every trial as its callback does (``optuna``); and
with the same statistical error rung's rule uses (``optuna-se``): the binomial standard error
``sqrt(p (1 - p) / n_val)`` of the incumbent's error rate ``p`` on the ``n_val`` validation
examples, so that the two regret bounds are compared against the same threshold.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any


def optuna_stop(run: dict[str, Any], error: str) -> int | None:
    import optuna
    from optuna.distributions import FloatDistribution, IntDistribution
    from optuna.terminator import (
        BaseErrorEvaluator,
        MedianErrorEvaluator,
        RegretBoundEvaluator,
        Terminator,
    )

    class BinomialErrorEvaluator(BaseErrorEvaluator):
        """The incumbent's binomial standard error on ``n_val`` examples (minimization)."""

        def evaluate(self, trials: list[Any], study_direction: Any) -> float:
            p = min(float(t.value) for t in trials)
            return float((p * (1.0 - p) / run["n_val"]) ** 0.5)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    dists: dict[str, Any] = {}
    for name, (low, high, log, integer) in run["space"].items():
        dists[name] = (IntDistribution(int(low), int(high), log=bool(log)) if integer
                       else FloatDistribution(float(low), float(high), log=bool(log)))
    study = optuna.create_study(direction="minimize")
    term = Terminator(
        improvement_evaluator=RegretBoundEvaluator(),
        error_evaluator=(MedianErrorEvaluator(RegretBoundEvaluator()) if error == "median"
                         else BinomialErrorEvaluator()),
        min_n_trials=20,
    )
    for i, t in enumerate(run["trials"]):
        params = {k: (int(v) if isinstance(dists[k], IntDistribution) else float(v))
                  for k, v in t["params"].items()}
        study.add_trial(optuna.trial.create_trial(
            params=params, distributions=dists, value=float(t["final"])))
        if term.should_terminate(study):
            return i + 1
    return None


def main() -> None:
    runs = json.load(sys.stdin)
    out: dict[str, dict[str, int | None]] = {r["key"]: {} for r in runs}
    # the cheap variant first (it stops early); one line per answer, so that a run cut short
    # still leaves what it computed
    for name, error in (("optuna-se", "se"), ("optuna", "median")):
        for r in runs:
            n = optuna_stop(r, error)
            out[r["key"]][name] = n
            print("STOP " + json.dumps({"key": r["key"], "rows": r.get("rows"),
                                        "n_val": r.get("n_val"), "variant": name, "n": n}),
                  flush=True)
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
