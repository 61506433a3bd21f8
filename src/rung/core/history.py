"""``History``: everything that happened to every trial, with incremental indexes.

Searchers and schedulers read it; only the engine writes it (through the underscore methods).
Every read on the hot path is O(1) or O(log n): per-status id sets, per-step sorted score tables
and running best-trial bookkeeping are updated as events arrive, never recomputed by scanning.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rung.core._best_rule import BestRule
from rung.core._best_rule import cut_by_max_time as cut_by_max_time
from rung.core.constraints import ReportedSteps
from rung.core.records import Checkpoint, Constraint, Objective, Result, Trial, TrialStatus
from rung.core.sorted_table import SortedTable
from rung.space import SearchSpace


class _TrialState:
    __slots__ = (
        "checkpoint",
        "error",
        "id",
        "interruptions",
        "last_step",
        "launches",
        "metrics",
        "params",
        "parent_id",
        "reported",
        "results",
        "scores",
        "snapshot",
        "status",
        "tags",
    )

    def __init__(
        self, tid: int, params: Mapping[str, Any], parent_id: int | None, tags: Mapping[str, Any]
    ) -> None:
        self.id = tid
        self.params = params
        self.parent_id = parent_id
        self.tags = dict(tags)
        self.status = TrialStatus.LAUNCHED
        self.results: list[Result] = []
        self.scores: dict[int, float] = {}
        self.metrics: dict[int, Mapping[str, Any]] = {}
        self.reported = ReportedSteps()  # steps holding each constraint's metric
        self.last_step = 0
        self.checkpoint: Checkpoint | None = None
        self.error: str | None = None
        self.launches = 0
        self.interruptions = 0
        self.snapshot: Trial | None = None


class History(BestRule):
    """Read-only record of a study for searchers and schedulers.

    Scores are lower-is-better (``Objective.score``); a missing or non-finite metric scores
    ``inf``. A trial holds one result per step: when it reports a step again (it was resumed
    from an older checkpoint, or restarted without one), the later result replaces the earlier
    one, in ``results`` and in the per-step tables (the journal keeps both reports).
    """

    def __init__(
        self,
        space: SearchSpace,
        objective: Objective,
        max_step: int,
        objectives: Sequence[Objective] = (),
        constraints: Sequence[Constraint] = (),
    ) -> None:
        self.space = space
        self.objective = objective
        #: every objective (the first is ``objective``); one entry for a single-objective study
        self.objectives: tuple[Objective, ...] = tuple(objectives) or (objective,)
        self.constraints: tuple[Constraint, ...] = tuple(constraints)
        self._constrained = tuple(dict.fromkeys(c.metric for c in self.constraints))
        self.max_step = max_step
        self._trials: dict[int, _TrialState] = {}
        self._by_status: dict[TrialStatus, dict[int, None]] = {s: {} for s in TrialStatus}
        self._at_step: dict[int, SortedTable] = {}
        # results not yet merged into their step's table: merged on the first read, so a study
        # whose components never ask for ranks pays no sorted insert per report
        self._unsorted: dict[int, list[tuple[float, int]]] = {}
        self._best_at_step: dict[int, tuple[float, int]] = {}
        # best (score, id) of the feasible trials that completed by themselves below max_step
        # (an objective that returns early: its last result is its final one)
        self._best_completed_early: tuple[float, int] | None = None
        self._top_step = 0
        self.n_suggested = 0
        self.steps_consumed = 0
        self.n_results = 0
        self.version = 0  # bumped on every change, so components can cache derived data

    # --- reads: trials --------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._trials)

    def __contains__(self, trial_id: object) -> bool:
        return trial_id in self._trials

    def __iter__(self) -> Iterator[int]:
        return iter(self._trials)

    @property
    def next_id(self) -> int:
        return len(self._trials)

    def trial(self, trial_id: int, cache: bool = True) -> Trial:
        """A snapshot of one trial (cached until the trial changes; ``cache=False`` builds one
        without keeping it, for a caller that reads it once: a study of 10^5 trials would
        otherwise keep 10^5 snapshots alive for the garbage collector to walk)."""
        st = self._trials[trial_id]
        snapshot = st.snapshot
        if snapshot is None:
            score = st.scores.get(st.last_step, math.inf)
            snapshot = Trial(
                id=st.id,
                params=st.params,
                status=st.status,
                results=tuple(st.results),
                checkpoint=st.checkpoint,
                parent_id=st.parent_id,
                tags=dict(st.tags),
                error=st.error,
                score=score,
                value=self.objective.value(score) if score != math.inf else None,
            )
            if cache:
                st.snapshot = snapshot
        return snapshot

    def trials(self, status: TrialStatus | Sequence[TrialStatus] | None = None) -> list[Trial]:
        return [self.trial(i) for i in self.ids(status)]

    def ids(self, status: TrialStatus | Sequence[TrialStatus] | None = None) -> list[int]:
        """Trial ids, in creation order within each status."""
        if status is None:
            return list(self._trials)
        if isinstance(status, TrialStatus):
            return list(self._by_status[status])
        out: list[int] = []
        for s in status:
            out.extend(self._by_status[s])
        return sorted(out)

    def count(self, status: TrialStatus) -> int:
        return len(self._by_status[status])

    def status(self, trial_id: int) -> TrialStatus:
        return self._trials[trial_id].status

    def params(self, trial_id: int) -> Mapping[str, Any]:
        return self._trials[trial_id].params

    def tags(self, trial_id: int) -> Mapping[str, Any]:
        return self._trials[trial_id].tags

    def parent_id(self, trial_id: int) -> int | None:
        return self._trials[trial_id].parent_id

    def results(self, trial_id: int) -> Sequence[Result]:
        return self._trials[trial_id].results

    def last_step(self, trial_id: int) -> int:
        """Highest step the trial has reported (0 if none)."""
        return self._trials[trial_id].last_step

    def checkpoint(self, trial_id: int) -> Checkpoint | None:
        return self._trials[trial_id].checkpoint

    def error(self, trial_id: int) -> str | None:
        """Why the trial's last run failed (or was interrupted); ``None`` otherwise."""
        return self._trials[trial_id].error

    def launches(self, trial_id: int) -> int:
        """How many times the trial has been launched (1 + resumes)."""
        return self._trials[trial_id].launches

    def interruptions(self, trial_id: int) -> int:
        return self._trials[trial_id].interruptions

    def score(self, trial_id: int, step: int | None = None) -> float:
        """Score of the trial at ``step`` (default: its highest step); ``inf`` if none."""
        st = self._trials[trial_id]
        return st.scores.get(st.last_step if step is None else step, math.inf)

    def scores(self, trial_id: int) -> Mapping[int, float]:
        """Step -> score for one trial."""
        return self._trials[trial_id].scores

    def values(self, trial_id: int, step: int | None = None) -> tuple[float, ...]:
        """Lower-is-better score of every objective at ``step`` (default: the trial's highest
        step); ``inf`` where a metric is missing or not finite, or the step has no result."""
        st = self._trials[trial_id]
        m = st.metrics.get(st.last_step if step is None else step)
        if m is None:
            return tuple(math.inf for _ in self.objectives)
        return tuple(o.score(m) for o in self.objectives)

    def violation(self, trial_id: int, step: int | None = None, ranking: bool = False) -> float:
        """Total constraint violation at ``step`` (default: the trial's highest step), the sum
        of the positive ``slacks``: 0 when feasible (always, without constraints, once a
        result exists there). ``inf`` without a result at ``step``, or when a constraint's
        metric has no value by then (never reported, or not finite). ``ranking=True`` is the
        violation a rung or a searcher ranks the result at ``step`` by: a metric not reported
        by then is unknown and adds nothing, unless the result there is the trial's final one
        (``rung.core.constraints``, "Which value a constraint reads at a step")."""
        st = self._trials[trial_id]
        if not ranking and (st.last_step if step is None else step) not in st.metrics:
            return math.inf
        if not self.constraints:  # no slack to sum (``rung show`` asks of every trial)
            return 0.0
        return float(sum(max(0.0, s) for s in self.slacks(trial_id, step, ranking)
                         if not math.isnan(s)))

    def slacks(self, trial_id: int, step: int | None = None,
               ranking: bool = False) -> tuple[float, ...]:
        """``Constraint.slack`` of every constraint at ``step`` (default: the trial's highest
        step; feasible iff all ``<= 0``), each read from the trial's latest value of its
        metric at or before ``step`` (a metric reported only at some steps holds until it is
        reported again). ``inf`` for a metric not reported by then and, without ``ranking``,
        for every constraint when the trial has no result at ``step``. With ``ranking``: a
        metric not reported by ``step`` is unknown, ``nan``, unless the result there is the
        trial's final one (``is_final``), where it is ``inf`` (``rung.core.constraints``)."""
        st = self._trials[trial_id]
        at = st.last_step if step is None else step
        here = st.metrics.get(at)
        if here is None and not ranking:
            return tuple(math.inf for _ in self.constraints)
        final = self.is_final(trial_id) and at >= st.last_step
        unknown = math.nan if ranking and not final else math.inf
        out: list[float] = []
        for c in self.constraints:
            if here is not None and c.metric in here:
                out.append(c.slack_of(here[c.metric]))
                continue
            s = st.reported.at(c.metric, at)
            out.append(unknown if s is None else c.slack_of(st.metrics[s][c.metric]))
        return tuple(out)

    def pending(self) -> list[int]:
        """Ids of launched or running trials (what model-based searchers must not re-propose)."""
        return [*self._by_status[TrialStatus.LAUNCHED], *self._by_status[TrialStatus.RUNNING]]

    # --- reads: per-step tables -----------------------------------------------------------
    def steps(self) -> list[int]:
        """Steps at which at least one result was reported, ascending."""
        return sorted(self._at_step)

    def _table(self, step: int) -> SortedTable | None:
        table = self._at_step.get(step)
        pending = self._unsorted.get(step)
        if pending:
            assert table is not None
            table.update(pending)
            pending.clear()
        return table

    def at_step(self, step: int) -> SortedTable:
        """``(score, trial_id)`` of every trial that reported ``step``, best first."""
        table = self._table(step)
        return table if table is not None else SortedTable()

    def n_at_step(self, step: int) -> int:
        return len(self._at_step.get(step, ())) + len(self._unsorted.get(step, ()))

    def rank_at(self, step: int, score: float, trial_id: int | None = None) -> int:
        """Number of results at ``step`` strictly better than ``(score, trial_id)``; ties are
        broken by trial id, so ranks are total and deterministic."""
        key = (score, -1 if trial_id is None else trial_id)
        table = self._table(step)
        return table.bisect_left(key) if table is not None else 0

    def quantile_at(self, step: int, q: float) -> float:
        """The ``q``-quantile (lower interpolation) of scores at ``step``; ``nan`` if none."""
        table = self._table(step)
        if not table:
            return math.nan
        i = min(math.floor(q * (len(table) - 1)), len(table) - 1)
        return float(table[max(i, 0)][0])

    @property
    def top_step(self) -> int:
        """Highest step any trial has reported."""
        return self._top_step

    # --- writes (engine only) -------------------------------------------------------------
    def _touch(self, st: _TrialState) -> None:
        st.snapshot = None
        self.version += 1

    def _set_status(self, st: _TrialState, status: TrialStatus) -> None:
        del self._by_status[st.status][st.id]
        st.status = status
        self._by_status[status][st.id] = None
        self._touch(st)

    def _create(
        self,
        trial_id: int,
        params: Mapping[str, Any],
        parent_id: int | None,
        tags: Mapping[str, Any],
        suggested: bool,
    ) -> None:
        assert trial_id == len(self._trials), "trial ids are dense and issued in order"
        st = _TrialState(trial_id, params, parent_id, tags)
        self._trials[trial_id] = st
        self._by_status[st.status][trial_id] = None
        if suggested:
            self.n_suggested += 1
        self.version += 1

    def _launch(self, trial_id: int) -> None:
        st = self._trials[trial_id]
        st.launches += 1
        st.error = None
        self._set_status(st, TrialStatus.LAUNCHED)

    def _start(self, trial_id: int) -> None:
        st = self._trials[trial_id]
        if st.status is TrialStatus.LAUNCHED:
            self._set_status(st, TrialStatus.RUNNING)

    def _add_result(self, trial_id: int, result: Result, consumed: int) -> float:
        st = self._trials[trial_id]
        score = self.objective.score(result.metrics)
        step = result.step
        key = (score, trial_id)
        old = st.scores.get(step)
        if old is None:
            pending = self._unsorted.get(step)
            if pending is None:
                self._at_step[step] = SortedTable()
                pending = self._unsorted[step] = []
            pending.append(key)
            best = self._best_at_step.get(step)
            if best is None or key < best:
                self._best_at_step[step] = key
        else:  # a restarted trial reports this step again: its new result replaces the old
            table = self._table(step)
            assert table is not None
            table.discard((old, trial_id))
            table.add(key)
            self._best_at_step[step] = table[0]
        st.scores[step] = score
        st.metrics[step] = result.metrics
        if self._constrained:
            st.reported.note(self._constrained, step, result.metrics)
        results = st.results
        if old is None:
            results.append(result)
        else:  # one result per step: the repeat replaces the earlier one (the journal keeps both)
            i = len(results) - 1
            while results[i].step != step:  # a restart repeats recent steps: a short scan
                i -= 1
            results[i] = result
        if step > st.last_step:
            st.last_step = step
        if step > self._top_step:
            self._top_step = step
        self.steps_consumed += consumed
        self.n_results += 1
        self._touch(st)
        return score

    def _checkpoint(self, trial_id: int, checkpoint: Checkpoint | None) -> None:
        st = self._trials[trial_id]
        st.checkpoint = checkpoint
        self._touch(st)

    def _end(
        self, trial_id: int, status: TrialStatus, error: str | None, counted: bool = True
    ) -> None:
        """End a run; an interrupted one counts toward ``interruptions`` unless ``counted``
        is false (its driver stopped, not the trial)."""
        st = self._trials[trial_id]
        st.error = error
        if status is TrialStatus.INTERRUPTED and counted:
            st.interruptions += 1
        self._set_status(st, status)
        if st.last_step < self.max_step and self.is_final(trial_id) and (
                self.violation(trial_id) == 0.0) and self.has_value(trial_id):
            # final from now on: a completed trial is never resumed, nor its results replaced
            key = (st.scores[st.last_step], trial_id)
            if self.better(key, self._best_completed_early):
                self._best_completed_early = key

    def _retry(self, trial_id: int) -> None:
        """A failed trial becomes interrupted again, with no interruptions counted."""
        st = self._trials[trial_id]
        st.error = None
        st.interruptions = 0
        self._set_status(st, TrialStatus.INTERRUPTED)

    def _set_params(self, trial_id: int, params: Mapping[str, Any]) -> None:
        """A define-by-run trial's actual params replace the proposed ones."""
        st = self._trials[trial_id]
        st.params = params
        self._touch(st)

    def _tag(self, trial_id: int, key: str, value: Any) -> None:
        st = self._trials[trial_id]
        st.tags[key] = value
        self._touch(st)
