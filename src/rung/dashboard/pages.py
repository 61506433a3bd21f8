"""The JSON of the dashboard's study list, overview and trial pages, from a ``Snapshot``.

``study_row`` (a row of the study list), ``overview`` (the study page: budget spent, best
trial, throughput, components) and ``trial_detail`` / ``detail`` (a trial's params, results
and every decision with its reason) read a ``rung.dashboard.data.Snapshot``: its replayed
engine and journal fold, or, for a study served from a stored snapshot
(``rung.dashboard.snapshot``), the snapshot's stored answer with how the study is served now.
Each returns a JSON-ready dict (non-finite numbers as ``None``) and changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rung.analysis_frames import kept_checkpoint, retired
from rung.cli.component_settings import settings_text
from rung.core.records import TrialStatus
from rung.dashboard._json import clean, jclean
from rung.dashboard.charts import rung_steps
from rung.study_views import best_trial_id, over_early
from rung.time_kind import label as time_label

if TYPE_CHECKING:
    from rung.dashboard.data import Snapshot


def _live(snap: Snapshot, page: str) -> dict[str, Any] | None:
    """A snapshot's stored answer of ``page`` with how the study is served now, if serving
    one."""
    if snap.view is None:
        return None
    out = {**snap.view.pages[page], "path": str(snap.path), "live": snap.live,
           "loading": snap.loading, "error": snap.error}
    if page == "overview":  # from the spec: a snapshot written before they were needs none
        out.update(component_settings(snap))
    if snap.live:  # stored while no driver ran it: a driver runs it now
        out.update(state="running", unfinished_note=None)
    return jclean(out)


def study_row(snap: Snapshot) -> dict[str, Any]:
    stored = _live(snap, "study_row")
    if stored is not None:
        return stored
    h = snap.history
    o = h.objective
    best = best_trial_id(h, snap.spec.max_step)
    return jclean({
        "name": snap.name,
        "path": str(snap.path),
        "live": snap.live,
        "metric": o.metric,
        "mode": o.mode,
        "trials": len(h),
        "by_status": {s.value: h.count(s) for s in TrialStatus if h.count(s)},
        "best_trial": best,
        "best_value": o.value(h.score(best)) if best is not None else None,
        "searcher": snap.spec.searcher.name,
        "scheduler": snap.spec.scheduler.name,
        # a study whose replay diverged, read as written (rung ls: `done (as written)`)
        "read_as_written": snap.engine.read_as_written if snap.engine is not None else None,
        # the code that wrote the journal, when it is not this rung's (a newer one: upgrade)
        "version_note": snap.engine.version_note if snap.engine is not None else None,
        "state": ls_state(snap),
        # trials running when no driver runs the study: its driver stopped with them (not
        # while the journal is read: they may just be the ones its later records end)
        "unfinished": 0 if snap.live or snap.loading else _running(h),
        "budget_state": over_early(snap.engine) if snap.engine is not None else None,
        "loading": snap.loading,
        "error": snap.error,
    })


def _running(h: Any) -> int:
    return int(h.count(TrialStatus.LAUNCHED) + h.count(TrialStatus.RUNNING))


def ls_state(snap: Snapshot) -> str:
    """The study's state in ``rung ls``'s words (``rung.study_views.study_state``)."""
    from rung.study_views import study_state

    if snap.live:
        return "running"
    assert snap.engine is not None
    return study_state(snap.engine, snap.stored, False)


def overview(snap: Snapshot) -> dict[str, Any]:
    stored = _live(snap, "overview")
    if stored is not None:
        return stored
    h = snap.history
    eng = snap.engine
    assert eng is not None
    jf = snap.fold
    spec = snap.spec
    row = study_row(snap)
    best = best_trial_id(h, snap.spec.max_step)
    elapsed = eng.elapsed  # the study's time, as rung show and Budget.max_time count it
    b = (snap.engine.spec if snap.engine is not None else spec).budget  # (set_budget's)
    spent: dict[str, Any] = {}
    if b.n_trials:
        spent["n_trials"] = {"used": h.n_suggested, "limit": b.n_trials}
    if b.max_steps:
        spent["max_steps"] = {"used": h.steps_consumed, "limit": b.max_steps}
    if b.max_time:
        spent["max_time"] = {"used": eng.elapsed, "limit": b.max_time}
    if b.max_cost:  # money and GPU-hours as the engine meters them (rung ledger's totals)
        spent["max_cost"] = {"used": eng.meter.cost, "limit": b.max_cost}
    if b.max_gpu_hours:
        spent["max_gpu_hours"] = {"used": eng.meter.gpu_hours, "limit": b.max_gpu_hours}
    finished = sum(h.count(s) for s in TrialStatus if s.final)
    row.update(clean({
        "max_step": spec.max_step,
        "rung_steps": rung_steps(snap),
        "objectives": [{"metric": o.metric, "mode": o.mode} for o in h.objectives],
        # the best trial is the best feasible one: the page says under which constraints
        "constraints": [f"{c.metric} {c.op} {c.bound:g}" for c in spec.constraints],
        "searcher_params": dict(spec.searcher.params),
        "scheduler_params": dict(spec.scheduler.params),
        **component_settings(snap),
        "auto_reason": snap.auto,
        "budget": spent,
        # why the search ended before its budget was spent (Budget.stop), as rung show says
        "stopped": eng.stopped.reason if eng.stopped is not None else None,
        "budget_state": over_early(eng),
        "read_as_written": eng.read_as_written,
        # rung show's note on the trials a stopped driver left running (none while the
        # journal is read: its trials are running only up to the records replayed so far, and
        # the note reads every record replayed, 2.7 s a poll at 200,000 records)
        "unfinished_note": None if snap.live or snap.loading else unfinished_note(snap),
        "steps_consumed": h.steps_consumed,
        "results": h.n_results,
        "elapsed": elapsed,
        "time_kind": time_label(jf.clocks),  # what elapsed measures (rung.time_kind)
        # per second and per minute only over a second of time or more: a PBT study its
        # scheduler ended after 0.05 s "ran 2217 trials/min" (rung show: 0.1s of driver time)
        "throughput": {
            "results_per_s": h.n_results / elapsed if elapsed >= MIN_RATE_TIME else None,
            "trials_per_min": 60 * finished / elapsed if elapsed >= MIN_RATE_TIME else None,
        },
        "best_params": dict(h.params(best)) if best is not None else None,
        "best_step": h.last_step(best) if best is not None else None,
        "workers": jf.n_slots,
        "records": jf.n_records,
    }))
    return row


def component_settings(snap: Snapshot) -> dict[str, str]:
    """``searcher_settings`` and ``scheduler_settings``: the components' parameters as the
    page writes them, ``name: value`` pairs without those left at their default or ``None``
    (``rung.cli.component_settings``; ``""`` when all are). ``searcher_params`` and
    ``scheduler_params`` stay the parameters as stored."""
    spec = snap.spec
    return {"searcher_settings": settings_text("searcher", spec.searcher),
            "scheduler_settings": settings_text("scheduler", spec.scheduler)}


def unfinished_note(snap: Snapshot) -> str | None:
    """``rung show``'s note on the trials a stopped driver left running
    (``rung.cli.report_notes.unfinished_notes``: ``4 trial(s) were running when the driver
    stopped; `rung resume NAME --storage PATH` ends them as interrupted and resumes them``),
    its notes joined; ``None`` when no trial is running. Reads the journal's records (to tell
    the trials an ``ask`` started) only then, once per state of the journal."""
    from rung.cli.report_notes import unfinished_notes

    n = _running(snap.history)
    if not n:
        return None
    hit = snap.parts.get("unfinished_note")
    if hit is not None and hit[0] == snap.fold.n_records:
        return str(hit[1])
    notes = unfinished_notes(_AsStudy(snap), str(snap.path), n)  # type: ignore[arg-type]
    text = "; ".join(x.strip().removeprefix("note: ") for x in notes) or None
    snap.parts["unfinished_note"] = (snap.fold.n_records, text)
    return text


class _AsStudy:
    """What ``rung show``'s notes read of a ``Study``, from a dashboard ``Snapshot``."""

    def __init__(self, snap: Snapshot) -> None:
        self._snap = snap
        self.name = snap.name
        self.engine = snap.engine
        self.history = snap.history
        self.spec = snap.spec
        self.journal = self

    def load_study(self, name: str) -> dict[str, Any]:
        return self._snap.stored

    def _journal_records(self) -> list[Any]:
        from rung.dashboard.guard import read_records

        return read_records(self._snap.path, self.name, 0, self._snap.fold.n_records)


