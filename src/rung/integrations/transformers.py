"""Hugging Face ``Trainer``: report every evaluation to rung, stop or pause training.

``pip install 'rung[transformers]'`` (transformers, accelerate and the CPU build of PyTorch).
Typical objective::

    from rung.integrations import transformers as rhf

    def objective(ctx: rung.TrialContext) -> None:
        args = TrainingArguments(output_dir=..., eval_strategy="epoch", save_strategy="no",
                                 num_train_epochs=ctx.max_step, learning_rate=ctx.params["lr"])
        trainer = Trainer(model=build(), args=args, train_dataset=train, eval_dataset=valid,
                          callbacks=[rhf.TransformersCallback(ctx)])
        trainer.train(resume_from_checkpoint=rhf.resume_checkpoint(ctx))

**Steps.** With ``eval_strategy="epoch"`` step ``k`` is the evaluation after epoch ``k``
(``num_train_epochs`` should be the study's ``max_step``); with ``eval_strategy="steps"`` it is
the ``k``-th evaluation, at optimizer step ``k * eval_steps`` (``max_steps`` should be
``max_step * eval_steps``). Training without evaluation is refused. The evaluation
``eval_on_start=True`` runs before the first optimizer step (of the run: also when resuming) is
not a step and is not reported.

**Metrics.** Every scalar of the evaluation's metrics (``eval_loss``, ``eval_accuracy`` from
``compute_metrics``, ...), the values ``Trainer`` appends to ``trainer.state.log_history``.
Only the evaluations ``Trainer.train`` runs are reported: a ``trainer.evaluate(...)`` of the
objective's own after training (a test set, ``metric_key_prefix="test"``) is not a step. If the
objective returns those metrics (``return trainer.evaluate(test, metric_key_prefix="test")``),
rung records the returned mapping as the last step's result, in place of the metrics reported
there: return nothing, or include the objective's metric (``{**test_metrics, "eval_loss":
...}``).

**Stop and pause.** When the scheduler stops or pauses the trial, the callback sets
``control.should_training_stop`` so ``Trainer`` leaves its loop the usual way, and re-raises
``StopTrial`` / ``PauseTrial`` from ``on_train_end`` (``train`` must not return as if the trial
completed; add this callback after the others, which ``Trainer(callbacks=...)`` does, so they
see their ``on_train_end`` first). For a pause, ``report`` first writes a checkpoint in the
layout ``Trainer.train(resume_from_checkpoint=...)`` reads: the weights (``save_pretrained``,
or the state dict of a plain ``torch.nn.Module``), ``optimizer.pt``, ``scheduler.pt``,
``trainer_state.json`` and ``rng_state.pth``; ``resume_checkpoint(ctx)`` returns it.

**Forks.** A trial that starts from another trial's checkpoint (``rung.PBT``) keeps its weights,
the optimizer's state (moments, step counts) and the scheduler's progress (``global_step``), and
takes the optimizer's hyperparameters from its own ``TrainingArguments`` (every constructor
argument of the optimizer ``Trainer`` builds: ``learning_rate``, ``adam_beta1``...; the decay
group's ``weight_decay``) or, for an optimizer passed as ``Trainer(optimizers=(optimizer,
scheduler))``, from that optimizer's parameter groups. The learning rate is the fork's initial
one at the donor's point of the schedule, and the scheduler's ``base_lrs`` the fork's
(``rung.integrations._forks``).
"""

from __future__ import annotations

import os
import random
from typing import Any

from rung.errors import ConfigError
from rung.integrations._forks import (
    donor,
    keep_own_hyperparameters,
    mark,
    own_hyperparameters,
    rebase_schedulers,
)
from rung.integrations._framework import (
    HeldDecision,
    Reports,
    check_start,
    require,
    saved_file,
    scalars,
)

hf: Any = require("transformers", "transformers", "rung.integrations.transformers")
torch: Any = require("torch", "transformers", "rung.integrations.transformers")

_RESUME_HINT = ("pass resume_from_checkpoint=rung.integrations.transformers.resume_checkpoint(ctx)"
                " to Trainer.train")


def _strategy(args: Any) -> str:
    strategy = getattr(args, "eval_strategy", None) or getattr(args, "evaluation_strategy", "no")
    return str(getattr(strategy, "value", strategy))


def _eval_steps(args: Any, state: Any) -> int:
    steps = getattr(state, "eval_steps", None) or args.eval_steps or args.logging_steps
    return max(1, int(steps))


