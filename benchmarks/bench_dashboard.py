"""Dashboard cost on a 100,000-trial study (issue 16): rung dashboard against optuna-dashboard.

The study: random search + ASHA (reduction factor 3) on MF-Branin (``max_step`` 27), 100,000
trials on 8 simulated workers, run on the simulated executor into a memory journal and then
written into an SQLite journal through the journal API (``SQLiteJournal.append``), as a run
writes it. The Optuna study is the same trials (same parameters, the same intermediate values
at the same steps; completed trials COMPLETE with their last value, stopped ones PRUNED, failed
ones FAIL), made by Optuna itself (``Study.add_trials`` on a ``JournalStorage``) into an
in-memory journal backend whose log is then written as ``JournalFileBackend`` writes it (one
JSON line per operation; writing through ``JournalFileBackend`` fsyncs every operation: 8 ms a
trial here, 14 minutes for the study). It is read back with ``optuna.load_study`` and checked
(trial count, states, values) before it is served.

Both dashboards run as their own CLI in a subprocess on a loopback port:

- **open**: a fresh server (it answers ``GET /`` first, which reads no study), then the first
  data request that needs the study: rung ``GET /api/studies`` (replays the journal), then
  ``/api/study/NAME``; optuna-dashboard ``GET /api/studies`` then ``/api/studies/ID`` (loads
  every trial). Repeated on a fresh server ``--opens`` times; the median is reported.
- **page** (HTTP): each page's data requests once the study is open (the server's steady state
  while a user clicks through), median of ``--repeats``. rung: overview, trials (the first
  page of rows, sorted), a trial's detail, learning curves, parallel coordinates, workers,
  Pareto front. optuna-dashboard: every page of the study loads the same
  ``/api/studies/ID`` (all trials; later polls send ``?after=N``), the analytics page adds
  ``param_importances``.
- **page** (browser): headless Chromium via Selenium (Debian's ``chromium`` and
  ``chromedriver``): from navigation to the page's content being drawn (rung: the table's
  rows or the chart's SVG; optuna-dashboard: the study's title and the page's chart or table),
  median of ``--repeats``, on a server whose study is already open.

Goals (issue 16): open < 2 s, a page < 1 s. Usage::

    nice -n 10 python benchmarks/bench_dashboard.py [--trials 100000] [--repeats 5]
        [--opens 3] [--optuna-python /tmp/optdash/bin/python] [--no-browser] [--no-write]

``--live`` measures instead what following a live study costs the server per refresh
(``_dashboard_live.py``; its own section, ``bench_dashboard: live refresh``): a study of
``--live-trials`` trials (default 20,000; several sizes: ``5000,20000``) appended to while
each page is polled as an open page polls it, the server's CPU and wall milliseconds per
refresh; with ``--live-old-src DIR`` a second server from another source tree side by side
(the revision before a change)::

    git clone -q . /tmp/old && git -C /tmp/old checkout -q d0b5454^
    nice -n 10 python benchmarks/bench_dashboard.py --live --live-old-src /tmp/old/src

optuna-dashboard must be installed in a Python of its own (``--optuna-python``; never in
rung's dependencies): ``python -m venv /tmp/optdash && /tmp/optdash/bin/pip install
optuna-dashboard``. Without it the rung half runs alone.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import _dashboard_live
from _dashboard_browser import (
    TIMEOUT,
    browser,
    optuna_browser_pages,
    rung_browser_pages,
    time_browser,
)
from _results import table, write_section

import rung
from rung.benchmarks import get_benchmark
from rung.storage import SQLiteJournal

GOAL_OPEN, GOAL_PAGE = 2.0, 1.0
NAME = "big"


# --- the studies ----------------------------------------------------------------------------
def build_rung(n: int, path: Path) -> rung.Study:
    """``n`` trials of random + ASHA on MF-Branin, simulated, then written to ``path``."""
    bench = get_benchmark("mf-branin")
    study = rung.Study.create(NAME, bench.space, "loss", searcher="random",
                              scheduler=rung.ASHA(reduction_factor=3), max_step=bench.max_step,
                              budget={"n_trials": n}, seed=0)
    study.simulate(bench, n_workers=8)
    records = study.journal.read(NAME)
    path.unlink(missing_ok=True)
    with SQLiteJournal(path) as j:
        j.create_study(NAME, study.journal.load_study(NAME))
        for i in range(0, len(records), 50_000):
            j.append(NAME, records[i:i + 50_000])
    return study


def optuna_trials(study: rung.Study) -> list[dict[str, Any]]:
    """The rung study's trials as plain data for the Optuna side."""
    out = []
    for t in study.trials():
        inter = {int(r.step): float(r.metrics["loss"]) for r in t.results}
        out.append({"params": dict(t.params), "inter": inter, "status": t.status.value,
                    "value": t.value})
    return out


