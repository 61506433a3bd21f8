"""Plain-text views of a study shared by ``rung show``, ``rung ls`` and the live view.

Everything here reads a ``Study`` (replayed from its journal) and returns strings or rows; the
commands decide where they go. Plain text, so that the output is the same in a terminal, a pipe
and a test. Numbers, durations and tables are formatted by ``rung.cli.report_format``, a
scheduler's state and the diagnostics by ``rung.cli.report_state``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from typing import Any

from rung.cli.component_settings import settings_text

# re-exported: the formatting and the state's text are part of this module's interface
from rung.cli.report_format import fmt_duration as fmt_duration
from rung.cli.report_format import fmt_num as fmt_num
from rung.cli.report_format import fmt_params as fmt_params
from rung.cli.report_format import table as table
from rung.cli.report_notes import asked_trials as asked_trials
from rung.cli.report_notes import paused_as_written as paused_as_written
from rung.cli.report_notes import resume_needs as resume_needs
from rung.cli.report_notes import resume_note as resume_note
from rung.cli.report_notes import search_over
from rung.cli.report_notes import unfinished_notes as unfinished_notes
from rung.cli.report_notes import version_lines as version_lines
from rung.cli.report_state import diagnostics_text as diagnostics_text
from rung.cli.report_state import fidelity_text as fidelity_text
from rung.cli.report_state import is_records as is_records
from rung.cli.report_state import occupancy_text as occupancy_text
from rung.cli.report_state import records_table as records_table
from rung.cli.report_state import state_sections as state_sections
from rung.cli.stored import open_study
from rung.core.budget import Budget
from rung.core.events import CapacityChanged, Launch
from rung.core.history import History
from rung.core.records import ComponentSpec, Trial, TrialStatus
from rung.study import Study
from rung.time_kind import is_prelude, time_kind

#: what ``rung show`` says of a trial's feasibility (``History.feasibility``)
_FEASIBLE = {True: "yes", False: "no", None: "unknown"}


def _as_reported(t: Trial, metric: str) -> str:
    """A value that scores worst shown as the trial reported it (``nan``, ``inf``, a value
    that is not a number), ``-`` when it reported none."""
    v = t.metrics.get(metric)
    return "-" if v is None else fmt_num(v)


#: Status columns in display order; "running" counts launched and running trials.
STATUS_COLUMNS = ("running", "paused", "stopped", "completed", "failed", "interrupted")


def counts(history: History) -> dict[str, int]:
    """Trials per display status (``running`` = launched + running)."""
    out = {
        "running": history.count(TrialStatus.LAUNCHED) + history.count(TrialStatus.RUNNING),
    }
    for s in STATUS_COLUMNS[1:]:
        out[s] = history.count(TrialStatus(s))
    return out


def fmt_counts(c: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {c[k]}" for k in STATUS_COLUMNS)


def no_best(study: Study) -> str:
    """What to say while there is no best trial: with constraints and results, that no trial
    is feasible (``yet`` while the search goes on) rather than that nothing was measured."""
    yet = "" if search_over(study) else " yet"
    h = study.engine.history
    if h.n_results and not any(h.last_step(t) > 0 and h.has_value(t) for t in h):
        return (f"best: none{yet} (no trial has a value: every last result is NaN, infinite "
                "or missing)")
    if study.spec.constraints and study.engine.history.n_results:
        return f"best: no feasible trial{yet}"
    return f"best: none{yet}"


def objective_text(study: Study) -> str:
    """``loss (min)``, every objective of a multi-objective study, and the constraints."""
    spec = study.spec
    objs = spec.objectives or (spec.objective,)
    text = ", ".join(f"{o.metric} ({o.mode})" for o in objs)
    if spec.constraints:
        text += "   subject to " + ", ".join(
            f"{c.metric} {c.op} {fmt_num(c.bound)}" for c in spec.constraints
        )
    return text


def best_line(study: Study) -> str:
    """``best val_acc=0.97 (trial #12, step 27)`` or ``best: none yet`` (``no_best``), the
    trial ``Study.best_trial`` and the dashboard name (never one without a value)."""
    best = study.best_trial
    metric = study.spec.objective.metric
    if best is None:
        return no_best(study)
    value = best.value
    if value is None:
        raw = best.metrics.get(metric)
        shown = fmt_num(raw) if isinstance(raw, (int, float)) else "(not reported)"
    else:
        shown = fmt_num(value)
    return f"best {metric}={shown} (trial #{best.id}, step {best.last_step})"


def top_trials(study: Study, k: int) -> list[Trial]:
    """The ``k`` best trials with a finite score, ranked as ``best_trial`` ranks them: first
    the trials whose result counts for the best (``History.best_candidates``: feasible, with a
    final result), by score, so the list starts with ``best_trial``; then the others (stopped
    or paused below ``max_step``, infeasible, ...): failed ones last, the feasible ones first,
    then those at the highest step, then by score. Ties go to the earlier trial.

    Reads the history, not a snapshot of every trial: a snapshot is built for the ``k``
    listed only, and when at least ``k`` trials count for the best (they rank first) the
    others are not ranked at all."""
    h = study.history
    counted = set(h.best_candidates())
    finite = [t for t in h if math.isfinite(h.score(t))]

    def rank(t: int) -> tuple[bool, bool, bool, int, float, int]:
        if t in counted:
            return (False, False, False, 0, h.score(t), t)
        return (True, not h.counts_for_best(t), not study.feasible(t), -h.last_step(t),
                h.score(t), t)

    first = [t for t in finite if t in counted]
    if 0 <= k <= len(first):  # the k best of those that count: ranked by (score, id)
        ids = heapq.nsmallest(k, first, key=lambda t: (h.score(t), t))
    else:
        ids = sorted(finite, key=rank)[:k]
    return [study.trial(t) for t in ids]


def pareto_line(study: Study, limit: int = 10) -> str:
    """A multi-objective study's Pareto front (``Study.pareto_front``): ``pareto front  2
    trials at step 27: #3 (acc=0.91, latency=12), #8 (acc=0.87, latency=7)``, at most
    ``limit`` of them named."""
    front = study.pareto_front()
    if not front:
        yet = "" if search_over(study) else " yet"
        return f"pareto front  none{yet}" + (" (no feasible trial)" if study.spec.constraints
                                             and study.history.n_results else "")
    objs = study.history.objectives
    named = ", ".join(
        f"#{t.id} (" + ", ".join(f"{o.metric}={fmt_num(o.value(v))}"
                                 for o, v in zip(objs, study.history.values(t.id),
                                                 strict=True)) + ")"
        for t in front[:limit])
    more = f", +{len(front) - limit} more" if len(front) > limit else ""
    n = len(front)
    steps = sorted({t.last_step for t in front})  # its trials' final (or highest) steps
    at = (f"at step {steps[0]}" if len(steps) == 1
          else "at steps " + ", ".join(str(x) for x in steps))
    return f"pareto front  {n} trial{'s' if n != 1 else ''} {at}: {named}{more}"


def issue18_lines(study: Study) -> list[str]:
    """A define-by-run study's learned space and a study's fidelity ladder (none otherwise)."""
    spec, out = study.spec, []
    if spec.define_by_run:
        space = study.engine.space
        names = [n + (" (when " + ", ".join(f"{k} in {list(v)}" for k, v in space[n].when.items())
                      + ")" if space[n].when else "") for n in space]
        out.append(f"  space      learned from the trials: {', '.join(names) or 'nothing yet'}")
    if spec.fidelity is not None:
        f = spec.fidelity
        ladder = ", ".join(f"{v} (step {s})" for s, v in f.ladder())
        out.append(f"  fidelity   {f.name}: {ladder}")
    return out


def ended(study: Study) -> str:
    """How the study's search ended, for ``rung run``'s last line: ``"done"``, ``"done (<why
    the searcher ran out>)"`` when a finite space was tried in full before the budget was
    spent, or ``"stopped by the stop rule (<its journaled reason>)"`` when ``Budget.stop``
    ended it."""
    reason = study.engine.stopped
    if reason is not None:
        return f"stopped by the stop rule ({reason.reason})"
    summary = study.summary()
    why = summary.get("scheduler_ended") or summary.get("why_exhausted")
    return f"done ({why})" if why else "done"


def component_text(kind: str, spec: ComponentSpec) -> str:
    """``asha (reduction_factor: 4)``: the component's name and its settings that are not
    defaults (``rung.cli.component_settings``), as the dashboard's overview writes them."""
    text = settings_text(kind, spec)
    return f"{spec.name} ({text})" if text else spec.name


