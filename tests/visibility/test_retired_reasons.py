"""A trial its scheduler stopped while it was paused (synchronous successive halving's and
Hyperband's losers of a completed rung, PBT's replaced members, the curve-aware scheduler's
never-promoted trials) shows that stop, with the scheduler's reason for it (the engine
journals it in a ``Cancel`` of the paused trial), wherever the last decision on a trial is
shown: ``trials_dataframe`` / ``rung export``, the dashboard's trial detail and table, and the
stop marks of the learning curves (plot and dashboard)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import rung
from rung.benchmarks import MFBranin

pd = pytest.importorskip("pandas")

SPACE = {"x1": rung.Float(-5, 10), "x2": rung.Float(0, 15)}


def _study(scheduler: object, storage: object = None, n_trials: int = 27) -> rung.Study:
    s = rung.Study.create("sh", SPACE, objective="loss", searcher="random", scheduler=scheduler,
                          max_step=27, budget=rung.Budget(n_trials=n_trials), seed=0,
                          storage=storage)
    return s.simulate(MFBranin(max_step=27, noise=0.5), n_workers=4)


def _journal_pauses(s: rung.Study) -> dict[int, tuple[int, str]]:
    """Each trial's last journaled decision, if it is a pause: step and reason."""
    from rung.core.events import Reply

    last: dict[int, tuple[str, int, str]] = {}
    for r in s.journal.read(s.name):
        if isinstance(r, Reply):
            last[r.trial_id] = (r.decision.action.value, r.step, r.decision.reason)
    return {t: (step, why) for t, (a, step, why) in last.items() if a == "pause"}


def _journal_retirements(s: rung.Study) -> dict[int, str]:
    """The reason journaled with each paused trial the scheduler stopped (its ``Cancel``)."""
    from rung.core.events import Cancel

    return {r.trial_id: r.reason for r in s.journal.read(s.name) if isinstance(r, Cancel)}


#: what each scheduler's stop of a paused trial says: its rank where it was decided
_RUNG_STOP = r"bracket \d+ rung \d+ \(step \d+\): rank \d+/\d+, not in the top \d+"
_STOP = {
    "successive_halving": _RUNG_STOP,
    "hyperband": _RUNG_STOP,
    "curve": r"rank \d+/\d+ at rung \d+ \(step \d+\), predicted final loss=\S+: not promoted: "
             r"the rung's population is final and its \d+ place\(s\) are taken "
             r"\(\d+ promoted(, \d+ kept for better-predicted trials)?\)",
}


@pytest.mark.parametrize("scheduler", ["successive_halving", "hyperband", "curve"])
def test_a_trial_stopped_while_paused_shows_its_stop(scheduler: str) -> None:
    s = _study(scheduler)
    paused_last = _journal_pauses(s)
    stopped = {t.id for t in s.trials("stopped")}
    retired = sorted(stopped & set(paused_last))
    assert retired, "the scheduler stopped no trial while it was paused"
    noted = _journal_retirements(s)
    assert sorted(noted) == retired
    df = s.trials_dataframe().set_index("trial_id")
    # every stopped trial says stop, never the pause that came before it
    assert set(df.loc[sorted(stopped), "decision"]) == {"stop"}
    for t in retired:
        step = paused_last[t][0]
        assert df.loc[t, "decision_step"] == step
        assert df.loc[t, "reason"] == noted[t]
        assert re.fullmatch(_STOP[scheduler], noted[t]), noted[t]
    # a paused trial that went on keeps its own decisions
    for t in set(paused_last) - stopped:
        assert df.loc[t, "decision"] == "pause"


def test_dashboard_detail_table_and_curves_show_the_stop(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from rung.dashboard import create_app

    db = tmp_path / "s.db"
    s = _study("successive_halving", storage=db)
    paused_last = _journal_pauses(s)
    retired = sorted({t.id for t in s.trials("stopped")} & set(paused_last))
    noted = _journal_retirements(s)
    s.close()
    assert retired
    c = TestClient(create_app(db))
    t = retired[0]
    step = paused_last[t][0]
    want = noted[t]
    assert re.fullmatch(_RUNG_STOP, want), want
    d = c.get(f"/api/study/sh/trial/{t}").json()
    assert d["status"] == "stopped"
    assert d["decisions"][-2]["action"] == "pause"  # the journal's decision, kept
    assert d["decisions"][-1] == {"step": step, "action": "stop", "reason": want,
                                  "time": d["decisions"][-1]["time"]}
    rows = c.get("/api/study/sh/trials?limit=1000").json()["rows"]
    row = next(r for r in rows if r["trial_id"] == t)
    assert (row["decision"], row["decision_step"], row["reason"]) == ("stop", step, want)
    marks = {(m["trial_id"], m["step"]): m for m in c.get("/api/study/sh/curves").json()["decisions"]}
    assert marks[(t, step)]["action"] == "stop" and marks[(t, step)]["reason"] == want


def test_learning_curves_mark_a_stop_while_paused_as_a_stop() -> None:
    pytest.importorskip("matplotlib")
    from rung import plot as P

    s = _study("successive_halving")
    paused_last = _journal_pauses(s)
    retired = sorted({t.id for t in s.trials("stopped")} & set(paused_last))
    fig = P.learning_curves(s)
    ax = fig.axes[0]
    stops = next(a for a in ax.collections if a.get_gid() == "stop")
    pts = {(float(x), float(y)) for x, y in stops.get_offsets()}
    for t in retired:
        step = paused_last[t][0]
        assert (float(step), float(s.trial(t).value)) in pts
    pauses = [a for a in ax.collections if a.get_gid() == "pause"]
    paused_pts = {(float(x), float(y)) for a in pauses for x, y in a.get_offsets()}
    for t in retired:
        assert (float(paused_last[t][0]), float(s.trial(t).value)) not in paused_pts


def test_a_trial_the_user_stopped_after_a_pause_is_not_said_to_be_retired() -> None:
    """ask/tell: the scheduler paused the trial and the user told it stopped (a TrialEnded
    says so): its scheduler did not stop it, and the rows do not say it did."""
    s = rung.Study.create("u", {"x": rung.Float(0, 1)}, searcher="random",
                          scheduler="successive_halving", max_step=3,
                          budget=rung.Budget(n_trials=3), seed=0)
    t = s.ask()
    assert t is not None
    d = s.report(t.id, 1, {"loss": 0.5})
    assert d.action.value == "pause"
    s.tell(t.id, "stopped")
    row = s.trials_dataframe().iloc[0]
    assert (row["status"], row["decision"], row["reason"]) == ("stopped", "pause", d.reason)
