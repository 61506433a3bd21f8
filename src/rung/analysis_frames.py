"""Results as data: a study's trials and results as rows, folded from its journal (read-only).

``Study.trials_dataframe()`` and ``Study.results_dataframe()`` are thin wrappers over
``trials_dataframe`` / ``results_dataframe`` here; ``rung export``, ``rung.plot`` and the
dashboard read the same rows. Two sources, both read-only:

- the replayed ``History`` (``study.history``): params, status, score, checkpoint, parent, error
  (the engine's own view, so a row never disagrees with ``study.trial(i)``);
- the journal's records (``JournalFold``): what the history does not keep: when each run of a
  trial started and ended, every decision with its reason and the time it was made, the
  worker slot each run occupied, and which checkpoints the engine released (a row names a
  trial's checkpoint only while it is kept: ``kept_checkpoint``).

The fold of the journal is ``rung.journal_fold`` (its names are re-exported here).

pandas is an optional extra (``pip install 'rung[dataframe]'``, also in ``rung[dashboard]``);
the row builders (``trial_rows``, ``result_rows``) need nothing but the standard library.

Cost: ``JournalFold.update`` is O(new records); rows are O(trials + results). A ``Study``'s
views keep their fold between calls and fold only the records appended since
(``rung.study_folds``).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from rung.core.metric_value import BIG_INT
from rung.journal_fold import (
    DecisionMade,
    JournalFold,
    ResultSeen,
    Run,
    decision_marks,
    fold,
    last_decision,
    replaced_by,
    retired,
)

if TYPE_CHECKING:
    import pandas as pd

    from rung.core.history import History
    from rung.core.records import StudySpec
    from rung.study_views import StudyViews


def require(module: str, extra: str, what: str) -> ModuleType:
    """Import an optional dependency, or raise ``ImportError`` saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f"{what} needs {module.split('.')[0]}, which is not installed: "
            f"pip install 'rung[{extra}]'"
        ) from e


def _pandas() -> Any:
    return require("pandas", "dataframe", "a DataFrame of a study")


# --- rows -----------------------------------------------------------------------------------
def _finite(x: float) -> float:
    return x if math.isfinite(x) else math.nan


def _metric_value(history: History, trial_id: int) -> float:
    return _finite(history.objective.value(history.score(trial_id)))


def feasible(history: History, trial_id: int) -> bool | None:
    """The trial meets every constraint at its highest step (``None`` where not known:
    before its first result, a failed trial, one stopped before it reported a constraint's
    metric: ``History.feasibility``)."""
    return history.feasibility(trial_id)


def kept_checkpoint(history: History, jf: JournalFold, trial_id: int) -> str | None:
    """The path of the trial's checkpoint while it is kept (relative to the study's checkpoint
    directory); ``None`` once the engine released it (a stopped trial's, a paused trial's
    when it was stopped) or if it never had one."""
    ckpt = history.checkpoint(trial_id)
    return None if ckpt is None or ckpt.path in jf.deleted else ckpt.path