OPTUNA_BUILD = textwrap.dedent('''
    import json, sys
    import optuna
    from optuna.distributions import FloatDistribution
    from optuna.storages import JournalStorage
    from optuna.storages.journal import BaseJournalBackend
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    src, out = sys.argv[1], sys.argv[2]

    class Memory(BaseJournalBackend):
        """Optuna's own journal operations, kept in memory (no fsync per operation)."""
        def __init__(self):
            self.logs = []
        def read_logs(self, log_number_from):
            return self.logs[log_number_from:]
        def append_logs(self, logs):
            self.logs.extend(logs)

    rows = json.load(open(src))
    dist = {"x1": FloatDistribution(-5.0, 10.0), "x2": FloatDistribution(0.0, 15.0)}
    states = {"completed": TrialState.COMPLETE, "stopped": TrialState.PRUNED,
              "failed": TrialState.FAIL}
    mem = Memory()
    study = optuna.create_study(study_name="big", storage=JournalStorage(mem))
    trials = []
    for r in rows:
        state = states[r["status"]]
        trials.append(create_trial(
            params=r["params"], distributions=dist, intermediate_values=r["inter"],
            value=r["value"] if state is TrialState.COMPLETE else None, state=state))
    study.add_trials(trials)
    with open(out, "w") as f:
        for log in mem.logs:
            f.write(json.dumps(log, separators=(",", ":")) + "\\n")
    from optuna.storages.journal import JournalFileBackend
    back = optuna.load_study(study_name="big", storage=JournalStorage(JournalFileBackend(out)))
    got = back.get_trials(deepcopy=False)
    assert len(got) == len(rows), (len(got), len(rows))
    for r, t in zip(rows, got):
        assert t.state == states[r["status"]] and t.params == r["params"]
        assert {int(k): v for k, v in t.intermediate_values.items()} == {
            int(k): v for k, v in r["inter"].items()}
        if t.state == TrialState.COMPLETE:
            assert t.value == r["value"]
    print(json.dumps({"trials": len(got), "logs": len(mem.logs)}))
''')


def build_optuna(python: str, study: rung.Study, path: Path) -> dict[str, Any]:
    src = path.with_suffix(".json")
    src.write_text(json.dumps(optuna_trials(study)))
    path.unlink(missing_ok=True)
    out = subprocess.run([python, "-c", OPTUNA_BUILD, str(src), str(path)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"building the Optuna study failed: {out.stderr[-3000:]}")
    src.unlink()
    info: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return info


# --- servers --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float = 300.0) -> tuple[float, int]:
    """Seconds to fetch ``url`` completely, and the body's size."""
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=timeout) as r:
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"{url}: HTTP {r.status}")
    return time.perf_counter() - t, len(body)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """A dashboard CLI in a subprocess, up once ``GET /`` answers (which reads no study)."""

    def __init__(self, argv: list[str], port: int, env: dict[str, str] | None = None) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env=None if env is None else {**os.environ, **env})
        deadline = time.monotonic() + 120
        while True:
            try:
                get(self.base + "/", timeout=5)
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    self.close()
                    raise RuntimeError(f"{argv[0]} did not start: {err[-2000:]}") from None
                time.sleep(0.1)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def rung_server(path: Path, cache: Path) -> Server:
    """``rung dashboard`` with its snapshot cache in ``cache``."""
    port = free_port()
    return Server([sys.executable, "-m", "rung.cli", "dashboard", NAME, "--storage", str(path),
                   "--port", str(port)], port, env={"RUNG_DASHBOARD_CACHE": str(cache)})


