"""SIGKILL the driver of `rung run` at random moments, `rung resume` each time: the study
finishes its budget, loses no recorded result, duplicates no trial, and a killed driver leaves
no worker process behind."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from clihelp import rung_cmd, tiny_spec, write_spec

from rung.core.events import Launch
from rung.storage import SQLiteJournal
from rung.study import Study

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc to find leftover worker processes")

N_TRIALS = 36
KILLS = 4
NAME = "crash"

Snapshot = dict[int, tuple[dict[str, Any], list[tuple[int, dict[str, Any]]]]]


def has_study(journal: SQLiteJournal) -> bool:
    try:
        return NAME in journal.list_studies()
    except sqlite3.OperationalError:  # the driver created the file but not yet its tables
        return False


def snapshot(db: Path) -> tuple[Snapshot, Study] | None:
    """Every trial's params and results, read from the journal (None: no study yet)."""
    if not db.exists():
        return None
    journal = SQLiteJournal(db, readonly=True)
    if not has_study(journal):
        journal.close()
        return None
    study = Study.load(NAME, journal)
    snap = {t.id: (dict(t.params), [(r.step, dict(r.metrics)) for r in t.results])
            for t in study.trials()}
    return snap, study


def assert_kept(before: Snapshot, after: Snapshot) -> None:
    for tid, (params, results) in before.items():
        assert tid in after, f"trial {tid} vanished"
        assert after[tid][0] == params, f"trial {tid} changed its params"
        assert after[tid][1][: len(results)] == results, f"trial {tid} lost results"


def group_members(sid: int) -> list[int]:
    """Live (non-zombie) processes in session ``sid`` (the driver's: it starts one, and every
    worker's process group, which a worker leads, lies inside it)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            out.append(int(entry.name))
    return out


def wait_group_gone(sid: int, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        left = group_members(sid)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def records(db: Path) -> int:
    """Records journaled so far (0 before the study exists)."""
    if not db.exists():
        return 0
    journal = SQLiteJournal(db, readonly=True)
    try:
        return journal.count(NAME) if has_study(journal) else 0
    finally:
        journal.close()


def wait_for_progress(db: Path, target: int, proc: subprocess.Popen[bytes],
                      timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while records(db) < target and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


def start(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    # a session of its own: the driver and its workers form one process group to watch
    return subprocess.Popen(rung_cmd(*args), cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


def test_sigkill_driver_and_resume(tmp_path: Path) -> None:
    write_spec(tmp_path, tiny_spec(name=NAME, n_trials=N_TRIALS, max_step=9, delay=0.04,
                                   storage="crash.db", extra="checkpoint_every: 2\n"))
    db = tmp_path / "crash.db"
    rng = random.Random(20240611)
    last: Snapshot = {}
    kills_mid_run = 0
    leftovers: list[str] = []
    for _ in range(KILLS):
        snap = snapshot(db)
        args = ["run", "spec.yaml", "--no-live"] if snap is None else \
            ["resume", NAME, "--storage", "crash.db", "--no-live"]
        proc = start(args, tmp_path)
        if rng.random() < 0.25:
            time.sleep(rng.uniform(0.1, 1.0))  # during start-up, replay or the first launches
        else:  # once this session has journaled some work, at a random moment
            wait_for_progress(db, records(db) + 20, proc, timeout=60)
            time.sleep(rng.uniform(0.0, 1.0))
        if proc.poll() is not None:  # finished (or failed) before the kill
            assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
            break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()
        left = wait_group_gone(proc.pid, timeout=10.0)
        if left:
            leftovers.append(f"after kill: pids {left} still alive 10 s after the driver died")
            for pid in left:  # do not leave them to the rest of the test session
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        got = snapshot(db)
        if got is None:
            continue
        snap_now, study = got
        assert_kept(last, snap_now)
        if study.trials("running") or study.trials("launched"):
            kills_mid_run += 1
        last = snap_now
        study.close()

    # run to completion
    r = subprocess.run(rung_cmd("resume", NAME, "--storage", "crash.db", "--no-live"),
                       cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    got = snapshot(db)
    assert got is not None
    final, study = got
    assert_kept(last, final)
    assert not leftovers, leftovers
    assert kills_mid_run >= 2, "the kills should interrupt running trials"

    h = study.engine.history
    assert h.n_suggested == N_TRIALS  # the budget was completed, not exceeded
    assert sorted(final) == list(range(N_TRIALS))  # trial ids dense, none duplicated
    assert len({tuple(sorted(p.items())) for p, _ in final.values()}) == N_TRIALS
    for t in study.trials():
        assert t.status.value in ("completed", "stopped") or (
            t.status.value == "failed" and (t.error or "").startswith("too many interruptions")
        ), (t.id, t.status, t.error)
    assert study.best_trial is not None and study.best_trial.last_step == 9

    # the raw journal: new trial ids are launched in order, a relaunch keeps its params
    params: dict[int, Any] = {}
    for rec in SQLiteJournal(db, readonly=True).read(NAME):
        if isinstance(rec, Launch):
            if rec.trial_id not in params:
                assert rec.trial_id == len(params), "trial ids must be issued densely, in order"
                params[rec.trial_id] = rec.params
            else:
                assert rec.params == params[rec.trial_id]
                assert rec.start_step >= 1
    assert len(params) == N_TRIALS
    study.close()
