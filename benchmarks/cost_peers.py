"""The peers of ``bench_cost.py`` part (a), run on recorded search trajectories.

Two sides. ``bench_cost.py`` (rung's interpreter) imports the parent's side: Ray Tune's
``ExperimentPlateauStopper`` re-implemented (``ray_plateau``), and ``peers_optuna``, which runs
this file as child processes under the peers' interpreter and caches their answers in
``results/cost_peers.json``. The child's side is Optuna's Terminator.

Run the child with the peers' interpreter (Optuna 5: ``$RUNG_PEERS_PYTHON``, ``/tmp/peers``, or
rung's own venv when its Optuna is 5 or later):

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
import logging
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

# --- the parent's side (rung's interpreter): the child processes, their cache, Ray's rule -----

HERE = Path(__file__).resolve().parent
def _peers_python() -> Path:
    """The interpreter with Optuna 5: ``$RUNG_PEERS_PYTHON``, else ``/tmp/peers``'s, else this
    one when its Optuna is 5 or later (``rung[dev]`` installs it beside rung)."""
    given = os.environ.get("RUNG_PEERS_PYTHON")
    if given:
        return Path(given)
    peers = Path("/tmp/peers/bin/python")
    if peers.exists():
        return peers
    try:
        from importlib.metadata import version

        if int(version("optuna").split(".")[0]) >= 5:
            return Path(sys.executable)
    except Exception:  # not installed, or an unreadable version: no peers here
        pass
    return peers


PEERS = _peers_python()
PEERS_CACHE = HERE / "results" / "cost_peers.json"
log = logging.getLogger("bench_cost")


def ray_plateau(traj: list[dict[str, Any]], every_step: bool, std: float = 0.001,
                top: int = 10, patience: int = 0) -> tuple[int, int] | None:
    """``(trial index, step)`` of the result at which ExperimentPlateauStopper stops the
    experiment (``None``: never). Mode ``min``."""
    best: list[float] = []
    iterations = 0
    for i, t in enumerate(traj):
        steps = range(1, len(t["curve"]) + 1) if every_step else [len(t["curve"])]
        for s in steps:
            best = sorted([*best, t["curve"][s - 1]])[:top]
            plateau = len(best) == top and float(np.std(best)) <= std
            iterations = iterations + 1 if plateau else 0
            if plateau and iterations >= patience:
                return i, s
    return None


PARTS = Path(tempfile.gettempdir()) / "rung-bench-cost-peers"
PEER_METHODS = ("optuna", "optuna-se")


def collect_peers() -> dict[str, Any]:
    """The cache, with every answer the peers' children printed so far (``PARTS``) merged in:
    an entry keeps the trajectory (table rows) and ``n_val`` its answers were computed on."""
    cache: dict[str, Any] = json.loads(PEERS_CACHE.read_text()) if PEERS_CACHE.exists() else {}
    for part in sorted(PARTS.glob("out*.txt")) if PARTS.exists() else []:
        for ln in part.read_text().splitlines():
            if not ln.startswith("STOP "):
                continue
            d = json.loads(ln[5:])
            entry = cache.get(d["key"], {})
            if entry.get("rows") != d["rows"] or entry.get("n_val") != d["n_val"]:
                entry = {"rows": d["rows"], "n_val": d["n_val"]}
            entry[d["variant"]] = d["n"]
            cache[d["key"]] = entry
    PEERS_CACHE.parent.mkdir(parents=True, exist_ok=True)
    PEERS_CACHE.write_text(json.dumps(cache, indent=0))
    return cache


def peers_optuna(runs: list[dict[str, Any]], jobs: int = 2) -> dict[str, dict[str, int | None]]:
    """Optuna's stops per run key (``{"optuna": n, "optuna-se": n}``), from the cache where
    its trajectory is the same, else computed (``jobs`` processes) and added to the cache."""
    cache = collect_peers()

    def known(r: dict[str, Any]) -> bool:
        e = cache.get(r["key"], {})
        return (e.get("rows") == r["rows"] and e.get("n_val") == r["n_val"]
                and all(m in e for m in PEER_METHODS))

    todo = [r for r in runs if not known(r)]
    if todo and not PEERS.exists():
        log.warning("no peers interpreter at %s: Optuna's Terminator is skipped", PEERS)
        todo = []
    if todo:
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   MKL_NUM_THREADS="1")
        k = min(jobs, len(todo))
        PARTS.mkdir(exist_ok=True)
        for old in PARTS.glob("*"):
            old.unlink()
        procs = []
        for i in range(k):  # each child reads its share from a file: all run at once
            src, dst = PARTS / f"in{i}.json", PARTS / f"out{i}.txt"
            src.write_text(json.dumps(todo[i::k]))
            with src.open() as fin, dst.open("w") as fout:
                procs.append(subprocess.Popen(
                    [str(PEERS), str(HERE / "cost_peers.py")], stdin=fin, stdout=fout,
                    stderr=subprocess.PIPE, text=True, env=env))
        errs = [p.communicate()[1] for p in procs]
        for p, err in zip(procs, errs, strict=True):
            if p.returncode != 0:
                log.warning("cost_peers.py failed (%s): %s", p.returncode, err[-2000:])
        cache = collect_peers()
    out: dict[str, dict[str, int | None]] = {}
    for r in runs:
        e = cache.get(r["key"], {})
        if e.get("rows") == r["rows"] and e.get("n_val") == r["n_val"]:
            out[r["key"]] = {m: e[m] for m in PEER_METHODS if m in e}
    return out


def cached_peers(cells: list[dict[str, Any]]) -> dict[str, dict[str, int | None]]:
    """The cached Optuna stops of the cells whose trajectory they were computed on."""
    cache = collect_peers()
    out = {}
    for c in cells:
        key = f"{c['task']}/{c['seed']}"
        e = cache.get(key, {})
        if e.get("rows") == c["traj_rows"] and e.get("n_val") == c["n_val"]:
            out[key] = {m: e[m] for m in PEER_METHODS if m in e}
    return out


# --- the child's side (the peers' interpreter) ---------------------------------------------


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
