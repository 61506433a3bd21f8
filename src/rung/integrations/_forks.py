"""What a forked trial keeps of another trial's checkpoint, and what it takes from its own params.

A scheduler that forks (``rung.PBT``: exploit a better trial, explore its hyperparameters)
starts a new trial from the donor's checkpoint with other ``ctx.params``. The framework
callbacks that save a model with its optimizer (Lightning, Hugging Face, Keras) write
``MARK_FILE`` (the saving trial's id) into each checkpoint, so a run can tell a fork (the
checkpoint is another trial's) from a resume of its own pause.

A fork keeps the checkpoint's **state**: the weights, the optimizer's per-parameter state
(Adam's moments, step counts), the learning-rate scheduler's progress, the loop counters. It
takes the optimizer's **hyperparameters** from the optimizer its own code built from its own
``ctx.params`` (``own_hyperparameters``): every value of each parameter group (``betas``,
``weight_decay``, ``momentum``, ...) but the parameters themselves, and the learning rate
rescaled to its own: the donor's current learning rate times the fork's initial one over the
donor's (a scheduler's progress carried over: exact for the multiplicative schedules,
``LambdaLR`` and Hugging Face's, ``StepLR``, ``ExponentialLR``, ...), or the fork's own value
when no scheduler set an initial learning rate. The scheduler's ``base_lrs`` are then the fork's
(``rebase_schedulers``). A resume of the trial's own checkpoint changes nothing: it continues
exactly as uninterrupted training would.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from rung.integrations._framework import Reports

#: The file each checkpoint holds: ``{"trial_id": <the trial that saved it>}``.
MARK_FILE = "rung-trial.json"

#: Parameter-group entries that are not hyperparameters to take from the fork's optimizer (the
#: parameters; the learning rate, rescaled apart).
_KEPT = frozenset({"params", "param_names", "lr", "initial_lr"})


def mark(directory: str, ctx: Reports) -> None:
    """Write ``MARK_FILE`` into a checkpoint ``directory`` that trial ``ctx`` is saving."""
    with open(os.path.join(directory, MARK_FILE), "w") as f:
        json.dump({"trial_id": ctx.trial_id}, f)


def donor(ctx: Reports) -> int | None:
    """The id of the trial whose checkpoint ``ctx`` starts from when that is another trial (a
    fork); ``None`` for a fresh trial, a resume of its own checkpoint, or a checkpoint without
    ``MARK_FILE``."""
    if ctx.checkpoint is None:
        return None
    path = os.path.join(ctx.checkpoint, MARK_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        saved = json.load(f).get("trial_id")
    return None if saved is None or saved == ctx.trial_id else int(saved)


def own_hyperparameters(saved: Mapping[str, Any], fresh: Mapping[str, Any]) -> dict[str, Any]:
    """A fork's parameter group: ``saved`` (the donor's, as its checkpoint holds it) with every
    hyperparameter of ``fresh`` (the same group of the optimizer the fork built).

    The learning rate: with an ``initial_lr`` in ``saved`` (a scheduler's), ``fresh``'s initial
    learning rate times the donor's schedule factor (``saved["lr"] / saved["initial_lr"]``), and
    ``initial_lr`` the fork's; without one, ``fresh["lr"]``.
    """
    out = dict(saved)
    out.update({k: v for k, v in fresh.items() if k not in _KEPT})
    if "lr" not in fresh:
        return out
    own = fresh.get("initial_lr", fresh["lr"])
    base = saved.get("initial_lr")
    if base is not None and float(base) != 0.0 and "lr" in saved:
        out["lr"] = own * (saved["lr"] / base)
        out["initial_lr"] = own
    else:
        out["lr"] = fresh["lr"]
        if "initial_lr" in fresh:
            out["initial_lr"] = fresh["initial_lr"]
    return out


def keep_own_hyperparameters(optimizer: Any) -> Any:
    """Make ``optimizer`` (a ``torch.optim.Optimizer`` built by the fork, not yet loaded) take
    its own hyperparameters when the donor's state is loaded into it: a ``load_state_dict``
    pre-hook rewrites the incoming parameter groups with ``own_hyperparameters``. Returns the
    hook's handle (``.remove()`` it once the checkpoint is loaded)."""

    def hook(opt: Any, state: dict[str, Any]) -> dict[str, Any]:
        groups = state.get("param_groups", [])
        if len(groups) != len(opt.param_groups):
            return state  # not this optimizer's state: torch refuses it
        return {**state, "param_groups": [own_hyperparameters(s, f)
                                          for s, f in zip(groups, opt.param_groups, strict=True)]}

    return optimizer.register_load_state_dict_pre_hook(hook)


def rebase_schedulers(schedulers: Iterable[Any]) -> None:
    """After a fork's scheduler states were loaded: each scheduler's ``base_lrs`` (the donor's)
    become its optimizer's groups' ``initial_lr`` (the fork's), and its last learning rates the
    groups' current ones. Schedulers without ``base_lrs`` (``ReduceLROnPlateau``) and the ones
    a composite scheduler holds (``SequentialLR``, ``ChainedScheduler``) are handled alike."""
    for sched in schedulers:
        rebase_schedulers(getattr(sched, "_schedulers", ()))
        groups = getattr(getattr(sched, "optimizer", None), "param_groups", None)
        if groups is None or not hasattr(sched, "base_lrs"):
            continue
        if all("initial_lr" in g for g in groups):
            sched.base_lrs = [g["initial_lr"] for g in groups]
        sched._last_lr = [g["lr"] for g in groups]


__all__ = ["MARK_FILE", "donor", "keep_own_hyperparameters", "mark", "own_hyperparameters",
           "rebase_schedulers"]
