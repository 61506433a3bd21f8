"""PyTorch Lightning: report every training epoch to rung, stop or pause ``Trainer.fit``.

``pip install 'rung[lightning]'``. Typical objective::

    from rung.integrations import lightning as rpl

    def objective(ctx: rung.TrialContext) -> None:
        model = MyModule(lr=ctx.params["lr"])
        trainer = lightning.pytorch.Trainer(max_epochs=ctx.max_step,
                                            callbacks=[rpl.LightningCallback(ctx)])
        rpl.fit(ctx, trainer, model, train_loader, val_loader)

**Steps.** Step ``k`` is the end of training epoch ``k`` (``trainer.current_epoch + 1``);
``max_epochs`` should be the study's ``max_step``. With ``check_val_every_n_epoch=n > 1`` (and
a validation loop) a step is one validation: step ``k`` is the end of epoch ``k * n``, the
epochs in between are not reported, and ``max_epochs`` should be ``max_step * n``.

**Metrics.** Every scalar of ``trainer.callback_metrics`` at the end of the epoch (what the
module logged with ``self.log``, validation metrics included: Lightning validates before
``on_train_epoch_end``), the values Lightning hands its loggers.

**Stop and pause.** When the scheduler stops or pauses the trial, the callback sets
``trainer.should_stop`` and clears the fit loop's ``min_epochs`` and ``min_steps`` (Lightning
would otherwise train on, unreported, until they are met), so the epoch loop ends at once,
and re-raises ``StopTrial`` / ``PauseTrial`` from ``on_train_end`` (``fit`` must not return as
if the trial completed). Like any exception inside ``fit``, Lightning then runs its
``on_exception`` hooks and finalizes the loggers with status ``"failed"`` before the exception
leaves ``fit`` (an ``MLFlowLogger`` run of a stopped trial ends ``FAILED``).
``rung.integrations.lightning.fit(ctx, trainer, model, ...)`` avoids that: it raises the
decision after ``Trainer.fit`` has returned, so training ends as Lightning's own early stopping
ends it (``on_train_end`` and ``teardown`` hooks run, loggers finalize ``"success"``). For a
pause, ``report`` first saves a full Lightning checkpoint (``model.ckpt``: weights, optimizer
and scheduler states, loop counters, the callbacks' states) through ``trainer.save_checkpoint``;
``fit(..., ckpt_path=resume_checkpoint(ctx))`` continues from the next epoch. The checkpoint
holds no random-number state: with a shuffling ``DataLoader`` the resumed epochs draw other
batches than uninterrupted training would (a sampler seeded by the epoch keeps them: one with
``set_epoch``, which Lightning calls at each epoch).

**Forks.** A trial that starts from another trial's checkpoint (``rung.PBT``) keeps its weights,
the optimizers' state (moments, step counts), the schedulers' progress and the loop counters,
and takes each optimizer's hyperparameters (every value of each parameter group
``configure_optimizers`` built from the fork's own params: ``lr``, ``betas``,
``weight_decay``...) from its own ``configure_optimizers``; with a scheduler, the learning rate is
the fork's initial one at the donor's point of the schedule, and the scheduler's ``base_lrs``
the fork's (``rung.integrations._forks``).
"""

from __future__ import annotations

import os
from typing import Any

from rung.integrations._forks import donor, keep_own_hyperparameters, mark, rebase_schedulers
from rung.integrations._framework import (
    HeldDecision,
    Reports,
    check_reported,
    check_start,
    require,
    saved_file,
    scalars,
)

pl: Any = require("lightning.pytorch", "lightning", "rung.integrations.lightning")

#: The file a checkpoint holds (a Lightning checkpoint).
CHECKPOINT_FILE = "model.ckpt"

_NO_METRIC_HINT = ("log the objective's metric with self.log(...) in the LightningModule's "
                   "validation_step or training_step")

_RESUME_HINT = ("pass ckpt_path=rung.integrations.lightning.resume_checkpoint(ctx) to "
                "Trainer.fit")