#: seconds of study time below which the overview gives no rate (trials/min, results/s)
MIN_RATE_TIME = 1.0


def ended_early(snap: Snapshot) -> str | None:
    """``budget_state`` of the study ``snap`` (its stored overview's, when serving a
    snapshot): the ledger page says it too."""
    if snap.view is not None:
        v = snap.view.pages["overview"].get("budget_state")
        return v if isinstance(v, str) else None
    assert snap.engine is not None
    return over_early(snap.engine)


def trial_detail(snap: Snapshot, trial_id: int) -> dict[str, Any]:
    """The trial's detail: params, status, each result with the decision on it, and every
    decision with its reason (``KeyError`` if there is no such trial)."""
    if snap.view is not None:
        return snap.view.detail(trial_id)
    if trial_id not in snap.history:
        raise KeyError(trial_id)
    return detail(snap, trial_id, [d for d in snap.fold.decisions if d.trial_id == trial_id])


def detail(snap: Snapshot, trial_id: int, decided: list[Any]) -> dict[str, Any]:
    """``trial_detail`` given the trial's decisions (``decided``, in journal order). A trial
    its scheduler stopped while it was paused has that stop as its last decision
    (``rung.analysis_frames.retired``: the journal records none)."""
    h = snap.history
    jf = snap.fold
    o = h.objective
    results = [
        {"step": r.step, "time": r.time, "value": o.value(o.score(r.metrics)),
         "metrics": dict(r.metrics),
         **_decision(jf.decision_at.get((trial_id, r.step)))}
        for r in h.results(trial_id)
    ]
    stop = retired(h, jf, trial_id)
    decisions = [
        {"step": d.step, "action": d.action, "reason": d.reason, "time": d.time}
        for d in (decided if stop is None else [*decided, stop])
    ]
    t = h.trial(trial_id, cache=False)
    return jclean({
        "trial_id": trial_id, "params": dict(t.params), "status": t.status.value,
        "value": o.value(t.score), "last_step": t.last_step, "error": t.error,
        "checkpoint": kept_checkpoint(h, jf, trial_id), "parent_id": t.parent_id,
        "results": results, "decisions": decisions, "metric": o.metric,
    })


def _decision(d: Any) -> dict[str, Any]:
    return {"decision": d.action if d is not None else None,
            "reason": d.reason if d is not None else None}


__all__ = ["MIN_RATE_TIME", "component_settings", "detail", "ended_early", "ls_state", "overview",
           "study_row", "trial_detail", "unfinished_note"]
