"""A define-by-run trial run more than once (paused and resumed, promoted, interrupted by a
crash) keeps what every run used, and a resumed run's ``suggest_*`` calls return the
searcher's proposals for what the trial has not asked yet. Before, each run's report replaced
the trial's params: a parameter asked only on a fresh start (restored from the checkpoint
after) vanished from the best trial's params, and a trial paused before asking ``b`` was
relaunched without the searcher's ``b`` and drew another."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

import rung
from rung.core.engine import Engine
from rung.core.events import (
    CapacityChanged,
    Launch,
    ParamsUsed,
    ResultReported,
    TrialEnded,
    TrialStarted,
)
from rung.core.records import Outcome, TrialStatus
from rung.dbr import Trial
from rung.space.learned import RULE, RULE_KEY
from rung.storage.codec import from_body
from rung.storage.memory import MemoryJournal

F = {"type": "float", "low": 0.0, "high": 1.0}


def width_on_fresh_start(trial: Trial) -> None:
    """The audit's ``lost.py``: the architecture comes from the checkpoint when resuming."""
    lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
    if trial.checkpoint:
        with open(os.path.join(trial.checkpoint, "model.json")) as f:
            state = json.load(f)
    else:
        state = {"width": trial.suggest_int("width", 1, 64), "w": 0.0}
    for step in range(trial.start_step, trial.max_step + 1):
        state["w"] += lr
        trial.report(step, abs(state["w"] - 1) + 1 / state["width"], save=saver(dict(state)))


def saver(state: dict[str, Any]) -> Any:
    def save(d: str) -> None:
        with open(os.path.join(d, "model.json"), "w") as f:
            json.dump(state, f)

    return save


def test_a_parameter_asked_only_on_a_fresh_start_stays_in_the_params(tmp_path: Path) -> None:
    study = rung.optimize(width_on_fresh_start, n_trials=9, max_step=9, n_workers=1,
                          scheduler=rung.ASHA(variant="promotion"), storage=tmp_path / "j.db",
                          start_method="fork", progress=False)
    journal = study.journal.read(study.name)
    resumed = {r.trial_id for r in journal if isinstance(r, Launch) and r.start_step > 1}
    assert resumed  # promotions resumed trials from their checkpoints
    for t in study.trials():
        assert list(t.params) == ["lr", "width"], t
    best = study.best_trial
    assert best is not None and best.id in resumed and list(best.params) == ["lr", "width"]
    study.close()


def b_after_the_first_rung(trial: Trial) -> None:
    """The audit's ``t40.py``: paused at step 1 by ASHA's rung before asking ``b``."""
    a = trial.suggest_float("a", 0, 1)

    def save(d: str) -> None:
        open(os.path.join(d, "x"), "w").close()

    if trial.start_step == 1:
        trial.report(1, a, save=save)
    b = trial.suggest_float("b", 0, 1)
    for step in range(max(2, trial.start_step), trial.max_step + 1):
        trial.report(step, a + b + 1 / step, save=save)


def test_a_resumed_trial_uses_the_searchers_proposal_it_had_not_asked_for() -> None:
    journal = MemoryJournal()
    study = rung.optimize(b_after_the_first_rung, n_trials=27, max_step=9, searcher="tpe",
                          scheduler=rung.ASHA(variant="promotion"), n_workers=1,
                          storage=journal, start_method="fork", progress=False)
    records = list(journal.read(study.name))
    proposed: dict[int, dict[str, Any]] = {}
    relaunched: list[int] = []
    for r in records:
        if isinstance(r, Launch):
            if r.trial_id in proposed:
                relaunched.append(r.trial_id)
                # the relaunch carries what the trial used and what the searcher proposed
                assert {**proposed[r.trial_id], **r.params} == dict(r.params), r
            else:
                proposed[r.trial_id] = dict(r.params)
    for r in records:  # b was what the searcher proposed, whichever run asked for it
        if isinstance(r, ParamsUsed) and "b" in r.params and "b" in proposed[r.trial_id]:
            assert r.params["b"] == proposed[r.trial_id]["b"], r
    assert relaunched == [0, 5, 6, 9, 1]
    # trials 6 and 9 were paused at step 1, before asking b: relaunched with the proposal
    # (before, with {a} only: they drew b = 0.1697 and 0.7702 instead)
    for tid in (6, 9):
        runs = [r for r in records if isinstance(r, ParamsUsed) and r.trial_id == tid]
        assert [set(r.params) for r in runs] == [{"a"}, {"a", "b"}]
        assert runs[1].params["b"] == proposed[tid]["b"]
    for t in study.trials():
        if "b" in proposed[t.id] and t.status is TrialStatus.COMPLETED:
            assert t.params["b"] == proposed[t.id]["b"]
    study.close()


