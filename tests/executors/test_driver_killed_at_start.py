"""A driver killed (SIGKILL, or SIGTERM's default action) while its spawn workers are still
starting leaves no traceback on the terminal and no worker behind.

A spawned worker's bootstrap (multiprocessing's, before any of rung's code runs) reads its
start-up data from a pipe the driver writes after starting it; a driver killed before that
write ended left the worker printing ``EOFError: Ran out of input`` (the data missing) or
``UnpicklingError: pickle data was truncated`` (cut short). ``rung.executors.spawn_start``
guards the bootstrap: a worker whose driver is gone exits silently (``EXIT_DRIVER_GONE``),
while an error with the driver alive surfaces as before.

The end-to-end cases make the kill land in each phase of a worker's start, deterministically:
an objective whose pickle outgrows the pipe's buffer and a script whose re-import in a worker
is slow keep the driver inside that write (the bootstrap phase); a module that is slow to
import in a worker holds it while it loads the objective. A small harness runs the driver as
a child subreaper (the killed driver's workers are handed to it, so their exit codes are
seen) and reports them; the driver's process tree shares one stderr file.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from rung.executors.spawn_start import (
    EXIT_DRIVER_GONE,
    GUARDED_VERSIONS,
    guarded_command,
    guarded_program,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="a child subreaper and /proc")

OBJECTIVE = """\
import multiprocessing, os, time

if os.environ.get("SLOW_IMPORT") and multiprocessing.parent_process() is not None:
    open(os.environ["IMPORT_MARK"], "w").close()
    time.sleep(1.5)  # a worker loading the objective (the driver imported it already)


class Train:
    \"\"\"A picklable objective carrying data: its pickle outgrows a pipe's buffer.\"\"\"

    def __init__(self, n):
        self.blob = b"x" * n

    def __call__(self, ctx):
        ctx.report(1, loss=float(ctx.params["x"]))
"""

DRIVER = """\
import os, sys, time
from rung.executors.spawn_guard import reimported

if reimported() and os.environ.get("SLOW_REIMPORT"):
    time.sleep(1.5)  # a worker re-importing this script while the driver writes its data
import rung

if __name__ == "__main__":
    import objective_module
    rung.run(objective_module.Train(int(os.environ["BLOB"])), {"x": rung.Float(0.0, 1.0)},
             searcher="random", scheduler="fifo", n_trials=10_000, n_workers=2,
             storage=sys.argv[1], progress=False)
"""

# runs the driver as a child subreaper's child; once a worker exists (and the mark file, if
# one is named), kills the driver and prints what every process of its tree exited with (JSON)
HARNESS = """\
import ctypes, json, os, signal, subprocess, sys, time

ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
script, storage, err_file, sig, after, mark = sys.argv[1:7]
with open(err_file, "w") as err:
    driver = subprocess.Popen([sys.executable, script, storage], stderr=err,
                              stdout=subprocess.DEVNULL, start_new_session=True)


