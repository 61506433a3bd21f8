"""PBT and PB2 (PBT versions 12-13, PB2 4-5) without checkpoints: a member that pauses without
a checkpoint of its pause step (or top members that went on without saving when a member is to
be exploited) ends the run with one line. Before, a time-shared member was resumed from scratch
into the same pause for ever (``Budget.n_trials`` does not bound resumes)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sched_script import Script, summary

import rung
from rung import Budget
from rung.core import Cancel, Launch, TrialEnded
from rung.core.engine import DRIVER_STOPPED
from rung.core.events import Action, Decision
from rung.core.records import Outcome, TrialStatus
from rung.schedulers import PB2, PBT

SRC = str(Path(rung.__file__).resolve().parents[1])


def _why(name: str, tid: int, step: int) -> str:
    return (f"{name} needs checkpoints: trial {tid} paused at step {step} without saving a "
            "checkpoint there; pass save= to ctx.report (ask/tell: Study.checkpoint before tell)")


@pytest.mark.parametrize("make", [PBT, PB2])
def test_a_time_shared_member_that_pauses_unsaved_ends_the_run(make: type[PBT]) -> None:
    # population 3 on 2 workers: trial 0 pauses at step 4 and saves nothing
    s = Script(make(3, 4), max_step=9, budget=Budget(n_trials=3))
    assert summary(s.capacity(2)) == [(0, 1, 4, None), (1, 1, 4, None)]
    s.start(0, 1)
    assert s.run(0, [1, 2, 3, 4], 0.5) == Decision(
        Action.PAUSE, None, True,
        "time-sharing: paused at step 4 until 2 member(s) behind catch up")
    assert s.run(1, [1, 2], 0.4) is None
    why = _why(make.__name__, 0, 4)
    # its pause ends without a checkpoint: it is retired with the reason, nothing launches
    # (before: trial 2 started, and trial 0 was resumed from step 1 until step 4, for ever)
    out = s.feed(TrialEnded(0, Outcome.PAUSED, s.tick()))
    assert out == [Cancel(0, why)]
    h = s.engine.history
    assert h.status(0) is TrialStatus.STOPPED
    # the member still running is stopped at its next report, with the same reason
    assert s.report(1, 3, 0.4) == Decision.stop(why)
    assert s.end(1, "stopped") == []
    assert [h.status(t) for t in h] == [TrialStatus.STOPPED, TrialStatus.STOPPED]
    assert s.engine.exhausted and s.engine.over
    assert s.scheduler.state()["ended"] == why
    assert s.scheduler.ended() == why  # what rung show, rung ls and the dashboard say
    assert not [c for c in s.commands if isinstance(c, Launch) and c.trial_id == 0][1:]
    s.assert_replay_matches()


def test_a_pause_with_an_older_checkpoint_ends_it_too() -> None:
    # trial 0 saved at step 4 but pauses at step 8 unsaved: resuming it from step 5 would
    # retrain into the same pause at step 8
    s = Script(PBT(2, 4, burn_in_period=5), max_step=12, budget=Budget(n_trials=2))
    assert summary(s.capacity(1)) == [(0, 1, 4, None)]
    s.start(0)
    s.run(0, [1, 2, 3, 4], 0.5)
    assert summary(s.pause(0, 4)) == [(1, 1, 4, None)]
    s.start(1)
    s.run(1, [1, 2, 3, 4], 0.6)
    assert summary(s.pause(1, 4)) == [(0, 5, 8, "c/0/4")]
    s.start(0)
    assert s.run(0, [5, 6, 7, 8], 0.3).action is Action.PAUSE
    out = s.feed(TrialEnded(0, Outcome.PAUSED, s.tick()))
    assert sorted(c.trial_id for c in out if isinstance(c, Cancel)) == [0, 1]
    assert {c.reason for c in out if isinstance(c, Cancel)} == {_why("PBT", 0, 8)}
    assert not [c for c in out if isinstance(c, Launch)]
    assert s.engine.over
    s.assert_replay_matches()


def test_a_population_on_as_many_workers_without_checkpoints_ends_when_it_would_exploit() -> None:
    # 4 members on 4 workers (no time-sharing): nobody saves what step 4 asked for; before,
    # the bottom member could never be exploited and all ran to max_step without a word
    s = Script(PBT(4, 4), max_step=12, budget=Budget(n_trials=4))
    s.capacity(4)
    s.start(0, 1, 2, 3)
    for t in range(3):
        s.run(t, [1, 2, 3, 4, 5], 0.1 * (t + 1))
    s.run(3, [1, 2, 3], 0.9)
    why = ("PBT needs checkpoints: trial 0 went on past step 4 without saving the checkpoint "
           "asked for there, so no member can be copied; pass save= to ctx.report (ask/tell: "
           "Study.checkpoint before reporting on)")
    assert s.report(3, 4, 0.9) == Decision.stop(why)
    for t in range(3):
        assert s.report(t, 6, 0.1) == Decision.stop(why)
    for t in range(4):
        assert s.end(t, "stopped") == []
    assert s.engine.over
    s.assert_replay_matches()


def test_a_pause_its_driver_cut_short_does_not_end_pbt() -> None:
    # the driver dies (kill -9, Ctrl-C) while trial 0 saves the checkpoint of its pause: the
    # next session ends it paused without one, which said nothing about the objective, yet
    # PBT ended the whole search ("PBT needs checkpoints", 2 of 8 trials run, for good)
    s = Script(PBT(3, 4), max_step=9, budget=Budget(n_trials=3))
    s.capacity(2)
    s.start(0, 1)
    assert s.run(0, [1, 2, 3, 4], 0.5).action is Action.PAUSE
    assert s.run(1, [1, 2], 0.4) is None
    ends = s.engine.abandoned_ends(s.tick())
    assert [(e.trial_id, e.outcome, e.error) for e in ends] == [
        (0, Outcome.PAUSED, DRIVER_STOPPED), (1, Outcome.INTERRUPTED, DRIVER_STOPPED)]
    launched = [c for e in ends for c in s.feed(e)]
    assert s.scheduler.ended() is None
    assert not [c for c in launched if isinstance(c, Cancel)]
    # the population goes on: trial 2 starts, trial 1 resumes; trial 0 waits paused
    assert summary(launched) == [(2, 1, 4, None), (1, 1, 4, None)]
    s.start(1, 2)
    s.run(1, [3, 4], 0.4)
    s.pause(1, 4)
    assert s.run(2, [1, 2, 3, 4], 0.3).reason == (
        "time-sharing: generation at step 4 judged (rank 1/3, 1 exploited); paused for the "
        "next interval")
    # trial 0's result at step 4 stands (it reported it): the worst, exploited and replaced
    # by a fork of trial 2's checkpoint
    assert summary(s.pause(2, 4)) == [(3, 5, 8, "c/2/4"), (1, 5, 8, "c/1/4")]
    assert s.engine.history.status(0) is TrialStatus.STOPPED
    s.assert_replay_matches()


def test_a_population_that_saves_is_unchanged() -> None:
    # the same time-shared population with checkpoints: trial 0 resumes from its checkpoint
    s = Script(PBT(3, 4), max_step=9, budget=Budget(n_trials=3))
    s.capacity(1)
    s.start(0)
    s.run(0, [1, 2, 3, 4], 0.5)
    assert summary(s.pause(0, 4)) == [(1, 1, 4, None)]
    assert s.scheduler.state()["ended"] is None
    assert s.scheduler.ended() is None


# --- real runs: they end, in bounded time, and say why ----------------------------------------

_OBJECTIVE = """
import rung
def train(ctx):
    for s in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(s, loss=(ctx.params["x"] - 0.3) ** 2 + 1.0 / s)  # no save=