def run_snapshot(path: Path) -> float:
    """Write the snapshot a run writes beside its journal at its end (``RunWriter``, which
    ``drive`` calls; this study was simulated into a memory journal and copied, so it has
    none): the study replayed, then ``rung.dashboard.snapshot.write``. Returns its seconds."""
    from rung.dashboard.data import Catalog
    from rung.dashboard.snapshot import view_path, write

    t = time.perf_counter()
    snap = Catalog(path, NAME, snapshots=False).snapshot(NAME, wait=math.inf)
    assert write(view_path(path, NAME), snap)
    return time.perf_counter() - t


def optuna_server(python: str, path: Path) -> Server:
    port = free_port()
    exe = str(Path(python).with_name("optuna-dashboard"))
    return Server([exe, str(path), "--port", str(port), "--server", "wsgiref"], port)


def rung_open(path: Path, cache: Path | None = None) -> tuple[dict[str, float], Server]:
    """Seconds (and server CPU seconds) to the first data, then to the whole study replayed
    (``cache``: the dashboard's snapshot cache; default a new, empty one)."""
    srv = rung_server(path, cache or Path(tempfile.mkdtemp(prefix="bench-dashboard-cache-")))
    c0, t = cpu_seconds(srv.proc.pid), time.perf_counter()
    get(srv.base + "/api/studies")
    get(srv.base + f"/api/study/{NAME}")
    first, first_cpu = time.perf_counter() - t, cpu_seconds(srv.proc.pid) - c0
    while True:
        with urllib.request.urlopen(srv.base + f"/api/study/{NAME}", timeout=300) as r:
            if json.load(r)["loading"] is None:
                break
        time.sleep(0.1)
    return {"first": first, "first_cpu": first_cpu, "complete": time.perf_counter() - t,
            "complete_cpu": cpu_seconds(srv.proc.pid) - c0}, srv


def optuna_open(python: str, path: Path) -> tuple[dict[str, float], Server]:
    """optuna-dashboard shows a study once every trial is loaded: first data = complete."""
    srv = optuna_server(python, path)
    c0, t = cpu_seconds(srv.proc.pid), time.perf_counter()
    get(srv.base + "/api/studies")
    get(srv.base + "/api/studies/0")
    dt, cpu = time.perf_counter() - t, cpu_seconds(srv.proc.pid) - c0
    return {"first": dt, "first_cpu": cpu, "complete": dt, "complete_cpu": cpu}, srv


def rung_pages(tid: int) -> dict[str, list[str]]:
    """Each page of the rung dashboard and the data requests it makes (``tid``: the trial
    whose detail the trials page shows)."""
    s = f"/api/study/{NAME}"
    return {
        "studies": ["/api/studies"],
        "overview": [s],
        "trials": [s + "/trials?sort=value&limit=200", f"{s}/trial/{tid}"],
        "curves": [s + "/curves"],
        "parallel": [s + "/parallel"],
        "workers": [s + "/workers"],
        "pareto": [s + "/pareto"],
    }


OPTUNA_PAGES = {
    "studies": ["/api/studies"],
    "study (history, trial list, table)": ["/api/studies/0?after=0"],
    "analytics": ["/api/studies/0?after=0", "/api/studies/0/param_importances"],
}