class TransformersCallback(hf.TrainerCallback):  # type: ignore[misc]
    """A ``TrainerCallback`` that reports each evaluation's metrics to a rung trial.

    Args:
        ctx: the trial's ``rung.TrialContext``.
        checkpoints: give ``report`` a ``save`` callback (a ``Trainer`` checkpoint), so the
            trial can be paused and resumed (``False``: a paused trial restarts from scratch).

    Raises (from ``Trainer.train``):
        StopTrial, PauseTrial: the scheduler's decision, once the training loop has ended.
        ConfigError: ``eval_strategy`` is ``"no"`` (key ``eval_strategy``), or the trial
            resumes at step ``s`` but training starts elsewhere (key ``checkpoint``).
    """

    def __init__(self, ctx: Reports, checkpoints: bool = True) -> None:
        super().__init__()
        self.ctx = ctx
        self.checkpoints = checkpoints
        self._decision = HeldDecision()
        self._training = False  # between on_train_begin and on_train_end
        self._begun = 0  # the optimizer step training (re)started at
        self._hook: Any = None  # a fork's load hook on the optimizer passed to Trainer

    def _step(self, args: Any, state: Any) -> int:
        if _strategy(args) == "epoch":
            return round(float(state.epoch or 0.0))
        return int(state.global_step) // _eval_steps(args, state)

    def on_init_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        optimizer = kwargs.get("optimizer")  # Trainer(optimizers=(optimizer, scheduler))
        if optimizer is not None and donor(self.ctx) is not None:
            self._hook = keep_own_hyperparameters(optimizer)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if _strategy(args) not in ("epoch", "steps"):
            raise ConfigError(key="eval_strategy", message=(
                f"rung needs evaluations to report: set eval_strategy to 'epoch' or 'steps', "
                f"got {_strategy(args)!r}"))
        check_start(self.ctx, self._step(args, state), 1, "evaluations", _RESUME_HINT)
        if donor(self.ctx) is not None:  # the donor's optimizer and scheduler states are loaded
            if self._hook is not None:
                self._hook.remove()
                self._hook = None
            elif kwargs.get("optimizer") is not None:
                _own_hyperparameters(kwargs["optimizer"], args)
            rebase_schedulers([kwargs.get("lr_scheduler")])
        self._begun = int(state.global_step)
        self._training = True

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: Any = None,
                    **kwargs: Any) -> None:
        if self._decision.held is not None or not self._training:
            return  # ending, or trainer.evaluate() after training (a test set): not a step
        if int(state.global_step) == self._begun:
            return  # eval_on_start: the model as training (re)starts, reported already or untrained
        step = self._step(args, state)

        def save(directory: str) -> None:
            _save_checkpoint(directory, state, kwargs)
            mark(directory, self.ctx)

        if step > self.ctx.max_step:  # past the end (more epochs or steps than max_step)
            control.should_training_stop = True
            return
        if self._decision.report(self.ctx, step, save if self.checkpoints else None,
                                 scalars(metrics or {})) or step == self.ctx.max_step:
            control.should_training_stop = True  # by the scheduler, or at the study's max_step

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._training = False
        self._decision.raise_held()


def _own_hyperparameters(optimizer: Any, args: Any) -> None:
    """A fork's optimizer built by ``Trainer`` from ``TrainingArguments``, the donor's state
    loaded: each parameter group takes the optimizer's constructor arguments (``defaults``:
    ``learning_rate``, ``adam_beta1``, ...), the first group (``Trainer``'s decay group) the
    fork's ``weight_decay`` (the others keep 0), the learning rate rescaled to the donor's point
    of the schedule (``own_hyperparameters``)."""
    inner = getattr(optimizer, "optimizer", optimizer)  # accelerate's AcceleratedOptimizer
    defaults = inner.defaults
    for i, group in enumerate(inner.param_groups):
        fresh = {k: defaults[k] for k in group if k in defaults and k != "params"}
        if "weight_decay" in group:
            fresh["weight_decay"] = args.weight_decay if i == 0 else group["weight_decay"]
        group.update(own_hyperparameters(group, fresh))


def _save_checkpoint(directory: str, state: Any, hooks: dict[str, Any]) -> None:
    """Write what ``Trainer`` reads back when resuming from ``directory``."""
    import numpy as np

    model = hooks["model"]
    if hasattr(model, "save_pretrained"):
        model.save_pretrained(directory)
    else:
        torch.save(model.state_dict(), os.path.join(directory, "pytorch_model.bin"))
    if hooks.get("optimizer") is not None:
        torch.save(hooks["optimizer"].state_dict(), os.path.join(directory, "optimizer.pt"))
    if hooks.get("lr_scheduler") is not None:
        torch.save(hooks["lr_scheduler"].state_dict(), os.path.join(directory, "scheduler.pt"))
    state.save_to_json(os.path.join(directory, "trainer_state.json"))
    torch.save({"python": random.getstate(), "numpy": np.random.get_state(),
                "cpu": torch.random.get_rng_state()}, os.path.join(directory, "rng_state.pth"))


def resume_checkpoint(ctx: Reports) -> str | None:
    """The checkpoint to continue from (``Trainer.train(resume_from_checkpoint=...)``), or
    ``None`` for a fresh trial."""
    return ctx.checkpoint if saved_file(ctx, "trainer_state.json") is not None else None


__all__ = ["TransformersCallback", "resume_checkpoint"]
