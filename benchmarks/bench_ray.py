"""bench_ray: rung on Ray against Ray Tune, same cluster, same no-op workload.

Workload (identical for every configuration): N no-op trials, each reporting ``loss = x / step``
at steps 1..9 unless stopped; random ``x ~ U(0, 1)``; asynchronous successive halving (eta = 3,
rungs at steps 1 and 3, max 9); one CPU per trial on a local Ray instance with 2 CPUs
(``ray.init(address="local", num_cpus=2)``: ``"local"`` only guarantees a fresh instance even
if another Ray runs on the machine), so 2 trials run at once. Nothing is trained: the time
measured is the library's own (scheduling, messaging, bookkeeping, storage).

Configurations:

- rung, ``RayExecutor()`` (transport ``"socket"``, the default), SQLite journal and in-memory
  journal; rung with ``transport="ray"`` (everything through Ray calls), SQLite journal;
- Ray Tune (``Tuner`` + ``ASHAScheduler(max_t=9, grace_period=1, reduction_factor=3)``, a
  function trainable calling ``tune.report``) with its defaults, and with ``reuse_actors=True``
  and its loggers and console output off (``TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1``,
  ``RAY_AIR_NEW_OUTPUT=0``, ``callbacks=[]``, ``verbose=0``).

Each configuration runs in a fresh child process with its own Ray instance. Measured per run:

- wall: from just before ``Study.run`` / ``Tuner.fit`` to its return (Ray itself is already
  up; starting the trial actors is included);
- steady: from the first trial's start to the last report, taken from timestamps the trials
  themselves report (``t0`` at entry, ``t`` at each report), the same way for both libraries,
  so actor start-up is excluded; per-trial overhead = steady / N, i.e. wall milliseconds per
  no-op trial with 2 running at once;
- driver peak RSS: ``ru_maxrss`` of the driver process (the child), Ray's own driver-side
  threads included for both libraries.

Usage::

    python benchmarks/bench_ray.py                  # everything, 3 rounds (about 7 minutes)
    python benchmarks/bench_ray.py --skip-tune --no-write

Results go to the ``## bench_ray`` section of ``benchmarks/RESULTS.md`` unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import child_result, table, write_section

MAX_STEP = 9
ETA = 3
CPUS = 2
GOAL_MS = 5.0
GOAL_RATIO = 10.0


# --- the objectives ------------------------------------------------------------------------------
def rung_noop(ctx: Any) -> None:
    t0 = time.time()
    x = float(ctx.params["x"])
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=x / step, t0=t0, t=time.time())


def tune_noop(config: dict[str, Any]) -> None:
    from ray import tune

    t0 = time.time()
    x = config["x"]
    for step in range(1, MAX_STEP + 1):
        tune.report({"loss": x / step, "t0": t0, "t": time.time()})


def _span(last_metrics: list[dict[str, Any]]) -> float:
    t0 = min(float(m["t0"]) for m in last_metrics if "t0" in m)
    t1 = max(float(m["t"]) for m in last_metrics if "t" in m)
    return t1 - t0


# --- one configuration (in the child) ------------------------------------------------------------
def run_rung(n: int, storage: str, transport: str, tmp: Path) -> dict[str, Any]:
    import rung
    from rung.executors.ray import RayExecutor

    study = rung.Study.create(
        f"bench-{n}", {"x": rung.Float(0.0, 1.0)}, rung.Objective("loss", "min"),
        searcher="random", scheduler=rung.ASHA(reduction_factor=ETA), max_step=MAX_STEP,
        budget=rung.Budget(n_trials=n), seed=0,
        storage=str(tmp / "rung.db") if storage == "sqlite" else None,
    )
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    study.run(rung_noop, executor=RayExecutor(transport=transport))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    trials = study.trials()
    last = [dict(t.results[-1].metrics) for t in trials if t.results]
    out = {"trials": len(trials), "reports": sum(len(t.results) for t in trials),
           "wall": wall, "steady": _span(last), "driver_cpu": cpu,
           "by_status": study.summary()["by_status"]}
    study.close()
    return out


def run_tune(n: int, best: bool, tmp: Path) -> dict[str, Any]:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    run_kwargs: dict[str, Any] = {"storage_path": str(tmp / "tune")}
    if best:
        run_kwargs.update(callbacks=[], verbose=0)
    tuner = tune.Tuner(
        tune_noop,
        param_space={"x": tune.uniform(0.0, 1.0)},
        tune_config=tune.TuneConfig(
            metric="loss", mode="min", num_samples=n, reuse_actors=best,
            scheduler=ASHAScheduler(max_t=MAX_STEP, grace_period=1, reduction_factor=ETA),
        ),
        run_config=tune.RunConfig(**run_kwargs),
    )
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    grid = tuner.fit()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    last = [dict(grid[i].metrics or {}) for i in range(len(grid))]
    reports = sum(int(m.get("training_iteration", 0)) for m in last)
    return {"trials": len(grid), "reports": reports, "wall": wall, "steady": _span(last),
            "driver_cpu": cpu, "by_status": {}}


def child_main(cfg: dict[str, Any]) -> None:
    import resource

    import ray

    ray.init(address="local", num_cpus=CPUS)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as d:
        for n in cfg["n"]:
            if cfg["system"] == "rung":
                r = run_rung(n, cfg["storage"], cfg["transport"], Path(d))
            else:
                r = run_tune(n, cfg["best"], Path(d))
            results.append(r)
    ray.shutdown()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    sys.stdout.write("RESULT " + json.dumps({"runs": results, "rss": rss}) + "\n")
    sys.stdout.flush()


def run_child(cfg: dict[str, Any], env: dict[str, str], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(cfg)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.run(cmd, stdout=out, stderr=err, env={**os.environ, **env},
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:.0f} s"}
        return child_result(proc.returncode, out, err, tail=12)


# --- the report ----------------------------------------------------------------------------------
def load_average() -> str:
    try:
        return ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-rung", default="200,5000",
                    help="comma-separated trial counts for each rung configuration")
    ap.add_argument("--n-tune", type=int, default=200,
                    help="trials for Ray Tune with reuse_actors=True, loggers off")
    ap.add_argument("--n-tune-default", type=int, default=30,
                    help="trials for Ray Tune with its defaults (about 0.4 trials/s here)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="rounds of every configuration, interleaved (Ray Tune's defaults run "
                         "once); the table shows medians")
    ap.add_argument("--skip-tune", action="store_true")
    ap.add_argument("--timeout", type=float, default=1200.0, help="per configuration, seconds")
    ap.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child_main(json.loads(args.child))
        return

    n_rung = [int(x) for x in args.n_rung.split(",") if x]
    quiet = {"TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1", "RAY_AIR_NEW_OUTPUT": "0"}
    configs: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        ("rung", RUNG_MAIN,
         {"system": "rung", "storage": "sqlite", "transport": "socket", "n": n_rung}, {}),
        ("rung", "RayExecutor(), in-memory journal",
         {"system": "rung", "storage": "memory", "transport": "socket", "n": n_rung}, {}),
        ("rung", "RayExecutor(transport='ray'), SQLite",
         {"system": "rung", "storage": "sqlite", "transport": "ray", "n": n_rung}, {}),
    ]
    if not args.skip_tune:
        configs += [
            ("Ray Tune", TUNE_BEST,
             {"system": "tune", "best": True, "n": [args.n_tune]}, quiet),
            ("Ray Tune", "defaults",
             {"system": "tune", "best": False, "n": [args.n_tune_default]}, {}),
        ]
    load_before = load_average()
    found: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    errors: list[list[object]] = []
    for rep in range(args.repeat):
        for system, label, cfg, env in configs:
            if rep > 0 and label == "defaults":
                continue  # two orders of magnitude slower: once is plenty
            print(f"[{rep + 1}/{args.repeat}] {system}: {label} (n={cfg['n']}) ...",
                  file=sys.stderr, flush=True)
            res = run_child(cfg, env, args.timeout)
            if "error" in res:
                errors.append([system, label, "-", "-", "-", "-", "-", "-", res["error"][:150]])
                print(errors[-1], file=sys.stderr, flush=True)
                continue
            for r in res["runs"]:
                r["rss"] = res["rss"]
                found.setdefault((system, label, r["trials"]), []).append(r)
                print(f"  n={r['trials']}: wall {r['wall']:.2f} s, steady "
                      f"{r['steady'] / r['trials'] * 1e3:.2f} ms/trial", file=sys.stderr,
                      flush=True)

    rows: list[list[object]] = []
    for (system, label, n), runs in found.items():
        wall = median([r["wall"] for r in runs])
        steady = median([r["steady"] for r in runs])
        rows.append([
            system, label, n, len(runs), round(wall, 2), round(n / wall, 2),
            round(n / steady, 1), round(steady / n * 1e3, 2),
            round(median([r["rss"] for r in runs]) / 2**20),
            round(median([r["driver_cpu"] for r in runs]) / n * 1e3, 2),
        ])
    rows += errors
    headers = ["system", "configuration", "trials", "runs", "wall s", "trials/s (wall)",
               "trials/s (steady)", "per-trial overhead ms (steady)", "driver peak RSS MiB",
               "driver CPU ms/trial"]
    body = [
        "No-op trials (loss = x/step, steps 1..9), random search, ASHA (eta 3, rungs 1 and 3), "
        "1 CPU per trial on `ray.init(address=\"local\", num_cpus=2)`: 2 trials at once. "
        "`wall` runs from `Study.run` / `Tuner.fit` to its return (Ray already up, trial "
        "actors' start-up included); `steady` runs from the first trial's start to the last "
        "report (timestamps reported by the trials themselves, for both libraries); per-trial "
        "overhead = steady / trials. Driver RSS is the driver process's peak (`ru_maxrss`), "
        "Ray's driver-side threads included for both. Each configuration ran `runs` times, "
        "interleaved with the others; the table shows medians.",
        "",
        f"Load average before the run: {load_before} (a shared machine: other jobs ran "
        "alongside, which is why every configuration is repeated).",
        "",
        table(headers, rows),
        "",
    ]
    body += verdict(found, n_rung)
    text = "\n".join(body)
    print(text)
    if not args.no_write:
        write_section("bench_ray", text)


RUNG_MAIN = "RayExecutor(), SQLite journal"
TUNE_BEST = "reuse_actors=True, loggers off"


def median(xs: list[float]) -> float:
    ys = sorted(xs)
    k = len(ys) // 2
    return ys[k] if len(ys) % 2 else (ys[k - 1] + ys[k]) / 2


def verdict(found: dict[tuple[str, str, int], list[dict[str, Any]]],
            n_rung: list[int]) -> list[str]:
    big = max(n_rung)
    ours = found.get(("rung", RUNG_MAIN, big))
    if not ours:
        return ["Goal: not measured (the rung runs failed)."]
    ms = median([r["steady"] / r["trials"] * 1e3 for r in ours])
    lines = [
        f"Goal 1, per-trial overhead <= {GOAL_MS:g} ms (rung, default socket transport, SQLite "
        f"journal, {big} trials, median of {len(ours)}): {ms:.2f} ms -> "
        f"{'met' if ms <= GOAL_MS else 'NOT met'}."
    ]
    tune = next((runs for (s, label, _), runs in found.items()
                 if s == "Ray Tune" and label == TUNE_BEST), None)
    if not tune:
        lines.append(f"Goal 2, >= {GOAL_RATIO:g}x Ray Tune's best: not measured.")
        return lines

    def tps(r: dict[str, Any], key: str) -> float:
        return float(r["trials"]) / float(r[key])

    # ratios of runs made in the same round (close in time, under similar load)
    steady = sorted(tps(a, "steady") / tps(b, "steady") for a, b in zip(ours, tune, strict=False))
    mid = median(steady)
    lines.append(
        f"Goal 2, >= {GOAL_RATIO:g}x Ray Tune's best configuration in steady-state trials/s: "
        f"{mid:.0f}x (rounds: {', '.join(f'{x:.0f}x' for x in steady)}) -> "
        f"{'met' if min(steady) >= GOAL_RATIO else 'met in the median only' if mid >= GOAL_RATIO else 'NOT met'}."
    )
    n_tune = tune[0]["trials"]
    same = found.get(("rung", RUNG_MAIN, n_tune))
    if same:
        ms2 = median([r["wall"] / r["trials"] * 1e3 for r in same])
        tune_ms = median([r["wall"] / r["trials"] * 1e3 for r in tune])
        r2 = tune_ms / ms2
        missed = [g for g, ok in (("per-trial overhead", ms2 <= GOAL_MS),
                                  (f"{GOAL_RATIO:g}x", r2 >= GOAL_RATIO)) if not ok]
        startup = median([r["wall"] - r["steady"] for r in same])
        tune_startup = median([r["wall"] - r["steady"] for r in tune])
        lines.append(
            f"End to end (wall, actor start-up included) at the same size ({n_tune} trials): "
            f"rung {ms2:.1f} ms/trial vs Ray Tune {tune_ms:.1f} ms/trial, {r2:.1f}x. Such a "
            f"short run is mostly start-up on both sides (rung {startup:.1f} s, Ray Tune "
            f"{tune_startup:.1f} s)"
            + (f"; measured this way, NOT met at this size: {', '.join(missed)}."
               if missed else "; the goals hold end to end too.")
        )
    ms3 = median([r["wall"] / r["trials"] * 1e3 for r in ours])
    lines.append(f"End to end with {big} trials: rung {ms3:.2f} ms/trial.")
    return lines


if __name__ == "__main__":
    main()
