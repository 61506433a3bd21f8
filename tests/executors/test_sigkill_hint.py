"""A worker that dies of SIGKILL, which the driver did not send, is reported with a hint that
the kernel's out-of-memory killer sends that signal; other deaths are worded as before."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from _local_helpers import FAST, make_study

import rung
from rung.errors import RunFailed
from rung.executors.processes import OOM_HINT, _describe_exit


def killed(ctx: rung.TrialContext) -> None:
    """Reports step 1, then dies as the OOM killer would have it die."""
    ctx.report(1, loss=float(ctx.params["x"]))
    os.kill(os.getpid(), signal.SIGKILL)


def test_describe_exit_hints_at_the_oom_killer_for_sigkill_only() -> None:
    assert _describe_exit(-signal.SIGKILL) == (
        "killed by signal SIGKILL: out of memory? the kernel's OOM killer sends it")
    assert _describe_exit(-signal.SIGTERM) == "killed by signal SIGTERM"
    assert _describe_exit(-signal.SIGSEGV) == "killed by signal SIGSEGV"
    assert _describe_exit(3) == "exited with code 3"
    assert _describe_exit(None) == "still running, killed"


def test_a_sigkilled_workers_trial_names_the_oom_killer(tmp_path: Path) -> None:
    study = make_study(tmp_path, "oom", 1)
    with pytest.raises(RunFailed):  # its only trial failed
        study.run(killed, n_workers=1, start_method=FAST)
    (t,) = study.trials()
    assert t.status is rung.TrialStatus.FAILED  # interrupted, resumed, until too many
    assert t.error is not None
    assert f"died (killed by signal SIGKILL: {OOM_HINT}) while running trial {t.id}" in t.error