def a_then_b(trial: Trial) -> None:
    """The audit's ``t38.py``: ``b`` is asked after the first report."""
    a = trial.suggest_float("a", 0, 1)
    trial.report(1, a)
    if trial.id == 5:
        time.sleep(0.3)  # the crash below comes while trial 5 is here
    b = trial.suggest_float("b", 0, 1)
    trial.report(2, a + b)


class CrashInTrial5(rung.Callback):
    """Stops the driver, as a kill would, once trial 5 has reported ``a`` (and not ``b``)."""

    def on_turn(self, events: Any, commands: Any, history: Any) -> None:
        if any(isinstance(e, ResultReported) and e.trial_id == 5 for e in events):
            raise KeyboardInterrupt


def test_a_trial_interrupted_by_a_crash_runs_on_with_the_searchers_values() -> None:
    options: dict[str, Any] = dict(n_trials=8, max_step=2, searcher="random", scheduler="fifo",
                                   n_workers=1, start_method="fork", progress=False)
    whole = rung.optimize(a_then_b, **options)
    journal = MemoryJournal()
    with contextlib.suppress(KeyboardInterrupt):
        rung.optimize(a_then_b, storage=journal, callbacks=[CrashInTrial5()], **options)
    resumed = rung.optimize(a_then_b, storage=journal, **options)
    assert [dict(t.params) for t in resumed.trials()] == [dict(t.params) for t in whole.trials()]
    launches = [r for r in journal.read("rung") if isinstance(r, Launch) and r.trial_id == 5]
    assert len(launches) == 2 and launches[1].params == launches[0].params
    assert set(launches[0].params) == {"a", "b"}
    whole.close()
    resumed.close()


# --- the engine's rule, event by event ---------------------------------------------------------

def engine(n_trials: int = 3) -> Engine:
    study = rung.Study.create("s", {}, searcher="random", scheduler="fifo", max_step=3,
                              budget={"n_trials": n_trials}, define_by_run=True)
    return study.engine


def used(tid: int, params: dict[str, Any], rule: dict[str, Any] = RULE,
         final: bool = False) -> ParamsUsed:
    entry = dict(rule) | ({"final": True} if final else {})
    return ParamsUsed(tid, params, {n: F for n in params} | {RULE_KEY: entry}, 1.0)


