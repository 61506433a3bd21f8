"""rung.integrations.transformers against the real Hugging Face ``Trainer``, in real studies.

A tiny ``torch.nn.Module`` (no pretrained weights: nothing is downloaded). The studies run on
the local executor with forked workers: transformers and PyTorch are imported once, here.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
hf = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

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
from rung.errors import ConfigError, StopTrial  # noqa: E402
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
    x, y = net_data(4)
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
    check_logged_values(study, tmp_path, "eval_loss")


@pytest.mark.slow  # trains and saves a transformers model (~7 s)
def test_pause_saves_a_checkpoint_and_resume_continues_it(tmp_path: Path) -> None:
    # 3 trials paused at step 1, the best resumed to step 3 (a Trainer costs ~1 s to set up)
    study = make_study("hf-pause", SPACE, tmp_path, "eval_loss", max_step=3, n_trials=3,
                       variant="promotion")
    run(study)

    def uninterrupted(t: Trial) -> list[float]:
        full = make_trainer(t.params, 3, str(tmp_path / f"full-{t.id}"), [])
        full.train()
        return eval_losses(full)[:t.last_step]

    # weights, optimizer, scheduler, RNG restored: the same curve
    assert check_resumes(study, tmp_path, "eval_loss", uninterrupted, rtol=1e-5) == 1


@pytest.mark.slow  # trains transformers models (~3 s)
def test_stop_by_eval_steps_and_bad_settings(tmp_path: Path) -> None:
    p = {"lr": 0.01, "units": 4}
    ctx = FakeContext(max_step=6, stop_at=2)
    trainer = make_trainer(p, 3, str(tmp_path), [rhf.TransformersCallback(ctx)], "steps")
    trainer.args.eval_steps = 2  # 3 optimizer steps per epoch: evaluations at 2, 4, 6, ...
    with pytest.raises(StopTrial):
        trainer.train()
    assert ctx.steps == [1, 2] and trainer.state.global_step == 4
    no_eval = make_trainer(p, 3, str(tmp_path), [rhf.TransformersCallback(FakeContext())], "no")
    with pytest.raises(ConfigError) as e:
        no_eval.train()
    assert e.value.key == "eval_strategy"
    late = FakeContext(start_step=3, max_step=5)
    with pytest.raises(ConfigError, match="resume_from_checkpoint") as e2:
        make_trainer(p, 5, str(tmp_path), [rhf.TransformersCallback(late)]).train()
    assert e2.value.key == "checkpoint" and late.reports == []


def test_training_ends_at_max_step(tmp_path: Path) -> None:
    """num_train_epochs above the study's max_step ends at it (should_training_stop); before,
    evaluations past max_step 2 were reported."""
    ctx = FakeContext(max_step=2)
    trainer = make_trainer({"lr": 0.01, "units": 4}, 5, str(tmp_path),
                           [rhf.TransformersCallback(ctx)])
    trainer.train()
    assert ctx.steps == [1, 2] and round(trainer.state.epoch) == 2


def test_an_evaluation_after_training_is_not_a_step(tmp_path: Path) -> None:
    """``trainer.evaluate(test, metric_key_prefix="test")`` after ``train``, Hugging Face's usual
    last line, was reported as step ``max_step`` again: its test metrics replaced the
    validation metrics there, and a study on ``eval_loss`` failed the trial ("metric
    'eval_loss' was not reported (reported: 'test_loss', ...) at step 2")."""
    ctx = FakeContext(max_step=2)
    trainer = make_trainer({"lr": 0.01, "units": 4}, 2, str(tmp_path),
                           [rhf.TransformersCallback(ctx)])
    trainer.train()
    _, valid = datasets()
    trainer.evaluate(valid[:20], metric_key_prefix="test")
    trainer.evaluate()
    assert ctx.steps == [1, 2]
    assert ctx.reports[-1][1]["eval_loss"] == eval_losses(trainer)[1]
