"""Searcher quality and speed, rung side by side with Optuna 5.

Quality: simple regret (best value so far minus the known optimum) after 25, 50 and 100
trials, median and interquartile range over seeds, on Branin (2-D), Hartmann6 (6-D), Levy
(10-D) and gradient-boosted trees on scikit-learn's bundled breast-cancer data (``hgb-cancer``:
validation log-loss; 8 parameters, five log-scaled, four integers, a categorical and a
conditional integer). Its optimum is unknown, so its regret is the loss minus the best loss seen
in any run of any method among the merged results (the JSON keeps the raw per-seed losses).
rung runs on its simulated executor (``Study.simulate``, ``max_step=1``) with 1 worker
(sequential) and 8 (8 trials always in flight: the searcher sees 7 pending ones); Optuna runs
sequentially through ask-and-tell (``--optuna-parallel`` adds its 8-in-flight run too).

Batch placement (``--batch 64:320,256:768``): rung's methods with that many workers and
trials, regret at 1.5, 2 and 3 waves and at the end; ``counting-ones`` (BOHB's counting ones,
4 binary and 4 continuous parameters, 729 samples) is among the problems.
``--merge ... --section batch`` writes the batch-placement report (``_searchers_batch.py``):
8 workers at k against sequential at k - 7, rung against Optuna with 8 in flight, and gp and
tpe against random with 64 and 256 workers.

Speed: wall and CPU (process) time of one ``suggest`` (rung, cold: a fresh searcher, so hyperparameters are
refit) and one ``ask`` (Optuna) on a study that already has 100, 300 and 1,000 completed random
trials of Hartmann6.

Usage::

    python benchmarks/bench_searchers.py --quick                 # a minute or two
    python benchmarks/bench_searchers.py --seeds 10 --trials 100 --out results.json
    python benchmarks/bench_searchers.py --problems branin --methods rung-gp,optuna-gp
    python benchmarks/bench_searchers.py --merge a.json,b.json --pool c.json,d.json --notes N.md
    python benchmarks/bench_searchers.py --problems hartmann6 --methods rung-random,rung-tpe \
        --workers "" --batch 64:320,256:768 --timing "" --out batch.json
    python benchmarks/bench_searchers.py --merge a.json,batch.json --section batch

``--merge`` writes the report (the goals' verdicts with a rank test where rows keep per-seed
regrets) to ``RESULTS.md`` without running anything; ``--pool`` adds the sequential goals over
the union of disjoint seed blocks (runs with ``--first-seed``).

Optuna's GPSampler needs torch (a bench extra: ``pip install torch==2.13.0``); without it the
``optuna-gp`` method is skipped with a note. BLAS and torch are pinned to one thread so that
both libraries are measured alike on a shared 2-core machine.
"""

from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Mapping  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from _searchers_report import (  # noqa: E402  (re-exported: the tests and --merge use them)
    CHECKPOINTS,
    LAG,
    PROBLEMS,
    p_worse,
    pool,
    rebase,
    report,
    summarize,
)

import rung  # noqa: E402
from rung.benchmarks import CountingOnes, MFBranin, MFHartmann6  # noqa: E402
from rung.storage import MemoryJournal  # noqa: E402

log = logging.getLogger("bench_searchers")
LAGGED = tuple(k - LAG for k in CHECKPOINTS)


# --- problems -------------------------------------------------------------------------------


class Levy:
    """Levy function, d = 10, on [-10, 10]^d; minimum 0 at (1, ..., 1) (Laguna & Martí 2005)."""

    name = "levy10"
    max_step = 1
    metric = "loss"
    mode = "min"
    optimum = 0.0

    def __init__(self, d: int = 10) -> None:
        self.d = d
        self.space = rung.SearchSpace({f"x{i}": rung.Float(-10.0, 10.0) for i in range(d)})

    def value(self, p: Mapping[str, Any]) -> float:
        x = np.array([float(p[f"x{i}"]) for i in range(self.d)])
        w = 1 + (x - 1) / 4
        t1 = math.sin(math.pi * w[0]) ** 2
        t2 = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
        t3 = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
        return float(t1 + t2 + t3)

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        return {"loss": self.value(params)}, 1.0


