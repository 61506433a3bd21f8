"""What an objective gets: ``TrialContext``, its channel to the driver and its checkpoints.

``TrialContext`` speaks the wire protocol (``rung.executors.protocol``) over a ``Channel``
(anything with ``send``, ``recv`` and a non-blocking ``poll``), so the same object serves behind
a local process pipe, a Ray actor or a test double; it raises ``WorkerExit`` when the driver is
gone. What ``report`` is given is checked and made plain by ``rung.executors.report_input``.
The loop that runs objectives with it is ``rung.executors.worker``, which exports everything
here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rung._steps import step_back
from rung.core.peer_names import CONTEXT, missing
from rung.errors import ConfigError, PauseTrial, StopTrial
from rung.executors.atomic_dir import fsync_dir, replace_dir
from rung.executors.protocol import (
    A_CONTINUE,
    A_PAUSE,
    PARAMS,
    REPLY,
    RESULT,
    SAVED,
    Message,
    extended_lease,
    waits_for_reply,
)
from rung.executors.report_input import (
    _as_step,
    _not_a_save,
    _step_out_of_range,
    needs_plain,
    plain_metrics,
    refused_metric,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from rung.space.fidelity import Fidelity, Number

log = logging.getLogger("rung.runtime")

SaveFn = Callable[[str], Any]


class WorkerExit(BaseException):  # control flow, like SystemExit
    """The driver is gone or asked the worker to exit: unwind the objective and the worker
    loop without reporting anything (the driver ends the trial itself)."""


class Channel(Protocol):
    """The worker's end of the transport to the driver.

    ``send`` must not block for long (messages are small); ``recv`` blocks until a message
    arrives and raises ``EOFError`` when the driver is gone; ``poll`` answers without blocking
    whether ``recv`` would return at once.
    """

    def send(self, msg: Any) -> None: ...

    def recv(self) -> Any: ...

    def poll(self) -> bool: ...


# --- checkpoints ---------------------------------------------------------------------------
def dir_size(path: str | os.PathLike[str]) -> int:
    """Bytes of all files under ``path`` (apparent sizes, symlinks not followed)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):  # vanished while we walked: takes no space
                total += os.lstat(os.path.join(root, f)).st_size
    return total