def launches(commands: list[Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(c.trial_id, dict(c.params)) for c in commands if isinstance(c, Launch)]


def test_reports_merge_over_runs_and_a_final_one_drops_unasked_proposals() -> None:
    e = engine()
    h = e.history
    assert launches(e.handle(CapacityChanged(1, 0.0))) == [(0, {})]
    e.handle(TrialStarted(0, 0.0))
    e.handle(used(0, {"a": 0.25, "b": 0.5}))
    e.handle(ResultReported(0, 1, {"loss": 1.0}, 1.0))
    ((tid, proposal),) = launches(e.handle(TrialEnded(0, Outcome.COMPLETED, 1.0, None)))
    assert tid == 1 and set(proposal) == {"a", "b"}
    e.handle(TrialStarted(1, 2.0))
    e.handle(used(1, {"a": proposal["a"]}))  # asked a, then was interrupted before b
    assert dict(h.params(1)) == proposal  # b stays: the searcher's, not yet asked
    ended = e.handle(TrialEnded(1, Outcome.INTERRUPTED, 3.0, "killed"))
    assert launches(ended) == [(1, proposal)]  # relaunched with the searcher's b
    e.handle(TrialStarted(1, 3.0))
    e.handle(used(1, {"b": 0.75}))  # the resumed run drew another b (its call's range)
    assert dict(h.params(1)) == {"a": proposal["a"], "b": 0.75}  # a kept, b: the later run's
    e.handle(used(1, {"b": 0.75}, final=True))
    assert dict(h.params(1)) == {"a": proposal["a"], "b": 0.75}
    # a run that ended for good without asking a proposed parameter: it did not use it
    e.handle(TrialEnded(1, Outcome.COMPLETED, 4.0, None))
    assert h.launches(2) == 1 and set(h.params(2)) == {"a", "b"}
    e.handle(TrialStarted(2, 4.0))
    e.handle(used(2, {"a": 0.5}, final=True))
    assert dict(h.params(2)) == {"a": 0.5}


def test_reports_written_before_the_merge_rule_replace_the_params() -> None:
    """Rule 2 (journals written before): each report is the run's params, which replace the
    trial's, so such a journal's relaunches regenerate as they were journaled."""
    e = engine()
    h = e.history
    e.handle(CapacityChanged(1, 0.0))
    e.handle(used(0, {"a": 0.25, "b": 0.5}, {"rule": 2}))
    ((_, proposal),) = launches(e.handle(TrialEnded(0, Outcome.COMPLETED, 1.0, None)))
    e.handle(used(1, {"a": proposal["a"]}, {"rule": 2}))
    assert dict(h.params(1)) == {"a": proposal["a"]}
    assert launches(e.handle(TrialEnded(1, Outcome.INTERRUPTED, 2.0, "killed"))) == [
        (1, {"a": proposal["a"]})]
    assert type(e.space) is rung.SearchSpace  # searchers count every trial as tried


FIXTURE = Path(__file__).with_name("journal_replaced_params.json")


def test_a_journal_of_the_replacing_rule_replays_as_written() -> None:
    """``journal_replaced_params.json``: ``b_after_the_first_rung`` (max_step 3, 9 trials,
    random, ASHA's promotion variant) run by the code before the merge rule: trial 3 was
    proposed b=0.586, paused before asking it, and relaunched with {a} only (it drew
    b=0.859)."""
    data = json.loads(FIXTURE.read_text())
    journal = MemoryJournal()
    journal.create_study("old", data["spec"])
    journal.append("old", [from_body(kind, body) for kind, body in data["records"]])
    old = rung.Study.load("old", journal)  # replays: no ReplayDivergenceError
    relaunch = [r for r in journal.read("old") if isinstance(r, Launch) and r.trial_id == 3]
    assert [set(r.params) for r in relaunch] == [{"a", "b"}, {"a"}]
    assert old.trial(3).params["b"] == 0.8592633885189722
    assert [list(t.params) for t in old.trials()] == [
        ["a", "b"], ["a"], ["a"], ["a", "b"], ["a", "b"], ["a"], ["a"], ["a"], ["a"]]
    assert old.engine.version_note is not None and "v3: " in old.engine.version_note
    old.close()


def test_a_run_ended_for_good_without_a_final_report_drops_unasked_proposals() -> None:
    """A trial that asked ``a`` and then failed (a worker died: no final report), or a paused
    one retired without resuming, holds what it used, not the searcher's ``b`` it never
    asked for (``rung.core.proposals.settle``)."""
    e = engine()
    h = e.history
    e.handle(CapacityChanged(1, 0.0))
    e.handle(TrialStarted(0, 0.0))
    e.handle(used(0, {"a": 0.25, "b": 0.5}))
    e.handle(ResultReported(0, 1, {"loss": 1.0}, 1.0))
    ((_tid, proposal),) = launches(e.handle(TrialEnded(0, Outcome.COMPLETED, 1.0, None)))
    e.handle(TrialStarted(1, 2.0))
    e.handle(used(1, {"a": proposal["a"]}))
    assert set(h.params(1)) == {"a", "b"}  # in flight: b is still the searcher's
    e.handle(TrialEnded(1, Outcome.FAILED, 3.0, "MemoryError"))
    assert dict(h.params(1)) == {"a": proposal["a"]}
    assert h.status(1) is TrialStatus.FAILED


def b_after_rung_one(trial: Trial) -> None:
    """Trial 0 asks ``b`` first, so the space knows it and later trials' proposals hold it;
    the others ask it only once past step 1."""
    a = trial.suggest_float("a", 0.0, 1.0)
    if trial.id == 0:
        trial.suggest_float("b", 0.0, 1.0)
    trial.report(1, a)
    b = trial.suggest_float("b", 0.0, 1.0)
    for step in range(2, trial.max_step + 1):
        trial.report(step, a + b / step)


def test_paused_trials_retired_at_a_rung_hold_only_what_they_asked() -> None:
    study = rung.optimize(b_after_rung_one, n_trials=9, max_step=9, n_workers=1,
                          scheduler=rung.SuccessiveHalving(reduction_factor=3),
                          start_method="fork", progress=False)
    first = [t for t in study.trials() if t.status is TrialStatus.STOPPED and t.last_step == 1]
    assert len(first) == 6  # 9 paused at step 1, the best 3 resumed
    assert all(set(t.params) == {"a"} for t in first if t.id != 0)
    assert all(set(t.params) == {"a", "b"} for t in study.trials() if t.last_step > 1)
