"""Chaos: SIGKILL the driver at seeded random moments, resume each time, with workers that are
killed, call ``os._exit`` or hang; then check that nothing was lost or duplicated.

One scenario (``run``), used by ``tests/executors/test_chaos.py`` and by this script, which
writes the counts to the "Chaos" section of ``benchmarks/RESULTS.md``:

- a study of ``N_TRIALS`` configurations, ASHA (eta 3) up to ``MAX_STEP`` steps, 2 forked
  worker processes, a checkpoint every 2 steps, ``trial_timeout`` ``TRIAL_TIMEOUT`` s;
- the objective misbehaves once per affected trial (a marker file remembers it): every 10th
  trial from 1 calls ``os._exit(3)`` at step 3, from 4 SIGKILLs its own worker at step 2, from
  7 hangs at step 4 (ended by ``trial_timeout``);
- each driver session (a fresh ``python`` process running ``session``) is SIGKILLed after a
  seeded random delay (a quarter of them during start-up and replay); after every kill the
  journal is read and checked: every result recorded before is still there, no trial holds a
  step twice, trial ids are dense; when ``kills`` kills are done a last session runs to the end.

Checked at the end: the budget was reached (exactly ``N_TRIALS`` configurations, each once),
every trial ended (completed, stopped or failed), no completed result was lost, no
``(trial, step)`` is duplicated in ``trial.results`` (steps a restarted trial reported again are
counted: the journal keeps both reports, the trial one).

Usage::

    python benchmarks/chaos.py                 # 24 kills, seed 0; writes RESULTS.md
    python benchmarks/chaos.py --kills 40 --seed 3 --no-write
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

N_TRIALS = 300
MAX_STEP = 9
STEP_SECONDS = 0.1
TRIAL_TIMEOUT = 3.0
NAME = "chaos"
HERE = Path(__file__).resolve().parent

# trial id % 10 -> (mischief, step)
MISCHIEF = {1: ("exit", 3), 4: ("kill", 2), 7: ("hang", 4)}

Snapshot = dict[int, tuple[str, list[tuple[int, float]]]]  # id -> (params, [(step, loss)])


# --- the driver session (runs in a child process) ----------------------------------------------
def objective(ctx: Any) -> None:
    log = Path(str(ctx.params["log"]))
    tid = ctx.trial_id
    mischief = MISCHIEF.get(tid % 10)
    x = float(ctx.params["x"])
    for step in range(ctx.start_step, ctx.max_step + 1):
        time.sleep(STEP_SECONDS)
        if mischief is not None and step == mischief[1]:
            marker = log / f"{tid}.{mischief[0]}"
            if not marker.exists():
                marker.write_text(str(os.getpid()))
                if mischief[0] == "exit":
                    os._exit(3)
                if mischief[0] == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                while True:  # hang until trial_timeout kills the worker
                    signal.pause()

        def save(d: str, step: int = step) -> None:
            Path(d, "state.json").write_text(json.dumps({"step": step}))

        ctx.report(step, loss=(x - 0.3) ** 2 + 1.0 / step, save=save)


def session(db: str, log: str) -> None:
    """One driver session: create the study (first time) or load it, and run it."""
    import rung
    from rung import ASHA, Budget, Float, Objective, Study
    from rung.storage import SQLiteJournal

    journal = SQLiteJournal(db)
    if NAME in journal.list_studies():
        study = Study.load(NAME, journal)
    else:
        study = Study.create(
            NAME, {"x": Float(0.0, 1.0), "log": rung.Fixed(log)}, Objective("loss"),
            searcher="random", scheduler=ASHA(reduction_factor=3), max_step=MAX_STEP,
            budget=Budget(n_trials=N_TRIALS), seed=11, storage=journal,
            trial_timeout=TRIAL_TIMEOUT,
        )
    study.run(objective, n_workers=2, start_method="fork", checkpoint_every=2)
    study.close()


# --- the harness ---------------------------------------------------------------------------
def _snapshot(db: Path) -> tuple[Snapshot, Any] | None:
    from rung.storage import SQLiteJournal
    from rung.study import Study

    if not db.exists():
        return None
    journal = SQLiteJournal(db, readonly=True)
    try:
        if NAME not in journal.list_studies():
            journal.close()
            return None
    except sqlite3.OperationalError:  # created the file, not yet its tables
        journal.close()
        return None
    study = Study.load(NAME, journal)
    snap = {t.id: (json.dumps(dict(t.params), sort_keys=True),
                   [(r.step, float(r.metrics["loss"])) for r in t.results])
            for t in study.trials()}
    return snap, study


def _group(sid: int) -> list[int]:
    """Live (non-zombie) processes of session ``sid`` (Linux ``/proc``): the driver's, started
    with ``start_new_session``; each worker leads a process group inside it."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


def _start(db: Path, log: Path) -> subprocess.Popen[bytes]:
    code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); import chaos; "
            f"chaos.session({str(db)!r}, {str(log)!r})")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(HERE.parent / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True, env=env)


class ChaosError(AssertionError):
    pass


def _check(cond: bool, what: str) -> None:
    if not cond:
        raise ChaosError(what)


