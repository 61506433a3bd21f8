"""``Study``: the user's facade over the engine, the journal and the executors."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rung._study_spec import spec_from_arguments
from rung.ask_tell import AskTell, serialized
from rung.auto import is_auto
from rung.callbacks import Callback, as_callbacks, end_all, start_all
from rung.core.engine import Engine
from rung.core.events import (
    Decision,
)
from rung.core.records import (
    Budget,
    Constraint,
    Objective,
    StudySpec,
)
from rung.cost.prices import Prices
from rung.dbr.objective import wrap_objective
from rung.driver import drive, turn
from rung.errors import ConfigError, JournalError
from rung.executors.base import Executor
from rung.executors.options import check_executor_options
from rung.executors.spawn_guard import exit_if_reimported
from rung.reporter import Reporter
from rung.run_failures import check_produced
from rung.space import Fidelity, SearchSpace
from rung.storage import Journal, MemoryJournal, open_journal
from rung.storage.lock_scope import outside_session
from rung.study_budget import StudyBudget
from rung.study_checks import (
    check_first_rung,
    check_given_resources,
    check_same_spec,
)
from rung.study_gc import gc_paused
from rung.study_resume import StudyResume, replayed_engine
from rung.study_session import (  # MAX_SIMULATED_WORKERS, check_simulated_workers: re-exported
    MAX_SIMULATED_WORKERS,
    check_budget,
    check_simulated_workers,
    check_spendable_here,
    make_executor,
    with_study_resources,
)
from rung.study_stop import StudyStop
from rung.study_views import Replayed, StudyViews

if TYPE_CHECKING:

    from rung.core.components import SchedulerLike, SearcherLike
    from rung.space.search_space import ParamLike


class Study(AskTell, StudyViews, StudyResume, StudyBudget, StudyStop):
    """A named search: its spec, its journal and the engine replayed from it.

    Create one with ``Study.create``, reopen it (after a crash, or from another process) with
    ``Study.load``; drive it with ``run`` (real workers), ``simulate`` (virtual clock) or
    ``ask`` / ``report`` / ``tell`` (your own loop).
    """

    def __init__(
        self, spec: StudySpec, journal: Journal, engine: Engine, auto: str | None = None
    ) -> None:
        self.spec = spec
        self.journal = journal
        self.engine = engine
        #: Why ``searcher="auto"`` / ``scheduler="auto"`` chose what they chose (``None`` when
        #: the user named both); stored in the journal with the spec.
        self.auto_reason = auto
        self._decided: dict[int, Decision] = {}
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._turn_lock = threading.RLock()  # one call at a time (rung.ask_tell.serialized)

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        name: str,
        space: SearchSpace | Mapping[str, ParamLike],
        objective: Objective | str | Sequence[Objective | str | Mapping[str, Any]] = "loss",
        searcher: SearcherLike = "auto",
        scheduler: SchedulerLike = "auto",
        max_step: int = 1,
        budget: Budget | Mapping[str, Any] | None = None,
        seed: int = 0,
        storage: str | os.PathLike[str] | Journal | None = None,
        mode: str | Sequence[str] | None = None,
        load_if_exists: bool = False,
        constraints: Sequence[Constraint | Mapping[str, Any] | str] = (),
        keep_checkpoints: int = 1,
        n_workers: int | None = None,
        max_failures: int | float | None = None,
        trial_timeout: float | None = None,
        prices: Prices | Mapping[str, float] | None = None,
        resources_per_trial: Mapping[str, float] | None = None,
        fidelity: Fidelity | Mapping[str, Any] | None = None,
        points_to_evaluate: Sequence[Mapping[str, Any]] = (),
        define_by_run: bool = False,
    ) -> Study:
        """Validate everything, then store the spec and return the new study (nothing is run).

        Args:
            name: the study's name, unique in ``storage`` (not ``.`` / ``..``, no control
                character).
            space: a ``rung.SearchSpace``, or a mapping of parameter names to ``rung.Float`` /
                ``Int`` / ``Categorical`` / ``Fixed`` (may be empty with ``define_by_run``).
            objective: default ``"loss"`` (minimized): a metric name, a
                ``rung.Objective(metric, mode)``, a ``{metric, mode}`` mapping, or a list of
                them (a multi-objective study: see ``pareto_front``; the first one is the
                scalar ``score`` that ``best_trial`` and single-objective schedulers use).
            searcher: default ``"auto"``; a registered name (``"tpe"``), a ``Searcher``, or
                ``{"name": ..., "params": {...}}``.
            scheduler: default ``"auto"``; a name (``"asha"``), a ``Scheduler`` or a mapping.
                ``"auto"`` chooses either from the space, ``max_step``, the objectives, the
                budget and ``n_workers`` (``rung.auto``); the choice and its reason are logged,
                stored in the journal, kept in ``auto_reason`` and printed as the first line of
                a run's progress output.
            max_step: default 1: the last step a trial reports (1: one result per trial,
                nothing to stop early); with ``fidelity`` left at 1, the fidelity's last step.
            budget: default ``None`` (no limit: ``run`` / ``simulate`` then refuse to start,
                but for a grid, which runs out): a ``rung.Budget`` or a mapping of its fields.
            seed: default 0: the root of every random draw (``rung.derive_rng``).
            storage: default ``None``: in memory (lost with the process); a path (``str`` /
                ``PathLike``, ``sqlite:///...``) of a SQLite journal, created if missing; or a
                ``Journal``.
            mode: default ``None`` (minimize): ``"min"`` / ``"max"`` for an objective given
                by metric name, or a list of one mode per objective.
            load_if_exists: default ``False``: a study ``name`` already in ``storage`` raises
                ``JournalError``; ``True`` loads it instead, if its stored settings are these
                (``ConfigError`` naming the first that differs; ``"auto"`` accepts the stored
                components).
            constraints: default none: ``rung.Constraint(metric, "<=" | ">=", bound)``,
                ``"metric <= bound"`` strings or ``{metric, op, bound}`` mappings; only
                feasible trials count for ``best_trial``.
            keep_checkpoints: default 1: how many of the best finished trials keep their final
                checkpoint.
            n_workers: default ``None`` (the local executor's default: the CPUs this process
                may use, divided by the CPUs a trial holds, no more than the GPU slots for
                trials holding GPUs: ``rung.executors.local_devices.default_workers``): the
                workers the study expects, which ``"auto"`` chooses for (``run`` takes its
                own ``n_workers``).
            max_failures: default ``None`` (no limit): a count, or a fraction of the ended
                trials; a run stops early with ``RunFailed`` once that many of its trials
                failed (a resumed run counts afresh).
            trial_timeout: default ``None`` (no limit): seconds a run of one trial may take;
                a longer one is killed and ends ``failed`` with reason ``timeout``.
            prices: default ``None`` (nothing priced): a ``rung.Prices`` or a mapping of money
                per device-hour, the cost model of ``Budget(max_cost=...)`` and ``ledger()``.
            resources_per_trial: default ``None`` (what the executor says, else one CPU): the
                devices a trial holds, for ``max_cost`` / ``max_gpu_hours`` and the ledger.
                Given ones that would never spend the budget (nothing they hold is priced, or
                no GPU for ``max_gpu_hours``) are refused (``ConfigError`` naming
                ``budget.max_cost`` / ``budget.max_gpu_hours``); without them, ``run`` /
                ``simulate`` check the executor's.
            fidelity: default ``None``: a ``rung.Fidelity`` (or its JSON mapping) mapping
                steps to the user's resource values; sets ``max_step``.
            points_to_evaluate: default none: configurations (possibly partial) launched
                first, in order (see ``enqueue``).
            define_by_run: default ``False``: ``rung.optimize``'s (the space, empty or
                partial, grows from what trials use).

        Raises:
            ConfigError, SpaceError: an invalid argument, naming the offending key, before
                anything is written.
            JournalError: ``name`` exists in ``storage`` (without ``load_if_exists``)."""
        exit_if_reimported()
        spec, auto = spec_from_arguments(
            name=name, space=space, objective=objective, searcher=searcher,
            scheduler=scheduler, max_step=max_step, budget=budget, seed=seed, mode=mode,
            constraints=constraints, keep_checkpoints=keep_checkpoints, n_workers=n_workers,
            max_failures=max_failures, trial_timeout=trial_timeout, prices=prices,
            resources_per_trial=resources_per_trial, fidelity=fidelity,
            points_to_evaluate=points_to_evaluate, define_by_run=define_by_run)
        engine = Engine.from_spec(spec)  # binds components: catches bad params now
        check_given_resources(spec)
        check_first_rung(spec)
        journal = open_journal(storage)
        if name in journal.list_studies():
            if load_if_exists:
                study = cls.load(name, journal)
                # its budget as it is now (Study.set_budget journals a change)
                stored = {**journal.load_study(name), "budget": study.spec.budget.to_json()}
                try:
                    check_same_spec(stored, spec.to_json(),
                                    auto=(is_auto(searcher), is_auto(scheduler)))
                except BaseException:
                    study.close()
                    raise
                return study
            raise JournalError(
                f"study {name!r} already exists (use Study.load or load_if_exists=True)"
            )
        stored = spec.to_json()
        if auto is not None:
            stored["auto"] = auto.reason
        journal.create_study(name, stored)
        return cls(spec, journal, engine, auto.reason if auto is not None else None)

    @classmethod
    def from_spec(
        cls,
        spec: StudySpec,
        storage: str | os.PathLike[str] | Journal | None = None,
        extra: Mapping[str, Any] | None = None,
        auto: str | None = None,
    ) -> Study:
        """Create a study from a ``StudySpec`` (what ``create`` builds from its arguments).

        The components are bound first, so an invalid spec raises ``ConfigError`` before the
        journal is opened. ``extra`` is stored beside the spec's JSON (the CLI records how to
        run the study there); ``auto`` is the reason of an automatic choice of components
        (``rung.auto``), stored and kept in ``auto_reason``. Raises ``JournalError`` if the
        study exists."""
        exit_if_reimported()
        engine = Engine.from_spec(spec)
        check_given_resources(spec)
        check_first_rung(spec)
        journal = open_journal(storage)
        stored = {**spec.to_json(), **(extra or {})}
        if auto is not None:
            stored["auto"] = auto
        journal.create_study(spec.name, stored)
        return cls(spec, journal, engine, auto)

    @classmethod
    def load(
        cls, name: str, storage: str | os.PathLike[str] | Journal, readonly: bool = False
    ) -> Study:
        """Reopen a study by replaying its journal. Trials that were running when the driver
        stopped stay active until the next ``run`` ends them as interrupted. ``readonly=True``
        opens a SQLite journal without write access (for inspection while a driver runs); the
        study is then a snapshot: its dataframes, figures and ledger read the records this
        load replayed (kept in memory), not the journal again, so they agree with its trials
        even while a driver appends.

        Raises:
            JournalError: no journal at ``storage`` (nothing is created there: a mistyped
                path leaves no empty journal or directories behind), it is not a rung
                journal, or it holds no study ``name``.
        """
        exit_if_reimported()
        if isinstance(storage, str | os.PathLike):
            from rung.storage import journal_path
            from rung.storage.paths import inspectable

            path = journal_path(storage)
            if not inspectable(path.exists):
                raise JournalError(f"no journal at {path}")
        from rung.storage.codec import study_spec

        journal = open_journal(storage, readonly=readonly)
        stored = journal.load_study(name)
        spec = study_spec(stored, f"{getattr(journal, 'path', 'the journal')}: study {name!r}")
        with gc_paused():  # many long-lived objects, few cycles: ``rung.study_gc``
            records = journal.read(name)
            engine = replayed_engine(spec, records,
                                     readonly or getattr(journal, "readonly", False))
        noted = getattr(journal, "note_replayed", None)  # (``Journal``: optional)
        if noted is not None:
            noted(name, len(records))
        auto = stored.get("auto")
        # (the spec as replayed: a budget changed since creation is the journal's)
        study = cls(engine.spec, journal, engine, auto if isinstance(auto, str) else None)
        if readonly:
            study._replayed = Replayed(engine, engine.history.version, records)
        return study

    # --- drivers ------------------------------------------------------------------------------
    @serialized
    def run(
        self,
        objective: Callable[..., Any],
        executor: str | Executor = "local",
        n_workers: int | None = None,
        on_turn: Callable[[Engine], None] | None = None,
        retry_failed: bool = False,
        reporter: Reporter | None = None,
        callbacks: Sequence[Callback] | Callback = (),
        progress: bool | None = None,
        **executor_options: Any,
    ) -> Study:
        """Run ``objective(ctx)`` on real workers until the budget is spent; returns the
        study. Interrupting it (Ctrl-C, a crash) loses nothing: ``Study.load`` and ``run``
        again resume.

        Args:
            objective: the training function, called as ``objective(ctx)`` with a
                ``rung.TrialContext`` in a worker (``rung.optimize``'s ``objective(trial)``
                for a define-by-run study); with ``"local"``'s default ``spawn``, a
                module-level function (see ``LocalExecutor``).
            executor: default ``"local"`` (worker processes); ``"ray"``, or an ``Executor``
                instance (built with its own options).
            n_workers: default ``None``: trials run at once (``"local"``: the CPUs this process
                may use over the CPUs a trial holds, no more than the GPU slots for trials
                holding GPUs, see ``LocalExecutor``; ``"ray"``: as many as the cluster holds).
            on_turn: default ``None``: called with the ``Engine`` after every turn (a
                progress display); it must not change anything.
            retry_failed: default ``False``; ``True`` first makes the trials that failed for
                too many interruptions resumable again (their interruptions count from zero).
            reporter: default ``None``; a ``Reporter`` given replaces the progress view, the
                failure lines and the summary below (its owner starts and stops it).
            callbacks: default none: ``rung.Callback`` objects told of the session's start,
                of every turn once it is journaled, and of its end (also when it fails); one
                that raises stops the run and its exception propagates, the journal intact
                (see ``rung.callbacks``).
            progress: default ``None``: ``True`` when stderr is a terminal or this is a Jupyter
                notebook. ``True`` shows the CLI's live view on stderr (plain lines every 5 s
                when stderr is not a terminal, or without ``rich``); ``False`` shows none.
                Whatever it is, each failed trial is shown as it happens, as one line
                (``trial 3 failed after step 2: ValueError: boom``), up to 10 of each kind (the
                rest are counted at the end: ``rung.reporter``), and the run ends with a
                count of trials by status: through the application's logging when it shows
                the ``rung.run`` logger's lines, else on stderr (see ``rung.reporter``).
            **executor_options: passed to the executor ``executor`` names
                (``start_method="fork"``, ``checkpoint_every=5``, ``threads_per_worker`` for
                ``"local"``; ``address``, ``resources_per_trial``... for ``"ray"``); an option
                it does not take is a ``ConfigError`` naming it.

        Raises:
            ConfigError: ``budget.max_cost`` / ``budget.max_gpu_hours`` would never be spent
                on an executor that does not say what a trial holds (``"local"``): nothing
                a trial holds is priced, or no trial holds a GPU. Nothing is written.
            RunFailed: every trial failed, or none produced the objective metric, or more
                trials failed than ``max_failures`` allows (the run stops early then). The
                journal is intact.
        """
        from rung.progress import reporting

        exit_if_reimported()
        check_budget(self.spec, self.engine)
        # an option the executor does not take is named first (a resources_per_trial given
        # to the local executor here, not to the study, would read as an unspendable budget)
        check_executor_options(executor, executor_options, n_workers)
        check_spendable_here(self.spec, self.engine, executor)
        objective = wrap_objective(self.spec, objective)  # define-by-run, Fidelity
        cbs = as_callbacks(callbacks)
        if self.spec.define_by_run:
            from rung.dbr.unused import UnusedParams

            cbs = (*cbs, UnusedParams())  # an enqueued name the objective never asks for
        executor_options = with_study_resources(self.spec, executor, executor_options,
                                                n_workers)
        ran = not (self.engine.over and not (retry_failed and self._retryable()))
        # built before anything is shown or claimed: an executor refused (an objective its
        # workers cannot import) leaves no trace, and the same call, mended, runs
        ex = make_executor(objective, executor, n_workers, executor_options) if ran else None
        with reporting(self, progress, reporter) as rep:
            self._stop_asked = False  # (``stop``: this session runs, on_start's included)
            start_all(cbs, self)
            failing = True
            try:
                # the writer lock this session takes is given back at its end: another
                # Study object may drive the study next
                with outside_session(self.journal, self.name):
                    if ex is None:
                        # a finished study: no worker is started, nothing is written
                        if rep is not None:
                            rep.emit(logging.INFO, self._nothing_to_run())
                            rep.end(self.engine, self.name)
                    else:
                        claim = getattr(self.journal, "claim", None)  # (optional)
                        if claim is not None:  # a second driver is refused before any work
                            claim(self.name)
                        first = self._resume_events(ex.now())
                        if retry_failed:
                            first = self._retry_events(first, ex.now(), cbs)
                        drive(self.engine, ex, self.journal, self._run_context(objective),
                              on_turn=on_turn, first=first, reporter=rep, callbacks=cbs,
                              stop=self._asked_to_stop)
                check_produced(self.engine)
                if ran:
                    self._say_why_over(rep)
                    self._say_stopped(rep)
                failing = False
            except KeyboardInterrupt:
                if reporter is None and rep is not None:  # (a caller's reporter: its words)
                    rep.emit(logging.WARNING, self._resume_hint())
                raise
            finally:
                self._stop_asked = None
                end_all(cbs, self, failing)
        return self

    @serialized
    def enqueue(self, params: Mapping[str, Any]) -> None:
        """Launch ``params`` (a configuration, possibly partial) before the searcher's next
        suggestion: enqueued configurations run first, in order, once each (the queue is
        journaled, so a resumed study does not repeat them). A partial one is completed by the
        searcher (or sampled). Works with every searcher.

        Raises:
            ConfigError: a key that is not a parameter of the space, or a bad value (naming
                it); nothing is journaled then.
        """
        from rung.core.events import TrialEnqueued
        from rung.core.spec_extras import check_point

        checked = check_point(self.engine.space, params, "params", self.spec.define_by_run)
        with outside_session(self.journal, self.name):  # (a lock it took is given back)
            turn(self.engine, self.journal, self.name, [TrialEnqueued(checked, self.engine.now)])

    @serialized
    def simulate(
        self,
        benchmark: Any,
        n_workers: int = 1,
        launch_delay: float = 0.0,
        on_turn: Callable[[Engine], None] | None = None,
        callbacks: Sequence[Callback] | Callback = (),
        progress: bool = False,
        reporter: Reporter | None = None,
    ) -> Study:
        """Run the study against a ``Benchmark`` on a virtual clock (see ``SimulatedExecutor``).
        Returns the study; the executor is available as ``study.last_executor`` (``None`` when
        the study was already over: nothing is simulated or written, as ``run`` does).

        Args:
            benchmark: the problem trials are evaluated on (``rung.benchmarks``: ``max_step``,
                ``evaluate(params, step) -> (metrics, seconds)``); its ``max_step`` must be
                at least the study's.
            n_workers: default 1: simulated worker slots (trials at once), 1 to
                ``MAX_SIMULATED_WORKERS``.
            launch_delay: default 0.0: virtual seconds between a trial's launch and its first
                step (a worker's start-up cost).
            on_turn: default ``None``: as in ``run``.
            callbacks: default none: as in ``run``.
            progress: default ``False`` (a simulation takes seconds): as in ``run``; failures
                and the summary are still shown.
            reporter: default ``None``: as in ``run``.

        Raises:
            ConfigError: as ``run`` does, for a budget the simulated trials (which hold the
                study's ``resources_per_trial``, else one CPU) would never spend; key
                ``space`` when the benchmark takes a parameter the study's space lacks; key
                ``max_step`` when the study's ``max_step`` (a fidelity's last step) is beyond
                the benchmark's; key ``n_workers`` when it is not an integer in
                1..``MAX_SIMULATED_WORKERS`` (each before anything is simulated or written).
            RunFailed: as ``run`` does: nothing usable was produced, or a constraint's metric
                was never reported."""
        from rung.benchmarks.base import space_mismatch
        from rung.executors.simulated import SimulatedExecutor, warn_stateless
        from rung.progress import reporting

        check_simulated_workers(n_workers)
        check_budget(self.spec, self.engine)
        check_spendable_here(self.spec, self.engine, None)
        problem = space_mismatch(benchmark, self.spec.space, extra=False)
        if problem is not None:
            raise ConfigError(key="space", message=problem)
        top = getattr(benchmark, "max_step", None)  # (a hand-written one may not say)
        if isinstance(top, int) and self.spec.max_step > top:  # else a step fails mid-run
            of = " (the fidelity's last step)" if self.spec.fidelity is not None else ""
            raise ConfigError(key="max_step", message=(
                f"the study's max_step {self.spec.max_step}{of} is beyond the benchmark's: "
                f"it goes up to {top}"))
        cbs = as_callbacks(callbacks)
        with reporting(self, progress, reporter) as rep:
            self._stop_asked = False  # (``stop``: this session runs, on_start's included)
            start_all(cbs, self)
            failing = True
            try:
                # (the writer lock its first write takes is given back, as ``run`` does)
                with outside_session(self.journal, self.name):
                    if self.engine.over:  # a finished study: nothing is simulated or written
                        if rep is not None:
                            rep.emit(logging.INFO, self._nothing_to_run())
                            rep.end(self.engine, self.name)
                        self.last_executor = None
                    else:
                        warn_stateless(self.engine.scheduler, self.name)  # e.g. PBT's forks
                        ex = SimulatedExecutor(benchmark, n_workers,
                                               start_time=self.engine.now,
                                               launch_delay=launch_delay)
                        ctx = self._run_context(None)
                        first = self._resume_events(ex.now())
                        self.last_executor = ex
                        drive(self.engine, ex, self.journal, ctx, on_turn=on_turn,
                              first=first, reporter=rep, callbacks=cbs,
                              stop=self._asked_to_stop)
                check_produced(self.engine)
                if self.last_executor is not None:
                    self._say_why_over(rep)
                    self._say_stopped(rep)
                failing = False
            finally:
                self._stop_asked = None
                end_all(cbs, self, failing)
        return self

    def close(self) -> None:
        """Close the journal and remove the temporary checkpoint directory, if any."""
        self.journal.close()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None


__all__ = ["MAX_SIMULATED_WORKERS", "MemoryJournal", "Study", "check_simulated_workers"]
