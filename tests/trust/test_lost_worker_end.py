"""A run whose worker is lost (the executor ends it ``interrupted``: the process or the node
died) after it was done or told to stop ends as it was decided, not as a run to resume: a
run that reported ``max_step`` ends completed (before: resumed from scratch until "too many
interruptions" failed a trial whose every step was reported), a run told to stop ends
stopped (before: a scheduler could resume it). The driver journals the end as decided."""

from __future__ import annotations

import os
from pathlib import Path

import rung
from rung import Budget, Float, Objective, SearchSpace, Study, TrialStatus
from rung.core import (
    Action,
    CapacityChanged,
    ComponentSpec,
    Engine,
    Launch,
    Reply,
    ResultReported,
    StudySpec,
    TrialEnded,
    TrialStarted,
)
from rung.core.records import Outcome
from rung.driver import handle


def died_after_its_last_report(ctx: rung.TrialContext) -> None:
    for step in range(ctx.start_step, ctx.max_step + 1):
        ctx.report(step, loss=ctx.params["x"] + 1 / step)
    if ctx.params["x"] < 0.5:
        os._exit(3)  # e.g. killed by the OOM killer in a final save


def test_a_worker_that_dies_after_reporting_max_step_leaves_its_trial_completed(
    tmp_path: Path,
) -> None:
    for scheduler in ("fifo", "asha"):
        study = Study.create(scheduler, {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                             scheduler=scheduler, max_step=9, budget=Budget(n_trials=6),
                             storage=tmp_path / "d.db", seed=1)
        study.run(died_after_its_last_report, n_workers=2, progress=False)
        at_max = [t for t in study.trials() if t.last_step == 9]
        assert any(t.params["x"] < 0.5 for t in at_max)  # the case happened
        assert all(t.status is TrialStatus.COMPLETED and t.error is None for t in at_max)
        ends = [r for r in study.journal.read(scheduler) if isinstance(r, TrialEnded)]
        # launched once each, never resumed past max_step; the journal holds the end as decided
        launches = [r for r in study.journal.read(scheduler) if isinstance(r, Launch)]
        assert sorted(r.trial_id for r in launches) == list(range(6))
        assert {r.trial_id: r.outcome for r in ends if r.trial_id in {t.id for t in at_max}} \
            == {t.id: Outcome.COMPLETED for t in at_max}
        study.close()
        again = Study.load(scheduler, tmp_path / "d.db", readonly=True)
        assert [(t.id, t.status) for t in again.trials()] == [
            (t.id, t.status) for t in study.trials()]
        again.close()


def saves_then_dies_once_after_its_last_report(ctx: rung.TrialContext) -> None:
    for step in range(ctx.start_step, ctx.max_step + 1):
        def save(d: str, step: int = step) -> None:
            Path(d, "s").write_text(str(step))

        ctx.report(step, loss=ctx.params["x"] + 1 / step, save=save)
    if ctx.params["x"] < 0.5 and ctx.checkpoint is None:
        os._exit(3)


def test_with_a_checkpoint_at_max_step_it_resumes_only_the_code_after_its_loop(
    tmp_path: Path,
) -> None:
    """As docs/spec.md says: resumed with start_step = max_step + 1 from that checkpoint."""
    study = Study.create("c", {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                         scheduler="fifo", max_step=3, budget=Budget(n_trials=4),
                         storage=tmp_path / "c.db", seed=1)
    study.run(saves_then_dies_once_after_its_last_report, n_workers=2, progress=False,
              checkpoint_every=1)
    died = [t.id for t in study.trials() if t.params["x"] < 0.5]
    assert died
    launches = [r for r in study.journal.read("c") if isinstance(r, Launch)]
    for tid in died:
        again = [r for r in launches if r.trial_id == tid][1:]
        assert [(r.start_step, r.checkpoint) for r in again] == [(4, f"{tid}/3")]
    assert all(t.status is TrialStatus.COMPLETED for t in study.trials())
    study.close()


def engine(n_trials: int) -> Engine:
    spec = StudySpec("t", SearchSpace({"x": Float(0.0, 1.0)}), Objective("loss"),
                     ComponentSpec("random"), ComponentSpec("asha"), 9,
                     Budget(n_trials=n_trials), seed=0)
    return Engine.from_spec(spec)


def test_a_worker_lost_after_a_stop_leaves_its_trial_stopped() -> None:
    e, records = engine(2), []  # type: ignore[var-annotated]
    first, second = handle(e, [CapacityChanged(2, 0.0)], records)
    assert isinstance(first, Launch) and isinstance(second, Launch)
    a, b = first.trial_id, second.trial_id
    handle(e, [TrialStarted(a, 0.1), TrialStarted(b, 0.1),
               ResultReported(a, 1, {"loss": 0.1}, 0.2)], records)
    (stop,) = handle(e, [ResultReported(b, 1, {"loss": 0.9}, 0.3)], records)
    assert isinstance(stop, Reply) and stop.decision.action is Action.STOP
    # its worker dies before it ends the run
    handle(e, [TrialEnded(b, Outcome.INTERRUPTED, 0.4, "worker process 1 died")], records)
    assert e.history.status(b) is TrialStatus.STOPPED
    assert [r for r in records if isinstance(r, TrialEnded)] == [
        TrialEnded(b, Outcome.STOPPED, 0.4, None)]


def test_other_losses_stay_interrupted_and_a_callers_word_is_kept() -> None:
    # lost before it reached max_step, told nothing: interrupted, to be resumed
    e, records = engine(1), []  # type: ignore[var-annotated]
    (launch,) = handle(e, [CapacityChanged(1, 0.0)], records)
    tid = launch.trial_id  # type: ignore[attr-defined]
    handle(e, [TrialStarted(tid, 0.1), ResultReported(tid, 1, {"loss": 0.5}, 0.2)], records)
    lost = TrialEnded(tid, Outcome.INTERRUPTED, 0.3, "worker process 1 died")
    (again,) = handle(e, [lost], records)
    assert [r for r in records if isinstance(r, TrialEnded)] == [lost]
    assert isinstance(again, Launch) and again.trial_id == tid  # resumed at once
    assert e.history.status(tid) is TrialStatus.LAUNCHED

    # the caller's own end (Study.tell) is recorded as told, even after max_step
    e, records = engine(1), []
    (launch,) = handle(e, [CapacityChanged(1, 0.0)], records)
    tid = launch.trial_id  # type: ignore[attr-defined]
    handle(e, [TrialStarted(tid, 0.1), *(ResultReported(tid, s, {"loss": 0.5}, 0.1 + s / 100)
                                         for s in range(1, 10))], records)
    told = TrialEnded(tid, Outcome.INTERRUPTED, 0.3, "mine", told=True)
    handle(e, [told], records)
    assert [r for r in records if isinstance(r, TrialEnded)] == [told]