def show_text(study: Study, where: str, top: int = 10) -> str:
    """Everything ``rung show`` prints."""
    spec = study.spec
    s = study.summary()
    h = study.history
    c = counts(h)
    budget = _limits(spec.budget)
    sched_txt = component_text("scheduler", spec.scheduler)
    srch_txt = component_text("searcher", spec.searcher)
    lines = [
        f"study {study.name}  ({where})",
        f"  objective  {objective_text(study)}   max_step {spec.max_step}   seed {spec.seed}",
        f"  searcher   {srch_txt}",
        f"  scheduler  {sched_txt}",
        *issue18_lines(study),
        *version_lines(study),
        f"  budget     {budget or 'none'}   ({_budget_state(s, study)}{_changed(study)})",
        *_spent_lines(study),
        f"  trials     {s['trials']}: {fmt_counts(c)}",
        f"  work       {s['results']} results, {s['steps_consumed']} steps, "
        f"{fmt_duration(s['elapsed'])} of {time_kind(study._journal_records())} time, "
        f"{s['checkpoints']} checkpoints kept",
        f"  {best_line(study)}",
    ]
    best = study.best_trial
    if best is not None and math.isfinite(best.score):
        lines.append(f"  best params  {fmt_params(best.params)}")
    if spec.objectives:
        lines.append(f"  {pareto_line(study)}")
    if c["failed"]:
        failed = study.trials("failed")
        lines.append(f"  last failure  trial #{failed[-1].id}: {_last_line(failed[-1].error)}")
        lines.extend(failure_lines(failed))
    if c["running"] and not study.journal.is_being_written(study.name):
        # (while a driver runs the study, its trials are simply running)
        lines.extend(unfinished_notes(study, where, c["running"]))
    lines.extend(paused_as_written(study, c))
    trials = top_trials(study, top)
    if trials:
        objs = spec.objectives  # several: a column each (one: the trial's value)
        fid = spec.fidelity  # steps shown with the user's value behind them
        cons = bool(spec.constraints)  # then a column says which trials meet them
        rows = [
            [t.id, t.status.value,
             *(((_FEASIBLE[h.feasibility(t.id)]),) if cons else ()),
             f"{t.last_step} ({fid.value(t.last_step)})" if fid and t.last_step else t.last_step,
             *([fmt_num(o.value(v)) if math.isfinite(v) else _as_reported(t, o.metric)
                for o, v in zip(objs, h.values(t.id), strict=True)]
               if objs else [fmt_num(t.value)]),
             fmt_params(t.params)]
            for t in trials
        ]
        lines.append("")
        lines.append(f"best trials (top {len(trials)})")
        step = f"step ({fid.name})" if fid else "step"
        metrics = [o.metric for o in objs] if objs else [spec.objective.metric]
        lines.append(table(["trial", "status", *(("feasible",) if cons else ()), step,
                            *metrics, "params"], rows))
    occ = occupancy_text(study)
    if occ:
        lines.append("")
        lines.append(f"rung occupancy ({spec.scheduler.name})")
        lines.append(occ)
    diag = diagnostics_text(study)
    if diag:
        lines.append("")
        lines.append("diagnostics")
        lines.append(diag)
    return "\n".join(lines)


