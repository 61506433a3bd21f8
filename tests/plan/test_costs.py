"""Step costs from a journal's event times (rung.planning.costs), on scripted records."""

from __future__ import annotations

import numpy as np
import pytest

from rung.core.events import (
    CheckpointSaved,
    Launch,
    Record,
    ResultReported,
    TrialEnded,
    TrialStarted,
)
from rung.core.records import Objective, Outcome
from rung.planning.costs import TrialCosts, fit_step_costs, read_pilot, step_rows

OBJ = Objective("loss", "min")


def _run(tid: int, t0: float, start: int, times: list[float], end: Outcome) -> list[Record]:
    """A run of trial ``tid`` dispatched at ``t0`` from ``start``, step times ``times``."""
    out: list[Record] = [Launch(tid, {"x": tid / 10}, start, 99, 99), TrialStarted(tid, t0)]
    t = t0
    for i, dt in enumerate(times):
        t += dt
        out.append(ResultReported(tid, start + i, {"loss": 1.0 / (start + i) + tid}, t))
    out.append(TrialEnded(tid, end, t))
    return out


def test_reads_first_steps_step_times_checkpoints_and_scores() -> None:
    records = [
        *_run(0, 0.0, 1, [5.0, 1.0, 1.0, 1.0], Outcome.COMPLETED),
        *_run(1, 0.0, 1, [7.0], Outcome.STOPPED),
        *_run(2, 7.0, 1, [6.0, 2.0], Outcome.PAUSED),
    ]
    records.insert(-1, CheckpointSaved(2, 2, "ckpt", 15.5))
    pilot = read_pilot(records, OBJ)
    assert pilot.costs[0].steps == {1: 5.0, 2: 1.0, 3: 1.0, 4: 1.0}
    assert pilot.costs[1].steps == {1: 7.0}
    assert pilot.costs[2].steps == {1: 6.0, 2: 2.0}
    assert pilot.checkpoint_seconds == [0.5]
    assert pilot.curves[1] == {1: 2.0}
    assert pilot.params[2] == {"x": 0.2}


def test_scales_profile_and_startup_from_resumed_runs() -> None:
    # steps 2.. cost m_k: trial 0 m=1, trial 1 m=2; trial 1 resumes at step 4 with 3 s of
    # start-up (first step of that run: 3 + 2 = 5 s); trial 2 ran one step only
    records = [
        *_run(0, 0.0, 1, [4.0, 1.0, 1.0, 1.0], Outcome.COMPLETED),
        *_run(1, 0.0, 1, [6.0, 2.0, 2.0], Outcome.PAUSED),
        *_run(1, 20.0, 4, [5.0, 2.0], Outcome.COMPLETED),
        *_run(2, 0.0, 1, [8.0], Outcome.STOPPED),
    ]
    pilot = read_pilot(records, OBJ)
    assert pilot.costs[1].resumed == [(4, 5.0)]
    assert pilot.costs[1].steps == {1: 6.0, 2: 2.0, 3: 2.0, 5: 2.0}
    model = fit_step_costs(pilot.costs, [0, 1, 2], max_step=6)
    assert model.scale[0] == pytest.approx(1.0)
    assert model.scale[1] == pytest.approx(2.0)
    assert model.profile[1:] == pytest.approx(np.ones(5))
    assert model.startup == pytest.approx(3.0)
    # fewer than three trials timed at both step 1 and later: the mean scale
    assert model.scale[2] == pytest.approx(1.5)
    row = model.row(1, pilot.costs[1].steps)
    assert row == pytest.approx([6.0 - 3.0, 2.0, 2.0, 2.0, 2.0, 2.0])


def test_a_step_profile_shared_by_trials() -> None:
    # g = (., 2, 1, 1): step 2 costs twice the later ones, for every trial
    records = [
        r for k, m in enumerate([1.0, 3.0, 0.5])
        for r in _run(k, 0.0, 1, [1.0, 2.0 * m, m, m], Outcome.COMPLETED)
    ]
    records += _run(3, 0.0, 1, [1.0, 4.0], Outcome.STOPPED)  # timed at step 2 only: m = 2
    model = fit_step_costs(read_pilot(records, OBJ).costs, [0, 1, 2, 3], max_step=6)
    g = model.profile / model.profile[2]
    assert g[1:] == pytest.approx([2.0, 1.0, 1.0, 1.0, 1.0])  # steps 5, 6 carry step 4's
    assert model.scale[3] * model.profile[1] == pytest.approx(4.0)
    assert model.row(3, {1: 1.0, 2: 4.0})[2:] == pytest.approx([2.0, 2.0, 2.0, 2.0])
    assert model.startup == 0.0


def test_later_steps_of_a_short_trial_follow_the_long_trials_profile() -> None:
    # step s of trial k costs m_k * s (steps get dearer): trials timed at every step give the
    # profile, and a trial stopped after step 3 is predicted at steps 4..9 from its own scale
    times = {k: [m * s for s in range(1, 10)] for k, m in enumerate([1.0, 2.0, 0.5])}
    times[3] = [3.0 * s for s in range(1, 4)]
    records = [r for k, t in times.items() for r in _run(k, 0.0, 1, t, Outcome.COMPLETED)]
    pilot = read_pilot(records, OBJ)
    model = fit_step_costs(pilot.costs, [0, 1, 2, 3], max_step=9)
    row = model.row(3, pilot.costs[3].steps)
    assert row == pytest.approx([3.0 * s for s in range(1, 10)])


def _profile_trial(power: float, depth: int) -> TrialCosts:
    """Steps cost s ** power (step 1: 1 s), timed up to ``depth``."""
    return TrialCosts(steps={s: float(s) ** power for s in range(1, depth + 1)})


def test_refitted_rows_follow_the_resampled_trials() -> None:
    # two long trials with different profiles (s^0.5 and s^1) and a short one: the short
    # trial's later steps follow whichever long trials the resample holds, a trial drawn
    # twice weighs twice, and the start-up given is taken off step 1
    a, b, short = _profile_trial(0.5, 9), _profile_trial(1.0, 9), _profile_trial(0.0, 1)
    steps = np.arange(1, 10, dtype=float)
    only_a = step_rows([a, short], 9, 0.0)
    only_b = step_rows([b, short], 9, 0.0)
    assert only_a[0] == pytest.approx(steps**0.5)  # a measured trial keeps its own times
    assert only_b[1] == pytest.approx(steps)  # the short one: b's scale and profile
    ratio_a = only_a[1, 8] / only_a[1, 1]
    ratio_b = only_b[1, 8] / only_b[1, 1]
    assert ratio_a == pytest.approx((9 / 2) ** 0.5) and ratio_b == pytest.approx(9 / 2)
    both = step_rows([a, b, short], 9, 0.0)[2]
    twice_a = step_rows([a, a, b, short], 9, 0.0)[3]
    assert ratio_a < twice_a[8] / twice_a[1] < both[8] / both[1] < ratio_b
    assert step_rows([a, short], 9, 0.25)[0, 0] == pytest.approx(0.75)
