"""A second Ctrl-C while the local executor shuts down (it gives workers a grace period to
exit) cuts the wait short but still leaves no worker behind, even one that ignores SIGTERM."""

from __future__ import annotations

import multiprocessing.connection
import time
from pathlib import Path
from typing import Any

import pytest
import trust_objectives

from _procs import alive
from rung.core.events import Event, Launch, ResultReported
from rung.executors.base import RunContext
from rung.executors.local import LocalExecutor


def test_ctrl_c_during_shutdown_still_stops_every_worker(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    ex = LocalExecutor(trust_objectives.deaf, n_workers=1, start_method="spawn")
    ex.start(RunContext("s", None, 3))  # a temporary checkpoint directory
    root = ex._root
    assert root is not None and root.exists()
    ex.submit([Launch(0, {"x": 0.5}, 1, 3, 3)])
    got: list[Event] = []
    deadline = time.monotonic() + 30
    while not any(isinstance(e, ResultReported) for e in got) and time.monotonic() < deadline:
        got += ex.poll(0.5)
    assert any(isinstance(e, ResultReported) for e in got)  # it ignores SIGTERM from now on
    (pid,) = ex.worker_pids
    wait = multiprocessing.connection.wait
    calls: list[Any] = []

    def second_ctrl_c(*args: Any) -> Any:  # Ctrl-C during the grace period
        calls.append(args)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return wait(*args)

    monkeypatch.setattr(multiprocessing.connection, "wait", second_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        ex.shutdown()
    assert calls[0][1] > 1.0  # the grace period's wait (2 s) was cut short
    assert not alive(pid)
    assert not root.exists()  # the temporary checkpoint directory is removed
    assert ex._processes == [] and ex.idle
