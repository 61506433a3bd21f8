"""A budget in money or GPU-hours says what it spent wherever a run ends: ``rung run`` and
``rung resume`` end with what was spent against each limit, the overshoot and the limit
reached, and ``rung show`` names the limit reached and what was spent. (They said only
``6 trials: ... stopped``, ``(spent)`` and ``nothing to run: the budget is spent``: the
amounts were in ``rung ledger`` alone.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from clihelp import write_spec

import rung
from rung.cli.main import main
from rung.core.budget import Budget, Usage, limits_reached, spend_text

SPEC = ("name: m\nexecutor: simulated\nbenchmark: {name: mf-branin}\nscheduler: fifo\n"
        "budget: {max_cost: 0.05, max_gpu_hours: 9}\nprices: {cpu: 3.6}\n"
        "resources_per_trial: {cpu: 1, gpu: 1}\nn_workers: 3\n"
        "seed: 1\nstorage: m.db\n")


def test_run_show_and_resume_say_what_the_budget_spent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, SPEC)
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    err = capsys.readouterr().err.splitlines()
    study = rung.Study.load("m", storage=tmp_path / "m.db", readonly=True)
    b = study.ledger().budget
    cost, gpu = b["cost"], b["gpu_hours"]
    assert cost is not None and gpu is not None
    assert cost > 0.05 and gpu < 9  # in-flight steps went past max_cost
    spent = (f"max_cost {cost:.4g} of 0.05 spent ({cost - 0.05:.4g} past it: steps in flight "
             f"when it was reached), max_gpu_hours {gpu:.4g} of 9 spent")
    assert err[-1] == f"rung: study m: budget: {spent}; max_cost reached"
    assert err[-2].startswith("rung: study m: ") and " trials: " in err[-2]
    assert main(["show", "m", "--storage", "m.db"]) == 0
    out = capsys.readouterr().out.splitlines()
    at = next(i for i, ln in enumerate(out) if ln.startswith("  budget "))
    assert out[at] == "  budget     max_cost=0.05, max_gpu_hours=9   (spent: max_cost reached)"
    assert out[at + 1] == f"  spent      {spent}"
    assert main(["resume", "m", "--storage", "m.db"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("rung: study m: nothing to run: the budget is spent (raise it: "
                      "Study.set_budget(...), or rung resume m with --n-trials, --max-steps "
                      "or --max-time)")
    assert err[-1] == f"rung: study m: budget: {spent}; max_cost reached"


def test_spend_text_and_the_limits_reached() -> None:
    both = Budget(n_trials=10, max_cost=8.0, max_gpu_hours=3.0)
    used = Usage(trials=6, elapsed=100.0, steps=24, cost=14.78, gpu_hours=2.5)
    assert limits_reached(both, used) == ["max_cost"]
    assert spend_text(both, used) == (
        "max_cost 14.78 of 8 spent (6.78 past it: steps in flight when it was reached), "
        "max_gpu_hours 2.5 of 3 spent; max_cost reached")
    assert spend_text(both, used, ends=False) == (
        "max_cost 14.78 of 8 spent (6.78 past it: steps in flight when it was reached), "
        "max_gpu_hours 2.5 of 3 spent")
    ruled = Usage(trials=10, elapsed=1.0, steps=3, cost=1.0, gpu_hours=0.0, stopped=True)
    assert limits_reached(both, ruled) == ["n_trials", "stop"]
    assert spend_text(Budget(max_cost=8.0), ruled) == (
        "max_cost 1 of 8 spent; the stop rule ended the search")
    assert spend_text(Budget(n_trials=10, max_steps=3), ruled) is None  # nothing in money
    assert limits_reached(Budget(max_time=1.0, max_steps=3), ruled) == ["max_time",
                                                                         "max_steps", "stop"]
