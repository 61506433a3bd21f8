"""Trial runs that the planned ``max_time`` ends are counted apart from failed ones: ``rung plan
NAME --max-time 0.5`` on an mf-branin pilot printed "failed trial runs per simulated run
(median): 1 with 1 worker(s), ...; the pilot's trial_timeout applies to the planned study" for a
pilot without a trial_timeout, whose trials only ran past the budget."""

from __future__ import annotations

from pathlib import Path

import pytest
from planhelp import PowerLawBench, pilot

import rung
from rung import Budget, Objective, Study
from rung.cli.main import main
from rung.cli.plan import plan_text
from rung.errors import RunFailed

#: steps of 5 s: longer than the simulated executor's grace after max_time (1 s)
BENCH = PowerLawBench(max_step=3, constant=5.0)

CUT_LINE = ("trial runs cut by the planned max_time per simulated run (median): {}; still "
            "running when the budget ran out, they did not fail (trial_timeout did not end "
            "them)")


def test_runs_cut_by_max_time_are_not_failures() -> None:
    """4 workers, max_time 6 s: each trial reports step 1 at 5 s and is still running at 7 s
    (max_time and its 1 s grace), when the run ends it."""
    study = pilot(BENCH)
    p = rung.plan(study, workers=[4], seeds=1, budget=Budget(max_time=6.0))
    row = p.rows[0]
    assert (row.trials, row.failed, row.cut) == (4, 0.0, 4.0)
    tail = plan_text(p).splitlines()
    assert tail[-1] == CUT_LINE.format("4 with 4 worker(s)")
    assert not any(ln.startswith("failed trial runs") for ln in tail)
    assert p.to_json()["rows"][0]["cut"] == 4.0


def test_trial_timeout_failures_and_max_time_cuts_are_told_apart() -> None:
    """Steps of 5 s, 3 of them, trial_timeout 12 s: every trial fails at 12 s after 2 steps.
    With one worker and max_time 30 s, trials start at 0, 12 and 24 s: the first two fail by
    trial_timeout, the third is cut at 31 s (the deadline comes before its timeout at 36 s)."""
    study = Study.create("t", BENCH.space, Objective("loss", "min"), searcher="random",
                         scheduler="fifo", max_step=3, budget=Budget(n_trials=4), seed=0,
                         trial_timeout=12.0)
    with pytest.raises(RunFailed):  # every trial of the pilot timed out
        study.simulate(BENCH, n_workers=1)
    p = rung.plan(study, workers=[1], seeds=1, budget=Budget(max_time=30.0))
    row = p.rows[0]
    assert (row.trials, row.failed, row.cut) == (3, 2.0, 1.0)
    tail = plan_text(p).splitlines()
    assert tail[-2:] == [
        "failed trial runs per simulated run (median): 2 with 1 worker(s); the pilot's "
        "trial_timeout applies to the planned study",
        CUT_LINE.format("1 with 1 worker(s)"),
    ]


def test_rung_plan_max_time_says_the_budget_ended_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "runs.db"
    pilot(BENCH, storage=db).close()
    capsys.readouterr()  # the pilot's own summary line
    assert main(["plan", "pilot", "--storage", str(db), "--workers", "1,4", "--seeds", "1",
                 "--max-time", "6"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    # one worker: the first trial reports step 1 at 5 s and is cut at 7 s
    assert out.splitlines()[-1] == CUT_LINE.format("1 with 1 worker(s), 4 with 4 worker(s)")
    assert "failed trial runs" not in out and "trial_timeout applies" not in out
