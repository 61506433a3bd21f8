"""bench_overhead: what one trial costs the search library itself.

Workload (the same for every system): N no-op trials, each reporting ``loss = x / step`` at steps
1..9 unless stopped; random search over ``x ~ U(0, 1)``; asynchronous successive halving with
eta = 3 and rungs at steps 1, 3 (and 9 = max); 2 workers. Nothing is trained, so the time measured
is the library's bookkeeping, messaging, storage and start-up.

Systems:

- rung, LocalExecutor (2 spawn worker processes), SQLite journal (durable: every driver turn
  is one committed transaction before any command reaches a worker), and in-memory journal;
- Optuna 5 (RandomSampler + SuccessiveHalvingPruner(reduction_factor=3, min_resource=1)),
  ``study.optimize(n_jobs=2)``, i.e. 2 *threads* in one process, with in-memory storage,
  JournalStorage(JournalFileBackend) and SQLite RDB storage;
- Ray Tune 2.x (ASHAScheduler(max_t=9, grace_period=1, reduction_factor=3), function trainable,
  ``ray.init(num_cpus=2, include_dashboard=False)`` on 127.0.0.1), with defaults and with
  ``reuse_actors=True``.

Each configuration runs in a fresh child process, so imports, threads and memory of one never
leak into the next; the parent samples the resident memory (RSS) of the child's whole process
tree (workers, Ray's raylet and GCS included) every 0.1 s and reports the peak.

Usage::

    python benchmarks/bench_overhead.py                      # everything, default sizes
    python benchmarks/bench_overhead.py --n 20000 --skip-ray  # bigger rung/Optuna runs, no Ray
    python benchmarks/bench_overhead.py --only rung-sqlite --profile

The table is printed and written to the ``## bench_overhead`` section of
``benchmarks/RESULTS.md`` (other sections are left alone) unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import child_result

MAX_STEP = 9
ETA = 3
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## bench_overhead"


# --- the objective, per system (module level: rung's spawn workers import it by name) ------------
def rung_objective(ctx: Any) -> None:
    x = float(ctx.params["x"])
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=x / step)


# --- one configuration (runs in the child process) ------------------------------------------------
def run_rung(n: int, workers: int, storage: str, tmp: Path, profile: bool) -> dict[str, Any]:
    import rung

    study = rung.Study.create(
        "bench", {"x": rung.Float(0.0, 1.0)}, rung.Objective("loss", "min"), searcher="random",
        scheduler=rung.ASHA(reduction_factor=ETA), max_step=MAX_STEP,
        budget=rung.Budget(n_trials=n), seed=0,
        storage=str(tmp / "rung.db") if storage == "sqlite" else None,
    )
    marks: dict[str, float] = {}

    def on_turn(engine: Any) -> None:
        if "first" not in marks and engine.history.n_results:
            marks["first"] = time.perf_counter()
            marks["cpu"] = time.process_time()

    prof = None
    if profile:
        import cProfile

        # CPU time, not wall time: time spent preempted or waiting for workers is not the
        # driver's cost, and on a shared machine it would drown everything else
        prof = cProfile.Profile(time.process_time)
        prof.enable()
    t0 = time.perf_counter()
    study.run(rung_objective, n_workers=workers, on_turn=on_turn)
    t1 = time.perf_counter()
    cpu1 = time.process_time()
    if prof is not None:
        prof.disable()
    out: dict[str, Any] = {
        "trials": len(study.trials()),
        "reports": study.engine.history.n_results,
        "wall": t1 - t0,
        "startup": marks.get("first", t1) - t0,
        "steady_wall": t1 - marks.get("first", t0),
        "driver_cpu_per_trial_us": (cpu1 - marks.get("cpu", 0.0)) / n * 1e6,
        "by_status": study.summary()["by_status"],
    }
    if storage == "sqlite":
        out["journal_records"] = study.journal.count("bench")  # type: ignore[attr-defined]
    if prof is not None:
        out["profile"] = summarize_profile(prof)
    study.close()
    return out


def summarize_profile(prof: Any) -> list[tuple[str, float]]:
    """Share of the driver's CPU time spent under a few functions of interest."""
    import pstats

    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    wanted = {
        ("engine.py", "handle"): "Engine.handle (engine + history + scheduler + searcher)",
        ("sqlite.py", "append"): "SQLiteJournal.append (one transaction per driver turn)",
        ("codec.py", "dumps"): "  of which codec.dumps (records -> JSON)",
        ("sqlite.py", "_tx"): "  of which the transaction (BEGIN IMMEDIATE ... COMMIT)",
        ("local.py", "poll"): "LocalExecutor.poll (waiting for workers + decoding messages)",
        ("local.py", "_read"): "  of which decoding messages (LocalExecutor._read)",
        ("local.py", "submit"): "LocalExecutor.submit (sending launches and replies)",
    }
    found: dict[str, float] = {}
    for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        for (fname, fn), label in wanted.items():
            if filename.endswith(fname) and func == fn:
                found[label] = found.get(label, 0.0) + ct
    return [(label, found.get(label, 0.0) / total) for label in wanted.values()]