class LightningCallback(pl.Callback):  # type: ignore[misc]
    """A Lightning callback that reports each training epoch's metrics to a rung trial.

    Args:
        ctx: the trial's ``rung.TrialContext``.
        checkpoints: give ``report`` a ``save`` callback (``trainer.save_checkpoint``), so the
            trial can be paused and resumed (``False``: a paused trial restarts from scratch).

    Raises (from ``Trainer.fit``):
        StopTrial, PauseTrial: the scheduler's decision, once the epoch loop has ended.
        ConfigError: the trial resumes at step ``s`` but ``fit`` starts at another epoch.
    """

    def __init__(self, ctx: Reports, checkpoints: bool = True) -> None:
        super().__init__()
        self.ctx = ctx
        self.checkpoints = checkpoints
        self._decision = HeldDecision()
        self._after_fit = False  # rung.integrations.lightning.fit raises the decision itself
        self._epochs = 1  # epochs per step (check_val_every_n_epoch when Lightning validates)
        self._hooks: list[Any] = []  # a fork's optimizer load hooks, until the checkpoint loads

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        # the optimizers are built and the checkpoint's states not loaded yet: a fork's
        # optimizers keep their own hyperparameters when the donor's state is loaded into them
        if donor(self.ctx) is not None:
            self._hooks = [keep_own_hyperparameters(opt) for opt in trainer.optimizers]

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        forked = bool(self._hooks)
        for hook in self._hooks:
            hook.remove()
        self._hooks = []
        self._epochs = _epochs_per_step(trainer)
        check_start(self.ctx, int(trainer.current_epoch), self._epochs, "epochs", _RESUME_HINT)
        if forked:
            rebase_schedulers(config.scheduler for config in trainer.lr_scheduler_configs)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if self._decision.held is not None:  # training went on after the decision
            if not self._after_fit:
                self._decision.raise_held()  # stop now
            _end(trainer)  # (fit: unreported)
            return
        epochs = int(trainer.current_epoch) + 1
        if epochs % self._epochs:
            return  # Lightning did not validate: not a step
        step = epochs // self._epochs

        def save(directory: str) -> None:
            trainer.save_checkpoint(os.path.join(directory, CHECKPOINT_FILE))
            mark(directory, self.ctx)

        if step > self.ctx.max_step:  # past the end (max_epochs above it, or min_epochs)
            _end(trainer)
            return
        metrics = scalars(trainer.callback_metrics)
        check_reported(metrics, step, "callback_metrics", _NO_METRIC_HINT)
        if self._decision.report(self.ctx, step, save if self.checkpoints else None,
                                 metrics) or step == self.ctx.max_step:
            _end(trainer)  # ended by the scheduler, or at the study's max_step

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        if not self._after_fit:
            self._decision.raise_held()


def _epochs_per_step(trainer: Any) -> int:
    """``check_val_every_n_epoch`` when Lightning validates every few epochs (a step is then one
    validation), else 1."""
    every = getattr(trainer, "check_val_every_n_epoch", None)
    if isinstance(every, int) and every > 1 and trainer.enable_validation:
        return every
    return 1


def _end(trainer: Any) -> None:
    """End the epoch loop after this epoch: ``should_stop``, and no ``min_epochs`` /
    ``min_steps`` left to hold it (Lightning would train on, unreported, until they are met)."""
    trainer.should_stop = True
    trainer.fit_loop.min_epochs = None
    trainer.fit_loop.epoch_loop.min_steps = None


def fit(ctx: Reports, trainer: Any, model: Any, *args: Any, **kwargs: Any) -> None:
    """``trainer.fit(model, *args, ckpt_path=resume_checkpoint(ctx), **kwargs)`` for a rung
    trial, the scheduler's stop or pause raised once ``fit`` has returned.

    ``trainer``'s ``LightningCallback`` reports each epoch (one is added when its callbacks
    have none). Raising after ``fit`` lets Lightning end training as its own early stopping
    does: the loggers finalize ``"success"`` (from within ``fit`` they finalize ``"failed"``,
    and an ``MLFlowLogger`` run of every stopped trial ends ``FAILED``).

    Raises:
        StopTrial, PauseTrial: the scheduler's decision, after ``fit`` returned.
        ConfigError: ``ckpt_path`` was passed (this function sets it), or the trainer has
            two ``LightningCallback``s (key ``callbacks``).
    """
    from rung.errors import ConfigError

    if "ckpt_path" in kwargs:
        raise ConfigError(key="ckpt_path", message=(
            "is set by rung.integrations.lightning.fit from the trial's checkpoint"))
    ours = [cb for cb in trainer.callbacks if isinstance(cb, LightningCallback)]
    if len(ours) > 1:
        raise ConfigError(key="callbacks", message=(
            f"the trainer has {len(ours)} LightningCallbacks: each would report every epoch"))
    if not ours:
        ours = [LightningCallback(ctx)]
        trainer.callbacks.append(ours[0])
    cb = ours[0]
    cb._after_fit = True
    try:
        trainer.fit(model, *args, ckpt_path=resume_checkpoint(ctx), **kwargs)
    finally:
        cb._after_fit = False
    cb._decision.raise_held()


def resume_checkpoint(ctx: Reports) -> str | None:
    """The Lightning checkpoint to continue from (``Trainer.fit(ckpt_path=...)``), or ``None``
    for a fresh trial."""
    return saved_file(ctx, CHECKPOINT_FILE)


__all__ = ["CHECKPOINT_FILE", "LightningCallback", "fit", "resume_checkpoint"]
