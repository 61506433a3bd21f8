"""rung.integrations.keras against real Keras 3 (PyTorch backend), inside real studies.

The studies run on the local executor with forked workers: Keras and PyTorch are imported once,
here, instead of once per spawned worker (~10 s each on a loaded 2-core machine).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytest.importorskip("torch")

from framework_study import (  # noqa: E402
    FakeContext,
    check_logged_values,
    check_resumes,
    make_study,
    net_data,
    write_log,
)

from rung import Float, Int, TrialContext  # noqa: E402
from rung.core.records import Trial  # noqa: E402
from rung.errors import ConfigError, PauseTrial, StopTrial  # noqa: E402
from rung.integrations import keras as rkeras  # noqa: E402

SPACE = {"lr": Float(0.003, 0.3, log=True), "units": Int(2, 12)}


def data() -> tuple[Any, ...]:
    x, y = net_data(2)
    return x[:120], y[:120], x[120:], y[120:]


def build(p: Any) -> Any:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(int(p["units"]), "tanh"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(float(p["lr"])), loss="mse")
    return model


def objective(ctx: TrialContext) -> None:
    x, y, xv, yv = data()
    model = rkeras.resume_model(ctx, build=lambda: build(ctx.params))
    try:
        rkeras.fit(ctx, model, x, y, validation_data=(xv, yv), batch_size=40, shuffle=False,
                   verbose=0)
    finally:  # Keras' own History of this run (set on the model after each epoch)
        write_log(ctx.params, ctx.trial_id, ctx.start_step, model.history.history["val_loss"])


def run(study: Any) -> None:
    study.run(objective, executor="local", n_workers=1, start_method="fork")


def test_asha_stops_trials_at_its_rungs_and_reports_keras_values(tmp_path: Path) -> None:
    study = make_study("keras", SPACE, tmp_path, "val_loss", max_step=9, n_trials=8)
    run(study)
    check_logged_values(study, tmp_path, "val_loss")
    assert all(set(t.results[0].metrics) == {"loss", "val_loss"} for t in study.trials())


def test_pause_saves_the_model_and_resume_continues_it(tmp_path: Path) -> None:
    study = make_study("keras-pause", SPACE, tmp_path, "val_loss", max_step=9, n_trials=9,
                       variant="promotion")
    run(study)
    x, y, xv, yv = data()

    def uninterrupted(t: Trial) -> list[float]:
        full = build(t.params).fit(x, y, validation_data=(xv, yv), batch_size=40,
                                   shuffle=False, verbose=0, epochs=t.last_step)
        return list(full.history["val_loss"])

    # weights and optimizer state carried over: the uninterrupted curve
    assert check_resumes(study, tmp_path, "val_loss", uninterrupted, rtol=1e-4) >= 2


def test_stop_ends_fit_then_raises_and_a_restart_is_refused() -> None:
    x, y, _, _ = data()
    ctx = FakeContext(max_step=5, stop_at=2)
    model = build({"lr": 0.01, "units": 4})
    with pytest.raises(StopTrial):
        rkeras.fit(ctx, model, x, y, batch_size=40, verbose=0)
    assert ctx.steps == [1, 2] and model.history.epoch == [0, 1]  # no third epoch
    late = FakeContext(start_step=3, max_step=5)
    with pytest.raises(ConfigError, match="initial_epoch") as e:
        model.fit(x, y, epochs=5, verbose=0, callbacks=[rkeras.KerasCallback(late)])
    assert e.value.key == "checkpoint" and late.reports == []
    with pytest.raises(ConfigError) as e2:
        rkeras.fit(ctx, model, x, y, epochs=3)
    assert e2.value.key == "epochs"


def test_training_ends_at_max_step() -> None:
    """fit(epochs=...) above the study's max_step ends at it (model.stop_training); before,
    epochs 4, 5, 6 were reported past max_step 3."""
    x, y, _, _ = data()
    ctx = FakeContext(max_step=3)
    model = build({"lr": 0.01, "units": 4})
    model.fit(x, y, epochs=6, batch_size=40, verbose=0, callbacks=[rkeras.KerasCallback(ctx)])
    assert ctx.steps == [1, 2, 3] and model.history.epoch == [0, 1, 2]


def test_a_resumed_trial_given_a_model_built_again_is_refused() -> None:
    """``rkeras.fit`` sets ``initial_epoch`` itself, so the epoch check could not fail: a
    resumed trial whose objective built a fresh model instead of calling ``resume_model``
    trained from scratch and recorded a second curve under the same steps."""
    x, y, _, _ = data()
    late = FakeContext(start_step=3, max_step=5)
    with pytest.raises(ConfigError) as e:
        rkeras.fit(late, build({"lr": 0.01, "units": 4}), x, y, batch_size=40, verbose=0)
    assert str(e.value) == (
        "checkpoint: the trial resumes at step 3 but the model's optimizer has taken no step (a "
        "model trained from scratch): load the model with "
        "rung.integrations.keras.resume_model(ctx) instead of building it, and do not compile "
        "it again (a new optimizer starts from scratch)")
    assert late.reports == []


def test_a_fork_trains_with_its_own_hyperparameters_from_the_donors_state(
        tmp_path: Path) -> None:
    """A PBT fork resumes from another trial's checkpoint: before, ``resume_model`` loaded the
    donor's whole model, so the fork trained at the donor's learning rate (0.01, not its own
    0.05). Now it builds its own model and loads the donor's weights and optimizer state into
    it; without ``build`` it is refused; a resume of the trial's own checkpoint loads the saved
    model unchanged."""
    x, y, xv, yv = data()
    first = FakeContext(trial_id=1, max_step=4, pause_at=2, save_dir=tmp_path / "ckpt")
    donor = build({"lr": 0.01, "units": 4})
    with pytest.raises(PauseTrial):
        rkeras.fit(first, donor, x, y, batch_size=40, shuffle=False, verbose=0)
    weights = [w.copy() for w in donor.get_weights()]
    slots = [keras.ops.convert_to_numpy(v) for v in donor.optimizer.variables]

    fork = first.resumed(trial_id=2)
    with pytest.raises(ConfigError) as e:
        rkeras.resume_model(fork)
    assert e.value.key == "build"
    model = rkeras.resume_model(fork, build=lambda: build({"lr": 0.05, "units": 4}))
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05, rel=1e-7)
    assert int(model.optimizer.iterations) == 6  # the donor's 2 epochs of 3 batches
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights, strict=True))
    loaded = [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    assert [v.name for v, a, b in zip(model.optimizer.variables, loaded, slots, strict=True)
            if not np.array_equal(a, b)] == ["learning_rate"]  # the rest is the donor's
    rkeras.fit(fork, model, x, y, validation_data=(xv, yv), batch_size=40, verbose=0)
    assert fork.steps == [3, 4]

    own = rkeras.resume_model(first.resumed(), build=lambda: build({"lr": 0.05, "units": 4}))
    assert float(own.optimizer.learning_rate) == pytest.approx(0.01, rel=1e-7)
    assert int(own.optimizer.iterations) == 6


def test_validation_freq_makes_a_step_of_each_validation() -> None:
    """``validation_freq=2``: Keras validates every second epoch; each epoch was a step, and on
    the others ``val_loss`` was missing ("metric 'val_loss' was not reported")."""
    x, y, xv, yv = data()
    ctx = FakeContext(max_step=2)
    model = build({"lr": 0.01, "units": 4})
    history = rkeras.fit(ctx, model, x, y, validation_data=(xv, yv), validation_freq=2,
                         batch_size=40, shuffle=False, verbose=0)
    assert history.epoch == [0, 1, 2, 3] and ctx.steps == [1, 2]
    assert [m["val_loss"] for _, m, _ in ctx.reports] == history.history["val_loss"]
    late = FakeContext(start_step=2, max_step=2)
    with pytest.raises(ConfigError, match="after 2 epochs") as e:
        model.fit(x, y, epochs=4, initial_epoch=1, verbose=0,
                  callbacks=[rkeras.KerasCallback(late, epochs_per_step=2)])
    assert e.value.key == "checkpoint"
    with pytest.raises(ConfigError) as e2:
        rkeras.fit(ctx, model, x, y, validation_data=(xv, yv), validation_freq=[1, 3])
    assert e2.value.key == "validation_freq"