def time_pages(base: str, pages: dict[str, list[str]], repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for page, urls in pages.items():  # the first load computes, later polls may be kept
        runs, size = [], 0
        for _ in range(repeats):
            t, size = 0.0, 0
            for u in urls:
                dt, n = get(base + u)
                t, size = t + dt, size + n
            runs.append(t)
        out[page] = {"median": statistics.median(runs), "max": max(runs), "bytes": size,
                     "first": runs[0]}
    return out


# --- the report -----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--trials", type=int, default=100_000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--opens", type=int, default=3)
    p.add_argument("--peer-repeats", type=int, default=None,
                   help="page loads of optuna-dashboard (default --repeats; its study pages "
                        "take 20-60 s each at 100,000 trials)")
    p.add_argument("--optuna-python", default="/tmp/optdash/bin/python")
    p.add_argument("--no-browser", action="store_true")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--workdir", default=None)
    p.add_argument("--shots", default=None, help="folder for screenshots of the pages")
    p.add_argument("--reuse", action="store_true",
                   help="use the journals already in --workdir (built by an earlier run)")
    p.add_argument("--live", action="store_true",
                   help="only the live-refresh case (section 'bench_dashboard: live refresh')")
    p.add_argument("--live-trials", default="20000",
                   help="study sizes of the live case, comma-separated")
    p.add_argument("--live-grow", type=int, default=5,
                   help="trials appended to the journal before each refresh")
    p.add_argument("--live-refreshes", type=int, default=20,
                   help="counted refreshes per page and round")
    p.add_argument("--live-rounds", type=int, default=3)
    p.add_argument("--live-old-src", default=None,
                   help="a second server with PYTHONPATH=DIR (another tree's src/)")
    args = p.parse_args(argv)
    logging.disable(logging.WARNING)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-dashboard-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.live:
        live = [_dashboard_live.measure(args, int(n), work, Server, cpu_seconds, free_port,
                                        get) for n in args.live_trials.split(",")]
        print("RESULT " + json.dumps(live), flush=True)
        if not args.no_write:
            write_section("bench_dashboard: live refresh",
                          _dashboard_live.report(live, args, os.getloadavg()[1]))
        return
    shots = Path(args.shots) if args.shots else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)

    optuna_ok = Path(args.optuna_python).exists()
    if args.reuse and (work / "rung.db").exists():
        print(f"reusing the journals in {work}", flush=True)
    else:
        t = time.perf_counter()
        study = build_rung(args.trials, work / "rung.db")
        print(f"rung journal: {args.trials} trials, built in {time.perf_counter() - t:.0f} s",
              flush=True)
        if optuna_ok:
            t = time.perf_counter()
            info = build_optuna(args.optuna_python, study, work / "optuna.log")
            print(f"optuna journal: {info['trials']} trials, {info['logs']} operations, "
                  f"{(work / 'optuna.log').stat().st_size / 1e6:.0f} MB, built and checked in "
                  f"{time.perf_counter() - t:.0f} s", flush=True)
        del study
    with SQLiteJournal(work / "rung.db", readonly=True) as j:
        n_records = j.count(NAME)
    print(f"rung journal: {n_records} records, "
          f"{(work / 'rung.db').stat().st_size / 1e6:.0f} MB", flush=True)
    if not optuna_ok:
        print(f"no optuna-dashboard at {args.optuna_python}: rung alone", flush=True)
    from rung.dashboard.snapshot import cache_path, view_path

    res: dict[str, Any] = {"rung": {}, "optuna": {}}
    view = view_path(work / "rung.db", NAME)
    # without any snapshot (a journal written by an older rung): the full replay, after which
    # the dashboard writes its own snapshot into its cache; then a fresh server reads that
    view.unlink(missing_ok=True)
    cache = work / "dashboard-cache"
    shutil.rmtree(cache, ignore_errors=True)
    dt, srv = rung_open(work / "rung.db", cache)
    t, mine = time.perf_counter(), cache_path(cache, work / "rung.db", NAME)
    while not mine.exists() and time.perf_counter() < t + 600:
        time.sleep(0.5)
    res["rung"]["cache_written_after"] = time.perf_counter() - t
    srv.close()
    res["rung"]["no_snapshot"] = dt
    print(f"rung: open without a snapshot: first data {dt['first']:.2f} s, complete "
          f"{dt['complete']:.2f} s ({dt['complete_cpu']:.2f} CPU s); its cache written "
          f"{res['rung']['cache_written_after']:.1f} s later", flush=True)
    dt, srv = rung_open(work / "rung.db", cache)
    srv.close()
    res["rung"]["from_cache"] = dt
    print(f"rung: reopen from the dashboard's cache: complete {dt['complete']:.2f} s "
          f"({dt['complete_cpu']:.2f} CPU s)", flush=True)
    res["rung"]["run_snapshot_s"] = run_snapshot(work / "rung.db")
    print(f"rung: the run's snapshot written in {res['rung']['run_snapshot_s']:.1f} s "
          f"({view.stat().st_size / 1e6:.0f} MB)", flush=True)
    res["rung"]["snapshot_mb"] = view.stat().st_size / 1e6

    sides: list[tuple[str, Callable[[], tuple[dict[str, float], Server]], dict[str, list[str]],
                      dict[str, tuple[str, Callable[[Any], bool]]]]] = [
        ("rung", lambda: rung_open(work / "rung.db"), {}, rung_browser_pages(NAME)),
    ]
    if optuna_ok:
        sides.append(("optuna", lambda: optuna_open(args.optuna_python, work / "optuna.log"),
                      OPTUNA_PAGES, optuna_browser_pages(args.trials)))
    for side, opener, pages, bpages in sides:
        opens = []
        for k in range(args.opens):
            dt, srv = opener()
            opens.append(dt)
            print(f"{side}: open: first data {dt['first']:.2f} s "
                  f"({dt['first_cpu']:.2f} CPU s), complete {dt['complete']:.2f} s "
                  f"({dt['complete_cpu']:.2f} CPU s)", flush=True)
            if k < args.opens - 1:
                srv.close()
        if side == "rung":  # the detail shown: the best trial's
            with urllib.request.urlopen(srv.base + f"/api/study/{NAME}") as r:
                best = json.load(r)["best_trial"]
            pages = rung_pages(int(best) if best is not None else 0)
        try:
            res[side]["open"] = {k: {"median": statistics.median(o[k] for o in opens),
                                     "max": max(o[k] for o in opens)} for k in opens[0]}
            repeats = args.repeats if side == "rung" else (args.peer_repeats or args.repeats)
            res[side]["http"] = time_pages(srv.base, pages, repeats)
            for page, r in res[side]["http"].items():
                print(f"{side}: {page} (HTTP) {r['median']:.3f} s, {r['bytes'] / 1e6:.2f} MB",
                      flush=True)
            if not args.no_browser:
                d = shots / side if shots else None
                if d:
                    d.mkdir(exist_ok=True)
                res[side]["browser"] = time_browser(browser, srv.base, bpages, repeats, d)
                for page, r in res[side]["browser"].items():
                    print(f"{side}: {page} (browser) {r['median']:.3f} s", flush=True)
        finally:
            srv.close()
    print("RESULT " + json.dumps(res), flush=True)
    if not args.no_write:
        write_section("bench_dashboard", report(res, args, n_records))


