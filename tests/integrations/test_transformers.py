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
    x, y = net_data(4)
    rows = [{"x": torch.tensor(a), "labels": torch.tensor(b)} for a, b in zip(x, y, strict=True)]
    return rows[:120], rows[120:]


def make_trainer(p: Any, epochs: int, out: str, callbacks: list[Any],
                 strategy: str = "epoch", **more: Any) -> Any:
    args = hf.TrainingArguments(
        output_dir=out, eval_strategy=strategy, save_strategy="no", num_train_epochs=epochs,
        per_device_train_batch_size=40, per_device_eval_batch_size=40,
        learning_rate=float(p["lr"]), report_to=[], disable_tqdm=True, use_cpu=True, seed=0,
        logging_strategy="no", dataloader_num_workers=0, **more)
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


class FirstStep(hf.TrainerCallback):  # type: ignore[misc,name-defined]
    """What a run's first optimizer step finds: the parameter groups' hyperparameters, the
    scheduler's base learning rates, the global step, the first parameter's Adam state."""

    def __init__(self) -> None:
        self.groups: list[dict[str, Any]] = []
        self.base_lrs: list[float] = []
        self.step = -1
        self.state: dict[str, Any] = {}

    def on_step_begin(self, args: Any, state: Any, control: Any, optimizer: Any = None,
                      lr_scheduler: Any = None, **kwargs: Any) -> None:
        if self.step < 0:
            self.step = int(state.global_step)
            self.groups = [{k: v for k, v in g.items() if k != "params"}
                           for g in optimizer.param_groups]
            self.base_lrs = list(lr_scheduler.base_lrs)
            first = optimizer.param_groups[0]["params"][0]
            self.state = {k: v.clone() for k, v in optimizer.state[first].items()}


def test_a_fork_trains_with_its_own_hyperparameters_from_the_donors_state(
        tmp_path: Path) -> None:
    """A PBT fork resumes from another trial's checkpoint: before, ``Trainer`` loaded the
    donor's optimizer.pt and scheduler.pt, so the fork ran at the donor's learning rate (its
    scheduler's base_lrs the donor's) and weight decay. Now it takes its own, at the donor's
    point of the linear schedule (step 3 of 9), and keeps the donor's Adam state; a resume of
    the trial's own checkpoint loads both unchanged. ``eval_on_start`` on a resumed run is not
    reported (it re-evaluated step 1)."""
    first = FakeContext(trial_id=1, max_step=3, pause_at=1, save_dir=tmp_path / "ckpt")
    with pytest.raises(PauseTrial):
        make_trainer({"lr": 0.01, "units": 4}, 3, str(tmp_path),
                     [rhf.TransformersCallback(first)]).train()
    saved = torch.load(tmp_path / "ckpt" / "optimizer.pt", weights_only=True)["state"][0]
    schedule = 6 / 9  # the linear decay's factor after 3 of 9 optimizer steps

    fork, probe = first.resumed(trial_id=2), FirstStep()
    make_trainer({"lr": 0.05, "units": 4}, 3, str(tmp_path), [probe, rhf.TransformersCallback(
        fork)], weight_decay=0.1).train(resume_from_checkpoint=rhf.resume_checkpoint(fork))
    assert fork.steps == [2, 3] and probe.step == 3
    assert probe.base_lrs == [0.05, 0.05]
    assert [g["lr"] for g in probe.groups] == pytest.approx([0.05 * schedule] * 2, rel=1e-12)
    assert [g["initial_lr"] for g in probe.groups] == [0.05, 0.05]
    assert [g["weight_decay"] for g in probe.groups] == [0.1, 0.0]
    assert set(probe.state) == set(saved)
    for key, value in saved.items():
        assert torch.equal(probe.state[key], value), key

    own, probe_own = first.resumed(), FirstStep()
    make_trainer({"lr": 0.05, "units": 4}, 3, str(tmp_path), [probe_own, rhf.TransformersCallback(
        own)], weight_decay=0.1, eval_on_start=True).train(
        resume_from_checkpoint=rhf.resume_checkpoint(own))
    assert own.steps == [2, 3]
    assert probe_own.base_lrs == [0.01, 0.01]
    assert [g["lr"] for g in probe_own.groups] == pytest.approx([0.01 * schedule] * 2,
                                                                rel=1e-12)
    assert [g["weight_decay"] for g in probe_own.groups] == [0.0, 0.0]


def test_eval_on_start_is_not_a_step(tmp_path: Path) -> None:
    """``eval_on_start=True`` evaluates before the first optimizer step: it was reported as
    step 0, which rung refuses, and every trial failed ("report(step=0): steps count from
    1")."""
    ctx = FakeContext(max_step=2)
    trainer = make_trainer({"lr": 0.01, "units": 4}, 2, str(tmp_path),
                           [rhf.TransformersCallback(ctx)], eval_on_start=True)
    trainer.train()
    assert len(eval_losses(trainer)) == 3  # the evaluation before training ran
    assert ctx.steps == [1, 2]
    assert [m["eval_loss"] for _, m, _ in ctx.reports] == eval_losses(trainer)[1:]
