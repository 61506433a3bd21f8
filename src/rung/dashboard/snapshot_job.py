"""The run's dashboard snapshot, written by a process of its own, so that the run is never
stalled by it and holds none of the dashboard's state (``rung.dashboard.snapshot.RunWriter``
decides when, and starts it with ``start``).

**The job** (``python -m rung.dashboard.snapshot_job DB STUDY``, ``main``): at ``nice``
``NICE``, it replays study ``STUDY`` of the SQLite journal ``DB`` read-only, up to the records
the journal holds when it starts, exactly as the dashboard replays a study (``build``:
``rung.dashboard.data.Catalog.snapshot``, no snapshot read or written on the way), and writes
the snapshot of its pages beside the journal (``rung.dashboard.snapshot.view_path``, ``write``:
a temporary file renamed over the old one), unless the snapshot there already covers as many
records (a job that ended late never replaces a newer one). Its pages are those of a study no
driver runs, as a stored snapshot's must be (``rung.dashboard.pages``: a reader says
``running`` itself while a driver runs it). Exit status 0: written or not needed; 1: it
failed (the traceback on its stderr, which ``start`` discards: run the command by hand to see
it). A ``SIGTERM`` ends it with its temporary file removed; one left by a job killed outright
is removed by the next job; a reader never looks at one. Nothing it does can harm the journal
(it opens it read-only) or the run.

**The run's side** (``start``): the job is started detached (a session of its own, no
terminal, stdin/stdout/stderr to ``/dev/null``, no descriptor of the run inherited: not the
study's writer lock), and a daemon thread waits for it, so that a job that has ended is reaped
at once (no zombie while the run goes on) and nothing waits for one at the interpreter's exit
(it finishes on its own). ``wait_all`` waits for every job this process started (tests, and
callers that want the snapshot written before they go on); ``inline`` runs the job in the
calling process instead (tests).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rung.dashboard.snapshot import header, view_path, write

if TYPE_CHECKING:
    from rung.dashboard.data import Snapshot

log = logging.getLogger("rung.dashboard")

#: the job's niceness increment (``os.nice``): the run's workers come first
NICE = 10

_jobs: list[Job] = []
_jobs_lock = threading.Lock()


class Job:
    """A snapshot job (a ``subprocess.Popen``-like ``process``), as ``start`` started it;
    ``reaper`` is the thread that waits for it (``None``: the process is waited for only by
    ``done`` and ``wait``)."""

    def __init__(self, process: Any, argv: list[str],
                 reaper: threading.Thread | None = None) -> None:
        self.process = process
        self.argv = argv
        self.reaper = reaper

    def done(self) -> bool:
        """Whether the job has ended (never blocks)."""
        if self.reaper is not None:
            return not self.reaper.is_alive()
        return self.process.poll() is not None

    def ok(self) -> bool:
        """Whether it ended with status 0 (written, or not needed)."""
        return bool(self.done() and self.process.returncode == 0)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (``None``: as long as it takes); True if it ended."""
        if self.reaper is not None:
            self.reaper.join(timeout)
            return not self.reaper.is_alive()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return self.done()

    def stop(self) -> None:
        """Ask it to end (``SIGTERM``: it removes its temporary file) without waiting."""
        if not self.done():
            with contextlib.suppress(OSError):  # (it has just ended)
                self.process.terminate()

    def why(self) -> str:
        code = self.process.returncode
        return f"exit status {code}" if code is None or code >= 0 else f"signal {-code}"

    def command(self) -> str:
        import shlex

        return shlex.join(self.argv)


def start(db: Path, study: str) -> Job:
    """Start the job for ``study`` in the SQLite journal ``db`` (see the module docstring)
    and return at once. ``OSError`` if the process cannot be started."""
    argv = [sys.executable, "-m", __name__, str(db.absolute()), study]
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True,
                               close_fds=True)
    reaper = threading.Thread(target=process.wait, name=f"snapshot job {process.pid}",
                              daemon=True)
    reaper.start()
    job = Job(process, argv, reaper)
    with _jobs_lock:
        _jobs[:] = [j for j in _jobs if not j.done()]
        _jobs.append(job)
    return job


