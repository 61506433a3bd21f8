"""The planner fits at most ``MAX_FIT_TRIALS`` pilot curves: beyond it a uniform sample
seeded by the study's seed that keeps the best curve, said in the plan's output; and ``rung
plan`` interrupted while it fits (SIGTERM) exits 130 with one line and no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from planhelp import PowerLawBench, pilot

from rung.cli.main import main
from rung.planning import fit, pilot_sample, plan, planner
from rung.planning.pilot_sample import best_curve, sample_curves


def _curves(n: int) -> dict[int, tuple[list[int], list[float]]]:
    # trial 7 is the best at the highest step; trial 3 is better, but only at step 1
    out = {k: ([1, 2], [1.0 + k, 0.5 + k]) for k in range(n)}
    out[7] = ([1, 2], [0.2, 0.1])
    out[3] = ([1], [0.0])
    return out


def test_sample_curves_keeps_all_up_to_the_limit_and_a_seeded_sample_beyond() -> None:
    curves = _curves(30)
    assert best_curve(curves) == 7
    assert sample_curves(curves, seed=0, limit=30) == curves
    a = sample_curves(curves, seed=0, limit=10)
    assert len(a) == 10 and 7 in a and list(a) == sorted(a)
    assert a == sample_curves(curves, seed=0, limit=10)  # deterministic
    assert set(a) != set(sample_curves(curves, seed=1, limit=10))  # seeded
    assert all(a[k] == curves[k] for k in a)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    pilot(PowerLawBench(max_step=3, constant=1.0), n_trials=12, storage=path).close()
    return path


def test_a_pilot_past_the_cap_is_fitted_on_a_sample_and_says_so(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(pilot_sample, "MAX_FIT_TRIALS", 5)
    fitted: list[int] = []
    real = fit.fit_curves

    def spy(curves: Any) -> Any:
        fitted.append(len(curves))
        return real(curves)

    monkeypatch.setattr(planner, "fit_curves", spy)
    p = plan("pilot", storage=db, workers=[1], seeds=2)
    assert fitted == [5]
    assert (p.pilot_trials, p.scored_trials) == (5, 12)
    args = ["plan", "pilot", "--storage", str(db), "--workers", "1", "--seeds", "2"]
    assert main(args) == 0
    assert ("from 5 of 12 pilot trials (at most 5 curves are fitted: a uniform sample seeded "
            "by the study's seed, the best curve kept): power-law curves") \
        in capsys.readouterr().out
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["pilot_trials"], data["scored_trials"]) == (5, 12)


def test_a_pilot_within_the_cap_is_fitted_whole(db: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    p = plan("pilot", storage=db, workers=[1], seeds=2)
    assert (p.pilot_trials, p.scored_trials) == (12, 12)
    assert main(["plan", "pilot", "--storage", str(db), "--workers", "1", "--seeds", "2"]) == 0
    assert "from 12 pilot trials: power-law curves" in capsys.readouterr().out


def test_sigterm_while_fitting_exits_130_without_a_traceback(db: Path) -> None:
    # the signal arrives inside the fit (sent by the fit itself, so it lands there for sure)
    script = (
        "import os, signal, sys\n"
        "from rung.planning import fit, planner\n"
        "real = fit.fit_curves\n"
        "def fit_then_term(curves):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return real(curves)\n"
        "planner.fit_curves = fit_then_term\n"
        "from rung.cli.main import main\n"
        f"sys.argv = ['rung', 'plan', 'pilot', '--storage', {str(db)!r}, '--workers', '1',"
        " '--seeds', '2']\n"
        "sys.exit(main())\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "rung: interrupted"
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
