"""A PBT study's lineage in ``trials_dataframe``: ``parent_id``, ``replaces`` and ``from_step``
columns, and a member stopped while paused names the trial that took its place
(``rung.analysis_frames.retired``, ``replaced_by``)."""

from __future__ import annotations

import pytest

import rung
from rung.analysis_frames import replaced_by, study_fold
from rung.benchmarks import get_benchmark

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def pbt() -> rung.Study:
    b = get_benchmark("mf-hartmann3")
    s = rung.Study.create("pbt", b.space, objective=rung.Objective(b.metric, b.mode),
                          searcher="random", max_step=b.max_step, seed=0,
                          scheduler=rung.PBT(population_size=8, perturbation_interval=9),
                          budget=rung.Budget(n_trials=40))
    return s.simulate(b, n_workers=4)  # 8 members time-share 4 workers


def test_lineage_columns_are_the_tags(pbt: rung.Study) -> None:
    df = pbt.trials_dataframe().set_index("trial_id")
    h = pbt.history
    assert str(df["replaces"].dtype) == "Int64" and str(df["from_step"].dtype) == "Int64"
    forks = [t for t in h if h.tags(t).get("pbt") == "fork"]
    assert forks  # the population was exploited
    for t in h:
        tags = h.tags(t)
        for col in ("replaces", "from_step"):
            got = df.loc[t, col]
            assert (got is pd.NA and col not in tags) or got == tags[col]
    assert all(df.loc[t, "parent_id"] == h.parent_id(t) for t in forks)


def test_a_member_stopped_while_paused_names_its_replacement(pbt: rung.Study) -> None:
    df = pbt.trials_dataframe().set_index("trial_id")
    heirs = replaced_by(pbt.history, study_fold(pbt))
    named = 0
    for t, heir in heirs.items():
        reason = df.loc[t, "reason"]
        if not reason.startswith("stopped while paused"):
            continue  # exploited when it reported (its own stop decision says so)
        named += 1
        assert reason.endswith(
            f"; replaced by trial {heir}, a fork of trial {df.loc[heir, 'parent_id']} from "
            f"its checkpoint at step {df.loc[heir, 'from_step']}")
    assert named >= 1


def test_outside_pbt_the_columns_are_missing_values() -> None:
    s = rung.Study.create("fifo", {"x": rung.Float(0, 1)}, searcher="random",
                          scheduler="fifo", budget=rung.Budget(n_trials=3), seed=0)
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"loss": t.params["x"]})
    df = s.trials_dataframe()
    assert df["replaces"].isna().all() and df["from_step"].isna().all()