def show_study(name: str, storage: str | None, top: int = 10) -> str:
    """Everything ``rung show NAME [--storage ...] [--top N]`` prints: ``show_text``, then
    ``sessions_text``, then a note when a driver is writing the study. The study is loaded
    read-only (``Study.load(readonly=True)``): every section folds the records its load
    replayed (``open_study``), so the journal is read once, and the sections agree on a live
    run.

    Raises:
        CLIError: no journal, or no such study in it (exit code 2).
    """
    from rung.cli.main import find_storage

    path = find_storage(name, storage)
    with open_study(path, name) as study:
        text = show_text(study, str(path), top=top)
        sessions = sessions_text(study, study.journal.load_study(name))
        if sessions:
            text += "\n\n" + sessions
        if study.journal.is_being_written(name):
            text += "\n\n(a driver is running this study right now: this is a snapshot)"
    return text


def sessions_text(study: Study, stored: Mapping[str, Any] | None) -> str:
    """``rung show``'s executor section: the executor and its options as ``rung run`` recorded
    them (``stored``: the journal's study JSON; a study run from Python records none), then
    one row per driver session (its ``CapacityChanged(new_session)``: the executor's start):
    when it started (UTC; ``t=...s`` on a virtual clock), the executor that ran it (as
    recorded in the journal; ``-`` before it was), the slots it had, what a trial held (as
    the executor reported it, else what the ledger charges: the last reported, else the
    study's ``resources_per_trial``, else one CPU) and the runs it launched (new trials and
    resumed ones). ``""`` for a study never run by an executor. Reads the study's records
    as its views do (``Study._journal_records``: those a read-only load replayed)."""
    import datetime

    from rung.cli.spec import CLI_KEY

    rows: list[list[Any]] = []
    held: Mapping[str, float] = study.spec.resources_per_trial or {"cpu": 1.0}
    for rec in study._journal_records():
        if isinstance(rec, CapacityChanged) and rec.new_session:
            if is_prelude(rec):
                continue
            note = ""
            if rec.resources is not None:
                held = rec.resources
            else:
                note = " (not reported)"
            per_trial = " ".join(f"{d}={fmt_num(a)}" for d, a in held.items()) or "nothing"
            t = float(rec.time)
            started = (datetime.datetime.fromtimestamp(t, datetime.UTC).strftime(
                "%Y-%m-%d %H:%M:%S") if t > 1e9 else f"t={fmt_num(t)}s")  # else a virtual clock
            rows.append([len(rows) + 1, started, executor_cell(rec.executor), rec.capacity,
                         per_trial + note, 0])
        elif isinstance(rec, Launch) and rows:
            rows[-1][5] += 1
    if not rows:
        return ""
    cli = stored.get(CLI_KEY) if isinstance(stored, Mapping) else None
    if isinstance(cli, Mapping) and cli.get("executor"):
        given = {"n_workers": cli.get("n_workers"), "checkpoint_every": cli.get("checkpoint_every"),
                 **(cli.get("executor_options") or {})}
        shown = " ".join(f"{k}={fmt_num(v) if not isinstance(v, dict) else v}"
                         for k, v in given.items() if v is not None)
        head = f"executor {cli['executor']}" + (f"  ({shown})" if shown else "")
    else:
        head = ("executor as each session ran it (the study was not created by `rung run`: "
                "no spec's executor settings on record)")
    return "\n".join([head, table(["session", "started (UTC)", "executor", "slots",
                                     "per trial", "launches"], rows)])


