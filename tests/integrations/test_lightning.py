"""rung.integrations.lightning against real PyTorch Lightning, inside real studies.

The studies run on the local executor with forked workers: Lightning and PyTorch are imported
once, here, instead of once per spawned worker (~10 s each on a loaded 2-core machine).
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

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
from rung.integrations import lightning as rpl  # noqa: E402

SPACE = {"lr": Float(0.003, 0.3, log=True), "units": Int(2, 12)}
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)


class Net(pl.LightningModule):  # type: ignore[misc]
    def __init__(self, lr: float, units: int) -> None:
        super().__init__()
        self.save_hyperparameters()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.Linear(3, units), torch.nn.Tanh(),
                                       torch.nn.Linear(units, 1))

    def training_step(self, batch: Any, _: int) -> Any:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def validation_step(self, batch: Any, _: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self) -> Any:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


def loaders() -> tuple[Any, Any]:
    x, y = net_data(3)
    data = torch.utils.data.TensorDataset
    return (torch.utils.data.DataLoader(data(torch.tensor(x[:120]), torch.tensor(y[:120])),
                                        batch_size=40),
            torch.utils.data.DataLoader(data(torch.tensor(x[120:]), torch.tensor(y[120:])),
                                        batch_size=40))


def trainer(max_epochs: int, log_dir: Path, callbacks: list[Any], **more: Any) -> Any:
    return pl.Trainer(max_epochs=max_epochs, accelerator="cpu", devices=1,
                      logger=pl.loggers.CSVLogger(str(log_dir), name="", version=""),
                      callbacks=callbacks, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False,
                      num_sanity_val_steps=0, deterministic=True, **more)


def csv_values(log_dir: Path, key: str) -> list[float]:
    """Lightning's own log: its CSVLogger's file, one row per logged epoch."""
    with (log_dir / "metrics.csv").open() as f:
        return [float(row[key]) for row in csv.DictReader(f) if row.get(key)]


def objective(ctx: TrialContext) -> None:
    log_dir = Path(ctx.params["out"]) / f"csv-{ctx.trial_id}-{ctx.start_step}"
    train, valid = loaders()
    try:
        trainer(ctx.max_step, log_dir, [rpl.LightningCallback(ctx)]).fit(
            Net(ctx.params["lr"], ctx.params["units"]), train, valid,
            ckpt_path=rpl.resume_checkpoint(ctx))
    finally:
        write_log(ctx.params, ctx.trial_id, ctx.start_step, csv_values(log_dir, "val_loss"))


def run(study: Any) -> None:
    study.run(objective, executor="local", n_workers=1, start_method="fork")


def test_asha_stops_trials_at_its_rungs_and_reports_lightning_values(tmp_path: Path) -> None:
    study = make_study("pl", SPACE, tmp_path, "val_loss", max_step=9, n_trials=8)
    run(study)
    check_logged_values(study, tmp_path, "val_loss", rtol=1e-6)
    assert all({"val_loss", "train_loss"} <= set(t.results[0].metrics) for t in study.trials())


def test_pause_saves_a_checkpoint_and_resume_continues_it(tmp_path: Path) -> None:
    study = make_study("pl-pause", SPACE, tmp_path, "val_loss", max_step=9, n_trials=9,
                       variant="promotion")
    run(study)

    def uninterrupted(t: Trial) -> list[float]:
        train, valid = loaders()
        full_dir = tmp_path / f"full-{t.id}"
        trainer(t.last_step, full_dir, []).fit(Net(t.params["lr"], t.params["units"]),
                                              train, valid)
        return csv_values(full_dir, "val_loss")

    # weights, optimizer and loop state restored: the same curve
    assert check_resumes(study, tmp_path, "val_loss", uninterrupted, rtol=1e-5) >= 2


def test_stop_ends_the_epoch_loop_then_raises_and_a_restart_is_refused(tmp_path: Path) -> None:
    train, valid = loaders()
    ctx = FakeContext(max_step=5, stop_at=2)
    t = trainer(5, tmp_path / "a", [rpl.LightningCallback(ctx)])
    with pytest.raises(StopTrial):
        t.fit(Net(0.01, 4), train, valid)
    assert ctx.steps == [1, 2] and t.current_epoch == 2  # two epochs ran, no third
    late = FakeContext(start_step=3, max_step=5)
    with pytest.raises(ConfigError, match="ckpt_path") as e:
        trainer(5, tmp_path / "b", [rpl.LightningCallback(late)]).fit(Net(0.01, 4), train)
    assert e.value.key == "checkpoint" and late.reports == []


def test_training_ends_at_max_step(tmp_path: Path) -> None:
    """max_epochs above the study's max_step ends at it (trainer.should_stop); before, epochs
    past max_step 2 were reported."""
    train, valid = loaders()
    ctx = FakeContext(max_step=2)
    t = trainer(5, tmp_path, [rpl.LightningCallback(ctx)])
    t.fit(Net(0.01, 4), train, valid)
    assert ctx.steps == [1, 2] and t.current_epoch == 2


class Silent(Net):
    """Logs nothing."""

    def training_step(self, batch: Any, _: int) -> Any:
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def validation_step(self, batch: Any, _: int) -> None:
        return None


def test_a_module_that_logs_nothing_is_told_what_to_log(tmp_path: Path) -> None:
    """Nothing in callback_metrics: the trial failed at step 1 with "metric 'val_loss' was not
    reported (reported: none)"; the error now says to log it."""
    ctx = FakeContext(max_step=3)
    train, valid = loaders()
    with pytest.raises(ConfigError) as e:
        trainer(3, tmp_path, [rpl.LightningCallback(ctx)]).fit(Silent(0.01, 4), train, valid)
    assert str(e.value) == (
        "callback_metrics: nothing to report at step 1 (no evaluation results): log the "
        "objective's metric with self.log(...) in the LightningModule's validation_step or "
        "training_step")
    assert ctx.reports == []