def study():
    return rung.Study.create("pn", {"x": rung.Float(0, 1)}, objective="loss",
                             scheduler=rung.PBT(population_size=3, perturbation_interval=2),
                             max_step=6, budget=rung.Budget(n_trials=3), seed=0,
                             storage="pn.db")
"""


def _run(tmp: Path, main: str) -> subprocess.CompletedProcess[str]:
    (tmp / "script.py").write_text(textwrap.dedent(_OBJECTIVE) + textwrap.dedent(main))
    env = {**os.environ, "PYTHONPATH": SRC}
    # bounded: before the fix both loops ran until this timeout
    return subprocess.run([sys.executable, "script.py"], cwd=tmp, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def _show(tmp: Path) -> str:
    env = {**os.environ, "PYTHONPATH": SRC}
    r = subprocess.run([sys.executable, "-m", "rung", "show", "pn", "--storage", "pn.db"],
                       cwd=tmp, env=env, capture_output=True, text=True, timeout=60, check=True)
    return r.stdout


def test_study_run_without_save_ends_and_says_why(tmp_path: Path) -> None:
    r = _run(tmp_path, """
if __name__ == "__main__":
    st = study()
    st.run(train, n_workers=1, progress=False)
    print("BY", st.summary()["by_status"], "RESULTS", st.summary()["results"])
""")
    assert r.returncode == 0, r.stderr
    # trial 0 ran to its first interval and paused: nothing else started
    assert "BY {'stopped': 1} RESULTS 2" in r.stdout
    # the session's last line says why the search ended (before: only "1 trial: 1 stopped")
    assert (f"rung: study pn: the scheduler ended the search: {_why('PBT', 0, 2)}"
            in r.stderr.splitlines())
    show = _show(tmp_path)
    assert f"ended={_why('PBT', 0, 2)}" in show
    assert f"(the scheduler ended the search: {_why('PBT', 0, 2)})" in show


def test_the_dashboard_and_the_summary_say_why_pbt_ended(tmp_path: Path) -> None:
    r = _run(tmp_path, """
if __name__ == "__main__":
    from rung.study_views import over_early as budget_state
    st = study()
    st.run(train, n_workers=1, progress=False)
    print("ENDED", st.summary()["scheduler_ended"])
    print("DASH", budget_state(rung.Study.load("pn", storage="pn.db", readonly=True).engine))
""")
    assert r.returncode == 0, r.stderr
    assert f"ENDED {_why('PBT', 0, 2)}" in r.stdout.splitlines()
    assert f"DASH the scheduler ended the search: {_why('PBT', 0, 2)}" in r.stdout.splitlines()


def test_ask_tell_without_checkpoints_ends_and_says_why(tmp_path: Path) -> None:
    r = _run(tmp_path, """
st = study()
n = 0
while (t := st.ask()) is not None and n < 50:
    n += 1
    for s in range(1, 7):
        d = st.report(t.id, s, {"loss": (t.params["x"] - 0.3) ** 2 + 1.0 / s})
        if d.action.value != "continue":
            break
    st.tell(t.id, {"continue": "completed", "stop": "stopped", "pause": "paused"}[d.action.value])
print("ASKS", n, "BY", st.summary()["by_status"])
print("ENDED", st.summary()["scheduler_ended"])
""")
    assert r.returncode == 0, r.stderr
    assert "ASKS 1 BY {'stopped': 1}" in r.stdout  # before: 50 asks, trial 0 from step 1 each
    assert "ENDED " + _why("PBT", 0, 2) in r.stdout.splitlines()
    assert f"ended={_why('PBT', 0, 2)}" in _show(tmp_path)