def executor_cell(executor: Any) -> str:
    """A session's executor as its ``CapacityChanged`` recorded it: ``ray (address=auto
    cluster=10.0.0.1:6379 transport=socket)``; ``-`` when not recorded (a journal written
    before it was, or an executor that does not say)."""
    if not isinstance(executor, Mapping) or not executor.get("name"):
        return "-"
    rest = " ".join(f"{k}={v}" for k, v in executor.items() if k != "name" and v is not None)
    return f"{executor['name']}" + (f" ({rest})" if rest else "")


def _limits(budget: Budget) -> str:
    """``n_trials=200, max_time=3600``: a budget's limits, as a spec writes them."""
    return ", ".join(f"{k}={v}" for k, v in budget.to_json().items() if v is not None)


def _changed(study: Study) -> str:
    """``; created with n_trials=6, changed by set_budget`` when the budget is not the one
    the study was created with (``Study.set_budget``), else ``""``."""
    created = study.engine.created_spec.budget
    if created == study.spec.budget:
        return ""
    return f"; created with {_limits(created) or 'none'}, changed by set_budget"


def _budget_state(summary: Mapping[str, Any], study: Study) -> str:
    """``spent: <the limits reached>`` / ``not spent``, the stop rule's journaled reason when
    it ended the search, or why it is over early (``rung.study_views.over_early``)."""
    from rung.core.budget import Usage, limits_reached
    from rung.study_views import over_early

    if summary["stopped"] is not None:
        return f"stopped by the stop rule: {summary['stopped']}"
    early = over_early(study.engine)
    if early is not None:
        return early
    if summary["budget_left"]:
        return "not spent"
    reached = limits_reached(study.spec.budget, Usage.of(study.engine))
    return f"spent: {' and '.join(reached)} reached" if reached else "spent"


def _spent_lines(study: Study) -> list[str]:
    """``rung show``'s line of what a budget in money or GPU-hours spent and its overshoot
    (``rung.core.budget.spend_text``; the budget line names the limits reached); none for
    another budget."""
    from rung.core.budget import Usage, spend_text

    spent = spend_text(study.spec.budget, Usage.of(study.engine), ends=False)
    return [] if spent is None else [f"  spent      {spent}"]


