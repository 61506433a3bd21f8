"""Keras 3: report every epoch to rung, stop or pause ``Model.fit`` between epochs.

``pip install 'rung[keras]'``; rung's extra brings the PyTorch backend (``KERAS_BACKEND=torch``).
When ``KERAS_BACKEND`` is unset, Keras is not imported yet and TensorFlow is not installed,
importing this module sets it to ``torch`` (Keras' default, TensorFlow, would fail to import).
Typical objective::

    from rung.integrations import keras as rkeras

    def objective(ctx: rung.TrialContext) -> None:
        model = rkeras.resume_model(ctx, build=lambda: build_and_compile(ctx.params))
        rkeras.fit(ctx, model, x, y, validation_data=(xv, yv), batch_size=32, verbose=0)

**Steps.** Step ``k`` is the end of epoch ``k`` (Keras' 0-based ``epoch`` plus one);
``fit`` runs ``initial_epoch=ctx.start_step - 1`` to ``epochs=ctx.max_step``. With an integer
``validation_freq=n`` (Keras validates every ``n`` epochs) ``fit`` makes a step of each
validation: step ``k`` is the end of epoch ``k * n``, and ``fit`` runs
``initial_epoch=(ctx.start_step - 1) * n`` to ``epochs=ctx.max_step * n``
(``KerasCallback(ctx, epochs_per_step=n)`` with ``Model.fit``).

**Metrics.** Every scalar of the epoch's ``logs`` (``loss``, ``val_loss``, compiled metrics),
the values Keras records in ``History.history``.

**Stop and pause.** The callback sets ``model.stop_training`` when the scheduler stops or
pauses the trial, so Keras ends the epoch loop its own way, and re-raises ``StopTrial`` /
``PauseTrial`` from ``on_train_end`` (so ``fit`` does not return: the trial must not look
completed). For a pause, ``report`` first saves the whole model with its optimizer state
(``model.keras``, Keras' format) in the checkpoint directory; ``resume_model(ctx)`` loads it,
so the resumed run continues the paused one's weights and optimizer. A resumed trial whose
model's optimizer has taken no step (built and compiled again instead of loaded) is refused.
Keras' random state is not saved: with ``shuffle=True`` (``fit``'s default) the resumed epochs
draw other batches than uninterrupted training would.

**Forks.** A trial that starts from another trial's checkpoint (``rung.PBT``) needs
``resume_model(ctx, build=...)``: the model ``build()`` returns (built and compiled from the
fork's own params) gets the donor's weights and optimizer state (moments, ``iterations``),
and keeps its own optimizer hyperparameters (learning rate, ``beta_1``...) and compiled loss
and metrics. Without ``build`` the fork is refused.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from rung.errors import ConfigError
from rung.integrations._forks import donor, mark
from rung.integrations._framework import (
    HeldDecision,
    Reports,
    check_start,
    check_units,
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

_UNTRAINED_HINT = ("load the model with rung.integrations.keras.resume_model(ctx) instead of "
                   "building it, and do not compile it again (a new optimizer starts from "
                   "scratch)")


class KerasCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """A Keras callback that reports each epoch's logs to a rung trial.

    Args:
        ctx: the trial's ``rung.TrialContext``.
        checkpoints: give ``report`` a ``save`` callback (the model in Keras' format), so the
            trial can be paused and resumed (``False``: a paused trial restarts from scratch).
        epochs_per_step: epochs per rung step: step ``k`` is the end of epoch
            ``k * epochs_per_step`` (``fit``'s ``validation_freq``, so that every step has the
            validation metrics; ``fit(epochs=max_step * epochs_per_step,
            initial_epoch=(start_step - 1) * epochs_per_step)``).

    Raises (from ``Model.fit``):
        StopTrial, PauseTrial: the scheduler's decision, once Keras has ended training.
        ConfigError: the trial resumes at step ``s`` but ``fit`` starts at another epoch, or
            with a model whose optimizer has taken no step (key ``checkpoint``: the model was
            built again instead of loaded with ``resume_model``); ``epochs_per_step`` is not
            an integer >= 1.
    """

    def __init__(self, ctx: Reports, checkpoints: bool = True, epochs_per_step: int = 1) -> None:
        super().__init__()
        self.ctx = ctx
        self.checkpoints = checkpoints
        self.epochs_per_step = check_units("epochs_per_step", epochs_per_step)
        self._first = True
        self._decision = HeldDecision()

    def on_train_begin(self, logs: Any = None) -> None:
        optimizer = getattr(self.model, "optimizer", None)
        if self.ctx.start_step > 1 and optimizer is not None and _steps_taken(optimizer) == 0:
            raise ConfigError(key="checkpoint", message=(
                f"the trial resumes at step {self.ctx.start_step} but the model's optimizer has "
                f"taken no step (a model trained from scratch): {_UNTRAINED_HINT}"))

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if self._first:
            self._first = False
            check_start(self.ctx, epoch, self.epochs_per_step, "epochs", _RESUME_HINT)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        model = self.model

        def save(directory: str) -> None:
            model.save(os.path.join(directory, MODEL_FILE))
            mark(directory, self.ctx)

        if (epoch + 1) % self.epochs_per_step:
            return  # between steps (Keras did not validate)
        step = (epoch + 1) // self.epochs_per_step
        if step > self.ctx.max_step:  # past the end (fit was given more epochs)
            model.stop_training = True
            return
        if self._decision.report(self.ctx, step, save if self.checkpoints else None,
                                 scalars(logs or {})) or step == self.ctx.max_step:
            model.stop_training = True  # ended by the scheduler, or at the study's max_step

    def on_train_end(self, logs: Any = None) -> None:
        self._decision.raise_held()


def _steps_taken(optimizer: Any) -> int:
    return int(keras.ops.convert_to_numpy(optimizer.iterations))


def resume_model(ctx: Reports, custom_objects: dict[str, Any] | None = None,
                 build: Callable[[], Any] | None = None) -> Any:
    """The model to train: the one saved when the trial paused, or a fresh one.

    Args:
        ctx: the trial.
        custom_objects: for ``keras.models.load_model``.
        build: builds and compiles the model from ``ctx.params`` (e.g. ``lambda:
            build_and_compile(ctx.params)``). Needed when the trial is a fork of another
            trial's checkpoint (``rung.PBT``), which trains with its own hyperparameters.

    Returns:
        For a trial resuming its own checkpoint, the saved model (compiled, with its optimizer
        and its state); for a fork, ``build()`` with the donor's weights and optimizer state
        (the slot variables and ``iterations``) loaded into it, its optimizer's
        hyperparameters (the learning rate, ``beta_1``, ...) its own; for a fresh trial,
        ``build()`` (``None`` without ``build``: build and compile one then).

    Raises:
        ConfigError: a fork without ``build``, or ``build`` returned a model that is not
            compiled (key ``build``).
    """
    path = saved_file(ctx, MODEL_FILE)
    if path is None:
        return None if build is None else build()
    source = donor(ctx)
    if source is None:
        return keras.models.load_model(path, custom_objects=custom_objects)
    if build is None:
        raise ConfigError(key="build", message=(
            f"trial {ctx.trial_id} starts from trial {source}'s checkpoint (a fork) and must "
            f"train with its own hyperparameters: pass build=<a function that builds and "
            f"compiles the model from ctx.params> to rung.integrations.keras.resume_model"))
    return _load_state(build(), path)


def _load_state(model: Any, path: str) -> Any:
    """``model`` (the fork's, compiled) with the weights and optimizer variables saved in
    ``path``, its own learning rate kept (Keras saves it as an optimizer variable)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ConfigError(key="build", message="must return a compiled model (model.compile("
                                               "optimizer=...)), got one without an optimizer")
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    rate = optimizer.learning_rate  # the variable itself, unless a schedule
    own = keras.ops.convert_to_numpy(rate) if isinstance(rate, keras.Variable) else None
    model.load_weights(path)
    if own is not None:
        rate.assign(own)
    return model


def fit(ctx: Reports, model: Any, *args: Any, callbacks: Sequence[Any] = (),
        **kwargs: Any) -> Any:
    """``model.fit(*args, **kwargs)`` over the trial's steps, ``ctx.start_step`` to
    ``ctx.max_step``, with a ``KerasCallback`` after ``callbacks`` (``epochs`` and
    ``initial_epoch`` are set here). A step is one epoch, or ``validation_freq`` epochs: the
    callback reports when Keras validates. Returns the ``History`` of a trial that ran to
    ``max_step``.

    Raises:
        ConfigError: ``epochs`` or ``initial_epoch`` was passed, or ``validation_freq`` is not
            an integer >= 1 (key: its name).
    """
    for key in ("epochs", "initial_epoch"):
        if key in kwargs:
            raise ConfigError(key=key, message="is set by rung.integrations.keras.fit from the "
                                               "trial's steps")
    every = kwargs.get("validation_freq", 1)
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ConfigError(key="validation_freq", message=(
            f"must be an integer >= 1 with rung.integrations.keras.fit (a step is every "
            f"validation_freq epochs), got {every!r}"))
    return model.fit(*args, epochs=ctx.max_step * every,
                     initial_epoch=(ctx.start_step - 1) * every,
                     callbacks=[*callbacks, KerasCallback(ctx, epochs_per_step=every)], **kwargs)


__all__ = ["MODEL_FILE", "KerasCallback", "fit", "resume_model"]