class Fn:
    """A rung benchmark at ``max_step=1`` with a plain ``value``."""

    def __init__(self, bench: Any, name: str) -> None:
        self.bench = bench
        self.name = name
        self.space = bench.space
        self.max_step = 1
        self.metric = bench.metric
        self.mode = bench.mode
        self.optimum = bench.optimum

    def value(self, p: Mapping[str, Any]) -> float:
        return float(self.bench.evaluate(p, 1)[0][self.metric])

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        return {self.metric: self.value(params)}, 1.0


class BreastCancerHGB:
    """Validation log-loss of gradient-boosted trees on scikit-learn's bundled breast-cancer data.

    ``HistGradientBoostingClassifier`` (``random_state=0``, no early stopping, one thread) is fit
    on a fixed stratified half of the 569 cases and scored by log-loss on the other half, so a
    configuration always gets the same value. Seven parameters: ``learning_rate`` (log),
    ``max_iter`` (int, log), ``max_leaf_nodes`` (int, log), ``min_samples_leaf`` (int, log),
    ``l2_regularization`` (log), ``max_features`` (float) and ``depth`` in {none, limited} with a
    conditional ``max_depth`` (int, only when limited). One fit takes 0.02-0.3 s of CPU.
    Results are memoized by configuration. The optimum is unknown: the JSON holds the raw loss
    and the report's regret is the loss minus the best loss seen in any run of any method in the
    merged files (printed with the table)."""

    name = "hgb-cancer"
    max_step = 1
    metric = "logloss"
    mode = "min"
    optimum = None

    def __init__(self) -> None:
        from sklearn.datasets import load_breast_cancer
        from sklearn.model_selection import train_test_split

        X, y = load_breast_cancer(return_X_y=True)
        self.data = train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)
        self.space = rung.SearchSpace({
            "learning_rate": rung.Float(1e-3, 1.0, log=True),
            "max_iter": rung.Int(10, 200, log=True),
            "max_leaf_nodes": rung.Int(2, 64, log=True),
            "min_samples_leaf": rung.Int(1, 100, log=True),
            "l2_regularization": rung.Float(1e-8, 10.0, log=True),
            "max_features": rung.Float(0.1, 1.0),
            "depth": rung.Categorical(["none", "limited"]),
            "max_depth": rung.Int(2, 8, when={"depth": "limited"}),
        })
        self._memo: dict[str, float] = {}

    def value(self, p: Mapping[str, Any]) -> float:
        key = json.dumps(dict(p), sort_keys=True)
        v = self._memo.get(key)
        if v is None:
            from sklearn.ensemble import HistGradientBoostingClassifier
            from sklearn.metrics import log_loss

            Xtr, Xva, ytr, yva = self.data
            clf = HistGradientBoostingClassifier(
                learning_rate=p["learning_rate"], max_iter=int(p["max_iter"]),
                max_leaf_nodes=int(p["max_leaf_nodes"]),
                min_samples_leaf=int(p["min_samples_leaf"]),
                l2_regularization=p["l2_regularization"], max_features=p["max_features"],
                max_depth=int(p["max_depth"]) if p["depth"] == "limited" else None,
                early_stopping=False, random_state=0,
            )
            clf.fit(Xtr, ytr)
            v = self._memo[key] = float(log_loss(yva, clf.predict_proba(Xva)))
        return v

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        return {self.metric: self.value(params)}, 1.0


