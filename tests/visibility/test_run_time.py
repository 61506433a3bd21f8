"""``trials_dataframe``'s ``run_time``: the time a trial's runs took, summed, beside its
``duration`` (first start to last end, waits while paused included): a PBT member that ran
39.5 s of its 83.7 s said only ``duration`` 83.7."""

from __future__ import annotations

import pytest

import rung
from rung.benchmarks import MFBranin
from rung.core.events import TrialEnded, TrialStarted

pd = pytest.importorskip("pandas")


def test_run_time_is_the_runs_summed() -> None:
    s = rung.Study.create("p", {"x1": rung.Float(-5, 10), "x2": rung.Float(0, 15)},
                          objective="loss", searcher="random",
                          scheduler=rung.PBT(perturbation_interval=3, population_size=4),
                          max_step=12, budget=rung.Budget(n_trials=4), seed=0)
    s.simulate(MFBranin(max_step=12), n_workers=2)
    ran: dict[int, float] = {}
    started: dict[int, float] = {}
    for r in s.journal.read(s.name):  # by hand: each run from its start to its end
        if isinstance(r, TrialStarted):
            started[r.trial_id] = r.time
        elif isinstance(r, TrialEnded) and r.trial_id in started:
            ran[r.trial_id] = ran.get(r.trial_id, 0.0) + r.time - started.pop(r.trial_id)
    df = s.trials_dataframe().set_index("trial_id")
    assert {t: df.loc[t, "run_time"] for t in ran} == pytest.approx(ran)
    waited = [t for t in ran if df.loc[t, "launches"] > 1]
    assert waited, "no trial was paused and resumed"
    for t in waited:
        assert df.loc[t, "duration"] > df.loc[t, "run_time"] + 1e-9