def trial_rows(history: History, jf: JournalFold) -> list[dict[str, Any]]:
    """One dict per trial, in id order (the columns of ``trials_dataframe``); ``last_step``
    is the trial's highest step reported (``Trial.last_step``, 0 before its first result: a
    step, not a count of steps trained), ``n_results`` its results, ``slot`` the worker slot
    its latest run occupied (``None`` before its first launch); ``decision``,
    ``decision_step`` and ``reason`` are the trial's ``last_decision``, ``checkpoint`` its
    ``kept_checkpoint``; ``duration`` is from its first start to its last end (waits while
    paused or while no driver ran included), ``run_time`` the time its runs took, summed (up
    to now for a run going on); times are in the journal's clock (seconds; the simulated
    executor's starts at 0); a study with
    constraints has a ``feasible`` column (``feasible``). ``parent_id`` is the trial it was
    forked from (PBT), ``replaces`` the population member whose place it took and
    ``from_step`` the step of the donor's checkpoint it started from (its tags; ``None``
    outside PBT): ``rung.schedulers.pbt.schedule`` reads the lineage into a schedule.
    ``error`` is a failed (or interrupted) trial's whole error, its traceback included;
    ``error_line`` the one line rung shows for it (``ValueError: diverged``: the failure lines
    of a run, ``rung show``, the dashboard)."""
    from rung.core.error_line import error_summary

    names = list(history.space)
    multi = len(history.objectives) > 1
    slots: dict[int, int] = {}
    ran: dict[int, float] = {}
    for run in jf.runs:
        slots[run.trial_id] = run.slot
        ran[run.trial_id] = ran.get(run.trial_id, 0.0) + (
            (run.end if run.end is not None else jf.now) - run.start)
    rows: list[dict[str, Any]] = []
    for tid in history:
        params = history.params(tid)
        status = history.status(tid)
        score = history.score(tid)
        row: dict[str, Any] = {"trial_id": tid}
        for n in names:
            row[f"params_{n}"] = params.get(n)
        row["status"] = status.value
        row["value"] = _finite(history.objective.value(score))
        if multi:
            for o, v in zip(history.objectives, history.values(tid), strict=True):
                row[f"values_{o.metric}"] = _finite(o.value(v))
        if history.constraints:
            row["feasible"] = feasible(history, tid)
        row["score"] = _finite(score)
        row["last_step"] = history.last_step(tid)
        row["n_results"] = len(history.results(tid))
        d = last_decision(history, jf, tid)
        row["decision"] = d.action if d is not None else None
        row["decision_step"] = d.step if d is not None else None
        row["reason"] = d.reason if d is not None else None
        start = jf.first_start.get(tid)
        end = None if status.active else jf.last_end.get(tid)
        row["start_time"] = start
        row["end_time"] = end
        row["duration"] = (end - start) if start is not None and end is not None else None
        row["run_time"] = ran.get(tid)
        row["slot"] = slots.get(tid)
        row["launches"] = history.launches(tid)
        row["checkpoint"] = kept_checkpoint(history, jf, tid)
        row["parent_id"] = history.parent_id(tid)
        tags = history.tags(tid)
        row["replaces"] = _whole(tags.get("replaces"))
        row["from_step"] = _whole(tags.get("from_step"))
        error = history.trial(tid, cache=False).error
        row["error_line"] = error_summary(error) if error else None
        row["error"] = error
        rows.append(row)
    return rows


_RESULT_FIXED = ("trial_id", "step", "run", "time", "score", "value", "decision", "reason")


def result_rows(history: History, jf: JournalFold) -> list[dict[str, Any]]:
    """One dict per reported result, in journal order (the columns of ``results_dataframe``):
    ``trial_id, step``, ``run`` (the trial's launch the result came from, 1-based: a step
    re-trained after a restart is reported again, once per run), ``time``, one column per
    metric (named as reported; ``metric_<name>`` if that clashes with a fixed column),
    ``score`` (lower is better), ``value`` (the objective's metric), and the latest
    ``decision`` on that very result with its ``reason`` (a step a resumed trial reported
    again has its own; ``None`` where the trial streamed on under its lease and no decision
    was asked for). A step one run reported more than once (``report`` at the same step
    again, a final result told or returned at the last step) has one row, the last result, as
    the trial's own results do (``History``: the later replaces the earlier)."""
    obj = history.objective
    rows: list[dict[str, Any]] = []
    where: dict[tuple[int, int, int], int] = {}  # (trial, run, step) -> its row's index
    for r, d in zip(jf.results, jf.result_decision, strict=True):
        row: dict[str, Any] = {"trial_id": r.trial_id, "step": r.step, "run": r.run,
                               "time": r.time}
        for k, v in r.metrics.items():
            row[f"metric_{k}" if k in _RESULT_FIXED else k] = v
        score = obj.score(r.metrics)
        row["score"] = _finite(score)
        row["value"] = _finite(obj.value(score))
        row["decision"] = d.action if d is not None else None
        row["reason"] = d.reason if d is not None else None
        key = (r.trial_id, r.run, r.step)
        if key in where:
            rows[where[key]] = {}  # replaced by this later result of the same run and step
        where[key] = len(rows)
        rows.append(row)
    return [row for row in rows if row] if len(where) < len(rows) else rows


def _columns(history: History) -> list[str]:
    cols = ["trial_id", *(f"params_{n}" for n in history.space), "status", "value"]
    if len(history.objectives) > 1:
        cols += [f"values_{o.metric}" for o in history.objectives]
    if history.constraints:
        cols.append("feasible")
    cols += ["score", "last_step", "n_results", "decision", "decision_step", "reason",
             "start_time", "end_time", "duration", "run_time", "slot", "launches",
             "checkpoint",
             "parent_id", "replaces", "from_step", "error_line", "error"]
    return cols