def make_problem(name: str) -> Any:
    if name == "branin":
        return Fn(MFBranin(max_step=1), "branin")
    if name == "hartmann6":
        return Fn(MFHartmann6(max_step=1), "hartmann6")
    if name == "levy10":
        return Levy(10)
    if name == "hgb-cancer":
        return BreastCancerHGB()
    if name == "counting-ones":
        # BOHB's counting ones (4 binary + 4 continuous parameters), one step of 729 Bernoulli
        # samples per continuous parameter (the paper's largest budget): noise sd <= 0.04
        return Fn(CountingOnes(n_categorical=4, n_continuous=4, max_step=1,
                               samples_per_step=729), "counting-ones")
    raise SystemExit(f"unknown problem {name!r}")


# --- runners --------------------------------------------------------------------------------


def run_rung(problem: Any, searcher: str, seed: int, n_trials: int, workers: int) -> list[float]:
    """Values of trials in launch order."""
    study = rung.Study.create(
        "bench", problem.space, rung.Objective(problem.metric, problem.mode),
        searcher=searcher, budget=rung.Budget(n_trials=n_trials), seed=seed,
        storage=MemoryJournal(),
    )
    study.simulate(problem, n_workers=workers)
    out = []
    for t in study.trials():
        v = t.metrics.get(problem.metric)
        out.append(float(v) if v is not None else math.inf)
    return out


def _optuna_sampler(kind: str, seed: int) -> Any:
    import optuna

    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if kind == "gp":
        return optuna.samplers.GPSampler(seed=seed, deterministic_objective=True)
    raise ValueError(kind)


def _optuna_distributions(space: rung.SearchSpace) -> dict[str, Any]:
    import optuna.distributions as od

    out: dict[str, Any] = {}
    for name, p in space.params.items():
        if isinstance(p, rung.Float):
            out[name] = od.FloatDistribution(p.low, p.high, log=p.log, step=p.step)
        elif isinstance(p, rung.Int):
            out[name] = od.IntDistribution(p.low, p.high, log=p.log, step=p.step)
        elif isinstance(p, rung.Categorical):
            out[name] = od.CategoricalDistribution(list(p.choices))
    return out


