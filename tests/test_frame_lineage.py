"""A PBT study's lineage in ``trials_dataframe``: ``parent_id``, ``replaces`` and ``from_step``
columns, and a member stopped while paused gives its exploit's reason, which names the donor of
the fork that took its place (``rung.analysis_frames.retired``, ``replaced_by``)."""

from __future__ import annotations

import pytest

import rung
from rung.analysis_frames import replaced_by, retired, study_fold
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
    jf = study_fold(pbt)
    heirs = replaced_by(pbt.history, jf)
    named = 0
    for t, heir in heirs.items():
        reason = df.loc[t, "reason"]
        if retired(pbt.history, jf, t) is None:
            continue  # exploited when it reported (its own stop decision says so)
        named += 1
        # the exploit's reason, as a member exploited when it reports reads
        assert reason.startswith(f"exploit: generation at step {df.loc[t, 'decision_step']} "
                                 "judged: ")
        assert f"; replaced by a fork of trial {df.loc[heir, 'parent_id']} (" in reason
    assert named >= 1


def test_outside_pbt_the_columns_are_missing_values() -> None:
    s = rung.Study.create("fifo", {"x": rung.Float(0, 1)}, searcher="random",
                          scheduler="fifo", budget=rung.Budget(n_trials=3), seed=0)
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"loss": t.params["x"]})
    df = s.trials_dataframe()
    assert df["replaces"].isna().all() and df["from_step"].isna().all()


def test_each_result_row_has_the_decision_on_that_result_not_on_a_later_report() -> None:
    """A resumed trial reports step 1 again and is told something else there ('already
    promoted'): the first report's row keeps its own decision (it showed the second run's on
    both). Found by an audit."""
    from rung.analysis_frames import result_rows
    from rung.core.events import Action, Decision, Launch, Reply, ResultReported
    from rung.journal_fold import fold

    records = [
        Launch(0, {"x": 0.5}, 1, 1, 3),
        ResultReported(0, 1, {"loss": 0.5}, 1.0),
        Reply(0, 1, Decision(Action.CONTINUE, 3, False, "rank 2/16 at rung 0 (step 1)")),
        ResultReported(0, 2, {"loss": 0.4}, 2.0),
        Launch(0, {"x": 0.5}, 1, 1, 3),  # the trial's second run (restarted from scratch)
        ResultReported(0, 1, {"loss": 0.5}, 5.0),
        Reply(0, 1, Decision(Action.CONTINUE, 3, False,
                             "rank 2/16 at rung 0 (step 1): already promoted")),
    ]
    jf = fold(records)
    h = rung.Study.create("f", {"x": rung.Float(0, 1)}, "loss", max_step=3).history
    rows = result_rows(h, jf)
    assert [(r["step"], r["run"], r["decision"], r["reason"]) for r in rows] == [
        (1, 1, "continue", "rank 2/16 at rung 0 (step 1)"),
        (2, 1, None, None),
        (1, 2, "continue", "rank 2/16 at rung 0 (step 1): already promoted")]