def inline(db: Path, study: str) -> Job:
    """``start``'s job run in this process, to its end, before it returns (a ``launch`` for
    ``RunWriter`` that writes each snapshot as of the check that made it due, the run
    waiting meanwhile: tests, or a caller that wants that). Never raises: a failure is
    logged and the job's status is 1."""
    code = 0
    try:
        run(db, study)
    except Exception:
        log.exception("could not write the dashboard snapshot of %s in %s", study, db)
        code = 1
    return Job(_Ended(code), [sys.executable, "-m", __name__, str(db.absolute()), study])


class _Ended:
    """The process of a job run by ``inline``: already ended, with ``returncode``."""

    def __init__(self, returncode: int) -> None:
        self.returncode = returncode

    def poll(self) -> int:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        return self.returncode

    def terminate(self) -> None:
        pass


def wait_all(timeout: float | None = None) -> bool:
    """Wait up to ``timeout`` seconds in all (``None``: as long as it takes) for every job
    this process started; True if none is running any more."""
    import time

    deadline = None if timeout is None else time.monotonic() + timeout
    with _jobs_lock:
        jobs = list(_jobs)
    for job in jobs:
        left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        if not job.wait(left):
            return False
    return True


# --- the job's side ----------------------------------------------------------------------------
def build(db: Path, study: str, upto: int | None = None) -> Snapshot:
    """``study`` of the journal ``db`` replayed read-only, as the dashboard replays it
    (``Catalog.snapshot``), to the journal's end or, given ``upto``, to its first ``upto``
    records (and the rest of their last turn: a live run's journal grows meanwhile, and a
    job that chased it would read it for as long as the run outpaced it); ready for
    ``rung.dashboard.snapshot.write``, its pages those of a study no driver runs."""
    from rung.dashboard.data import Catalog

    class Prefix(Catalog):
        def _step(self, snap: Snapshot) -> bool:
            return super()._step(snap) and (upto is None or snap.fold.n_records < upto)

    snap = Prefix(db, only=study, snapshots=False).snapshot(study, wait=math.inf)
    snap.live = False
    snap.total = snap.fold.n_records
    snap.fold.drop_results()  # no page reads them: not kept while the pages are written
    return snap


def run(db: Path, study: str) -> bool:
    """Write the snapshot of ``study`` beside the journal ``db``, of the records it holds now
    (``build``, then ``rung.dashboard.snapshot.write``); False if nothing was written (the
    snapshot there covers as many records, or the journal no longer holds those replayed)."""
    from rung.storage import SQLiteJournal

    path = view_path(db, study)
    _sweep(path)
    with SQLiteJournal(db, readonly=True) as journal:
        upto = journal.count(study)
    snap = build(db, study, upto)
    head = header(path, db, study, quiet=True)
    if head is not None and int(head["n_records"]) >= snap.fold.n_records:
        return False
    return write(path, snap)


def _sweep(path: Path) -> None:
    """Remove temporary files of ``path`` left by a job killed outright (``snapshot.save``
    names them ``.<name>.<8 characters>.tmp``)."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[A-Za-z0-9_]{{8}}\.tmp")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if pattern.fullmatch(name):
            with contextlib.suppress(OSError):
                (path.parent / name).unlink()


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through ``snapshot.save``: its temporary goes


def main(argv: list[str] | None = None) -> int:
    """The job (see the module docstring); its exit status."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m rung.dashboard.snapshot_job DB STUDY", file=sys.stderr)
        return 2
    with contextlib.suppress(OSError):
        os.nice(NICE)
    signal.signal(signal.SIGTERM, _terminated)
    logging.basicConfig(level=logging.WARNING, format="rung snapshot job: %(message)s")
    db, study = Path(args[0]), args[1]
    try:
        run(db, study)
    except Exception:
        log.exception("could not write the dashboard snapshot of %s in %s", study, db)
        return 1
    return 0


__all__ = ["NICE", "Job", "build", "inline", "main", "run", "start", "wait_all"]


if __name__ == "__main__":
    sys.exit(main())
