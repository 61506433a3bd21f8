"""A worker process asked to terminate while its trial runs (Ray's SIGTERM handler raises
``SystemExit`` when a node leaves the cluster) does not report the trial failed: the
``SystemExit`` ends the process, and its driver, seeing the worker die, ends the trial
interrupted (resumed elsewhere). Before, a loaded machine let the worker report "failed after
step 2: SystemExit: 1" first (a slow Ray cluster test caught it). An objective's own
``sys.exit`` is still its failure."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from rung.executors import worker
    from rung.executors.protocol import ENDED, LAUNCH

    def ray_like(signum, frame):  # what Ray's worker does on SIGTERM
        sys.exit(1)

    signal.signal(signal.SIGTERM, ray_like)
    worker.install_termination_flag()
    sent = []

    class Chan:
        def send(self, msg): sent.append(msg[0])
        def recv(self): raise EOFError
        def poll(self, timeout=0.0): return False

    def objective(ctx):
        if sys.argv[1] == "term":
            os.kill(os.getpid(), signal.SIGTERM)
        sys.exit(3)

    msg = (LAUNCH, 0, 0, {}, 1, 1, 1, None)
    try:
        worker.run_trial(objective, msg, Chan(), None)
    except SystemExit as e:
        print("exit", e.code, ENDED in sent)
    else:
        print("ended", ENDED in sent)
""")


def run(mode: str) -> str:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_sigterm_ends_the_process_without_reporting_the_trial() -> None:
    assert run("term") == "exit 1 False"


def test_the_objectives_own_sys_exit_is_still_its_failure() -> None:
    assert run("own") == "ended True"