class StatusLogger(pl.loggers.Logger):  # type: ignore[misc]
    """A Lightning logger that records the status it is finalized with (an ``MLFlowLogger``
    ends its run FINISHED on ``"success"``, FAILED on ``"failed"``)."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[str] = []

    @property
    def name(self) -> str:
        return "status"

    @property
    def version(self) -> int:
        return 0

    def log_metrics(self, metrics: Any, step: Any = None) -> None:
        pass

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass

    def finalize(self, status: str) -> None:
        self.statuses.append(status)


def _status_trainer(max_epochs: int, callbacks: list[Any]) -> tuple[Any, StatusLogger]:
    logger = StatusLogger()
    return pl.Trainer(max_epochs=max_epochs, accelerator="cpu", devices=1, logger=logger,
                      callbacks=callbacks, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False,
                      num_sanity_val_steps=0), logger


def test_fit_raises_the_stop_after_lightning_ended_training_as_a_success(
        tmp_path: Path) -> None:
    """A stop raised from inside ``Trainer.fit`` finalizes the loggers "failed" (Lightning
    treats any exception so): every stopped trial's MLFlowLogger run ended FAILED.
    ``rpl.fit`` raises it after ``fit`` returned: the loggers finalize "success"."""
    train, valid = loaders()
    inside, logged_inside = _status_trainer(5, [rpl.LightningCallback(FakeContext(
        max_step=5, stop_at=2))])
    with pytest.raises(StopTrial):
        inside.fit(Net(0.01, 4), train, valid)
    assert logged_inside.statuses == ["failed"]

    ctx = FakeContext(max_step=5, stop_at=2)
    after, logged = _status_trainer(5, [])  # rpl.fit adds the LightningCallback
    with pytest.raises(StopTrial, match="below the cutoff"):
        rpl.fit(ctx, after, Net(0.01, 4), train, valid)
    assert logged.statuses == ["success"]
    assert ctx.steps == [1, 2] and after.current_epoch == 2  # two epochs ran, no third

    done = FakeContext(max_step=3)
    full, logged_full = _status_trainer(5, [rpl.LightningCallback(done)])
    assert rpl.fit(done, full, Net(0.01, 4), train, valid) is None  # completed: no raise
    assert done.steps == [1, 2, 3] and logged_full.statuses == ["success"]
    with pytest.raises(ConfigError) as e:
        rpl.fit(done, full, Net(0.01, 4), train, ckpt_path="x.ckpt")
    assert e.value.key == "ckpt_path"


class FirstBatch(pl.Callback):  # type: ignore[misc,name-defined]
    """The optimizer as a run's first training batch finds it: its first group's hyperparameters
    and the Adam state of the first parameter."""

    def __init__(self) -> None:
        self.group: dict[str, Any] | None = None
        self.state: dict[str, Any] = {}

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, i: int) -> None:
        if self.group is None:
            opt = trainer.optimizers[0]
            self.group = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
            first = opt.param_groups[0]["params"][0]
            self.state = {k: v.clone() for k, v in opt.state[first].items()}


class Betas(Net):
    def configure_optimizers(self) -> Any:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr, betas=(0.8, 0.99))


def test_a_fork_trains_with_its_own_hyperparameters_from_the_donors_state(
        tmp_path: Path) -> None:
    """A PBT fork resumes from another trial's checkpoint: before, Lightning restored the
    donor's optimizer with the donor's lr (0.01) and betas, and the fork's explored lr (0.05)
    was recorded but never used. Now its optimizer takes its own hyperparameters and keeps the
    donor's Adam moments; a resume of the trial's own checkpoint restores it unchanged."""
    train, valid = loaders()
    first = FakeContext(trial_id=1, max_step=4, pause_at=2, save_dir=tmp_path / "ckpt")
    with pytest.raises(PauseTrial):
        trainer(4, tmp_path / "a", [rpl.LightningCallback(first)]).fit(Net(0.01, 4), train, valid)
    saved = torch.load(tmp_path / "ckpt" / rpl.CHECKPOINT_FILE, weights_only=False)
    donor_state = saved["optimizer_states"][0]["state"][0]

    fork, probe = first.resumed(trial_id=2), FirstBatch()
    rpl.fit(fork, trainer(4, tmp_path / "b", [probe, rpl.LightningCallback(fork)]),
            Betas(0.05, 4), train, valid)
    assert fork.steps == [3, 4]
    assert probe.group is not None
    assert (probe.group["lr"], probe.group["betas"]) == (0.05, (0.8, 0.99))
    assert set(probe.state) == set(donor_state)
    for key, value in donor_state.items():  # the donor's moments and step count
        assert torch.equal(probe.state[key], value), key

    own, probe_own = first.resumed(), FirstBatch()  # the same trial: its optimizer as saved
    rpl.fit(own, trainer(4, tmp_path / "c", [probe_own, rpl.LightningCallback(own)]),
            Betas(0.05, 4), train, valid)
    assert probe_own.group is not None
    assert (probe_own.group["lr"], probe_own.group["betas"]) == (0.01, (0.9, 0.999))


class Epochs(pl.Callback):  # type: ignore[misc,name-defined]
    """Counts the training epochs that started."""

    def __init__(self) -> None:
        self.started = 0

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self.started += 1


def test_a_stop_ends_training_at_once_despite_min_epochs(tmp_path: Path) -> None:
    """``min_epochs=4``: Lightning ignores ``should_stop`` until it is met, so a trial stopped
    at step 2 trained on, unreported, a third epoch (``trainer.fit``) or to epoch 4
    (``rpl.fit``)."""
    train, valid = loaders()
    ctx, epochs = FakeContext(max_step=5, stop_at=2), Epochs()
    t = trainer(5, tmp_path / "a", [epochs, rpl.LightningCallback(ctx)], min_epochs=4)
    with pytest.raises(StopTrial):
        t.fit(Net(0.01, 4), train, valid)
    assert ctx.steps == [1, 2] and epochs.started == 2
    after, epochs2 = FakeContext(max_step=5, stop_at=2), Epochs()
    t2 = trainer(5, tmp_path / "b", [epochs2], min_epochs=4, min_steps=12)
    with pytest.raises(StopTrial):
        rpl.fit(after, t2, Net(0.01, 4), train, valid)
    assert after.steps == [1, 2] and epochs2.started == 2 and t2.current_epoch == 2


def test_check_val_every_n_epoch_makes_a_step_of_each_validation(tmp_path: Path) -> None:
    """``check_val_every_n_epoch=2``: every trial failed at step 1 ("metric 'val_loss' was not
    reported (reported: 'train_loss')"). A step is now one validation (epochs 2, 4), also
    across a pause."""
    train, valid = loaders()
    whole = FakeContext(max_step=2)
    t = trainer(4, tmp_path / "a", [], check_val_every_n_epoch=2)
    rpl.fit(whole, t, Net(0.01, 4), train, valid)
    assert whole.steps == [1, 2] and t.current_epoch == 4
    assert [m["val_loss"] for _, m, _ in whole.reports] == pytest.approx(
        csv_values(tmp_path / "a", "val_loss"), rel=1e-6)

    first = FakeContext(trial_id=1, max_step=2, pause_at=1, save_dir=tmp_path / "ckpt")
    with pytest.raises(PauseTrial):
        rpl.fit(first, trainer(4, tmp_path / "b", [], check_val_every_n_epoch=2),
                Net(0.01, 4), train, valid)
    resumed = first.resumed()
    t2 = trainer(4, tmp_path / "c", [], check_val_every_n_epoch=2)
    rpl.fit(resumed, t2, Net(0.01, 4), train, valid)
    assert resumed.steps == [2] and t2.current_epoch == 4
    assert [m["val_loss"] for _, m, _ in first.reports + resumed.reports] == pytest.approx(
        [m["val_loss"] for _, m, _ in whole.reports], rel=1e-6)
