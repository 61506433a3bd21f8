"""rung.integrations.transformers against the real Hugging Face ``Trainer``, in real studies.

A tiny ``torch.nn.Module`` (no pretrained weights: nothing is downloaded). The studies run on
the local executor with forked workers: transformers and PyTorch are imported once, here.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
hf = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from framework_study import check_asha_stops, make_study, read_logs, steps, write_log  # noqa: E402

from rung import Float, Int, TrialContext  # noqa: E402
from rung.core.records import TrialStatus  # noqa: E402
from rung.errors import ConfigError, PauseTrial, StopTrial  # noqa: E402
from rung.integrations import transformers as rhf  # noqa: E402

SPACE = {"lr": Float(0.003, 0.3, log=True), "units": Int(2, 12)}
hf.logging.set_verbosity_error()
logging.getLogger("transformers").setLevel(logging.ERROR)


class Net(torch.nn.Module):  # type: ignore[misc]
    def __init__(self, units: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.Linear(3, units), torch.nn.Tanh(),
                                       torch.nn.Linear(units, 1))

    def forward(self, x: Any, labels: Any = None) -> dict[str, Any]:
        out = self.net(x)
        return {"loss": torch.nn.functional.mse_loss(out, labels), "logits": out}


def datasets() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(160, 3)).astype("float32")
    y = (x[:, :1] * 1.5 - x[:, 1:2] + 0.1 * rng.normal(size=(160, 1))).astype("float32")
    rows = [{"x": torch.tensor(a), "labels": torch.tensor(b)} for a, b in zip(x, y, strict=True)]
    return rows[:120], rows[120:]


def make_trainer(p: Any, epochs: int, out: str, callbacks: list[Any],
                 strategy: str = "epoch") -> Any:
    args = hf.TrainingArguments(
        output_dir=out, eval_strategy=strategy, save_strategy="no", num_train_epochs=epochs,
        per_device_train_batch_size=40, per_device_eval_batch_size=40,
        learning_rate=float(p["lr"]), report_to=[], disable_tqdm=True, use_cpu=True, seed=0,
        logging_strategy="no", dataloader_num_workers=0)
    train, valid = datasets()
    return hf.Trainer(model=Net(int(p["units"])), args=args, train_dataset=train,
                      eval_dataset=valid, callbacks=callbacks)


def eval_losses(trainer: Any) -> list[float]:
    """The Trainer's own log: ``state.log_history``'s evaluation entries."""
    return [e["eval_loss"] for e in trainer.state.log_history if "eval_loss" in e]


def objective(ctx: TrialContext) -> None:
    with tempfile.TemporaryDirectory() as out:
        trainer = make_trainer(ctx.params, ctx.max_step, out, [rhf.TransformersCallback(ctx)])
        try:
            trainer.train(resume_from_checkpoint=rhf.resume_checkpoint(ctx))
        finally:
            losses = eval_losses(trainer)
            # resuming reloads the log up to the checkpoint: keep this run's entries
            write_log(ctx.params, ctx.trial_id, ctx.start_step, losses[ctx.start_step - 1:])


def run(study: Any) -> None:
    study.run(objective, executor="local", n_workers=1, start_method="fork")


def test_asha_stops_trials_at_its_rungs_and_reports_trainer_values(tmp_path: Path) -> None:
    study = make_study("hf", SPACE, tmp_path, "eval_loss", max_step=9, n_trials=6)
    run(study)
    check_asha_stops(study, "eval_loss", rungs=[1, 3])
    for t in study.trials():
        (log,) = read_logs(tmp_path, t.id).values()
        assert [r.metrics["eval_loss"] for r in t.results] == log


def test_pause_saves_a_checkpoint_and_resume_continues_it(tmp_path: Path) -> None:
    # 3 trials paused at step 1, the best resumed to step 3 (a Trainer costs ~1 s to set up)
    study = make_study("hf-pause", SPACE, tmp_path, "eval_loss", max_step=3, n_trials=3,
                       variant="promotion")
    run(study)
    resumed = 0
    for t in study.trials():
        runs = read_logs(tmp_path, t.id)
        starts = sorted(runs)
        assert starts[0] == 1
        for a, b in itertools.pairwise(starts):
            assert b == a + len(runs[a])
        resumed += len(starts) > 1
        if len(starts) > 1:  # weights, optimizer, scheduler, RNG restored: the same curve
            full = make_trainer(t.params, 3, str(tmp_path / f"full-{t.id}"), [])
            full.train()
            assert steps(t) == list(range(1, t.last_step + 1))
            np.testing.assert_allclose([r.metrics["eval_loss"] for r in t.results],
                                       eval_losses(full)[:t.last_step], rtol=1e-5)
    assert resumed == 1
    assert any(t.status is TrialStatus.COMPLETED and t.last_step == 3 for t in study.trials())


class FakeContext:
    def __init__(self, start_step: int = 1, max_step: int = 3, stop_at: int | None = None,
                 pause: bool = False) -> None:
        self.start_step, self.max_step, self.checkpoint = start_step, max_step, None
        self.stop_at, self.pause = stop_at, pause
        self.reports: list[int] = []

    def report(self, step: int, save: Any = None, **metrics: float) -> None:
        self.reports.append(step)
        if step == self.stop_at:
            raise PauseTrial("paused") if self.pause else StopTrial("below the cutoff")


def test_stop_by_eval_steps_and_bad_settings(tmp_path: Path) -> None:
    p = {"lr": 0.01, "units": 4}
    ctx = FakeContext(max_step=6, stop_at=2)
    trainer = make_trainer(p, 3, str(tmp_path), [rhf.TransformersCallback(ctx)], "steps")
    trainer.args.eval_steps = 2  # 3 optimizer steps per epoch: evaluations at 2, 4, 6, ...
    with pytest.raises(StopTrial):
        trainer.train()
    assert ctx.reports == [1, 2] and trainer.state.global_step == 4
    no_eval = make_trainer(p, 3, str(tmp_path), [rhf.TransformersCallback(FakeContext())], "no")
    with pytest.raises(ConfigError) as e:
        no_eval.train()
    assert e.value.key == "eval_strategy"
    late = FakeContext(start_step=3, max_step=5)
    with pytest.raises(ConfigError, match="resume_from_checkpoint") as e2:
        make_trainer(p, 5, str(tmp_path), [rhf.TransformersCallback(late)]).train()
    assert e2.value.key == "checkpoint" and late.reports == []