def run_optuna(n: int, workers: int, storage: str, tmp: Path) -> dict[str, Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    store: Any = None
    if storage == "journal":
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        store = JournalStorage(JournalFileBackend(str(tmp / "optuna.log")))
    elif storage == "sqlite":
        store = f"sqlite:///{tmp / 'optuna.db'}"
    study = optuna.create_study(
        direction="minimize", storage=store,
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=ETA),
    )

    def objective(trial: Any) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        loss = x
        for step in range(1, MAX_STEP + 1):
            loss = x / step
            trial.report(loss, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return loss

    t0 = time.perf_counter()
    study.optimize(objective, n_trials=n, n_jobs=workers)
    wall = time.perf_counter() - t0
    trials = study.get_trials(deepcopy=False)
    states: dict[str, int] = {}
    for t in trials:
        states[t.state.name.lower()] = states.get(t.state.name.lower(), 0) + 1
    return {"trials": len(trials), "reports": sum(len(t.intermediate_values) for t in trials),
            "wall": wall, "by_status": states}


def run_ray(n: int, workers: int, reuse: bool, tmp: Path) -> dict[str, Any]:
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    t0 = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, _node_ip_address="127.0.0.1",
             log_to_driver=False)

    def trainable(config: dict[str, Any]) -> None:
        x = config["x"]
        for step in range(1, MAX_STEP + 1):
            tune.report({"loss": x / step})

    tuner = tune.Tuner(
        trainable,
        param_space={"x": tune.uniform(0.0, 1.0)},
        tune_config=tune.TuneConfig(
            metric="loss", mode="min", num_samples=n, reuse_actors=reuse,
            scheduler=ASHAScheduler(max_t=MAX_STEP, grace_period=1, reduction_factor=ETA),
        ),
        run_config=tune.RunConfig(storage_path=str(tmp / "ray"), verbose=0),
    )
    grid = tuner.fit()
    wall = time.perf_counter() - t0
    reports = 0
    for i in range(len(grid)):
        metrics = grid[i].metrics or {}
        reports += int(metrics.get("training_iteration", 0))
    ray.shutdown()
    return {"trials": len(grid), "reports": reports, "wall": wall, "by_status": {}}