def _ask_params(trial: Any, space: rung.SearchSpace, dists: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name in space.order:
        p = space[name]
        if not all(params.get(k) in v for k, v in p.when.items()):
            continue
        if name in dists:
            params[name] = trial._suggest(name, dists[name])
    return {n: params[n] for n in space.params if n in params}


def run_optuna(problem: Any, kind: str, seed: int, n_trials: int, workers: int) -> list[float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=_optuna_sampler(kind, seed), direction="minimize")
    dists = _optuna_distributions(problem.space)
    sign = 1.0 if problem.mode == "min" else -1.0
    out: list[float] = []
    inflight: list[tuple[Any, dict[str, Any]]] = []
    asked = 0
    while len(out) < n_trials:
        while asked < n_trials and len(inflight) < workers:
            t = study.ask()
            inflight.append((t, _ask_params(t, problem.space, dists)))
            asked += 1
        t, params = inflight.pop(0)  # equal durations: the oldest finishes first
        v = problem.value(params)
        study.tell(t, sign * v)
        out.append(v)
    return out


def batch_checkpoints(workers: int, n_trials: int) -> tuple[int, ...]:
    """Checkpoints of a large-batch run (more than 8 workers): 1.5, 2 and 3 waves and the
    end (the first wave is every method's initial design)."""
    ks = {int(1.5 * workers), 2 * workers, 3 * workers, n_trials}
    return tuple(sorted(k for k in ks if k <= n_trials))


def regret_curve(
    problem: Any, values: list[float], checkpoints: tuple[int, ...] | None = None
) -> dict[int, float]:
    sign = 1.0 if problem.mode == "min" else -1.0
    out = {}
    for k in checkpoints or (*CHECKPOINTS, *LAGGED):
        if k <= len(values):
            best = min(sign * v for v in values[:k])
            out[k] = max(0.0, best - sign * problem.optimum) if problem.optimum is not None \
                else best
    return out


# --- suggest time ---------------------------------------------------------------------------


def time_rung(searcher: str, n_obs: int) -> tuple[float, float]:
    from rung.core.components import BindContext, SuggestRequest
    from rung.core.registry import build, to_spec
    from rung.core.rng import derive_rng

    problem = Fn(MFHartmann6(max_step=1), "hartmann6")
    study = rung.Study.create(
        "t", problem.space, rung.Objective(problem.metric, problem.mode), searcher="random",
        budget=rung.Budget(n_trials=n_obs), seed=0, storage=MemoryJournal(),
    )
    study.simulate(problem, n_workers=1)
    h = study.engine.history
    s = build("searcher", to_spec("searcher", searcher))
    assert isinstance(s, rung.core.components.Searcher)
    s.bind(BindContext(study.spec.space, study.spec.objective, 1, 0))
    rq = SuggestRequest(h.next_id, h.n_suggested, h, derive_rng(0, "s", n_obs))
    t, c = time.perf_counter(), time.process_time()
    s.suggest(rq)
    return time.perf_counter() - t, time.process_time() - c


def time_optuna(kind: str, n_obs: int) -> tuple[float, float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problem = Fn(MFHartmann6(max_step=1), "hartmann6")
    dists = _optuna_distributions(problem.space)
    rng = np.random.default_rng(0)
    trials = []
    for _ in range(n_obs):
        p = {k: float(rng.random()) for k in dists}
        trials.append(optuna.trial.create_trial(params=p, distributions=dists,
                                                value=problem.value(p)))
    study = optuna.create_study(sampler=_optuna_sampler(kind, 0))
    study.add_trials(trials)
    t, c = time.perf_counter(), time.process_time()
    tr = study.ask()
    _ask_params(tr, problem.space, dists)
    return time.perf_counter() - t, time.process_time() - c


# --- main -----------------------------------------------------------------------------------

METHODS: dict[str, tuple[str, str]] = {
    "rung-random": ("rung", "random"),
    "rung-sobol": ("rung", "sobol"),
    "rung-tpe": ("rung", "tpe"),
    "rung-gp": ("rung", "gp"),
    "optuna-random": ("optuna", "random"),
    "optuna-tpe": ("optuna", "tpe"),
    "optuna-gp": ("optuna", "gp"),
}


def _have_torch() -> bool:
    try:
        import torch
    except ImportError:
        return False
    torch.set_num_threads(1)
    return True




def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="seeds are first-seed .. first-seed + seeds - 1")
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="3 seeds, 50 trials, no 1,000 timing")
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--workers", default="1,8", help="rung worker counts")
    ap.add_argument("--optuna-parallel", action="store_true",
                    help="Optuna with 8 trials in flight too (same as --optuna-workers 1,8)")
    ap.add_argument("--optuna-workers", default=None,
                    help="Optuna worker counts (default 1; 1,8 with --optuna-parallel)")
    ap.add_argument("--timing", default="100,300,1000", help="observation counts ('' = none)")
    ap.add_argument("--out", default=None, help="write the raw results as JSON")
    ap.add_argument("--merge", default=None,
                    help="comma-separated result JSON files: merge them, print the report and "
                         "write the bench_searchers section of RESULTS.md (no runs)")
    ap.add_argument("--pool", default=None,
                    help="with --merge: JSON files of disjoint seed blocks whose sequential "
                         "rows are joined for a second, larger-sample list of the goals")
    ap.add_argument("--notes", default=None,
                    help="a Markdown file whose text is appended to the RESULTS.md section")
    ap.add_argument("--batch", default="",
                    help="large-batch runs, workers:trials pairs (e.g. 64:320,256:768): every "
                         "rung method with that many workers, checkpoints at 1.5, 2 and 3 "
                         "waves and the end")
    ap.add_argument("--section", default="main", choices=("main", "batch"),
                    help="with --merge: the main report, or the batch-placement report "
                         "(8 workers against sequential at k - 7 and against Optuna with 8 "
                         "in flight; gp and tpe against random with 64 and 256 workers)")
    args = ap.parse_args(argv)
    if args.merge:
        merged: dict[str, Any] = {"quality": {}, "timing": {}}
        for path in args.merge.split(","):
            with open(path) as f:
                d = json.load(f)
            merged["quality"].update(d.get("quality", {}))
            merged["timing"].update(d.get("timing", {}))
        notes = ""
        if args.notes:
            with open(args.notes) as f:
                notes = "\n" + f.read()
        pooled = pool(args.pool.split(",")) if args.pool else None
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from _results import write_section

        if args.section == "batch":
            from _searchers_batch import batch_report

            # --pool here joins seed blocks of large-batch rows (runs with --first-seed)
            body = batch_report(rebase(merged["quality"] | (pooled or {}))[0], p_worse) + notes
            write_section("bench_searchers: batch placement", body)
        else:
            body = report(merged, pooled) + notes
            write_section("bench_searchers", body)
        print(body)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    if args.quick:
        args.seeds, args.trials, args.timing = min(args.seeds, 3), min(args.trials, 50), "100,300"
    methods = [m for m in args.methods.split(",") if m]
    if "optuna-gp" in methods and not _have_torch():
        log.warning("optuna-gp skipped: torch is not installed (pip install torch==2.13.0)")
        methods.remove("optuna-gp")
    workers = [int(w) for w in args.workers.split(",") if w]
    optuna_workers = [int(w) for w in (
        args.optuna_workers or ("1,8" if args.optuna_parallel else "1")).split(",") if w]
    results: dict[str, Any] = {"quality": {}, "timing": {}, "args": vars(args)}
    batch = [tuple(int(x) for x in b.split(":")) for b in args.batch.split(",") if b]
    for pname in [p for p in args.problems.split(",") if p]:
        problem = make_problem(pname)
        for m in methods:
            lib, kind = METHODS[m]
            runs: list[tuple[int, int, tuple[int, ...]]] = [
                (w, args.trials, (*CHECKPOINTS, *LAGGED))
                for w in (workers if lib == "rung" else optuna_workers)]
            if lib == "rung":
                runs += [(w, n, batch_checkpoints(w, n)) for w, n in batch]
            for w, n_trials, cps in runs:
                curves = []
                t0 = time.perf_counter()
                for seed in range(args.first_seed, args.first_seed + args.seeds):
                    run = run_rung if lib == "rung" else run_optuna
                    curves.append(regret_curve(problem, run(problem, kind, seed, n_trials, w),
                                               cps))
                key = f"{pname}/{m}/w{w}"
                done = [k for k in cps if all(k in c for c in curves)]
                row: dict[str, Any] = {str(k): summarize([c[k] for c in curves]) for k in done}
                row["seconds"] = time.perf_counter() - t0
                # per seed: regrets, or raw values that report() turns into regrets
                row["values"] = {str(k): [c[k] for c in curves] for k in done}
                if problem.optimum is None:
                    row["unknown_optimum"] = True
                results["quality"][key] = row
                log.info("%s %s", key, json.dumps(results["quality"][key]))
                if args.out:
                    with open(args.out, "w") as f:
                        json.dump(results, f, indent=1)
    for n in [int(x) for x in args.timing.split(",") if x]:
        for m in methods:
            lib, kind = METHODS[m]
            if kind in ("random", "sobol"):
                continue
            fn = time_rung if lib == "rung" else time_optuna
            ts = np.array([fn(kind, n) for _ in range(3 if n <= 300 else 1)])
            wall, cpu = float(np.median(ts[:, 0])), float(np.median(ts[:, 1]))
            results["timing"][f"{m}/{n}"] = {"wall": wall, "cpu": cpu}
            log.info("suggest %s at %d: %.3fs wall, %.3fs cpu", m, n, wall, cpu)
            if args.out:
                with open(args.out, "w") as f:
                    json.dump(results, f, indent=1)
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