#: columns of whole numbers that may be missing: pandas' nullable ``Int64``, so that a missing
#: one does not turn the rest into floats (``24.0``, ``7.0`` in a CSV)
_INT_COLUMNS = ("trial_id", "last_step", "n_results", "decision_step", "slot", "launches",
                "parent_id", "replaces", "from_step")


def _whole(v: object) -> int | None:
    """A tag's value as a whole number (a trial id, a step), else ``None``."""
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def trials_dataframe(history: History, jf: JournalFold) -> pd.DataFrame:
    """One row per trial (see ``Study.trials_dataframe``); ids, steps and counts are
    integers (``Int64``, missing values ``<NA>``), values and times floats (``float64``,
    missing values ``NaN``), also when there is no trial yet."""
    pd = _pandas()
    cols = _columns(history)
    rows = trial_rows(history, jf)
    metric_cols = _last_metrics(history, rows)
    at = cols.index("score")
    cols[at:at] = metric_cols
    df = pd.DataFrame(rows, columns=cols)
    floats = [c for c in cols if c in _FLOAT_COLUMNS or c.startswith("values_")
              or (c in metric_cols and _numbers(r.get(c) for r in rows))]
    from rung.space.params import Int

    # an Int parameter stays whole where a conditional one is inactive (<NA>, not 5.0)
    ints = [f"params_{n}" for n in history.space if isinstance(history.space[n], Int)]
    # feasible: True / False / <NA> where not known (History.feasibility; a mask: df[df.feasible]
    # works)
    bools = {"feasible": "boolean"} if "feasible" in cols else {}
    return df.astype({**dict.fromkeys((*_INT_COLUMNS, *ints), "Int64"),
                      **dict.fromkeys(floats, "float64"), **bools})


def _last_metrics(history: History, rows: list[dict[str, Any]]) -> list[str]:
    """Add to each trial's row the metrics of its latest result (``Trial.metrics``) as
    ``metrics_<name>``; the column names: every objective's and constraint's metric, then the
    others in the order trials first reported them."""
    names = dict.fromkeys([*(o.metric for o in history.objectives),
                           *(c.metric for c in history.constraints)])
    for row in rows:
        results = history.results(row["trial_id"])
        if results:
            for k, v in results[-1].metrics.items():
                names[k] = None
                row[f"metrics_{k}"] = v
    return [f"metrics_{k}" for k in names]


def _numbers(values: Any) -> bool:
    """Every given value is a real number a float holds (``None`` for missing): a float
    column (an int too large for a float, in a journal written before such ints were made
    infinite, keeps the column as it is)."""
    return all(v is None or isinstance(v, float)
               or (isinstance(v, int) and not isinstance(v, bool) and -BIG_INT < v < BIG_INT)
               for v in values)


#: columns of numbers that may be missing (``NaN``), whatever the trials hold
_FLOAT_COLUMNS = ("value", "score", "start_time", "end_time", "duration", "run_time")


