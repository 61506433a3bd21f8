"""``bench_dashboard.py --live``: what following a live study costs the dashboard per refresh.

A study of each ``--live-trials`` size (random + ASHA, reduction factor 3, on MF-Branin,
``max_step`` 27, 8 simulated workers: the 100,000-trial section's study, smaller) is simulated
into a memory journal with enough trials beyond it for the whole measurement; the records up to
the ``N+1``-th ``Launch`` are written into an SQLite journal, and the rest are appended to it
during the measurement, a turn at a time (an event and the commands it caused, one
``SQLiteJournal.append`` each, as the driver writes them), by this process, which holds the
study's writer lock all along (so the dashboard sees a live run: ``live`` is true and it writes
no snapshot of its own).

The dashboard(s) run as their own CLI in a subprocess on loopback (``Server``), each with an
empty snapshot cache, and open the study by replaying its journal (there is no snapshot beside
it). ``--live-old-src DIR`` runs a second server from another source tree on the same Python
(``PYTHONPATH=DIR``; e.g. the revision before the change measured), polled in turn with the
first on the same journal: the same records, the same load on the machine.

A live page polls one address (two for the ledger page) every ``--interval`` seconds, with no
cursor: the server replays the records appended since its last look and answers the page
again (``app.js``'s ``render`` and ``ledger.js``'s ``refresh``). So, for each page, each refresh
here is: append the records of ``--live-grow`` more trials, then send the page's requests to
each server. A page's first refresh after other pages were polled (its own incremental state
then has the other pages' records to catch up on) is not counted; then ``--live-refreshes``
refreshes are. CPU: the server process's user + system time (``/proc/PID/stat``, in clock ticks
of 10 ms: summed over the refreshes, then divided by them), per refresh; wall: the page's
requests from the first byte sent to the last received, median over all refreshes. Rounds
(``--live-rounds``) repeat the whole, pages in a rotated order; the CPU reported is the median
of the rounds' means.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _results import table

import rung
from rung.benchmarks import get_benchmark
from rung.core.events import Launch, is_event
from rung.storage import SQLiteJournal

NAME = "live"


def pages(name: str) -> dict[str, list[str]]:
    """Each page a user can leave open, and the requests one refresh of it sends (``app.js``:
    the trials page's default query, sorted by trial id, 200 rows; ``ledger.js``: the study
    list, then the ledger)."""
    s = "/api/study/" + urllib.parse.quote(name, safe="")
    q = urllib.parse.urlencode({"sort": "trial_id", "desc": "0", "q": "", "offset": "0",
                                "limit": "200"})
    return {
        "studies": ["/api/studies"],
        "overview": [s],
        "trials (200 rows)": [f"{s}/trials?{q}"],
        "curves": [s + "/curves"],
        "parallel": [s + "/parallel"],
        "workers": [s + "/workers"],
        "ledger": ["/api/studies", s + "/ledger"],
    }


def turns(records: list[Any]) -> list[list[Any]]:
    """The records cut into turns: an event and the commands after it."""
    out: list[list[Any]] = []
    for r in records:
        if is_event(r) or not out:
            out.append([])
        out[-1].append(r)
    return out


def launches(turn: list[Any]) -> int:
    return sum(isinstance(r, Launch) for r in turn)


def build(n: int, extra: int, path: Path) -> tuple[SQLiteJournal, list[list[Any]], int]:
    """The journal at ``path`` holding the first ``n`` trials' turns (left open as the
    writer), the turns of the ``extra`` trials after them, and the records written."""
    bench = get_benchmark("mf-branin")
    study = rung.Study.create(NAME, bench.space, "loss", searcher="random",
                              scheduler=rung.ASHA(reduction_factor=3), max_step=bench.max_step,
                              budget={"n_trials": n + extra}, seed=0)
    study.simulate(bench, n_workers=8)
    all_turns = turns(study.journal.read(NAME))
    launched, cut = 0, len(all_turns)
    for i, t in enumerate(all_turns):
        if launched + launches(t) > n:
            cut = i
            break
        launched += launches(t)
    path.unlink(missing_ok=True)
    j = SQLiteJournal(path)
    j.create_study(NAME, study.journal.load_study(NAME))
    head = [r for t in all_turns[:cut] for r in t]
    for i in range(0, len(head), 50_000):
        j.append(NAME, head[i:i + 50_000])
    return j, all_turns[cut:], len(head)


class Grower:
    """Appends the kept turns to the journal, ``trials`` launches' worth at a time."""

    def __init__(self, journal: SQLiteJournal, tail: list[list[Any]]) -> None:
        self.journal, self.tail, self.at, self.records, self.trials = journal, tail, 0, 0, 0

    def grow(self, trials: int) -> None:
        got = 0
        while self.at < len(self.tail):
            t = self.tail[self.at]
            if got + launches(t) > trials:
                break
            self.journal.append(NAME, t)
            got += launches(t)
            self.records += len(t)
            self.at += 1
        if got < trials:
            raise RuntimeError("the live study ran out of records: raise the extra trials")
        self.trials += got