def report(res: dict[str, Any], args: argparse.Namespace, n_records: int) -> str:
    def row(side: str, what: str, r: dict[str, Any], goal: float | None,
            size: int | None) -> list[Any]:
        med = r["median"]
        drawn = math.isfinite(med)
        shown: Any = med if drawn else f"> {TIMEOUT:g} (not drawn)"
        verdict = "" if goal is None or side != "rung dashboard" else (
            f"< {goal:g} s: {'yes' if med < goal else '**no**'}")
        return [side, what, shown, r["max"] if drawn else "", verdict,
                "" if size is None else f"{size / 1e6:.2f}"]

    rows: list[list[Any]] = []
    for side in ("rung", "optuna"):
        if "open" not in res[side]:
            continue
        label = "rung dashboard" if side == "rung" else "optuna-dashboard"
        o = res[side]["open"]
        how = " (the run's snapshot)" if side == "rung" else ""
        rows.append(row(label, f"open{how}: first data (fresh server)", o["first"], GOAL_OPEN,
                        None))
        rows.append(row(label, f"open{how}: server CPU s to first data", o["first_cpu"], None,
                        None))
        rows.append(row(label, f"open{how}: whole study loaded", o["complete"], GOAL_OPEN,
                        None))
        rows.append(row(label, f"open{how}: server CPU s to whole study", o["complete_cpu"],
                        None, None))
        if side == "rung" and "no_snapshot" in res[side]:
            for key, what in (("no_snapshot", "open without any snapshot (full replay)"),
                              ("from_cache", "reopen from the dashboard's own snapshot")):
                one = {k: {"median": v, "max": v} for k, v in res[side][key].items()}
                rows.append(row(label, f"{what}: first data", one["first"], None, None))
                rows.append(row(label, f"{what}: whole study loaded", one["complete"], None,
                                None))
                rows.append(row(label, f"{what}: server CPU s to whole study",
                                one["complete_cpu"], None, None))
        for page, r in res[side]["http"].items():
            rows.append(row(label, f"page {page} (HTTP)", r, GOAL_PAGE, r["bytes"]))
        for page, r in res[side].get("browser", {}).items():
            rows.append(row(label, f"page {page} (Chromium)", r, GOAL_PAGE, None))
    body = (
        f"{args.trials:,} trials (random + ASHA eta 3 on MF-Branin, max_step 27, 8 simulated "
        f"workers; {n_records:,} journal records); the Optuna study holds the same trials "
        "(params, intermediate values, states) in a JournalFileStorage. Seconds: median "
        f"(and max) of {args.opens} opens on a fresh server and of {args.repeats} page loads "
        "once the study is loaded (max: the first, computed; rung keeps a chart's answer "
        "until new records arrive, as a page polling a finished study asks again); CPU seconds are the server process's own (user + system), "
        "what the wall time would be on an idle core. Both servers single-process, run one "
        "after the other (optuna-dashboard on wsgiref, rung on uvicorn) on a machine shared "
        f"with other jobs (load average {os.getloadavg()[1]:.1f} over the 5 minutes before "
        "the report, on 2 cores): wall times can be several times the CPU times; "
        "the comparison is the point. rung opens the study from the snapshot of its pages "
        "that a run writes beside its journal (``rung.dashboard.snapshot``); without any "
        "snapshot it replays the journal in the background and answers with what it has "
        "replayed so far (first data), then writes its own snapshot into its cache "
        "(one open each, on a fresh server); optuna-dashboard answers once every trial is "
        "loaded (first data = whole study). Browser: headless Chromium (software rendering, "
        "a fresh document each), from navigation to the page's table or chart drawn; a page "
        f"not drawn within {TIMEOUT:g} s is loaded no more.\n\n"
        + table(["dashboard", "what", "median s", "max s", "goal", "MB"], rows)
    )
    r = res["rung"]
    if "run_snapshot_s" in r:
        body += (
            f"\n\nThe run's snapshot (``rung.dashboard.snapshot``, {r['snapshot_mb']:.0f} MB "
            f"beside the journal) took {r['run_snapshot_s']:.1f} s to write here (the study "
            "replayed, then its pages computed and written: at the end of a run the replay is "
            "not needed); without one, the dashboard wrote its own into its cache "
            f"{r['cache_written_after']:.1f} s after the study was loaded.")
    return body


if __name__ == "__main__":
    main()
