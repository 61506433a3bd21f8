"""The worker side: the loop that runs objectives, one ``TrialContext`` per trial.

``worker_loop`` serves ``LAUNCH`` messages of the wire protocol (``rung.executors.protocol``)
over a ``Channel``, so the same code runs behind a local process pipe, a Ray actor or a test
double; ``run_trial`` runs one objective and reports how it ended. ``TrialContext``, ``Channel``,
``WorkerExit``, ``SaveFn`` and ``dir_size`` are defined in ``rung.executors._worker_context``
and exported here, their public home.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rung.core.records import Outcome
from rung.errors import PauseTrial, StopTrial, TrialInterrupt
from rung.executors._worker_context import (
    Channel,
    SaveFn,
    TrialContext,
    WorkerExit,
    dir_size,
)
from rung.executors.output_prefix import end_trial, set_trial
from rung.executors.protocol import A_PAUSE, ENDED, LAUNCH, RESULT, Message
from rung.executors.report_input import plain_metrics

log = logging.getLogger("rung.runtime")


#: set once the worker process is asked to terminate (``install_termination_flag``): a
#: ``SystemExit`` the objective meets then is the process being stopped (Ray's SIGTERM handler
#: raises one when a node leaves), not the objective's doing, so ``run_trial`` lets it end the
#: process without reporting the trial failed: its driver sees the worker die (interrupted)
TERMINATING = threading.Event()


def install_termination_flag() -> None:
    """In the main thread: a SIGTERM sets ``TERMINATING``, then gets the handling the process
    had (Ray's, which raises ``SystemExit``; the default, which ends the process)."""
    if threading.current_thread() is not threading.main_thread():
        return
    before = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:
        TERMINATING.set()
        if callable(before):
            before(signum, frame)
        elif before != signal.SIG_IGN:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)


def run_trial(
    objective: Callable[[TrialContext], Any],
    msg: Message,
    channel: Channel,
    checkpoint_root: Path | None,
    checkpoint_every: int | None = None,
) -> str:
    """Run one trial from its ``LAUNCH`` message and send everything it produces, ending with
    exactly one ``ENDED`` message. Returns the outcome value.

    Contract: never raises for anything the objective does. ``StopTrial`` -> stopped,
    ``PauseTrial`` -> paused, any other exception (even ``SystemExit``) -> failed with the
    traceback as the error; a normal return -> completed (a returned mapping is recorded as a
    final result first: ``final_result``), unless the objective swallowed the ``StopTrial`` /
    ``PauseTrial`` a scheduler's decision raised in ``report``: then stopped / paused as
    decided (warned).
    Only ``WorkerExit`` (the driver is gone or wants the worker to exit) and errors of the
    channel itself propagate.
    """
    _, token, tid, params, start, until, max_step, ckpt = msg
    ctx = TrialContext(channel, token, tid, params, start, until, max_step, checkpoint_root,
                       ckpt, checkpoint_every)
    error: str | None = None
    try:
        ret = objective(ctx)
    except WorkerExit:
        raise
    except StopTrial as e:
        outcome = Outcome.STOPPED.value
        error = None if ctx._decided else (e.reason or None)
    except PauseTrial as e:
        outcome = Outcome.PAUSED.value
        error = None if ctx._decided else (e.reason or None)
    except TrialInterrupt as e:  # an unknown subclass: treat like a stop
        outcome = Outcome.STOPPED.value
        error = e.reason or None
    except BaseException as e:  # a failing trial must not take the search down
        if isinstance(e, SystemExit) and TERMINATING.is_set():
            raise  # the process is being stopped: the driver sees the worker die
        outcome = Outcome.FAILED.value
        error = traceback.format_exc()
    else:
        outcome = Outcome.COMPLETED.value
        if ctx._decided and ctx._pending is not None:
            # it caught what report() raised (except BaseException, a return in finally):
            # the scheduler's decision still ends the run, not a completion
            paused = ctx._pending[0] == A_PAUSE
            outcome = (Outcome.PAUSED if paused else Outcome.STOPPED).value
            log.warning("trial %d: the objective returned after report() raised %s (the "
                        "scheduler's decision): the trial ends %s; let StopTrial and "
                        "PauseTrial propagate", tid, "PauseTrial" if paused else "StopTrial",
                        outcome)
        if isinstance(ret, Mapping):
            final = final_result(ctx, ret)
            if final is not None:
                channel.send((RESULT, tid, ctx._last_step or max_step, final, time.time()))
        elif ret is not None:
            log.warning("trial %d: objective returned %s, not a mapping of metrics: ignored",
                        tid, type(ret).__name__)
    channel.send((ENDED, tid, outcome, time.time(), error))
    return outcome


def final_result(ctx: TrialContext, ret: Mapping[str, Any]) -> dict[str, Any] | None:
    """The final result a returned mapping ``ret`` records at the run's last reported step
    (``max_step`` when it reported none): the metrics reported there with ``ret``'s added or
    replacing them (a test score returned after a loop that reported the loss keeps the loss),
    or ``None`` when that changes nothing (``return {"loss": last}`` after reporting it: the
    result is not recorded twice)."""
    final = plain_metrics(ret)
    if not ctx._last_step:
        return final
    merged = {**ctx._last_metrics, **final}
    return None if merged == ctx._last_metrics else merged


def worker_loop(
    channel: Channel,
    objective: Callable[[TrialContext], Any],
    checkpoint_root: Path | None,
    checkpoint_every: int | None = None,
) -> None:
    """Serve trials until the driver sends ``None`` or goes away (``EOFError``).

    Replies that arrive between trials are stale (their trial ended while they were on the
    wire) and are dropped.
    """
    recv = channel.recv
    try:
        while True:
            msg = recv()
            if msg is None:
                return
            if msg[0] == LAUNCH:
                set_trial(msg[2])  # its printed lines say so (a local worker's, if asked)
                try:
                    run_trial(objective, msg, channel, checkpoint_root, checkpoint_every)
                finally:
                    end_trial()
    except (EOFError, BrokenPipeError, ConnectionResetError, WorkerExit):
        return


__all__ = [
    "TERMINATING",
    "Channel",
    "SaveFn",
    "TrialContext",
    "WorkerExit",
    "dir_size",
    "install_termination_flag",
    "plain_metrics",
    "run_trial",
    "worker_loop",
]
