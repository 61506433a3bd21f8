"""The read-only half of ``Study``: trials, the best trial, the Pareto front, summaries,
diagnostics, dataframes and the ledger. Everything here reads the study's engine (its
``History``) or its journal and changes neither; ``StudyViews`` is mixed into ``Study`` and uses
only its ``spec``, ``engine`` and ``journal``, and keeps its folds of the journal between calls
(``rung.study_folds``: a later call reads only the records appended since)."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rung.core.engine import Engine
from rung.core.events import Record
from rung.core.peer_names import STUDY, missing
from rung.core.records import StudySpec, Trial, TrialStatus
from rung.errors import ConfigError
from rung.storage import Journal
from rung.study_folds import StudyFolds

if TYPE_CHECKING:
    import pandas as pd

    from rung.analysis import FidelityDiagnostics
    from rung.core.history import History
    from rung.cost.ledger import Ledger
    from rung.reporter import Reporter


def over_early(engine: Engine) -> str | None:
    """Why the search is over before its budget was spent, in ``rung show``'s words (its
    ``budget`` line; the dashboard's too): the scheduler's reason when it ended the search
    itself (``Scheduler.ended``: ``"the scheduler ended the search: PBT needs checkpoints:
    ..."``, whatever the budget), the searcher's when it ran out of configurations (``"not
    spent: the grid searcher proposed every one of its 3 points"``), else ``"not spent, but
    the scheduler has nothing left to run: the search is over"``; ``None`` while the search
    goes on, once the budget is spent, and when the stop rule ended it (``Engine.stopped``
    says so)."""
    from rung.searchers._common import why_exhausted

    if engine.stopped is not None:
        return None
    ended = engine.scheduler.ended()
    if ended:
        return f"the scheduler ended the search: {ended}"
    if not (engine.exhausted and engine.budget_left() and engine._may_start_new()):
        return None
    why = why_exhausted(engine.searcher, engine.history)
    if why:
        return f"not spent: {why}"
    return "not spent, but the scheduler has nothing left to run: the search is over"


def study_state(engine: Engine, stored: dict[str, Any], running: bool) -> str:
    """The study's state in ``rung ls``'s words, the dashboard's too: ``running`` (a driver
    writes the journal: ``running``), ``done`` (nothing left to run), ``ended`` (a tool that
    drives its own trials, such as ``RungSearchCV`` or Optuna, ran it: rung cannot resume it;
    ``stored`` is the journal's study record) or ``resumable``; a study read as written (its
    replay diverged: ``Engine.read_as_written``) that no driver runs is ``done (as written)``
    or ``as written`` (only the rung that wrote it can resume it)."""
    from rung.core.records import TrialStatus
    from rung.integrations._embedded import HOST_KEY

    if running:
        return "running"
    h = engine.history
    unfinished = h.count(TrialStatus.LAUNCHED) + h.count(TrialStatus.RUNNING)
    left = engine.budget_left() and engine._may_start_new() and not engine.exhausted
    if not left and not unfinished:
        state = "done"
    elif isinstance(stored.get(HOST_KEY), str):
        state = "ended"
    else:
        state = "resumable"
    if engine.read_as_written is not None:
        state = "done (as written)" if state == "done" else "as written"
    return state


def best_trial_id(history: History, max_step: int | None = None) -> int | None:
    """The id of ``StudyViews.best_trial`` of a study whose history is ``history``:
    ``History.best_trial_id`` (with constraints, the best feasible trial; the trials that
    count are ``History.best_candidates``). The dashboard names the same best trial as
    ``Study.best_trial`` and ``rung show``. ``max_step``, if given, is the study's: the
    history's own (``ValueError`` otherwise)."""
    if max_step is not None and max_step != history.max_step:
        raise ValueError(f"max_step {max_step} is not the history's ({history.max_step})")
    return history.best_trial_id()


def pareto_ids(history: History) -> list[int]:
    """The ids of ``StudyViews.pareto_front``: among the trials that count for the best
    (``History.best_candidates``: feasible, with a final result, or while none has one, at
    the highest step any trial reached; never one without a finite value of every
    objective), those that no other of them dominates; in id order. The dashboard draws the
    same front."""
    from rung.multiobjective import non_dominated

    h = history
    ids = [t for t in h.best_candidates() if all(math.isfinite(v) for v in h.values(t))]
    if not ids:
        return []
    mask = non_dominated(np.array([h.values(t) for t in ids]))
    return [t for t, k in zip(ids, mask, strict=True) if k]