def check_source(src: str) -> str:
    """Where ``rung`` is imported from with ``PYTHONPATH=src`` (refused unless inside it)."""
    out = subprocess.run([sys.executable, "-c", "import rung; print(rung.__file__)"],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": src},
                         check=True).stdout.strip()
    if not Path(out).resolve().is_relative_to(Path(src).resolve()):
        raise SystemExit(f"PYTHONPATH={src} imports rung from {out}")
    return out


def revision(tree: Path) -> str | None:
    """The short commit the git work tree ``tree`` has checked out (a read: ``rev-parse``),
    with ``+`` when it has uncommitted changes under ``src/`` (``GIT_OPTIONAL_LOCKS=0``: the
    status writes nothing)."""
    try:
        rev = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True, check=True,
                               env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"}).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return rev + ("+" if dirty else "")


def between(old: str, new_tree: Path) -> list[str]:
    """The commits after ``old`` up to ``new_tree``'s HEAD that touch what the pages compute."""
    try:
        out = subprocess.run(
            ["git", "-C", str(new_tree), "log", "--format=%h", f"{old.rstrip('+')}..HEAD", "--",
             "src/rung/dashboard", "src/rung/cost", "src/rung/journal_fold.py",
             "src/rung/analysis_frames.py", "src/rung/plot/_cutoffs.py"],
            capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return []
    return out


def measure(args: Any, n_trials: int, work: Path, server: Any,
            cpu_seconds: Callable[[int], float], free_port: Callable[[], int],
            get: Callable[[str], tuple[float, int]]) -> dict[str, Any]:
    """Run the live case on a study of ``n_trials`` trials; the per-page results of each
    server (``server``, ``cpu_seconds``, ``free_port``, ``get``: ``bench_dashboard``'s)."""
    n_pages = len(pages(NAME))
    need = args.live_rounds * n_pages * (args.live_refreshes + 1) * args.live_grow
    t = time.perf_counter()
    journal, tail, n_head = build(n_trials, need + 100, work / f"live-{n_trials}.db")
    print(f"live study: {n_trials:,} trials, {n_head:,} records, built in "
          f"{time.perf_counter() - t:.0f} s", flush=True)
    trees = {"HEAD": None}
    if args.live_old_src:
        print(f"old tree: rung from {check_source(args.live_old_src)}", flush=True)
        trees = {"before": args.live_old_src, "HEAD": None}
    servers: dict[str, Any] = {}
    res: dict[str, Any] = {"trials": n_trials, "records": n_head, "servers": {}}
    try:
        for label, src in trees.items():
            port = free_port()
            env = {"RUNG_DASHBOARD_CACHE": tempfile.mkdtemp(prefix="bench-live-cache-",
                                                            dir=work)}
            if src:
                env["PYTHONPATH"] = src
            srv = servers[label] = server(
                [sys.executable, "-m", "rung.cli", "dashboard", NAME, "--storage",
                 str(work / f"live-{n_trials}.db"), "--port", str(port)], port, env=env)
            # open: the whole journal replayed (no snapshot beside it), then every page once
            c0, t0 = cpu_seconds(srv.proc.pid), time.perf_counter()
            while True:
                with urllib.request.urlopen(srv.base + f"/api/study/{NAME}", timeout=600) as r:
                    ov = json.load(r)
                if ov["loading"] is None:
                    break
                time.sleep(0.2)
            for urls in pages(NAME).values():
                for u in urls:
                    get(srv.base + u)
            res["servers"][label] = {
                "open_s": time.perf_counter() - t0, "open_cpu": cpu_seconds(srv.proc.pid) - c0,
                "live": ov.get("live"), "version_note": ov.get("version_note"),
                "read_as_written": ov.get("read_as_written"), "pages": {}}
            print(f"{label}: open and first pages {time.perf_counter() - t0:.1f} s "
                  f"({res['servers'][label]['open_cpu']:.1f} CPU s), live={ov.get('live')}, "
                  f"version_note={ov.get('version_note')!r}", flush=True)
        grower = Grower(journal, tail)
        names = list(pages(NAME))
        raw: dict[str, dict[str, dict[str, Any]]] = {
            label: {p: {"cpu": [], "wall": [], "req_cpu": {}} for p in names}
            for label in servers}
        for rnd in range(args.live_rounds):
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for page in order:
                urls = pages(NAME)[page]
                for i in range(args.live_refreshes + 1):
                    grower.grow(args.live_grow)
                    labels = list(servers) if i % 2 == 0 else list(servers)[::-1]
                    for label in labels:
                        srv, r = servers[label], raw[label][page]
                        wall = 0.0
                        for u in urls:
                            c0 = cpu_seconds(srv.proc.pid)
                            dt, _ = get(srv.base + u)
                            dc = cpu_seconds(srv.proc.pid) - c0
                            wall += dt
                            if i > 0:  # the first refresh catches up: not counted
                                r["req_cpu"].setdefault(u, [0.0] * args.live_rounds)
                                r["req_cpu"][u][rnd] += dc
                        if i > 0:
                            r["wall"].append(wall)
            for label in servers:
                for page in names:
                    r = raw[label][page]
                    r["cpu"].append(sum(v[rnd] for v in r["req_cpu"].values())
                                    / args.live_refreshes)
            print(f"round {rnd + 1}: the study at {n_trials + grower.trials:,} trials "
                  f"({n_head + grower.records:,} records); CPU ms per refresh: " + "; ".join(
                      f"{label} " + ", ".join(f"{p} {1000 * raw[label][p]['cpu'][-1]:.0f}"
                                              for p in names) for label in servers),
                  flush=True)
        res["grown_trials"], res["grown_records"] = grower.trials, grower.records
        for label in servers:
            for page in names:
                r = raw[label][page]
                res["servers"][label]["pages"][page] = {
                    "cpu_ms": 1000 * statistics.median(r["cpu"]),
                    "cpu_ms_rounds": [1000 * c for c in r["cpu"]],
                    "wall_ms": 1000 * statistics.median(r["wall"]),
                    "requests": {u: 1000 * statistics.median(v) / args.live_refreshes
                                 for u, v in r["req_cpu"].items()},
                }
    finally:
        for srv in servers.values():
            srv.close()
        journal.close()
    return res


def report(runs: list[dict[str, Any]], args: Any, load: float) -> str:
    """The section's body: one table per study size."""
    labels = list(runs[0]["servers"])
    before = "before" in labels
    here = Path(__file__).resolve().parent.parent
    head_rev = revision(here) or "HEAD"
    if before:
        old_rev = revision(Path(args.live_old_src).resolve().parent)
        touched = between(old_rev, here) if old_rev else []
        src = (f"**before**: the tree at `{args.live_old_src}` (commit {old_rev}, run with "
               f"`PYTHONPATH`); **HEAD**: this tree (commit {head_rev}). Both servers on the "
               "same Python, each refresh sent to both in turn (alternating which goes first) "
               "on the same journal. Commits in between that touch the dashboard, the ledger "
               f"fold or the journal folds: {', '.join(touched) or 'none found'}. ")
    else:
        src = f"HEAD only (commit {head_rev}; no `--live-old-src`). "
    out = [
        "Live studies of random + ASHA (eta 3) on MF-Branin, max_step 27, 8 simulated workers, "
        "in an SQLite journal that this script keeps appending to as a driver does (a turn per "
        f"`append`, holding the writer lock), {args.live_grow} trials' records before every "
        f"refresh (one trial every {2.0 / args.live_grow:.2g} s at the default 2 s interval). "
        "Each page is polled as an open page polls it (`app.js`, `ledger.js`: the same "
        "addresses every interval, no cursor; the server replays what was appended since its "
        "last look and computes the page again). Per page: one refresh to catch up (not "
        f"counted), then {args.live_refreshes} refreshes; {args.live_rounds} round"
        f"{'' if args.live_rounds == 1 else 's'}, pages in "
        "a rotated order. **CPU ms**: the dashboard process's user + system time per refresh "
        "(its `/proc` counters, in 10 ms ticks, summed over the refreshes and divided by "
        "them), median of the rounds' means; **wall ms**: the page's requests, median over "
        f"all refreshes, on a machine shared with other jobs (load average {load:.1f} over "
        "the 5 minutes before the report, 2 cores): compare CPU, not wall. " + src.strip()]
    head = ["page", "requests per refresh"]
    if before:
        head += ["CPU ms before", "CPU ms HEAD", "wall ms before", "wall ms HEAD"]
    else:
        head += ["CPU ms", "wall ms"]
    for res in runs:
        rows: list[list[Any]] = []
        for page, urls in pages(NAME).items():
            what = " + ".join(u.split("?")[0].replace(f"/api/study/{NAME}", ".../NAME")
                              for u in urls)
            cells = [res["servers"][x]["pages"][page] for x in labels]
            rows.append([page, what] + [f"{c['cpu_ms']:.1f}" for c in cells]
                        + [f"{c['wall_ms']:.0f}" for c in cells])
            if len(urls) > 1:
                for u in urls:
                    rows.append([f"{page}: {u.split('/')[-1]} alone", ""]
                                + [f"{c['requests'][u]:.1f}" for c in cells]
                                + ["" for _ in cells])
        spread = "; ".join(
            f"{x}: " + ", ".join(
                f"{p} {min(v['cpu_ms_rounds']):.0f}-{max(v['cpu_ms_rounds']):.0f}"
                for p, v in res["servers"][x]["pages"].items())
            for x in labels)
        opens = "; ".join(f"{x} {v['open_s']:.1f} s ({v['open_cpu']:.1f} CPU s)"
                          for x, v in res["servers"].items())
        out.append(
            f"**{res['trials']:,} trials** ({res['records']:,} records at the start, "
            f"{res['trials'] + res['grown_trials']:,} trials and "
            f"{res['records'] + res['grown_records']:,} records at the end). Opening it (a "
            f"full replay: no snapshot) and the first load of every page: {opens}.\n\n"
            + table(head, rows)
            + f"\n\nCPU ms per refresh, range over the rounds: {spread}.")
    return "\n\n".join(out) + "\n"