# --- the context -----------------------------------------------------------------------------
class TrialContext:
    """What an objective gets: the trial's configuration and the channel back to the scheduler.

    Attributes:
        params: the configuration (a mapping of parameter name to value).
        trial_id: the trial's id in the study.
        start_step: the first step to run: 1 for a fresh trial, ``checkpoint step + 1`` when
            resuming (after a pause or an interruption) or forking from a checkpoint.
        max_step: the last step (the study's ``max_step``).
        checkpoint: absolute path of the directory to restore from, or ``None`` (start from
            scratch). It is the directory an earlier ``save`` callback filled.
        fidelity: in a study with a ``rung.Fidelity``, the user's value (samples, data
            fraction...) of the next rung this run reaches (``None`` without one). A trial
            resumed without a checkpoint starts at that rung: ``start_step`` is its step.

    ``report`` is the one method that talks to the scheduler. Typical use::

        def train(ctx: rung.TrialContext) -> None:
            model = build(ctx.params)
            if ctx.checkpoint is not None:
                model.load(ctx.checkpoint)
            for step in range(ctx.start_step, ctx.max_step + 1):
                ctx.report(step, val_loss=fit_one_epoch(model), save=model.save)

    Metrics are recorded exactly as given: a NaN, an infinity or a missing objective metric is
    kept in the trial's results, and ``Objective.score`` scores it as the worst possible
    (``inf``), so a diverged trial is never preferred (and is the first to be stopped at a
    rung). The objective may also return a mapping of metrics: it is recorded as a final result
    at the last reported step (at ``max_step`` if it reported nothing), which is how a
    single-fidelity objective reports.

    Not thread-safe: call ``report`` from the thread running the objective.
    """

    __slots__ = (
        "_decided",
        "_every",
        "_fidelity",
        "_last_metrics",
        "_last_step",
        "_objectives",
        "_pending",
        "_poll",
        "_position",
        "_recv",
        "_root",
        "_send",
        "_token",
        "_until",
        "_want_ckpt",
        "_warned",
        "checkpoint",
        "max_step",
        "params",
        "start_step",
        "trial_id",
    )

    def __init__(
        self,
        channel: Channel,
        token: int,
        trial_id: int,
        params: Mapping[str, Any],
        start_step: int,
        until_step: int,
        max_step: int,
        checkpoint_root: Path | None,
        checkpoint: str | None = None,
        checkpoint_every: int | None = None,
    ) -> None:
        self.params = params
        self.trial_id = trial_id
        self.start_step = start_step
        self.max_step = max_step
        self.checkpoint: str | None = None
        if checkpoint is not None:
            self.checkpoint = (
                str(checkpoint_root / checkpoint) if checkpoint_root is not None else checkpoint
            )
        # bound methods cached: report() is the hot path of every trial
        self._send = channel.send
        self._recv = channel.recv
        self._poll = channel.poll
        self._token = token
        self._until = until_step
        self._root = checkpoint_root
        self._every = checkpoint_every
        self._pending: tuple[int, str] | None = None  # a STOP / PAUSE to honour: (code, reason)
        self._decided = False  # the unwinding signal came from a scheduler decision
        self._want_ckpt = False  # the scheduler asked for a checkpoint not yet saved
        self._last_step = 0  # 0: nothing reported in this run
        self._last_metrics: dict[str, Any] = {}  # what it reported at ``_last_step``
        # the engine's position of this run, which steps are checked against: the step it
        # resumed after (a checkpoint's), 0 for a run from scratch (also a restart at a
        # fidelity's rung without a checkpoint); then the step it reported last
        self._position = start_step - 1 if checkpoint is not None else 0
        self._warned = False
        self._fidelity: Fidelity | None = None  # set by rung.dbr.objective.WithFidelity
        # the study's objective metrics, whose values report() refuses unless real numbers
        # (set by rung.dbr.objective's wrappers; empty: the driver alone judges them)
        self._objectives: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (f"TrialContext(trial_id={self.trial_id}, params={dict(self.params)!r}, "
                f"start_step={self.start_step}, max_step={self.max_step}, "
                f"checkpoint={self.checkpoint!r})")

    if not TYPE_CHECKING:  # (mypy would take any attribute name for one of a context's)

        def __getattr__(self, name: str) -> Any:
            # only for a missing attribute (never on report's path): Ray Tune's and Optuna's
            # names say what to write (rung.core.peer_names)
            return missing(self, name, CONTEXT)

    @property
    def last_step(self) -> int:
        """The step this run reported last; before its first report, the step it resumed
        after (``start_step - 1`` for a run restored from a checkpoint; 0 for a run from
        scratch). A report below it is refused; the same step again is allowed."""
        return self._position

    @property
    def has_reported(self) -> bool:
        """Whether this run has reported a result (``last_step`` is then its own report's
        step, not the step it resumed after)."""
        return self._last_step != 0

    # --- fidelity (a study with a rung.Fidelity) ---------------------------------------------
    @property
    def fidelity(self) -> Number | None:
        """The user's value of the next rung this run reaches: the first ladder step at or
        above ``start_step`` (after a report: above the last step reported). ``None`` in a
        study without a ``Fidelity``; past the last rung, the value at ``max_step``."""
        f = self._fidelity
        if f is None:
            return None
        step = f.next_step(max(self.start_step, self._position + 1) - 1)
        return f.value(step if step is not None else self.max_step)

    def fidelity_at(self, step: int) -> Number:
        """The user's value at ``step``; raises ``RuntimeError`` without a ``Fidelity``."""
        if self._fidelity is None:
            raise RuntimeError("this study has no rung.Fidelity (Study.create(fidelity=...))")
        return self._fidelity.value(step)

    def fidelities(self) -> Iterator[tuple[int, Number]]:
        """``(step, value)`` of every rung from ``start_step`` to ``max_step``: what a
        stateless objective loops over, training from scratch at each value::

            for step, n_samples in ctx.fidelities():
                ctx.report(step, loss=fit(ctx.params, n_samples))
        """
        if self._fidelity is None:
            raise RuntimeError("this study has no rung.Fidelity (Study.create(fidelity=...))")
        return self._fidelity.ladder(self.start_step)

    def _send_params(self, params: Mapping[str, Any], declared: Mapping[str, Any]) -> None:
        """Tell the driver which params a define-by-run trial used (``rung.dbr``)."""
        try:
            self._send((PARAMS, self.trial_id, dict(params), dict(declared), time.time()))
        except OSError:
            raise WorkerExit("the driver is gone") from None

    def report(self, step: int, save: SaveFn | None = None, **metrics: Any) -> None:
        """Report the metrics at ``step`` and apply the scheduler's decision.

        Below the trial's lease the result is sent and ``report`` returns at once (no round
        trip); at the lease step it waits for the decision. A decision that arrives
        asynchronously is applied at the next ``report``.

        Args:
            step: the fidelity step just finished (epoch, round, ...): an integer from 1 to
                ``max_step``.
            save: ``save(directory)`` writes the trial's state into ``directory`` (which exists
                and is empty). It is called when the scheduler asks for a checkpoint, before
                a pause, and every ``checkpoint_every`` steps (and at ``max_step``) if the
                executor was given that option. Without it, the trial cannot be checkpointed.
            **metrics: the values to record (the objective's metric among them).

        Raises:
            StopTrial: the scheduler stopped the trial; let it propagate.
            PauseTrial: the scheduler paused the trial (its checkpoint is saved); let it
                propagate. Both derive from ``BaseException``, so ``except Exception`` in
                training code does not swallow them.
            TypeError: ``step`` is not an integer, or ``save`` is not callable (metrics given
                as a dict, ``ctx.report(1, {"loss": 0.5})``, say so: they are keywords).
            ConfigError: an objective's metric is not a real number (a ``bool``, a string,
                ``Decimal``, ``complex``, an array of one element...: the rule a returned
                value and ``Study.tell`` follow, ``rung.core.metric_value.is_real``), naming
                the metric and the value's type (key ``report``); nothing is recorded (the
                trial then fails with this error, unless the objective catches it). NaN, inf
                and an int too large for a float are numbers: the objective's ``nan`` policy
                judges them in the driver.
            ValueError: ``step`` is below 1, above ``max_step`` or below ``last_step`` (the
                step this run reported last or, before its first report, the step it resumed
                after: a run restored from a checkpoint at step 5 starts at 6 and may not
                report 3; the same step again is allowed: the later result replaces the
                earlier); nothing is recorded (the trial then fails with this error, unless
                the objective catches it).
        """
        if type(step) is not int:
            step = _as_step(step)
        if not 0 < step <= self.max_step:
            raise ValueError(_step_out_of_range(step, self.max_step))
        back = step_back(step, self._position, resumed=not self.has_reported)
        if back is not None:
            raise ValueError(back)
        if save is not None and not callable(save):
            raise TypeError(_not_a_save(save))
        if self._objectives:
            refused = refused_metric(self._objectives, metrics)
            if refused is not None:
                raise ConfigError(key="report", message=refused)
        if needs_plain(metrics):
            metrics = plain_metrics(metrics)
        try:
            self._send((RESULT, self.trial_id, step, metrics, time.time()))
        except OSError:
            raise WorkerExit("the driver is gone") from None
        self._last_step = self._position = step
        self._last_metrics = metrics  # (a fresh dict: the keywords)
        if self._pending is None:
            apply, recv, poll = self._apply, self._recv, self._poll
            try:
                while poll():
                    apply(recv())
                # at the lease: wait for the decision on this step (or a STOP / PAUSE decided
                # on an earlier one, after which the engine sends nothing more)
                while self._pending is None and waits_for_reply(step, self._until, self.max_step):
                    apply(recv())
            except (EOFError, OSError):
                raise WorkerExit("the driver is gone") from None
        if self._pending is not None:
            self._honour(step, save)
        if save is not None:
            every = self._every
            if self._want_ckpt or (every is not None and (step % every == 0
                                                           or step == self.max_step)):
                self._save(step, save)
        elif self._want_ckpt and not self._warned:
            self._warned = True
            log.warning("trial %d: the scheduler asked for a checkpoint but report() was given "
                        "no save callback", self.trial_id)

    # --- internals ----------------------------------------------------------------------------
    def _apply(self, msg: Message | None) -> None:
        """Apply one message from the driver while the trial runs."""
        if msg is None:
            raise WorkerExit("the driver asked the worker to exit")
        if msg[0] != REPLY or msg[1] != self._token:
            return  # a stale reply for an earlier run: never applied to this one
        _, _, _, rstep, code, until, ckpt, reason = msg
        if code != A_CONTINUE:
            if self._pending is None:
                self._pending = (code, reason)
            return
        if ckpt:
            self._want_ckpt = True
        self._until = extended_lease(self._until, rstep, until, self.max_step)

    def _honour(self, step: int, save: SaveFn | None) -> None:
        assert self._pending is not None
        code, reason = self._pending
        self._decided = True
        if code == A_PAUSE:
            if save is not None:
                self._save(step, save)
            elif self._fidelity is None:  # with one, it restarts at its next rung by design
                log.warning("trial %d paused at step %d without a save callback: if "
                            "resumed, it restarts from its last checkpoint, or from scratch",
                            self.trial_id, step)
            raise PauseTrial(reason)
        raise StopTrial(reason)

    def _save(self, step: int, save: SaveFn) -> None:
        self._want_ckpt = False
        root = self._root
        if root is None:
            log.warning("trial %d: no checkpoint directory, checkpoint skipped", self.trial_id)
            return
        tdir = root / str(self.trial_id)
        final = tdir / str(step)
        # write into a private temporary directory, then swap it in (rung.executors.atomic_dir):
        # a worker killed mid-save leaves garbage, never a half-written checkpoint under a
        # journaled path, nor (re-reaching a step after a restart from an older checkpoint)
        # no checkpoint there
        tmp = tdir / f".tmp-{step}-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        new_trial = not tdir.exists()
        tmp.mkdir(parents=True)
        try:
            save(str(tmp))
            size = dir_size(tmp)
            replace_dir(tmp, final)
            if new_trial:
                fsync_dir(root)  # the trial's directory is a new entry of the root
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        try:
            self._send((SAVED, self.trial_id, step, f"{self.trial_id}/{step}", time.time(), size))
        except OSError:
            raise WorkerExit("the driver is gone") from None


__all__ = ["Channel", "SaveFn", "TrialContext", "WorkerExit", "dir_size"]
