"""``Study.tell`` ends a trial as its scheduler decided (audit of the ask/tell API).

Before: ``tell(t.id)`` (status left out) after a STOP or a PAUSE ended the trial completed at
a low step (it counted for ``best_trial``; a paused one was never promoted); a trial told
``"interrupted"`` after a STOP was handed back by ``ask`` and trained past its rung;
``"paused"`` was accepted with no PAUSE decided, stranding the trial; ``error=`` was kept on
a completed trial; and the refusals, the closed study and ``rung show``'s advice for an
asked trial said the wrong thing or nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.cli.report import show_study
from rung.core.events import Record, TrialEnded
from rung.errors import ConfigError, JournalError


class Curves:
    """A benchmark: trials with ``x < 0.7`` get worse with steps (loss 0.1 + 0.05 step),
    the others are flat at 0.2 + x. ASHA keeps trials 0 and 1 and stops the rest early, at
    a step-1 loss (0.15) below any full-fidelity one."""

    name = "curves"
    metric = "loss"
    mode = "min"
    optimum = None
    max_step = 9
    space = rung.SearchSpace({"x": rung.Float(0.0, 1.0)})

    def evaluate(self, params: Any, step: int) -> tuple[dict[str, float], float]:
        x = float(params["x"])
        return {"loss": 0.1 + 0.05 * step if x < 0.7 else 0.2 + x}, 1.0


def asha(storage: Path | None = None, n_trials: int = 6, name: str = "d") -> rung.Study:
    return rung.Study.create(name, {"x": rung.Float(0.0, 1.0)}, objective="loss",
                             searcher="random", scheduler=rung.ASHA(reduction_factor=3),
                             max_step=9, budget=rung.Budget(n_trials=n_trials), seed=0,
                             storage=storage)


def records(s: rung.Study) -> list[Record]:
    return s.journal.read(s.name)


def asked(s: rung.Study) -> rung.Trial:
    t = s.ask()
    assert t is not None
    return t


def stopped_trial(s: rung.Study) -> tuple[int, rung.Decision]:
    """Trial 0 runs on (loss 0.1 at step 1); trial 1 (loss 0.9) is stopped at step 1."""
    t0 = asked(s)
    assert s.report(t0.id, 1, {"loss": 0.1}).action is rung.Action.CONTINUE
    t1 = asked(s)
    d = s.report(t1.id, 1, {"loss": 0.9})
    assert d.action is rung.Action.STOP
    return t1.id, d


def paused_trial(s: rung.Study) -> tuple[int, rung.Decision]:
    """Successive halving pauses its first trial at its first rung (step 1)."""
    t = asked(s)
    d = s.report(t.id, 1, {"loss": 0.5})
    assert d.action is rung.Action.PAUSE
    return t.id, d


def halving(n_trials: int = 9) -> rung.Study:
    return rung.Study.create("p", {"x": rung.Float(0.0, 1.0)}, objective="loss",
                             searcher="random", scheduler="successive_halving", max_step=9,
                             budget=rung.Budget(n_trials=n_trials), seed=0)


# --- 1. the status left out: as the scheduler decided ---------------------------------------
def test_tell_without_a_status_ends_a_stopped_trial_stopped_as_run_does() -> None:
    s = asha()
    bench = Curves()
    while (t := s.ask()) is not None:
        for step in range(1, 10):
            if s.report(t.id, step, bench.evaluate(t.params, step)[0]).action \
                    is not rung.Action.CONTINUE:
                break
        s.tell(t.id)
    ends = [(t.id, t.status.value, t.last_step) for t in s.trials()]
    assert ends == [(0, "completed", 9), (1, "completed", 9), (2, "stopped", 1),
                    (3, "stopped", 1), (4, "stopped", 1), (5, "stopped", 3)]
    assert s.summary()["by_status"] == {"completed": 2, "stopped": 4}
    best = s.best_trial
    assert best is not None and (best.id, best.last_step) == (1, 9)  # not a step-1 result
    # the same trials run by a driver (one worker: the same order) end the same way
    ran = asha(name="d").simulate(bench, n_workers=1)
    assert [(t.id, t.status.value, t.last_step) for t in ran.trials()] == ends
    assert ran.best_trial is not None and ran.best_trial.id == best.id
    assert ran.best_trial.value == best.value


def test_tell_without_a_status_ends_a_paused_trial_paused_and_it_is_promoted() -> None:
    s = rung.Study.create("h", {"x": rung.Float(0.0, 1.0)}, objective="loss",
                          searcher="random", scheduler="hyperband", max_step=9,
                          budget=rung.Budget(n_trials=12), seed=0)
    told, handed = [], []
    while (t := s.ask()) is not None:
        handed.append(t.id)
        start = t.checkpoint.step + 1 if t.checkpoint is not None else 1
        for step in range(start, 10):
            d = s.report(t.id, step, {"loss": t.params["x"] + 1 / step})
            s.checkpoint(t.id, step, f"ck/{t.id}/{step}")
            if d.action is not rung.Action.CONTINUE:
                break
        told.append((t.id, d.action.value, s.tell(t.id).status.value))
    assert told[:9] == [(i, "pause", "paused") for i in range(8)] + [(8, "stop", "stopped")]
    assert told[9:13] == [(4, "pause", "paused"), (3, "pause", "paused"),
                          (5, "stop", "stopped"), (4, "continue", "completed")]
    assert handed.count(4) == 3  # paused at steps 1 and 3, promoted each time
    assert s.summary()["by_status"] == {"completed": 2, "stopped": 10}
    assert [(t.id, t.last_step) for t in s.trials("completed")] == [(4, 9), (11, 9)]


@pytest.mark.parametrize("status", ["completed", "paused"])
def test_a_status_contradicting_a_stop_is_refused_and_nothing_is_journaled(
        status: str) -> None:
    s = asha()
    tid, d = stopped_trial(s)
    n = len(records(s))
    with pytest.raises(ConfigError) as e:
        s.tell(tid, status, {"loss": 0.9} if status == "completed" else None)
    assert str(e.value) == (
        f"status: {status!r} contradicts the scheduler's decision to stop trial {tid} "
        f"({d.reason}): leave status out or tell 'stopped' ('failed' if it failed)")
    assert len(records(s)) == n
    assert s.trial(tid).status is rung.TrialStatus.RUNNING
    assert s.tell(tid).status is rung.TrialStatus.STOPPED


def test_completed_after_a_stop_is_taken_once_the_run_reported_max_step() -> None:
    """A trial that ran on to ``max_step`` after its stop (its reports are recorded) has a
    full-fidelity value: a peer's own state may call it complete (Optuna's pruners do)."""
    s = asha()
    tid, _ = stopped_trial(s)
    with pytest.raises(ConfigError):
        s.tell(tid, "completed")
    for step in range(2, 10):
        assert s.report(tid, step, {"loss": 0.9}).action is rung.Action.STOP
    assert s.tell(tid, "completed").status is rung.TrialStatus.COMPLETED


def test_completed_after_a_pause_is_refused() -> None:
    s = halving()
    tid, d = paused_trial(s)
    n = len(records(s))
    with pytest.raises(ConfigError) as e:
        s.tell(tid, "completed")
    assert str(e.value) == (
        f"status: 'completed' contradicts the scheduler's decision to pause trial {tid} "
        f"({d.reason}): leave status out or tell 'paused' to let the scheduler resume it, "
        "'stopped' to end it")
    assert len(records(s)) == n
    assert s.tell(tid, "stopped").status is rung.TrialStatus.STOPPED  # ending it is taken


# --- 2. "interrupted" after a stop: stopped, never handed back --------------------------------
def test_interrupted_after_a_stop_ends_stopped_and_is_never_handed_back() -> None:
    s = asha(n_trials=8)
    tid, _ = stopped_trial(s)
    t = s.tell(tid, "interrupted", error="preempted")
    assert (t.status, t.error) == (rung.TrialStatus.STOPPED, None)
    end = [r for r in records(s) if type(r) is TrialEnded and r.trial_id == tid]
    assert [(e.outcome.value, e.told) for e in end] == [("stopped", True)]
    s.tell(0)
    handed = []
    while (nxt := s.ask()) is not None:
        handed.append(nxt.id)
        s.report(nxt.id, 1, {"loss": 0.5})
        s.tell(nxt.id, "interrupted")  # others are handed back: ASHA resumes them
    assert tid not in handed
    assert s.trial(tid).status is rung.TrialStatus.STOPPED
    # a failure after the stop stays the trial's failure
    s2 = asha(name="f")
    tid2, _ = stopped_trial(s2)
    t2 = s2.tell(tid2, "failed", error="cleanup crashed")
    assert (t2.status, t2.error) == (rung.TrialStatus.FAILED, "cleanup crashed")


def test_an_orphan_stopped_before_its_driver_died_ends_stopped_when_told_interrupted(
        tmp_path: Path) -> None:
    """The audit's kill -9 after the STOP, without the kill: the study is closed with the
    stopped trial running, loaded again, and the orphan told ``"interrupted"``."""
    db = tmp_path / "o.db"
    s = asha(db, n_trials=4)
    for _ in range(3):
        t = asked(s)
        for step in range(1, 10):
            s.report(t.id, step, {"loss": 0.01 * step})
        s.tell(t.id, "completed")
    orphan = asked(s)
    assert s.report(orphan.id, 1, {"loss": 100.0}).action is rung.Action.STOP
    s.close()
    again = rung.Study.load("d", storage=db)
    assert [t.id for t in again.trials("running")] == [orphan.id]
    assert again.tell(orphan.id, "interrupted").status is rung.TrialStatus.STOPPED
    assert again.ask() is None
    assert again.summary()["by_status"] == {"completed": 3, "stopped": 1}
    again.close()


# --- 3. "paused" needs a pause -----------------------------------------------------------------
@pytest.mark.parametrize("scheduler", ["asha", "fifo", "pbt"])
def test_paused_without_a_pause_is_refused(scheduler: str) -> None:
    s = rung.Study.create("u", {"x": rung.Float(0.0, 1.0)}, objective="loss",
                          searcher="random", scheduler=scheduler, max_step=9,
                          budget=rung.Budget(n_trials=8), seed=0)
    t = asked(s)
    assert s.report(t.id, 1, {"loss": 0.5}).action is rung.Action.CONTINUE
    s.checkpoint(t.id, 1, "ck/0/1")
    n = len(records(s))
    with pytest.raises(ConfigError) as e:
        s.tell(t.id, "paused")
    assert str(e.value) == (
        f"status: 'paused' ends a trial the scheduler decided to pause, and it decided no "
        f"pause for trial {t.id}: tell 'interrupted' for a preemption that should resume, "
        "'stopped' to end it")
    assert len(records(s)) == n
    if scheduler == "asha":  # the hint's way: interrupted, and ASHA hands it back
        s.tell(t.id, "interrupted")
        back = asked(s)
        assert back.id == t.id and back.checkpoint is not None and back.checkpoint.step == 1


def test_a_pause_told_without_a_checkpoint_of_its_step_is_warned_about(
        caplog: pytest.LogCaptureFixture) -> None:
    s = halving()
    tid, _ = paused_trial(s)
    with caplog.at_level(logging.WARNING, logger="rung"):
        assert s.tell(tid).status is rung.TrialStatus.PAUSED
    assert [r.getMessage() for r in caplog.records] == [
        f"trial {tid} paused at step 1 without a checkpoint of that step "
        f"(study.checkpoint({tid}, 1, path) before tell): it will restart from scratch "
        "(step 1)"]
    caplog.clear()
    t = asked(s)
    assert s.report(t.id, 1, {"loss": 0.6}).action is rung.Action.PAUSE
    s.checkpoint(t.id, 1, "ck/1/1")
    with caplog.at_level(logging.WARNING, logger="rung"):
        assert s.tell(t.id, "paused").status is rung.TrialStatus.PAUSED
    assert caplog.records == []


# --- 4. what ask, tell and rung show say ------------------------------------------------------
def test_the_searcher_running_out_while_trials_run_is_said_at_once() -> None:
    s = rung.Study.create("g", {"x": rung.Categorical(["a", "b"]),
                                "y": rung.Categorical([1, 2])}, objective="loss",
                          searcher="grid", scheduler="fifo", max_step=1,
                          budget=rung.Budget(n_trials=10), seed=0)
    assert s.searcher_exhausted is None
    trials = [asked(s) for _ in range(4)]
    assert s.ask() is None
    assert s.summary()["budget_left"] is True  # trials run: one may be handed back
    assert s.searcher_exhausted == "the grid searcher proposed every one of its 4 points"
    for t in trials:
        s.tell(t.id, "completed", {"loss": 1.0})
    assert s.ask() is None and s.trials("running") == []
    summary = s.summary()
    assert summary["budget_left"] is False
    assert summary["why_exhausted"] == "the grid searcher proposed every one of its 4 points"


@pytest.mark.parametrize("status", ["completed", None])
def test_an_error_is_refused_unless_the_trial_failed_or_was_interrupted(
        status: str | None) -> None:
    s = asha()
    t = asked(s)
    s.report(t.id, 1, {"loss": 0.5})
    n = len(records(s))
    with pytest.raises(ConfigError) as e:
        s.tell(t.id, status, {"loss": 0.2}, error="ignored?")
    how = "status 'completed'" if status else "status left out (so 'completed')"
    assert str(e.value) == (
        f"error: says why a trial failed or was interrupted, got it with {how}: tell "
        "'failed' (or 'interrupted') with it, or leave it out")
    assert len(records(s)) == n
    assert s.tell(t.id, "interrupted", error="preempted").error == "preempted"


def test_a_multi_objective_studys_hints_name_its_metrics() -> None:
    s = rung.Study.create("mo", {"x": rung.Float(0.0, 1.0)},
                          objective=[rung.Objective("a", "min"), rung.Objective("b", "max")],
                          searcher="random", scheduler="fifo", max_step=1,
                          budget=rung.Budget(n_trials=4), seed=0)
    t = asked(s)
    for metrics in (0.5, (0.5, 0.3)):
        with pytest.raises(ConfigError) as e:
            s.tell(t.id, "completed", metrics)
        assert str(e.value) == ("metrics: a mapping of metric names to values (e.g. "
                                f"{{'a': 0.5, 'b': 0.5}}), got {metrics!r}")
    with pytest.raises(ConfigError) as e:
        s.tell(t.id, 0.5)
    assert str(e.value).endswith("; metrics go in metrics={'a': 0.5, 'b': 0.5}")


def test_calls_after_close_say_the_study_is_closed(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    s = asha(db, name="c")
    t = asked(s)
    s.report(t.id, 1, {"loss": 0.5})
    s.close()
    message = (f"study 'c' is closed (Study.close): load it again to go on "
               f"(Study.load('c', storage={str(db)!r}))")
    for call in (s.ask, lambda: s.report(t.id, 2, {"loss": 0.4}),
                 lambda: s.checkpoint(t.id, 1, "ck"), lambda: s.tell(t.id)):
        with pytest.raises(JournalError) as e:
            call()
        assert str(e.value) == message
    again = rung.Study.load("c", storage=db)
    assert [(x.id, x.status.value, x.last_step) for x in again.trials()] == [
        (0, "running", 1)]
    again.close()


def test_rung_show_tells_asked_trials_to_report_and_tell(tmp_path: Path) -> None:
    """A driver's trials left running keep the advice to run the study again; asked ones
    get report / tell."""
    from rung.cli.report import asked_trials

    db = tmp_path / "m.db"

    class Boom(rung.Callback):
        turns = 0

        def on_turn(self, events: Any, commands: Any, history: Any) -> None:
            self.turns += 1
            if self.turns == 3:
                raise RuntimeError("boom")

    s = asha(db, name="m")
    with pytest.raises(RuntimeError):
        s.simulate(Curves(), n_workers=2, callbacks=[Boom()])
    driven = [t.id for t in s.trials("running")]
    assert driven == [0, 1] and asked_trials(records(s), driven) == []
    t = asked(s)
    assert asked_trials(records(s), [*driven, t.id]) == [t.id]
    s.close()
    notes = [line for line in show_study("m", str(db)).splitlines() if "note:" in line]
    assert notes == [
        f"  note: 1 trial(s) asked (Study.ask) and never told: #{t.id}; go on with them from "
        f"Python, Study.load('m', storage={str(db)!r}), then report / tell them by id "
        "(tell(id) ends one as its scheduler decided, else completed; tell(id, "
        "'interrupted') one that cannot go on)",
        "  note: 2 trial(s) were running when the driver stopped; it was not created by "
        f"`rung run`: resume it from Python, Study.load('m', storage={str(db)!r})"
        ".run(objective)"]
