"""Every trial a scheduler stops or promotes at a rung's completion (or a generation's
judgement) carries the reason of that decision, in the words a trial decided at its own report
reads, also when it was paused at that moment: the engine journals a paused loser's reason in a
``Cancel`` of it as it retires it, and a paused winner's in a ``Reply`` on its last result right
after the ``Launch`` that resumes it (``Scheduler.paused_decision``, ``rung.core.engine``).
``rung.journal_fold.retired`` shows the first, and the second is a decision like any other.
A journal written before these notes replays as it was written, with the old text."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from sched_script import Script, summary

import rung
from rung import Action, Budget, Decision
from rung.core import Cancel, Engine, Launch, Record, Reply, ResultReported
from rung.core.events import is_event
from rung.journal_fold import fold, last_decision, retired
from rung.schedulers import PBT, Hyperband, SuccessiveHalving
from rung.schedulers.curve import CurveASHA

LOSSES = [0.5, 0.9, 0.1, 0.7, 0.3, 0.8, 0.2, 0.6, 0.4]  # rung-0 top 3: trials 2, 6, 4
RUNG1 = {2: 0.35, 6: 0.15, 4: 0.25}  # rung-1 winner: trial 6
R0, R1 = "bracket 0 rung 0 (step 1)", "bracket 0 rung 1 (step 3)"


def _notes(cmds: Sequence[object]) -> dict[int, list[tuple[str, int | None, str]]]:
    """Each trial's retire notes (``("retire", None, reason)``) and promotion notes
    (``("promote", step, reason)``: a CONTINUE reply right after the trial's launch)."""
    out: dict[int, list[tuple[str, int | None, str]]] = {}
    prev: object = None
    for c in cmds:
        if isinstance(c, Cancel):
            out.setdefault(c.trial_id, []).append(("retire", None, c.reason))
        elif (isinstance(c, Reply) and isinstance(prev, Launch) and prev.trial_id == c.trial_id):
            assert c.decision.action is Action.CONTINUE
            assert c.decision.until_step == prev.until_step  # the lease of the launch
            out.setdefault(c.trial_id, []).append(("promote", c.step, c.decision.reason))
        prev = c
    return out


def _successive_halving() -> Script:
    """Nine trials on three workers through a bracket of successive halving (eta 3, steps 1,
    3, 9): the ninth report completes rung 0 while trial 7 is still saving its pause."""
    s = Script(SuccessiveHalving(3, iterations=1), max_step=9)
    s.capacity(3)
    for t in range(3):
        s.report(t, 1, LOSSES[t])
    for t in range(3):
        s.pause(t, 1)
    for t in range(3, 6):
        s.report(t, 1, LOSSES[t])
        s.pause(t, 1)
    s.report(6, 1, LOSSES[6])
    s.report(7, 1, LOSSES[7])
    s.pause(6, 1)
    assert s.report(8, 1, LOSSES[8]) == Decision.stop(f"{R0}: rank 4/9, not in the top 3")
    assert summary(s.pause(7, 1)) == [(2, 2, 3, "c/2/1"), (6, 2, 3, "c/6/1")]
    assert summary(s.end(8, "stopped")) == [(4, 2, 3, "c/4/1")]
    assert s.run(2, [2, 3], RUNG1[2]).action is Action.PAUSE
    assert s.run(6, [2, 3], RUNG1[6]).action is Action.PAUSE
    s.pause(2, 3)
    assert s.run(4, [2, 3], RUNG1[4]) == Decision.stop(f"{R1}: rank 2/3, not in the top 1")
    assert summary(s.pause(6, 3)) == [(6, 4, 9, "c/6/3")]
    s.end(4, "stopped")
    s.run(6, range(4, 10), 0.1)
    s.end(6)
    assert s.engine.done
    return s


def test_successive_halving_names_every_members_rank_at_a_completed_rung() -> None:
    s = _successive_halving()
    assert _notes(s.commands) == {
        # paused losers of rung 0: retired as it completes (trial 7 once its pause arrives)
        0: [("retire", None, f"{R0}: rank 5/9, not in the top 3")],
        1: [("retire", None, f"{R0}: rank 9/9, not in the top 3")],
        3: [("retire", None, f"{R0}: rank 7/9, not in the top 3")],
        5: [("retire", None, f"{R0}: rank 8/9, not in the top 3")],
        7: [("retire", None, f"{R0}: rank 6/9, not in the top 3")],
        # paused winners: their promotion, as they resume
        2: [("promote", 1, f"{R0}: rank 1/9, promoted (top 3)"),
            ("retire", None, f"{R1}: rank 3/3, not in the top 1")],
        6: [("promote", 1, f"{R0}: rank 2/9, promoted (top 3)"),
            ("promote", 3, f"{R1}: rank 1/3, promoted (top 1)")],
        4: [("promote", 1, f"{R0}: rank 3/9, promoted (top 3)")],
        # (trial 8 and trial 4 at rung 1 completed their rungs: their replies say it)
    }
    # the folded journal: every stopped trial's last decision names its rank, and the
    # winner's table has its promotions after its pauses
    h, jf = s.engine.history, fold(s.records)
    reasons = {t: (d.action, d.step, d.reason) for t in h
               if (d := last_decision(h, jf, t)) is not None}
    assert reasons[0] == ("stop", 1, f"{R0}: rank 5/9, not in the top 3")
    assert reasons[2] == ("stop", 3, f"{R1}: rank 3/3, not in the top 1")
    assert reasons[6] == ("continue", 3, f"{R1}: rank 1/3, promoted (top 1)")
    assert [(d.step, d.action) for d in jf.decisions if d.trial_id == 6] == [
        (1, "pause"), (1, "continue"), (3, "pause"), (3, "continue")]
    assert len(reasons) == 9 and all(r.startswith("bracket 0 rung ") for _, _, r in
                                     reasons.values())  # none says "stopped while paused"
    s.assert_replay_matches()


def test_hyperband_names_the_ranks_of_its_first_brackets_rung() -> None:
    s = Script(Hyperband(3, iterations=1), max_step=3)  # bracket 0: 3 trials at steps 1, 3
    assert summary(s.capacity(3)) == [(0, 1, 1, None), (1, 1, 1, None), (2, 1, 1, None)]
    assert all(s.engine.history.tags(t) == {"bracket": 0, "s": 1} for t in range(3))
    s.report(0, 1, 0.5)
    s.pause(0, 1)
    s.report(1, 1, 0.2)
    s.pause(1, 1)
    mark = len(s.commands)
    assert s.report(2, 1, 0.9) == Decision.stop(f"{R0}: rank 3/3, not in the top 1")
    assert summary(s.end(2, "stopped")) == [(1, 2, 3, "c/1/1")]
    assert _notes(s.commands[mark:]) == {
        0: [("retire", None, f"{R0}: rank 2/3, not in the top 1")],
        1: [("promote", 1, f"{R0}: rank 1/3, promoted (top 1)")],
    }
    s.assert_replay_matches()


def test_curve_asha_names_the_rank_of_the_trials_its_final_rung_retires() -> None:
    """Four trials, no fifth: rung 0's population is final once they all reported, its one
    place goes to the best-predicted trial, and the paused others are retired."""
    s = Script(CurveASHA(3), max_step=9, budget=Budget(n_trials=4))
    s.capacity(4)
    for t, loss in enumerate([0.5, 0.2, 0.8, 0.4]):
        assert s.report(t, 1, loss).action is Action.PAUSE
    for t in range(4):
        s.pause(t, 1)
    where = "at rung 0 (step 1), predicted final"
    final = "not promoted: the rung's population is final and its 1 place(s) are taken"
    assert _notes(s.commands) == {
        0: [("retire", None, f"rank 3/4 {where} loss=0.5: {final} (0 promoted, 1 kept for "
                             "better-predicted trials)")],
        1: [("promote", 1, f"rank 1/4 {where} loss=0.2: promoted")],
        2: [("retire", None, f"rank 4/4 {where} loss=0.8: {final} (1 promoted)")],
        3: [("retire", None, f"rank 2/4 {where} loss=0.4: {final} (1 promoted)")],
    }
    h, jf = s.engine.history, fold(s.records)
    assert [h.status(t).value for t in range(4)] == ["stopped", "launched", "stopped", "stopped"]
    stop = retired(h, jf, 3)
    assert stop is not None and (stop.action, stop.step) == ("stop", 1)
    assert stop.reason == f"rank 2/4 {where} loss=0.4: {final} (1 promoted)"
    s.assert_replay_matches()


def test_pbt_names_donor_values_and_explore_changes_of_a_paused_member_exploited() -> None:
    """A population of 4 time-sharing 2 workers: trial 0 waits paused at step 2 when the
    generation is judged, worst of the four; its stop reads as a reporter's exploit does."""
    s = Script(PBT(population_size=4, perturbation_interval=2), max_step=6,
               budget=Budget(n_trials=4))
    s.capacity(2)
    losses = {0: 0.9, 1: 0.3, 2: 0.5, 3: 0.6}
    for t in (0, 1):
        s.run(t, [1, 2], losses[t])
    s.pause(0, 2)
    s.pause(1, 2)
    for t in (2, 3):
        s.run(t, [1, 2], losses[t])
    assert s.scheduler.state()["pending_forks"] == [0]
    s.pause(2, 2)  # trial 0's place: a fork of trial 1
    assert summary(s.pause(3, 2)) == [(1, 3, 4, "c/1/2")]  # trial 1 resumes
    h = s.engine.history
    assert h.parent_id(4) == 1 and h.tags(4)["replaces"] == 0
    assert _notes(s.commands) == {
        0: [("retire", None, "exploit: generation at step 2 judged: loss=0.9 ranks 4/4, in the "
                             "bottom 1; replaced by a fork of trial 1 (loss=0.3 at step 2): "
                             f"x {h.params(1)['x']:.6g} -> {h.params(4)['x']:.6g}")],
        1: [("promote", 2, "time-sharing: generation at step 2 judged: loss=0.3 ranks 1/4, "
                           "not in the bottom 1; resumed for the next interval")],
    }
    d = last_decision(h, fold(s.records), 0)  # the same words as the journal's
    assert d is not None and (d.action, d.step, d.reason) == ("stop", 2, _notes(s.commands)[0][0][2])
    s.assert_replay_matches()


def _without_notes(records: Sequence[Record]) -> list[Record]:
    """The journal as rung wrote it before it journaled the reasons of decisions on paused
    trials: no ``Cancel`` of a retired trial, no ``Reply`` on a trial it did not report for."""
    out: list[Record] = []
    event: object = None
    for r in records:
        if isinstance(r, Cancel):
            continue
        if isinstance(r, Reply) and not (isinstance(event, ResultReported)
                                         and event.trial_id == r.trial_id):
            continue
        if is_event(r):
            event = r
        out.append(r)
    return out


def test_a_journal_without_the_reasons_replays_to_the_old_text() -> None:
    s = _successive_halving()
    old = _without_notes(s.records)
    assert len(old) == len(s.records) - 10  # 6 retirements and 4 promotions
    again = Engine.replay(s.spec, old)  # no ReplayDivergenceError: the notes are left out
    assert again.tail == []
    assert again.scheduler.state() == s.scheduler.state()
    h, jf = again.history, fold(old)
    stop = retired(h, jf, 0)
    assert stop is not None
    assert stop.reason == (
        "stopped while paused at step 1: the scheduler will not resume it (it had paused: "
        f"{R0}: 1/9 results in; paused until the rung is complete)")
    winner = last_decision(h, jf, 6)
    assert winner is not None and (winner.action, winner.step) == ("pause", 3)
    # a journal with them replays them as written
    full = Engine.replay(s.spec, s.records)
    assert full.tail == [] and fold(s.records).retirements.keys() == {0, 1, 2, 3, 5, 7}


def test_trials_dataframe_shows_each_trials_rank_at_its_rung(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    from rung.analysis_frames import study_fold

    s = rung.Study.create("sh", {"x": rung.Float(0, 1)}, searcher="random",
                          scheduler=SuccessiveHalving(3, iterations=1), max_step=9,
                          budget=rung.Budget(n_trials=9), seed=0, storage=tmp_path / "sh.db")

    def run(tid: int, steps: Sequence[int], loss: float) -> None:
        for step in steps:
            d = s.report(tid, step, {"loss": loss})
            if d.action is Action.PAUSE:
                s.checkpoint(tid, step, f"c/{tid}/{step}")
                s.tell(tid, "paused")
                return
            if d.action is Action.STOP:
                s.tell(tid, "stopped")
                return
        s.tell(tid, "completed")

    for i in range(9):
        t = s.ask()
        assert t is not None and t.id == i
        run(t.id, [1], LOSSES[i])
    while (t := s.ask()) is not None:  # the promoted trials, best first
        last = s.history.last_step(t.id)
        run(t.id, [2, 3] if last == 1 else range(last + 1, 10), RUNG1.get(t.id, 0.1))
    want = {
        0: ("stop", 1, f"{R0}: rank 5/9, not in the top 3"),
        1: ("stop", 1, f"{R0}: rank 9/9, not in the top 3"),
        2: ("stop", 3, f"{R1}: rank 3/3, not in the top 1"),
        3: ("stop", 1, f"{R0}: rank 7/9, not in the top 3"),
        4: ("stop", 3, f"{R1}: rank 2/3, not in the top 1"),
        5: ("stop", 1, f"{R0}: rank 8/9, not in the top 3"),
        6: ("continue", 3, f"{R1}: rank 1/3, promoted (top 1)"),
        7: ("stop", 1, f"{R0}: rank 6/9, not in the top 3"),
        8: ("stop", 1, f"{R0}: rank 4/9, not in the top 3"),
    }
    for study in (s, rung.Study.load("sh", storage=tmp_path / "sh.db")):
        df = study.trials_dataframe().set_index("trial_id")
        got = {int(t): (r.decision, int(r.decision_step), r.reason) for t, r in df.iterrows()}
        assert got == want
        assert df.loc[6, "status"] == "completed"
        table = [(d.step, d.action, d.reason) for d in study_fold(study).decisions
                 if d.trial_id == 6]
        assert table[1] == (1, "continue", f"{R0}: rank 2/9, promoted (top 3)")
        assert table[3] == (3, "continue", f"{R1}: rank 1/3, promoted (top 1)")
    s.close()