def _check_snapshot(before: Snapshot, after: Snapshot, counts: dict[str, int]) -> None:
    _check(sorted(after) == list(range(len(after))), f"trial ids not dense: {sorted(after)}")
    for tid, (_params, results) in after.items():
        steps = [s for s, _ in results]
        dups = len(steps) - len(set(steps))
        counts["duplicates found"] += dups
        _check(dups == 0, f"trial {tid} holds a step twice: {steps}")
    for tid, (params, results) in before.items():
        _check(tid in after, f"trial {tid} vanished")
        _check(after[tid][0] == params, f"trial {tid} changed its params")
        now = dict(after[tid][1])
        for step, loss in results:
            counts["results checked"] += 1
            _check(now.get(step) == loss, f"trial {tid} lost its result at step {step}")


def run(workdir: Path, kills: int = 24, seed: int = 0) -> dict[str, Any]:
    """The scenario in ``workdir``; returns its counts. Raises ``ChaosError`` (an
    ``AssertionError``) at the first violated property."""
    db, log = workdir / "chaos.db", workdir / "log"
    log.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    counts: dict[str, Any] = {"kills": 0, "kills mid-trial": 0, "sessions": 0,
                              "results checked": 0, "duplicates found": 0, "leftover workers": 0}
    last: Snapshot = {}
    t0 = time.monotonic()
    while counts["kills"] < kills:
        proc = _start(db, log)
        counts["sessions"] += 1
        delay = rng.uniform(0.05, 1.0) if rng.random() < 0.25 else rng.uniform(1.0, 3.0)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            counts["kills"] += 1
        else:  # it finished the whole study before this kill: the scenario is too short
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise ChaosError(f"session ended by itself (exit {proc.returncode}) after "
                             f"{counts['kills']} kills; {err[-2000:]}")
        finally:
            if proc.stderr is not None:
                proc.stderr.close()
        deadline = time.monotonic() + 10.0
        while (left := _group(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        counts["leftover workers"] += len(left)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        got = _snapshot(db)
        if got is None:
            continue
        snap, study = got
        if study.trials("running") or study.trials("launched"):
            counts["kills mid-trial"] += 1
        study.close()
        _check_snapshot(last, snap, counts)
        last = snap
    # the last session runs to the end
    proc = _start(db, log)
    counts["sessions"] += 1
    _, last_err = proc.communicate(timeout=600)
    _check(proc.returncode == 0, f"the last session failed: {last_err.decode()[-3000:]}")
    got = _snapshot(db)
    _check(got is not None, "no study")
    assert got is not None
    final, study = got
    _check_snapshot(last, final, counts)
    h = study.engine.history
    _check(h.n_suggested == N_TRIALS, f"{h.n_suggested} configurations, not {N_TRIALS}")
    _check(len(final) == N_TRIALS, f"{len(final)} trials, not {N_TRIALS}")
    _check(len({p for p, _ in final.values()}) == N_TRIALS, "a configuration ran twice")
    ended = {"completed", "stopped", "failed"}
    by_status: dict[str, int] = {}
    for t in study.trials():
        _check(t.status.value in ended, f"trial {t.id} did not end: {t.status.value}")
        by_status[t.status.value] = by_status.get(t.status.value, 0) + 1
    # reports the journal holds twice for one (trial, step): a restarted trial's repeats
    from rung.core.events import ResultReported, TrialEnded

    seen: set[tuple[int, int]] = set()
    repeats = interruptions = 0
    for rec in study.journal.read(NAME):
        if isinstance(rec, ResultReported):
            key = (rec.trial_id, rec.step)
            repeats += key in seen
            seen.add(key)
        elif isinstance(rec, TrialEnded) and rec.outcome.value == "interrupted":
            interruptions += 1
    study.close()
    _check(counts["leftover workers"] == 0, f"{counts['leftover workers']} workers outlived "
                                            "their driver")
    counts.update({
        "trials": len(final), "by status": by_status,
        "results (final)": sum(len(r) for _, r in final.values()),
        "repeated reports in the journal": repeats, "interruptions": interruptions,
        "timeouts": sum(1 for t in study.trials() if (t.error or "").startswith("timeout")),
        **{f"worker {kind}s": sum(1 for _ in log.glob(f"*.{kind}"))
           for kind in ("exit", "kill", "hang")},
        "seconds": round(time.monotonic() - t0, 1),
    })
    return counts


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=24)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-write", action="store_true", help="print only")
    args = p.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory(prefix="rung-chaos-") as d:
        counts = run(Path(d), kills=args.kills, seed=args.seed)
    print(json.dumps(counts, indent=2))
    if not args.no_write:
        sys.path.insert(0, str(HERE))
        from _results import table, write_section

        rows = [[k, json.dumps(v) if isinstance(v, dict) else v] for k, v in counts.items()]
        body = (
            f"{N_TRIALS} configurations, ASHA (eta 3) to step {MAX_STEP}, 2 forked workers, "
            f"checkpoint every 2 steps, trial_timeout {TRIAL_TIMEOUT:g} s; every 10th trial "
            "from 1 calls os._exit, from 4 SIGKILLs its worker, from 7 hangs (once each). "
            f"The driver was SIGKILLed {counts['kills']} times at seeded random moments "
            f"(seed {args.seed}), resumed each time, then run to the end. Checked after every "
            "kill and at the end: no recorded result lost, no (trial, step) twice in "
            "trial.results, trial ids dense; at the end: the budget reached, every "
            "configuration once, every trial ended.\n\n"
            + table(["count", "value"], rows)
        )
        write_section("Chaos", body)


if __name__ == "__main__":
    main()
