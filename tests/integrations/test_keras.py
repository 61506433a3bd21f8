"""rung.integrations.keras against real Keras 3 (PyTorch backend), inside real studies.

The studies run on the local executor with forked workers: Keras and PyTorch are imported once,
here, instead of once per spawned worker (~10 s each on a loaded 2-core machine).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytest.importorskip("torch")

from framework_study import check_asha_stops, make_study, read_logs, steps, write_log  # noqa: E402

from rung import Float, Int, TrialContext  # noqa: E402
from rung.core.records import TrialStatus  # noqa: E402
from rung.errors import ConfigError, StopTrial  # noqa: E402
from rung.integrations import keras as rkeras  # noqa: E402

SPACE = {"lr": Float(0.003, 0.3, log=True), "units": Int(2, 12)}


def data() -> tuple[Any, ...]:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(160, 3)).astype("float32")
    y = (x[:, :1] * 1.5 - x[:, 1:2] + 0.1 * rng.normal(size=(160, 1))).astype("float32")
    return x[:120], y[:120], x[120:], y[120:]


def build(p: Any) -> Any:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(int(p["units"]), "tanh"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(float(p["lr"])), loss="mse")
    return model


def objective(ctx: TrialContext) -> None:
    x, y, xv, yv = data()
    model = rkeras.resume_model(ctx) or build(ctx.params)
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
    check_asha_stops(study, "val_loss", rungs=[1, 3])
    for t in study.trials():
        (log,) = read_logs(tmp_path, t.id).values()
        assert [r.metrics["val_loss"] for r in t.results] == log
        assert set(t.results[0].metrics) == {"loss", "val_loss"}


def test_pause_saves_the_model_and_resume_continues_it(tmp_path: Path) -> None:
    study = make_study("keras-pause", SPACE, tmp_path, "val_loss", max_step=9, n_trials=9,
                       variant="promotion")
    run(study)
    resumed = 0
    x, y, xv, yv = data()
    for t in study.trials():
        runs = read_logs(tmp_path, t.id)
        starts = sorted(runs)
        assert starts[0] == 1
        for a, b in itertools.pairwise(starts):
            assert b == a + len(runs[a])
        resumed += len(starts) > 1
        if len(starts) > 1:  # weights and optimizer state carried over: the uninterrupted curve
            full = build(t.params).fit(x, y, validation_data=(xv, yv), batch_size=40,
                                       shuffle=False, verbose=0, epochs=t.last_step)
            assert steps(t) == list(range(1, t.last_step + 1))
            np.testing.assert_allclose([r.metrics["val_loss"] for r in t.results],
                                       full.history["val_loss"], rtol=1e-4)
    assert resumed >= 2
    assert any(t.status is TrialStatus.COMPLETED and t.last_step == 9 for t in study.trials())


class FakeContext:
    def __init__(self, start_step: int = 1, max_step: int = 3, stop_at: int | None = None) -> None:
        self.start_step, self.max_step, self.checkpoint = start_step, max_step, None
        self.stop_at = stop_at
        self.reports: list[int] = []

    def report(self, step: int, save: Any = None, **metrics: float) -> None:
        self.reports.append(step)
        if step == self.stop_at:
            raise StopTrial("below the cutoff")


def test_stop_ends_fit_then_raises_and_a_restart_is_refused() -> None:
    x, y, _, _ = data()
    ctx = FakeContext(max_step=5, stop_at=2)
    model = build({"lr": 0.01, "units": 4})
    with pytest.raises(StopTrial):
        rkeras.fit(ctx, model, x, y, batch_size=40, verbose=0)
    assert ctx.reports == [1, 2] and model.history.epoch == [0, 1]  # no third epoch
    late = FakeContext(start_step=3, max_step=5)
    with pytest.raises(ConfigError, match="initial_epoch") as e:
        model.fit(x, y, epochs=5, verbose=0, callbacks=[rkeras.KerasCallback(late)])
    assert e.value.key == "checkpoint" and late.reports == []
    with pytest.raises(ConfigError) as e2:
        rkeras.fit(ctx, model, x, y, epochs=3)
    assert e2.value.key == "epochs"