def failure_lines(failed: list[Trial], kinds: int = 10, ids: int = 5) -> list[str]:
    """Every failure of a study, grouped by its kind (the exception type that starts the
    error's last line, else that whole line), most frequent first, with the latest message:
    ``failures   3 x ValueError  (trials #2, #5, #7; last: ValueError: boom (x=0.6))``. At most
    ``kinds`` groups and ``ids`` trial ids per group are named; the rest are counted."""
    from rung.reporter import failure_kind

    groups: dict[str, list[Trial]] = {}
    for t in failed:
        groups.setdefault(failure_kind(_last_line(t.error)), []).append(t)
    ranked = sorted(groups.items(), key=lambda kv: -len(kv[1]))  # stable: first seen first
    out = []
    for kind, ts in ranked[:kinds]:
        named = ", ".join(f"#{t.id}" for t in ts[:ids])
        more = f", +{len(ts) - ids} more" if len(ts) > ids else ""
        last = _last_line(ts[-1].error)
        example = "" if last == kind else f"; last: {last}"
        out.append(f"  failures   {len(ts)} x {kind}  (trials {named}{more}{example})")
    if len(ranked) > kinds:
        rest = sum(len(v) for _, v in ranked[kinds:])
        out.append(f"  failures   {rest} more in {len(ranked) - kinds} other kinds")
    return out


def _last_line(error: str | None) -> str:
    """The line of an error that says what went wrong, as the run's failure line and the
    dashboard say it (``rung.reporter.error_summary``: a traceback's exception line)."""
    from rung.reporter import error_summary

    return error_summary(error) if error and error.strip() else "(no error text)"


def ls_row(study: Study, where: str, running: bool) -> list[Any]:
    """One row of ``rung ls`` (``ls_cells``) from a loaded study; its state is
    ``rung.study_views.study_state``."""
    return entry_cells(ls_entry_of(study, where, running))


def ls_entry_of(study: Study, where: str, running: bool) -> dict[str, Any]:
    """``ls_entry`` of a loaded study (its state: ``rung.study_views.study_state``)."""
    from rung.study_views import study_state

    h = study.history
    state = study_state(study.engine, study.journal.load_study(study.name), running)
    return ls_entry(study.name, state, len(h), {s.value: h.count(s) for s in TrialStatus},
                    study.best_value(), study.spec.objective.metric, where)


def ls_cells(name: str, state: str, trials: int, by_status: Mapping[str, int],
             best: float | None, metric: str, where: str) -> list[Any]:
    """One row of ``rung ls``: name, state, trials, per-status counts (``by_status``: trials
    per ``TrialStatus`` value, a missing one 0; unfinished = launched + running +
    interrupted), the best value with its metric, storage."""
    return entry_cells(ls_entry(name, state, trials, by_status, best, metric, where))


def ls_entry(name: str, state: str, trials: int, by_status: Mapping[str, int],
             best: float | None, metric: str, where: str) -> dict[str, Any]:
    """What ``rung ls`` says of one study (``LS_KEYS``, ``rung ls --json``'s object; the
    arguments as ``ls_cells`` takes them): ``best`` is ``None`` when there is none or it is
    not finite, ``error`` ``None`` (see ``unreadable_entry``)."""
    def n(status: str) -> int:
        return int(by_status.get(status, 0))

    return {"study": name, "state": state, "trials": int(trials), "completed": n("completed"),
            "stopped": n("stopped"), "paused": n("paused"), "failed": n("failed"),
            "unfinished": n("launched") + n("running") + n("interrupted"),
            "best": None if best is None or not math.isfinite(best) else float(best),
            "metric": metric, "storage": where, "error": None}


def unreadable_entry(name: str | None, error: str, where: str) -> dict[str, Any]:
    """``rung ls``'s entry of a journal (``name`` ``None``) or a study it cannot read:
    ``state`` ``"unreadable"``, ``error`` why, the counts, best and metric ``None``."""
    return {**dict.fromkeys(LS_KEYS), "study": name, "state": "unreadable", "storage": where,
            "error": error}


def entry_cells(entry: Mapping[str, Any]) -> list[Any]:
    """``rung ls``'s row (``LS_HEADERS``) of an entry (``ls_entry``, ``unreadable_entry``)."""
    if entry["error"] is not None:
        return [entry["study"] or "-", f"unreadable: {entry['error']}", *[""] * 7,
                entry["storage"]]
    best = entry["best"]
    return [entry["study"], entry["state"], entry["trials"], entry["completed"],
            entry["stopped"], entry["paused"], entry["failed"], entry["unfinished"],
            "-" if best is None else f"{fmt_num(best)} ({entry['metric']})", entry["storage"]]


LS_HEADERS = ["study", "state", "trials", "completed", "stopped", "paused", "failed",
              "unfinished", "best", "storage"]
#: the keys of each object of ``rung ls --json`` (``ls_entry``), in order
LS_KEYS = ["study", "state", "trials", "completed", "stopped", "paused", "failed", "unfinished",
           "best", "metric", "storage", "error"]