def child_main(cfg: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as d:
        tmp = Path(d)
        system = cfg["system"]
        if system == "rung":
            res = run_rung(cfg["n"], cfg["workers"], cfg["storage"], tmp, cfg.get("profile", False))
        elif system == "optuna":
            res = run_optuna(cfg["n"], cfg["workers"], cfg["storage"], tmp)
        elif system == "ray":
            res = run_ray(cfg["n"], cfg["workers"], cfg["reuse"], tmp)
        else:
            raise SystemExit(f"unknown system {system!r}")
    sys.stdout.write("RESULT " + json.dumps(res) + "\n")
    sys.stdout.flush()


# --- memory of a process tree ---------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/children") as f:
            out.extend(int(c) for c in f.read().split())
    return out


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def tree_rss(pid: int) -> int:
    """Bytes resident in ``pid`` and all its descendants (psutil if installed, else /proc)."""
    try:
        import psutil

        try:
            p = psutil.Process(pid)
            procs = [p, *p.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for q in procs:
            with contextlib.suppress(psutil.Error):
                total += q.memory_info().rss
        return total
    except ImportError:
        pass
    total, stack, seen = 0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * _PAGE
        except OSError:
            continue
        stack.extend(_children(p))
    return total


def run_child(cfg: dict[str, Any], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", json.dumps(cfg)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, tree_rss(proc.pid))
                stop.wait(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            stop.set()
            return {"error": f"timed out after {timeout:.0f} s"}
        stop.set()
        sampler.join()
        res = child_result(proc.returncode, out, err, tail=15)
        if "error" in res:
            return res
        res["peak_rss_mib"] = peak / 2**20
        return res


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median trials/s (the lower one for an even count); its peak RSS is
    the largest of all runs."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[-1]
    ok.sort(key=lambda r: r["trials"] / r["wall"])
    med = dict(ok[(len(ok) - 1) // 2])
    med["peak_rss_mib"] = max(r["peak_rss_mib"] for r in ok)
    med["runs"] = len(runs)
    return med


# --- the report -----------------------------------------------------------------------------------
def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.+)", f.read())
            if m:
                model = m.group(1).strip()
    except OSError:
        pass
    return (f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}")


def load_average() -> str:
    try:
        return ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def fmt_row(label: str, storage: str, par: str, r: dict[str, Any]) -> str:
    if "error" in r:
        return f"| {label} | {storage} | {par} | - | - | - | - | - | - | {r['error'][:120]} |"
    tps = r["trials"] / r["wall"]
    rps = r["reports"] / r["wall"]
    note = ""
    if "steady_wall" in r and r["steady_wall"] > 0:
        note = (f"start-up {r['startup']:.1f} s; after it {r['trials'] / r['steady_wall']:,.0f} "
                f"trials/s; driver CPU {r['driver_cpu_per_trial_us']:,.0f} us/trial")
    return (f"| {label} | {storage} | {par} | {r['trials']:,} | {r['reports']:,} | "
            f"{r['wall']:.1f} | {tps:,.1f} | {rps:,.0f} | {r['peak_rss_mib']:,.0f} | {note} |")


def write_section(text: str) -> None:
    body = RESULTS.read_text() if RESULTS.exists() else (
        "# Benchmark results\n\nEach section is written by the script it names; rerun the "
        "command to refresh it.\n")
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(body):
        body = pattern.sub(lambda _m: text, body, count=1)
    else:
        body = body.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(body.rstrip("\n") + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10000,
                    help="trials for rung and for the large Optuna in-memory run (default 10000)")
    ap.add_argument("--n-small", type=int, default=1000,
                    help="trials for the small rung and Optuna in-memory runs (default 1000)")
    ap.add_argument("--n-optuna-journal", type=int, default=1000,
                    help="trials for Optuna with JournalFileBackend (default 1000)")
    ap.add_argument("--n-optuna-sqlite", type=int, default=300,
                    help="trials for Optuna with SQLite storage (default 300)")
    ap.add_argument("--n-ray", type=int, default=200, help="trials for Ray Tune (default 200)")
    ap.add_argument("--n-ray-default", type=int, default=50,
                    help="trials for Ray Tune with default settings (default 50: ~0.2 trials/s)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per configuration; the table shows the median (default 1)")
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--skip-optuna", action="store_true")
    ap.add_argument("--only", default=None,
                    help="comma-separated configuration ids (rung-sqlite, rung-memory, "
                         "rung-sqlite-small, optuna-memory-small, optuna-memory, "
                         "optuna-journal, optuna-sqlite, ray-default, ray-reuse)")
    ap.add_argument("--profile", action="store_true",
                    help="also profile rung-sqlite's driver, in a run of its own (cProfile)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="per configuration, seconds")
    ap.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child_main(json.loads(args.child))
        return

    w = args.workers
    configs: list[tuple[str, str, str, str, dict[str, Any]]] = [
        ("rung-sqlite", "rung", "SQLite journal", f"{w} processes",
         {"system": "rung", "storage": "sqlite", "n": args.n}),
        ("rung-memory", "rung", "in-memory journal", f"{w} processes",
         {"system": "rung", "storage": "memory", "n": args.n}),
        ("rung-sqlite-small", "rung", "SQLite journal", f"{w} processes",
         {"system": "rung", "storage": "sqlite", "n": args.n_small}),
        ("optuna-memory-small", "Optuna 5", "in-memory", f"{w} threads (n_jobs)",
         {"system": "optuna", "storage": "memory", "n": args.n_small}),
        ("optuna-memory", "Optuna 5", "in-memory", f"{w} threads (n_jobs)",
         {"system": "optuna", "storage": "memory", "n": args.n}),
        ("optuna-journal", "Optuna 5", "JournalFileBackend", f"{w} threads (n_jobs)",
         {"system": "optuna", "storage": "journal", "n": args.n_optuna_journal}),
        ("optuna-sqlite", "Optuna 5", "SQLite (RDB)", f"{w} threads (n_jobs)",
         {"system": "optuna", "storage": "sqlite", "n": args.n_optuna_sqlite}),
        ("ray-default", "Ray Tune", "defaults", f"num_cpus={w}",
         {"system": "ray", "reuse": False, "n": args.n_ray_default}),
        ("ray-reuse", "Ray Tune", "reuse_actors=True", f"num_cpus={w}",
         {"system": "ray", "reuse": True, "n": args.n_ray}),
    ]
    only = set(args.only.split(",")) if args.only else None
    rows: list[str] = []
    profile: list[tuple[str, float]] = []
    results: dict[str, dict[str, Any]] = {}
    for cid, label, storage, par, cfg in configs:
        if only is not None and cid not in only:
            continue
        if args.skip_ray and cfg["system"] == "ray":
            continue
        if args.skip_optuna and cfg["system"] == "optuna":
            continue
        cfg = {**cfg, "workers": w}
        print(f"running {cid} ({cfg['n']} trials, {args.repeat}x) ...", file=sys.stderr,
              flush=True)
        r = median_run([run_child(cfg, args.timeout) for _ in range(args.repeat)])
        results[cid] = r
        rows.append(fmt_row(label, storage, par, r))
        print(rows[-1], file=sys.stderr, flush=True)
    if args.profile:  # a run of its own: profiling slows the driver down
        cfg = {"system": "rung", "storage": "sqlite", "n": args.n, "workers": w, "profile": True}
        print(f"profiling rung-sqlite ({args.n} trials) ...", file=sys.stderr, flush=True)
        profile = run_child(cfg, args.timeout).get("profile") or []

    cmd = "python benchmarks/bench_overhead.py " + " ".join(sys.argv[1:])
    lines = [
        SECTION,
        "",
        f"- command: `{cmd.strip()}`",
        f"- machine: {machine()}; load average before the run: {load_average()} "
        "(the machine is shared: rerun for steadier numbers)",
        f"- date: {datetime.date.today().isoformat()}",
        "",
        f"N no-op trials x {MAX_STEP} reports (unless stopped), random search, asynchronous "
        f"successive halving (eta={ETA}, steps 1..{MAX_STEP}), {w} workers. Wall time includes "
        "start-up (worker processes, Ray's cluster); peak RSS is the whole process tree. "
        f"Each row is the median of {args.repeat} run(s) by trials/s.",
        "",
        "| system | storage | parallelism | trials | reports | wall s | trials/s | reports/s "
        "| peak RSS MiB | notes |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    r = results.get("rung-sqlite")
    if r is not None and "error" not in r:
        tps = r["trials"] / r["wall"]
        steady = r["trials"] / r["steady_wall"] if r.get("steady_wall") else tps
        verdict = "met" if tps >= 1000 else ("met after start-up" if steady >= 1000 else "not met")
        lines += [f"Goal: rung durable (SQLite) >= 1,000 trials/s -> {verdict} "
                  f"({tps:,.0f} trials/s overall, {steady:,.0f} after worker start-up).", ""]
    if profile:
        lines += ["Where rung's driver spends its CPU time (cProfile of rung-sqlite with a CPU "
                  "clock, cumulative per function; profiling slows it down):", "",
                  "| function | share of driver CPU time |", "|---|---|"]
        lines += [f"| {label} | {share:.0%} |" for label, share in profile]
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(text)


if __name__ == "__main__":
    main()