@dataclass(frozen=True, slots=True)
class Replayed:
    """The records ``Study.load(readonly=True)`` replayed into ``engine``, whose history was
    at ``version`` then: while it still is, they are the study's journal as its trials show
    it, and the views read them instead of the journal."""

    engine: Engine
    version: int
    records: list[Record]


class StudyViews:
    """Read-only views of a study (see the module docstring)."""

    spec: StudySpec
    engine: Engine
    journal: Journal
    _replayed: Replayed | None = None
    #: the folds of the journal the views keep between calls (``_study_folds``)
    _folds: StudyFolds | None = None

    def _kept_replay(self) -> Replayed | None:
        """What a read-only load replayed, while the study's engine is still the one it built
        and unchanged (its records are then the study's journal as its trials show it);
        ``None`` otherwise."""
        kept = self._replayed
        if kept is not None and kept.engine is self.engine and (
                kept.version == self.engine.history.version):
            return kept
        return None

    def _journal_records(self) -> list[Record]:
        """The study's journal records, in order: those a read-only load replayed
        (``_kept_replay``), else the journal, read now (in full). The dataframes, figures and
        ledger fold them through ``_study_folds`` instead, which reads only what is new."""
        kept = self._kept_replay()
        if kept is not None:
            return kept.records
        return self.journal.read(self.name)

    def _study_folds(self) -> StudyFolds:
        """The folds of the study's journal that its dataframes, figures and ledger share,
        kept between calls and continued with the records appended since
        (``rung.study_folds``)."""
        folds = self._folds
        if folds is None:
            folds = self._folds = StudyFolds()
        return folds

    if not TYPE_CHECKING:  # (mypy would take any attribute name for one of a study's)

        def __getattr__(self, name: str) -> Any:
            # only for a missing attribute: Optuna's and Ray Tune's names say what to write
            return missing(self, name, STUDY)

    def __repr__(self) -> str:
        """One line from the engine's history alone (no journal read, no fold):
        ``Study('mnist', storage='runs/mnist.db', 12 trials: 10 completed, 2 running; best
        loss=0.0123 (trial #3, step 27))``: the storage (``in memory`` for a ``MemoryJournal``;
        ``read-only`` for ``Study.load(readonly=True)``), the trials by status as a run's last
        line counts them (``rung.reporter.outcome_line``) and the best line of ``rung show``
        (``rung.cli.report.best_line``: ``best: none yet`` before one). Never raises, nor
        reaches ``__getattr__``: attributes are read from the instance's ``__dict__``, and a
        study half built (or whose text fails) is ``<Study at 0x...>``."""
        kind = type(self).__name__
        try:
            return f"{kind}({self._repr_text()})"
        except Exception:  # a repr must not raise (a debugger, a traceback shows it)
            name = getattr(self.__dict__.get("spec"), "name", None)
            named = f" {name!r}" if isinstance(name, str) else ""
            return f"<{kind}{named} at {id(self):#x}>"

    def _repr_text(self) -> str:
        """What ``__repr__`` puts between its parentheses (raises on a study half built)."""
        from rung.cli.report import best_line
        from rung.reporter import outcome_line
        from rung.storage import MemoryJournal

        d = self.__dict__  # never ``self.x``: a missing attribute would reach __getattr__
        spec, engine, journal = d["spec"], d["engine"], d["journal"]
        if isinstance(journal, MemoryJournal):
            where = "in memory"
        elif isinstance(getattr(journal, "path", None), str | os.PathLike):
            where = f"storage={os.fspath(journal.path)!r}"
        else:
            where = f"storage={type(journal).__name__}"
        if getattr(journal, "readonly", False) is True:
            where += ", read-only"
        study: Any = self  # (best_line takes a Study: this is one's views)
        return f"{spec.name!r}, {where}, {outcome_line(engine)}; {best_line(study)}"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython's pretty printer: the same line as ``repr``."""
        p.text(repr(self))

    # --- properties ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def history(self) -> History:
        return self.engine.history

    def trials(self, status: TrialStatus | str | None = None) -> list[Trial]:
        """Snapshots of all trials (or those with ``status``), in id order."""
        if isinstance(status, str):
            status = TrialStatus(status)
        return self.engine.history.trials(status)

    def trial(self, trial_id: int) -> Trial:
        """The trial of id ``trial_id`` (ids count from 0 in launch order).

        Raises:
            TypeError: ``trial_id`` is not an integer (one line, naming what it is).
            KeyError: no trial has that id (one line, saying which ids there are).
        """
        return self.engine.history.trial(self._known(trial_id, "trial"))

    def _known(self, trial_id: Any, call: str) -> int:
        """``trial_id`` as an ``int``, if a trial has it: ``TypeError`` for what is not an
        id, ``KeyError`` naming the ids there are."""
        if isinstance(trial_id, bool) or not isinstance(trial_id, int | np.integer):
            raise TypeError(f"{call}(trial_id): expected a trial's id (an int) or a Trial, "
                            f"got {type(trial_id).__name__}: {trial_id!r}"[:300])
        n = len(self.engine.history)
        if not 0 <= trial_id < n:
            ids = "none yet" if n == 0 else "0" if n == 1 else f"0 to {n - 1}"
            raise KeyError(f"no trial {trial_id!r} in study {self.name!r} (its trials: {ids})")
        return int(trial_id)

    @property
    def best_trial(self) -> Trial | None:
        """The trial with the best final score: among those that reached ``max_step`` or
        completed below it by themselves; if none did, the best at the highest step any trial
        reached (``History.best_candidates``, ``History.best_trial_id``). A trial that failed
        is never the best (one cut by the session's ``max_time`` did not fail by itself and
        counts). ``None`` when no trial has a result that counts (before the first result,
        or when every trial failed): check it before reading ``.params``. A trial whose
        result is NaN, infinite or missing (``Objective(nan="worst")``) has no value and is
        never the best: while no final result has one, the best is among those with a value
        at the highest step any reached, and ``None`` when no trial has a value. With
        constraints, only feasible trials count (``None`` while none is). With several
        objectives, the best on the first one, a tie there going to the next ones in order
        (so it is on ``pareto_front``, which gives the trade-offs; Optuna raises there)."""
        return self.engine.history.best_trial()

    def feasible(self, trial_id: int | Trial) -> bool:
        """The trial has a result at its highest step and meets every constraint there: the
        strict rule ``best_trial`` and ``pareto_front`` go by (a constraint's metric not
        reported by then is not met). The readers' column (``trials_dataframe``'s
        ``feasible``, ``rung show``) says unknown of a trial stopped before it reported a
        constraint's metric (``False`` here) and of a failed trial (``History.feasibility``).
        ``trial_id``: a trial's id, or the ``Trial`` itself (``study.feasible(trial)``).

        Raises:
            TypeError: ``trial_id`` is neither an integer nor a ``Trial`` (one line, naming
                what it is).
            KeyError: no trial has that id.
        """
        if isinstance(trial_id, Trial):
            trial_id = trial_id.id
        return self.engine.history.violation(self._known(trial_id, "feasible")) == 0.0

    def pareto_front(self) -> list[Trial]:
        """Feasible trials that no other feasible trial dominates, judged on every objective
        at each trial's final result: at ``max_step``, or the last of a trial that completed
        below it (while no feasible trial has a final result: at the highest step any trial
        reached, so a multi-fidelity study is judged at its top fidelity): the trials
        ``best_trial`` chooses from (``History.best_candidates``: a trial with a NaN value is
        never one); one objective: the best feasible trials. In id order (``pareto_ids``)."""
        h = self.engine.history
        return [h.trial(t) for t in pareto_ids(h)]

    def hypervolume(self, reference: Sequence[float] | None = None) -> float:
        """Hypervolume of the Pareto front in the objectives' own units and directions,
        bounded by ``reference``: one metric value per objective, each *worse* than the front
        in its objective's direction (below it for ``mode="max"``, above it for ``"min"``). A
        point counts only where it is strictly better than the reference in every objective:
        a reference bounding part of the front leaves the other points out. Default: 10% of
        the front's range beyond its worst point, which moves with the front, so two default
        hypervolumes are not comparable (give both the same reference). 0 without a front
        (``rung.multiobjective``, "The reference point").

        Raises:
            ConfigError: (key ``reference``) not one finite number per objective, or no point
                of the front dominates it (it lies on the wrong side of the front).
        """
        from rung.dbr.metrics import is_real
        from rung.multiobjective import front_hypervolume

        h = self.engine.history
        objs = h.objectives
        ref = None
        if reference is not None:
            if isinstance(reference, str | bytes) or not isinstance(
                    reference, Sequence | np.ndarray):
                raise ConfigError(key="reference", message=f"one value per objective "
                                  f"{[o.metric for o in objs]}, got {reference!r}")
            if len(reference) != len(objs):
                raise ConfigError(key="reference", message=f"expected {len(objs)} values (one "
                                  f"per objective {[o.metric for o in objs]}), got "
                                  f"{len(reference)}")
            for i, (o, r) in enumerate(zip(objs, reference, strict=True)):
                if not is_real(r) or not math.isfinite(float(r)):
                    raise ConfigError(key=f"reference[{i}]", message=f"must be a finite "
                                      f"number (the {o.metric!r} bound), got {r!r}")
            ref = np.array([o.score({o.metric: float(r)}) for o, r in zip(objs, reference,
                                                                         strict=True)])
        Y = np.array([h.values(t.id) for t in self.pareto_front()]).reshape(-1, len(objs))
        return front_hypervolume(Y, ref, objs)

    def best_value(self) -> float | None:
        """The best trial's value, the objective's metric in its own direction
        (``best_trial.value``), or ``None`` while no trial has a finite one. A method, unlike
        ``best_trial`` and unlike Optuna's ``Study.best_value`` property: call it,
        ``study.best_value()``."""
        best = self.best_trial
        if best is None or not math.isfinite(best.score):
            return None
        return self.spec.objective.value(best.score)

    def summary(self) -> dict[str, Any]:
        """Trial counts by status, steps consumed, best score and value, elapsed driver time;
        with ``exhausted`` (the search is over with budget left), ``why_exhausted`` is the
        searcher's one-line reason when it ran out of configurations (``"the grid searcher
        proposed every one of its 3 points"``), else ``None``; ``scheduler_ended`` the
        scheduler's when it ended the search itself (``Scheduler.ended``), else ``None``."""
        s = self.engine.summary()
        h = self.engine.history
        best = h.best_trial_id()  # with constraints: the feasible best
        s["best_trial"] = best
        s["best_score"] = None if best is None else h.trial(best).score
        s["why_exhausted"] = self._why_exhausted()
        s["scheduler_ended"] = self._scheduler_ended()
        s["name"] = self.name
        s["best_value"] = self.best_value()
        s["metric"] = self.spec.objective.metric
        s["mode"] = self.spec.objective.mode
        s["scheduler"] = self.engine.scheduler.state()
        return s

    def _scheduler_ended(self) -> str | None:
        """The scheduler's reason for ending the search (``Scheduler.ended``: PBT without
        checkpoints), from the moment it gave up (members still running are stopped at their
        next report); ``None`` otherwise."""
        return self.engine.scheduler.ended()

    def _why_over(self) -> str:
        """Why ``Engine.over`` holds, in ``rung show``'s words: the stop rule's reason, a
        spent budget, the searcher's reason for having nothing left to propose
        (``StudyViews._why_exhausted``), else the scheduler's having nothing left to run."""
        e = self.engine
        if e.stopped is not None:
            return f"the stop rule stopped the search ({e.stopped.reason})"
        ended = self._scheduler_ended()
        if ended:
            return f"the scheduler ended the search ({ended})"
        if not e.budget_left() or not e._may_start_new():
            return "the budget is spent"
        return (self._why_exhausted()
                or "the scheduler has nothing left to run (the search is over)")

    def _nothing_to_run(self) -> str:
        """The line of a session that found the study over: why, and how to give a spent
        budget more."""
        why = self._why_over()
        more = (f" (raise it: Study.set_budget(...), or rung resume {self.name} with "
                "--n-trials, --max-steps or --max-time)") if why == "the budget is spent" else ""
        return f"study {self.name}: nothing to run: {why}{more}"

    def _say_why_over(self, rep: Reporter | None) -> None:
        """After a session, one line saying why the search ended with budget left, when its
        searcher ran out of configurations (a grid's last point, a finite space tried); a
        warning when the scheduler ended it for a reason to act on (``Scheduler.ended``)."""
        ended = self._scheduler_ended()
        if rep is not None and ended is not None:
            rep.emit(logging.WARNING, f"study {self.name}: the scheduler ended the search: "
                                      f"{ended}")
            return
        why = self._why_exhausted()
        if rep is not None and why is not None:
            rep.emit(logging.INFO, f"study {self.name}: the search ended before its budget: "
                                   f"{why}")

    def _why_exhausted(self) -> str | None:
        """Why the search is over with budget left, when the searcher ran out of
        configurations (``rung.searchers._common.why_exhausted``); ``None`` otherwise (the
        budget is spent, the scheduler has nothing left to run, or the search goes on)."""
        from rung.searchers._common import why_exhausted

        e = self.engine
        if not (e.exhausted and e.budget_left() and e._may_start_new()):
            return None
        return why_exhausted(e.searcher, e.history)

    def diagnostics(self, emit: bool = True) -> FidelityDiagnostics:
        """Fidelity diagnostics: the rank correlation between adjacent rungs, with a warning
        (logged, and in ``.warnings``) when low fidelities predict high ones poorly. Returns a
        ``rung.analysis.FidelityDiagnostics``; see that module for the rule."""
        from rung.analysis import diagnose_engine

        return diagnose_engine(self.engine, emit=emit)

    def trials_dataframe(self) -> pd.DataFrame:
        """One row per trial: ``trial_id``, ``params_<name>``, ``status``, ``value`` (the metric
        in its own direction), ``metrics_<name>`` (the metrics of its latest result,
        ``Trial.metrics``: every objective's and constraint's, then any other reported),
        ``score``, ``last_step`` (the highest step reported), the last
        ``decision`` with its ``reason``, ``start_time`` / ``end_time`` / ``duration`` /
        ``run_time``, ``slot`` (the worker slot of its latest run), ``checkpoint`` (while
        kept), ``feasible`` (with constraints), ... (``rung.analysis_frames.trial_rows`` says
        what each holds; needs pandas: ``pip install 'rung[dataframe]'``, else
        ``ImportError`` saying so). Reads the journal, never writes it: after the first call,
        only the records appended since the last (``rung.study_folds``); the frame is the
        caller's own."""
        from rung.analysis_frames import trials_dataframe

        with self._study_folds().fold(self) as jf:
            return trials_dataframe(self.engine.history, jf)

    def ledger(self) -> Ledger:
        """What the study spent and saved, folded from its journal (``rung.cost.ledger``):
        after the first call, only the records appended since the last are read
        (``rung.study_folds``); the ledger is the caller's own."""
        return self._study_folds().ledger(self)

    def results_dataframe(self) -> pd.DataFrame:
        """One row per reported result: ``trial_id``, ``step``, ``run`` (the trial's launch it
        came from, 1-based: a step re-trained after a restart has a row per run), ``time``,
        the metrics, and the ``decision`` on it with its ``reason`` (``rung.analysis_frames``;
        needs pandas, as
        ``trials_dataframe`` does). With a ``Fidelity``, a column named after it holds the
        user's value at each step."""
        return self._results()[0]

    def _results(self) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
        """``results_dataframe()`` and the rows it was built from (``result_rows``, one fold
        for both: ``rung export`` reads which metrics were reported NaN from the rows)."""
        from rung.analysis_frames import result_rows, results_dataframe

        h = self.engine.history
        with self._study_folds().fold(self) as jf:
            rows = result_rows(h, jf)
            df = results_dataframe(h, jf, rows)
        fid = self.spec.fidelity
        if fid is not None:
            col = fid.name if fid.name not in df.columns else f"fidelity_{fid.name}"
            df.insert(2, col, [fid.value(int(s)) for s in df["step"]])
        return df, rows