def workers():
    try:
        with open(f"/proc/{driver.pid}/task/{driver.pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        return []
    out = []
    for k in kids:
        try:
            with open(f"/proc/{k}/cmdline", "rb") as f:
                if b"spawn_main" in f.read():
                    out.append(k)
        except OSError:
            pass
    return out


def started():
    return bool(workers()) and (not mark or os.path.exists(mark))


deadline = time.monotonic() + 60
while not started() and driver.poll() is None and time.monotonic() < deadline:
    time.sleep(0.005)
ready = started()
time.sleep(float(after))
os.kill(driver.pid, getattr(signal, sig))
codes = {}
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    try:
        pid, status = os.waitpid(-1, 0)  # the driver, then its orphans as they end
    except ChildProcessError:
        break
    codes[pid] = os.waitstatus_to_exitcode(status)
print(json.dumps({"started": ready, "driver": codes.pop(driver.pid, None),
                  "others": sorted(codes.values())}))
"""


def tagged(tag: str) -> list[int]:
    """Live processes whose environment carries ``tag`` (the driver's tree, wardens too)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if f"KILLED_AT_START={tag}".encode() in Path(f"/proc/{entry}/environ").read_bytes():
                    out.append(int(entry))
            except OSError:
                pass
    return out


def kill_while_starting(tmp_path: Path, sig: str, phase: str) -> tuple[dict[str, object], str]:
    """Start the driver, kill it with ``sig`` in ``phase`` of its workers' start; returns the
    harness's report and the stderr of the driver's tree."""
    (tmp_path / "objective_module.py").write_text(OBJECTIVE)
    (tmp_path / "driver.py").write_text(DRIVER)
    (tmp_path / "harness.py").write_text(HARNESS)
    tag = uuid.uuid4().hex
    mark = tmp_path / "importing"
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PYTHONUNBUFFERED": "1",
           "KILLED_AT_START": tag, "IMPORT_MARK": str(mark)}
    if phase == "bootstrap":  # the driver stays inside its write of the start-up data
        env.update(BLOB=str(1 << 20), SLOW_REIMPORT="1")
        wait_for = ""
    else:  # "objective import": the workers have their data, and load the objective slowly
        env.update(BLOB="10", SLOW_IMPORT="1")
        wait_for = str(mark)
    err = tmp_path / "stderr.txt"
    try:
        done = subprocess.run(
            [sys.executable, str(tmp_path / "harness.py"), str(tmp_path / "driver.py"),
             str(tmp_path / "s.db"), str(err), sig, "0.2", wait_for],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        left = tagged(tag)
    finally:
        for pid in tagged(tag):  # never leave a process behind, whatever the outcome
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    assert left == [], f"processes of the killed driver still running: {left}"
    return json.loads(done.stdout), err.read_text()


GUARDED = pytest.mark.skipif(sys.version_info[:2] not in GUARDED_VERSIONS,
                             reason="spawn's bootstrap is guarded on GUARDED_VERSIONS")


@pytest.mark.parametrize(("sig", "phase"), [
    pytest.param("SIGKILL", "bootstrap", marks=GUARDED),
    pytest.param("SIGTERM", "bootstrap", marks=GUARDED),
    ("SIGKILL", "objective import"),
])
def test_a_driver_killed_while_workers_start_leaves_no_traceback(
    tmp_path: Path, sig: str, phase: str
) -> None:
    report, err = kill_while_starting(tmp_path, sig, phase)
    assert report["started"], "no worker process was seen starting"
    assert report["driver"] == -(9 if sig == "SIGKILL" else 15)
    assert "Traceback" not in err, err
    assert "EOFError" not in err, err
    assert "Error" not in err, err
    others = report["others"]
    assert isinstance(others, list)
    if phase == "bootstrap":
        # the worker's bootstrap met the cut-short data: the guard, not luck, kept it quiet
        assert EXIT_DRIVER_GONE in others, others
    else:  # the workers followed their driver (the warden's SIGKILL)
        assert -9 in others, others


def run_guarded(program: str, driver: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", guarded_program(program, driver)],
                          capture_output=True, text=True, timeout=30)


def gone_pid() -> int:
    """The pid of a process that has exited (and is not this test's parent)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.mark.parametrize("error", ["EOFError('Ran out of input')", "ValueError('real')"])
def test_a_bootstrap_error_with_the_driver_alive_still_surfaces(error: str) -> None:
    # the test process is the guarded program's parent: its "driver", alive
    p = run_guarded(f"raise {error}", os.getpid())
    assert p.returncode == 1
    assert "Traceback" in p.stderr and error.split("(")[0] in p.stderr


@pytest.mark.parametrize("error", ["EOFError('Ran out of input')",
                                   "__import__('pickle').UnpicklingError('truncated')"])
def test_a_bootstrap_error_without_the_driver_is_silent(error: str) -> None:
    p = run_guarded(f"raise {error}", gone_pid())
    assert (p.returncode, p.stderr) == (EXIT_DRIVER_GONE, "")


def test_the_bootstrap_s_own_exit_passes_through() -> None:
    assert run_guarded("raise SystemExit(3)", gone_pid()).returncode == 3
    assert run_guarded("pass", os.getpid()).returncode == 0


def test_only_the_spawn_program_is_guarded() -> None:
    from multiprocessing import spawn

    cmd = spawn.get_command_line(tracker_fd=5, pipe_handle=7)
    guarded = guarded_command(cmd, 1234)
    assert guarded[:-2] == cmd[:-2] and guarded[-1] == cmd[-1] == "--multiprocessing-fork"
    assert cmd[-2] in guarded[-2] and "1234" in guarded[-2]
    frozen = ["/app/frozen", "--multiprocessing-fork", "tracker_fd=5", "pipe_handle=7"]
    assert guarded_command(frozen, 1234) == frozen
    with pytest.raises(ValueError):
        guarded_program("a\nb", 1)
    assert guarded_program("pass", 1).startswith("try:\n    pass\n")


@pytest.mark.parametrize("payload", ["pickle.dumps(len)", "b'not a pickle'"])
def test_a_worker_whose_driver_left_before_it_was_ready_returns_quietly(payload: str) -> None:
    # past the bootstrap: the driver's end of the pipe is closed when the worker reports
    # itself ready (or its objective's failure to load)
    script = textwrap.dedent(f"""
        import multiprocessing, pickle, tempfile
        from rung.executors.pipe import worker_main

        driver_end, worker_end = multiprocessing.Pipe()
        driver_end.close()
        worker_main(worker_end, {payload}, None, tempfile.gettempdir(), None, None)
        print("returned")
    """)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=60)
    assert (p.returncode, p.stdout, p.stderr) == (0, "returned\n", "")
