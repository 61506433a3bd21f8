"""rung.integrations._forks: what a forked trial keeps of its donor's checkpoint (plain torch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from framework_study import FakeContext  # noqa: E402

from rung.integrations._forks import (  # noqa: E402
    MARK_FILE,
    donor,
    keep_own_hyperparameters,
    mark,
    rebase_schedulers,
)


def adam(lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> tuple[Any, Any]:
    torch.manual_seed(0)
    layer = torch.nn.Linear(2, 1)
    return layer, torch.optim.Adam(layer.parameters(), lr=lr, betas=betas)


def train(layer: Any, opt: Any, sched: Any, steps: int) -> None:
    x = torch.ones(4, 2)
    for _ in range(steps):
        opt.zero_grad()
        layer(x).pow(2).mean().backward()
        opt.step()
        sched.step()


def halving(epoch: int) -> float:
    return 0.5 ** epoch


def test_a_fork_takes_its_own_hyperparameters_at_the_donors_point_of_the_schedule() -> None:
    layer, opt = adam(0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, halving)
    train(layer, opt, sched, 3)
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()

    fork_layer, fork = adam(0.02, betas=(0.8, 0.95))
    fork_sched = torch.optim.lr_scheduler.LambdaLR(fork, halving)
    hook = keep_own_hyperparameters(fork)
    fork.load_state_dict(saved_opt)
    fork_sched.load_state_dict(saved_sched)
    hook.remove()
    rebase_schedulers([fork_sched])

    group = fork.param_groups[0]
    assert (group["lr"], group["initial_lr"], group["betas"]) == (0.02 * 0.125, 0.02, (0.8, 0.95))
    assert fork_sched.base_lrs == [0.02] and fork_sched.get_last_lr() == [0.02 * 0.125]
    first = group["params"][0]
    for key, value in opt.state[opt.param_groups[0]["params"][0]].items():
        assert torch.equal(fork.state[first][key], value), key  # the donor's moments
    train(fork_layer, fork, fork_sched, 1)
    assert fork.param_groups[0]["lr"] == 0.02 * 0.5 ** 4  # the fork's schedule from here

    # the hook is gone: a later load takes the state dict as it is
    fork.load_state_dict(saved_opt)
    assert fork.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_without_an_initial_lr_a_fork_takes_its_own_learning_rate() -> None:
    """``ReduceLROnPlateau`` sets no ``initial_lr``: the fork starts at its own learning rate,
    not the donor's reduced one."""
    _, opt = adam(0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    for loss in (1.0, 2.0, 3.0):
        plateau.step(loss)
    assert opt.param_groups[0]["lr"] == 0.025
    _, fork = adam(0.02)
    fork_plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(fork, factor=0.5, patience=0)
    hook = keep_own_hyperparameters(fork)
    fork.load_state_dict(opt.state_dict())
    fork_plateau.load_state_dict(plateau.state_dict())
    hook.remove()
    rebase_schedulers([fork_plateau])
    assert fork.param_groups[0]["lr"] == 0.02


def test_a_checkpoint_names_the_trial_that_saved_it(tmp_path: Path) -> None:
    saver = FakeContext(trial_id=3)
    mark(str(tmp_path), saver)
    assert (tmp_path / MARK_FILE).read_text() == '{"trial_id": 3}'
    fork, own, fresh = FakeContext(trial_id=7), FakeContext(trial_id=3), FakeContext(trial_id=7)
    fork.checkpoint = own.checkpoint = str(tmp_path)
    unmarked = FakeContext(trial_id=7)
    unmarked.checkpoint = str(tmp_path / "elsewhere")
    assert [donor(c) for c in (fork, own, fresh, unmarked)] == [3, None, None, None]