def results_dataframe(history: History, jf: JournalFold,
                      rows: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """One row per reported result, a step re-run after a restart once per run (``run``, the
    trial's launch it came from, tells them apart; see ``result_rows`` and
    ``Study.results_dataframe``). With no result yet, the columns are ``trial_id, step, run,
    time``, each objective's and constraint's metric, ``score, value, decision, reason``, of the
    types they will hold. ``rows``: ``result_rows(history, jf)`` if the caller has them already
    (they are read, not changed)."""
    pd = _pandas()
    if rows is None:
        rows = result_rows(history, jf)
    if not rows:
        metrics = dict.fromkeys(
            f"metric_{m}" if m in _RESULT_FIXED else m
            for m in [*(o.metric for o in history.objectives),
                      *(c.metric for c in history.constraints)])
        return pd.DataFrame({
            "trial_id": pd.Series(dtype="int64"), "step": pd.Series(dtype="int64"),
            "run": pd.Series(dtype="int64"), "time": pd.Series(dtype="float64"),
            **{m: pd.Series(dtype="float64") for m in metrics},
            "score": pd.Series(dtype="float64"), "value": pd.Series(dtype="float64"),
            "decision": pd.Series(dtype=object), "reason": pd.Series(dtype=object)})
    return pd.DataFrame(rows)


# --- derived views shared by plots and the dashboard ----------------------------------------
def rung_cutoffs(
    history: History, jf: JournalFold, steps: Sequence[int]
) -> dict[int, float]:
    """For each of ``steps`` below ``max_step``: the cut-off the scheduler applied there last,
    as a metric value in the objective's own direction, read from its stop and pause decisions'
    reasons (``rung.plot._cutoffs.decision_cutoffs``, which has the range over the run too).
    Steps where no decision named a threshold are left out."""
    from rung.plot._cutoffs import decision_cutoffs  # rung.plot imports this module

    applied = decision_cutoffs(history, jf)
    return {s: applied[s].latest for s in steps if s < history.max_step and s in applied}


def occupancy(jf: JournalFold, steps: Sequence[int]) -> dict[int, list[tuple[float, int]]]:
    """For each rung step: ``(time, trials that have reported that step by then)``, one point
    per first arrival (a cumulative count, the rung's occupancy over time)."""
    want = set(steps)
    seen: set[tuple[int, int]] = set()
    out: dict[int, list[tuple[float, int]]] = {s: [] for s in sorted(want)}
    for r in jf.results:
        if r.step in want and (r.trial_id, r.step) not in seen:
            seen.add((r.trial_id, r.step))
            pts = out[r.step]
            pts.append((r.time, len(pts) + 1))
    return out


def front_staircase(points: Sequence[tuple[float, float]], modes: Sequence[str]
                    ) -> tuple[list[float], list[float]]:
    """The line that bounds what a Pareto front of two objectives attains, through its
    ``points`` (values in the objectives' own units and directions, ``modes``: ``"min"`` /
    ``"max"`` each): the points by the first value, and between two neighbours the corner
    that takes the worse of each of their values (a corner taking the better ones would be a
    configuration that beats both, which nobody ran). Returns the line's x and y values."""
    worse = [max if m == "min" else min for m in modes[:2]]
    pts = sorted(points)
    xs: list[float] = []
    ys: list[float] = []
    for i, (x, y) in enumerate(pts):
        if i:
            px, py = pts[i - 1]
            xs.append(worse[0](px, x))
            ys.append(worse[1](py, y))
        xs.append(x)
        ys.append(y)
    return xs, ys


def study_fold(study: StudyViews) -> JournalFold:
    """The fold of a ``Study``'s journal, the caller's own (a ``JournalFold.copy`` of the one
    the study's views keep, ``rung.study_folds``): of the records a read-only ``Study.load``
    replayed, without reading the journal again; else of the journal, of which only the
    records appended since the views' last call are read. An object that is no ``StudyViews``
    but has its ``_journal_records`` (the dashboard's) has them folded afresh."""
    folds = getattr(type(study), "_study_folds", None)
    if folds is None:
        return fold(study._journal_records())
    return study._study_folds().journal_fold(study)


def spec_steps(spec: StudySpec, scheduler: Any) -> list[int]:
    """The fidelity steps of a study: its scheduler's rung steps and ``max_step``, or, for a
    scheduler without rungs, ``1, 3, 9, ...`` and ``max_step`` (``rung.analysis``'s ladder:
    where the figures compare trials)."""
    from rung.analysis import fidelity_steps

    return fidelity_steps(scheduler, spec.max_step)


def has_rungs(scheduler: Any) -> bool:
    """The scheduler decides at rungs of its own (ASHA, MO-ASHA, Hyperband, successive
    halving, the curve-aware one: a ``fidelity_steps`` method); FIFO, the median rule and PBT
    have none, and ``spec_steps`` is only a ladder to look at them on."""
    return callable(getattr(scheduler, "fidelity_steps", None))


__all__ = [
    "DecisionMade",
    "JournalFold",
    "ResultSeen",
    "Run",
    "decision_marks",
    "feasible",
    "fold",
    "front_staircase",
    "has_rungs",
    "kept_checkpoint",
    "last_decision",
    "occupancy",
    "replaced_by",
    "require",
    "result_rows",
    "results_dataframe",
    "retired",
    "rung_cutoffs",
    "spec_steps",
    "study_fold",
    "trial_rows",
    "trials_dataframe",
]
