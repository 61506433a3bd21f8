"""Keras 3: report every epoch to rung, stop or pause ``Model.fit`` between epochs.

``pip install 'rung[keras]'``; rung's extra brings the PyTorch backend (``KERAS_BACKEND=torch``).
When ``KERAS_BACKEND`` is unset, Keras is not imported yet and TensorFlow is not installed,
importing this module sets it to ``torch`` (Keras' default, TensorFlow, would fail to import).
Typical objective::

    from rung.integrations import keras as rkeras

    def objective(ctx: rung.TrialContext) -> None:
        model = rkeras.resume_model(ctx) or build_and_compile(ctx.params)
        rkeras.fit(ctx, model, x, y, validation_data=(xv, yv), batch_size=32, verbose=0)

**Steps.** Step ``k`` is the end of epoch ``k`` (Keras' 0-based ``epoch`` plus one);
``fit`` runs ``initial_epoch=ctx.start_step - 1`` to ``epochs=ctx.max_step``.

**Metrics.** Every scalar of the epoch's ``logs`` (``loss``, ``val_loss``, compiled metrics),
the values Keras records in ``History.history``.

**Stop and pause.** The callback sets ``model.stop_training`` when the scheduler stops or
pauses the trial, so Keras ends the epoch loop its own way, and re-raises ``StopTrial`` /
``PauseTrial`` from ``on_train_end`` (so ``fit`` does not return: the trial must not look
completed). For a pause, ``report`` first saves the whole model with its optimizer state
(``model.keras``, Keras' format) in the checkpoint directory; ``resume_model(ctx)`` loads it,
so the resumed run continues the paused one's weights and optimizer.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from rung.integrations._framework import (
    HeldDecision,
    Reports,
    check_start,
    require,
    saved_file,
    scalars,
)

log = logging.getLogger("rung.integrations.keras")

if ("keras" not in sys.modules and "KERAS_BACKEND" not in os.environ
        and importlib.util.find_spec("tensorflow") is None
        and importlib.util.find_spec("torch") is not None):
    os.environ["KERAS_BACKEND"] = "torch"
    log.debug("KERAS_BACKEND set to torch (TensorFlow is not installed)")

keras: Any = require(
    "keras", "keras", "rung.integrations.keras",
    broken=f"its backend (KERAS_BACKEND={os.environ.get('KERAS_BACKEND', 'tensorflow')}) is not "
           "installed; rung[keras] installs torch: set KERAS_BACKEND=torch, or install the "
           "backend")

#: The file a checkpoint holds (the whole model: architecture, weights, optimizer state).
MODEL_FILE = "model.keras"

_RESUME_HINT = ("pass initial_epoch=ctx.start_step - 1 to Model.fit and load the model with "
                "rung.integrations.keras.resume_model(ctx) (or use rung.integrations.keras.fit)")


class KerasCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """A Keras callback that reports each epoch's logs to a rung trial.

    Args:
        ctx: the trial's ``rung.TrialContext``.
        checkpoints: give ``report`` a ``save`` callback (the model in Keras' format), so the
            trial can be paused and resumed (``False``: a paused trial restarts from scratch).

    Raises (from ``Model.fit``):
        StopTrial, PauseTrial: the scheduler's decision, once Keras has ended training.
        ConfigError: the trial resumes at step ``s`` but ``fit`` starts at another epoch.
    """

    def __init__(self, ctx: Reports, checkpoints: bool = True) -> None:
        super().__init__()
        self.ctx = ctx
        self.checkpoints = checkpoints
        self._first = True
        self._decision = HeldDecision()

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if self._first:
            self._first = False
            check_start(self.ctx, epoch, 1, "epochs", _RESUME_HINT)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        model = self.model

        def save(directory: str) -> None:
            model.save(os.path.join(directory, MODEL_FILE))

        step = epoch + 1
        if step > self.ctx.max_step:  # past the end (fit was given more epochs)
            model.stop_training = True
            return
        if self._decision.report(self.ctx, step, save if self.checkpoints else None,
                                 scalars(logs or {})) or step == self.ctx.max_step:
            model.stop_training = True  # ended by the scheduler, or at the study's max_step

    def on_train_end(self, logs: Any = None) -> None:
        self._decision.raise_held()


def resume_model(ctx: Reports, custom_objects: dict[str, Any] | None = None) -> Any:
    """The model saved when the trial paused (compiled, with its optimizer state), or
    ``None`` for a fresh trial (build and compile one then)."""
    path = saved_file(ctx, MODEL_FILE)
    return None if path is None else keras.models.load_model(path, custom_objects=custom_objects)


def fit(ctx: Reports, model: Any, *args: Any, callbacks: Sequence[Any] = (),
        **kwargs: Any) -> Any:
    """``model.fit(*args, **kwargs)`` over the trial's epochs, ``ctx.start_step`` to
    ``ctx.max_step``, with a ``KerasCallback`` after ``callbacks`` (``epochs`` and
    ``initial_epoch`` are set here). Returns the ``History`` of a trial that ran to
    ``max_step``."""
    for key in ("epochs", "initial_epoch"):
        if key in kwargs:
            from rung.errors import ConfigError

            raise ConfigError(key=key, message="is set by rung.integrations.keras.fit from the "
                                               "trial's steps")
    return model.fit(*args, epochs=ctx.max_step, initial_epoch=ctx.start_step - 1,
                     callbacks=[*callbacks, KerasCallback(ctx)], **kwargs)


__all__ = ["MODEL_FILE", "KerasCallback", "fit", "resume_model"]
