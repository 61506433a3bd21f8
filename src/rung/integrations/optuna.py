"""Optuna's samplers inside rung: ``OptunaSearcher`` wraps any Optuna sampler as a rung
``Searcher`` (CMA-ES, NSGA-II, QMC, TPE, your own ``BaseSampler`` subclass). Optuna: Akiba, Sano,
Yanase, Ohta and Koyama, "Optuna: A Next-generation Hyperparameter Optimization Framework",
KDD 2019; each sampler cites its own algorithm.

``pip install 'rung[optuna]'``. Give the sampler's class (or its import path) and its keyword
arguments, not an instance::

    from rung.integrations.optuna import OptunaSearcher

    study = rung.Study.create(
        "cma", space, objective="loss", seed=0,
        searcher=OptunaSearcher("CmaEsSampler", {"sigma0": 0.3}),
    )
    # in a YAML spec: searcher: {name: optuna, params: {sampler: CmaEsSampler,
    #                                                  kwargs: {sigma0: 0.3}}}

**Why a class, not an instance.** A rung component is persisted as JSON
(``{"name": "optuna", "params": {"sampler": "optuna.samplers.CmaEsSampler", "kwargs":
{...}}}``) and rebuilt from it on resume; an Optuna sampler instance cannot be (its state is
pickled objects and random generators). ``kwargs`` must be JSON values for the same reason.
``seed`` is not accepted: every call gets a fresh sampler seeded from the request's generator
(``derive_rng(study seed, "searcher", trial id)``), so the study seed decides everything.
A class defined in the script that creates the study is stored as ``"__main__.MySampler"``:
only that script can load the study to run it on (another script's ``Study.load`` says so, in
one line: move the class into a module). Reading the study needs no sampler class:
``Study.load(readonly=True)``, ``rung show`` / ``ls`` / ``export`` replay the journal, which
holds every launched trial's params (``rung.study_resume.reading_journal``).

**How it works.** The searcher keeps an in-memory Optuna study that mirrors rung's ``History``:
one Optuna trial per rung trial, in id order, with its params and distributions, every
reported step's lower-is-better score as an intermediate value, and its state (running,
launched, paused and interrupted trials: ``RUNNING``; completed: ``COMPLETE`` with its score at
its last step, or every objective's score for a multi-objective study; stopped by a scheduler:
``PRUNED``, so TPE ranks it by its last intermediate value as in an Optuna study with a pruner;
failed: ``FAIL``). ``suggest`` brings the mirror up to date (``O(trials)``, as Optuna's own
``ask`` is), asks the sampler for a trial and suggests each *active* parameter of rung's space in
its topological order (``when=`` conditions followed, fixed values filled in), so a conditional
space is define-by-run for the sampler. In a define-by-run study (``rung.optimize``) the space
grows as trials use new parameters, and a trial runs with the params its code path took: when
the space changes, or a trial's params differ from the proposal, the mirror is rebuilt from the
history (an Optuna trial's params cannot change), showing every trial as it ran. Directions
are all ``"minimize"`` (rung's scores), one per objective: NSGA-II and other multi-objective
samplers see every objective.

**Constraints.** A study's constraints reach the sampler in Optuna's convention: each
completed or pruned mirror trial carries one value per constraint, feasible iff ``<= 0`` (the
system attribute ``"constraints"`` that Optuna's samplers read, as ``constraints_func`` would
have stored it): rung's slack, ``value - bound`` for ``<=`` and ``bound - value`` for ``>=``,
of the latest value of the metric the trial reported (``History.slacks``; ``inf`` when it
never reported it or the value is not finite). A pruned trial's slacks are those a ranking
reads at its last step, where a metric not reported yet is unknown: ``0.0``. The sampler is
built with a ``constraints_func`` that returns those values (Optuna 4's samplers consider
constraints only when given one; Optuna 5's read the attribute and deprecate the argument, so
its ``FutureWarning`` is silenced). A sampler class that takes no ``constraints_func``
(``CmaEsSampler``, ``QMCSampler``, ``RandomSampler``...) would ignore the constraints: a new
constrained study refuses it (``check_constraints``), and ``constraints_func`` in ``kwargs``
is refused (the constraints are the study's: ``Study.create(constraints=[...])``). So is a
sampler that cannot search a new study's several objectives (``CmaEsSampler``: refused when the
study is created, ``rung.integrations._optuna_checks.check_objectives``, not at its first
trial).

**Determinism and resume.** Two runs with one seed and one event order propose the same
configurations. Samplers that keep state in the study (CMA-ES's optimizer, NSGA-II's
generations) keep it in the mirror's trial and study attributes, which are not journaled (they
are pickles): replay takes launched trials' params from the journal as always, and on resume the
mirror is rebuilt from the journaled history (params, values, states), so a stateful sampler
starts its state afresh from the trials it is shown, exactly as an Optuna study loaded without
those attributes would. Stateless samplers (TPE, random, QMC, GP) propose after a resume what
they would have proposed without it. ``suggest`` is a function of its request for stateless
samplers; a stateful sampler's answer also depends on what it proposed before in the same
process (the price of CMA-ES's and NSGA-II's generations). Asking twice for the same trial id
returns the first answer. Optuna stamps its trials with the wall clock; rung's decisions never
read those stamps.
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import math
import sys
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rung.core.components import BindContext, Searcher, SuggestRequest
from rung.core.history import History
from rung.core.records import TrialStatus
from rung.core.registry import reading_journal_only, register
from rung.errors import ConfigError
from rung.integrations._framework import require
from rung.integrations._optuna_checks import check_constraints
from rung.space import Categorical, Fixed, Float, Int, SearchSpace

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial

    from rung.integrations.optuna_sampler import RungPruner, RungSampler
    from rung.schedulers.median import MedianStoppingRule

__all__ = [
    "OptunaSearcher", "RungPruner", "RungSampler", "check_constraints", "distributions",
    "median_pruner", "to_space",
]

logger = logging.getLogger(__name__)

_KEY = "searcher.params"
#: the system attribute of an Optuna trial that holds its constraint values (Optuna's
#: ``optuna.study._constrained_optimization._CONSTRAINTS_KEY``, read by every sampler that
#: handles constraints, Optuna 3 to 5)
_CONSTRAINTS_ATTR = "constraints"


def _stored_constraints(trial: FrozenTrial) -> Sequence[float]:
    """The ``constraints_func`` handed to the sampler: the constraint values the mirror
    stored on ``trial`` (module docstring, "Constraints")."""
    return tuple(trial.system_attrs.get(_CONSTRAINTS_ATTR) or ())


def _optuna() -> Any:
    return require("optuna", "optuna", "rung.integrations.optuna")


class _Unimportable(ConfigError):
    """The sampler's module cannot be imported here, or lacks the class."""


def _resolve(path: str) -> type:
    """The sampler class named by ``path``: a name in ``optuna.samplers`` or an import path
    (``"pkg.module.Class"`` or ``"pkg.module:Class"``). ``_Unimportable`` when its module
    cannot be imported or lacks it (a class of a script's ``__main__`` read by another
    script: named as such), ``ConfigError`` when it is not a sampler class."""
    optuna = _optuna()
    key = f"{_KEY}.sampler"
    if "." not in path and ":" not in path:
        cls = getattr(optuna.samplers, path, None)
    else:
        module, _, name = path.replace(":", ".").rpartition(".")
        try:
            found = importlib.import_module(module)
        except (ImportError, ValueError) as e:  # ValueError: an empty module name (".x")
            raise _Unimportable(key=key, message=f"cannot import {module!r}: {e}") from None
        if not hasattr(found, name):
            if module == "__main__":
                raise _Unimportable(key=key, message=(
                    f"{path!r} is defined in the script that created the study (__main__), "
                    f"not in this one: run Study.load from that script, or move {name} into "
                    "a module (its import path is then stored)"))
            raise _Unimportable(key=key, message=f"module {module!r} has no {name!r}")
        cls = getattr(found, name)
    if not (isinstance(cls, type) and issubclass(cls, optuna.samplers.BaseSampler)):
        raise ConfigError(
            key=f"{_KEY}.sampler",
            message=f"{path!r} is not an Optuna sampler class (e.g. 'CmaEsSampler', "
            f"'NSGAIISampler', 'mypackage.samplers.MySampler')",
        )
    return cls


def _path_of(cls: type) -> str:
    """``optuna.samplers.<Name>`` for Optuna's own samplers, else the class's import path."""
    samplers = sys.modules.get("optuna.samplers")
    if samplers is not None and getattr(samplers, cls.__name__, None) is cls:
        return f"optuna.samplers.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def distributions(space: SearchSpace) -> dict[str, BaseDistribution]:
    """Optuna distributions of the tunable parameters of ``space`` (fixed ones have none)."""
    d = _optuna().distributions
    out: dict[str, BaseDistribution] = {}
    for name in space.order:
        p = space[name]
        if isinstance(p, Float):
            out[name] = d.FloatDistribution(p.low, p.high, log=p.log, step=p.step)
        elif isinstance(p, Int):
            out[name] = d.IntDistribution(p.low, p.high, log=p.log, step=p.step)
        elif isinstance(p, Categorical):
            out[name] = d.CategoricalDistribution(list(p.choices))
    return out


def to_space(dists: Mapping[str, BaseDistribution]) -> SearchSpace:
    """A rung space from Optuna distributions (the inverse of ``distributions``)."""
    d = _optuna().distributions
    params: dict[str, Any] = {}
    for name, dist in dists.items():
        if isinstance(dist, d.FloatDistribution):
            params[name] = Float(dist.low, dist.high, log=dist.log, step=dist.step)
        elif isinstance(dist, d.IntDistribution):
            params[name] = Int(dist.low, dist.high, log=dist.log, step=int(dist.step))
        elif isinstance(dist, d.CategoricalDistribution):
            params[name] = Categorical(list(dist.choices))
        else:
            raise ConfigError(key=name, message=f"unsupported Optuna distribution {dist!r}")
    return SearchSpace(params)


@register("searcher", "optuna")
class OptunaSearcher(Searcher):
    """An Optuna sampler as a rung searcher (see the module docstring).

    Args:
        sampler: the sampler class, its name in ``optuna.samplers`` (``"CmaEsSampler"``) or its
            import path (``"mypackage.samplers.MySampler"``). Persisted as given, a class as its
            import path (``"optuna.samplers.CmaEsSampler"``).
        kwargs: the sampler's keyword arguments, JSON values only, without ``seed``.

    Raises:
        ConfigError: an instance instead of a class, a ``seed``, a ``constraints_func`` or a
            non-JSON value in ``kwargs`` (key ``searcher.params.kwargs.<name>``), an unknown
            class.
    """

    version = 2
    changes = {2: "a constrained study's constraint values reach the sampler (Optuna's "
                  "'constraints' attribute, and a constraints_func where the sampler takes "
                  "one); before, infeasible trials were shown to it as plain COMPLETE trials"}

    def __init__(
        self, sampler: str | type = "TPESampler", kwargs: Mapping[str, Any] | None = None
    ) -> None:
        if isinstance(sampler, type):
            sampler = _path_of(sampler)
        elif hasattr(sampler, "sample_relative"):  # an Optuna sampler instance
            raise ConfigError(
                key=f"{_KEY}.sampler",
                message=f"give the sampler's class and its keyword arguments, e.g. "
                f"OptunaSearcher({type(sampler).__name__}, {{...}}), not an instance "
                f"(a study is persisted as JSON)",
            )
        elif not isinstance(sampler, str):
            raise ConfigError(
                key=f"{_KEY}.sampler",
                message=f"a sampler class or its name ('CmaEsSampler'), got {sampler!r}",
            )
        if kwargs is not None and not isinstance(kwargs, Mapping):
            raise ConfigError(
                key=f"{_KEY}.kwargs", message=f"a mapping of keyword arguments, got {kwargs!r}"
            )
        self.sampler = sampler
        self.kwargs = dict(kwargs or {})

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        self._owner: History | None = None
        self._missing: ConfigError | None = None
        try:
            self._cls = _resolve(self.sampler)
        except _Unimportable as e:
            error = ConfigError(key=e.key, message=e.message)
            if not reading_journal_only():
                raise error from None
            # read only: replay takes launched trials' params from the journal; a new
            # proposal would need the class (``suggest`` raises this then)
            self._missing = error
            return
        for key, value in self.kwargs.items():
            if key == "seed":
                raise ConfigError(
                    key=f"{_KEY}.kwargs.seed",
                    message="the sampler is seeded from the study seed (Study.create(seed=...))",
                )
            if key == "constraints_func":
                raise ConfigError(
                    key=f"{_KEY}.kwargs.constraints_func",
                    message="the sampler is given the study's constraints "
                    "(Study.create(constraints=[...])): give them there",
                )
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                raise ConfigError(
                    key=f"{_KEY}.kwargs.{key}", message=f"must be a JSON value, got {value!r}"
                ) from None
        accepted = inspect.signature(self._cls).parameters
        self._seeded = "seed" in accepted
        self._takes_constraints = "constraints_func" in accepted
        try:
            self._cls(**self.kwargs)
        except (TypeError, ValueError) as e:
            raise ConfigError(key=f"{_KEY}.kwargs", message=f"{self.sampler}: {e}") from None

    # --- the mirror ---------------------------------------------------------------------------
    def _reset(self, history: History) -> None:
        optuna = _optuna()
        self._optuna_mod = optuna
        self._storage = optuna.storages.InMemoryStorage()
        # the mirror is rung's bookkeeping, not a study the user made: no "A new study created
        # in memory with name: no-name-..." on stderr (Optuna logs it at INFO, its default)
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(max(verbosity, optuna.logging.WARNING))
        try:
            self._study = optuna.create_study(
                storage=self._storage,
                directions=["minimize"] * len(history.objectives),
                pruner=optuna.pruners.NopPruner(),
                sampler=optuna.samplers.RandomSampler(seed=0),  # replaced before every ask
            )
        finally:
            optuna.logging.set_verbosity(verbosity)
        self._study_id = self._storage.get_study_id_from_name(self._study.study_name)
        self._dists = distributions(self.space)
        self._space = self.space  # a define-by-run study's space grows: a new one, a new mirror
        self._owner = history
        self._ids: dict[int, int] = {}  # rung trial id -> Optuna storage trial id
        self._synced: dict[int, tuple[int, TrialStatus]] = {}  # (results, status) mirrored
        self._finished: set[int] = set()  # Optuna refuses updates to a finished trial
        self._proposed: dict[int, dict[str, Any]] = {}  # trial id -> params suggested

    def _add(self, tid: int, history: History) -> int | None:
        """Mirror a trial the sampler did not propose (journaled before a resume, enqueued)."""
        optuna = self._optuna_mod
        params = dict(history.params(tid))
        dists = {k: self._dists[k] for k in params if k in self._dists}
        try:
            frozen = optuna.trial.create_trial(
                state=optuna.trial.TrialState.RUNNING,
                params={k: params[k] for k in dists},
                distributions=dists,
            )
            self._study.add_trial(frozen)
        except ValueError as e:  # a value outside Optuna's view of the distribution
            logger.debug("trial %d not shown to the Optuna sampler: %s", tid, e)
            return None
        number = len(self._study.get_trials(deepcopy=False)) - 1
        return int(self._storage.get_trial_id_from_study_id_trial_number(self._study_id, number))

    def _sync(self, history: History) -> bool:
        """Bring the mirror up to date; False if it must be rebuilt (a define-by-run trial ran
        with other params than proposed: an Optuna trial's params cannot change)."""
        optuna = self._optuna_mod
        state = optuna.trial.TrialState
        multi = len(history.objectives) > 1
        for tid in range(len(history)):
            status = history.status(tid)
            n = len(history.results(tid))
            if self._synced.get(tid) == (n, status):
                continue
            sid = self._ids.get(tid)
            if sid is None:
                if tid in self._synced:  # could not be mirrored
                    continue
                sid = self._add(tid, history)
                self._synced[tid] = (0, TrialStatus.RUNNING)
                if sid is None:
                    continue
                self._ids[tid] = sid
            done, _ = self._synced[tid]
            proposed = self._proposed.get(tid)
            if proposed is not None and proposed != dict(history.params(tid)):
                return False
            self._synced[tid] = (n, status)
            if sid in self._finished:
                continue
            if n != done and not multi:  # Optuna keeps no intermediate values for several
                for step, score in history.scores(tid).items():
                    self._storage.set_trial_intermediate_value(sid, step, _finite(score))
            if status.final:
                self._finished.add(sid)
            if history.constraints and status in (TrialStatus.COMPLETED, TrialStatus.STOPPED):
                slacks = history.slacks(tid, ranking=status is TrialStatus.STOPPED)
                self._storage.set_trial_system_attr(
                    sid, _CONSTRAINTS_ATTR, [0.0 if math.isnan(v) else v for v in slacks])
            if status is TrialStatus.COMPLETED:
                values = history.values(tid) if multi else (history.score(tid),)
                self._storage.set_trial_state_values(
                    sid, state.COMPLETE, [_finite(v) for v in values]
                )
            elif status is TrialStatus.STOPPED:
                self._storage.set_trial_state_values(sid, state.PRUNED)
            elif status is TrialStatus.FAILED:
                self._storage.set_trial_state_values(sid, state.FAIL)
        return True

    # --- the hook -----------------------------------------------------------------------------
    def suggest(self, request: SuggestRequest) -> dict[str, Any] | None:
        if self._missing is not None:
            raise self._missing
        history = request.history
        if self._owner is not history or self._space is not self.space:
            self._reset(history)
        earlier = self._proposed.get(request.trial_id)
        if earlier is not None:
            return dict(earlier)
        kwargs = dict(self.kwargs)
        if self._seeded:
            kwargs["seed"] = int(request.rng.integers(2**31 - 1))
        if history.constraints and self._takes_constraints:
            kwargs["constraints_func"] = _stored_constraints
        self._study.sampler = self._sampler(kwargs)
        if not self._sync(history):
            self._reset(history)  # every trial is then shown with the params it ran with
            self._study.sampler = self._sampler(kwargs)
            self._sync(history)
        try:
            trial, values = self._ask()
        except (TypeError, ValueError) as e:  # Optuna checks most arguments only when used
            raise ConfigError(
                key=f"{_KEY}.kwargs", message=f"{self.sampler} with {self.kwargs!r} failed: {e}"
            ) from e
        params = self.space.validate(values)  # SpaceError naming a value out of the space
        self._ids[request.trial_id] = int(
            self._storage.get_trial_id_from_study_id_trial_number(self._study_id, trial.number)
        )
        self._synced[request.trial_id] = (0, TrialStatus.RUNNING)
        self._proposed[request.trial_id] = params
        return dict(params)

    def _sampler(self, kwargs: Mapping[str, Any]) -> Any:
        """A fresh sampler; Optuna 5 deprecates ``constraints_func`` (it reads the stored
        values anyway), so its ``FutureWarning`` would repeat at every suggestion."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*constraints_func.*",
                                    category=FutureWarning)
            return self._cls(**kwargs)

    def _ask(self) -> tuple[Any, dict[str, Any]]:
        """A new Optuna trial and the values it suggests for the active parameters."""
        trial = self._study.ask()
        values: dict[str, Any] = {}
        space = self.space
        for name in space.order:
            # the space's own rule (a choice matches by type and value: True is not 1), not
            # ``in``, or a parameter active for Optuna is "given, but inactive" for rung
            if name not in space.active(values):
                continue
            p = space[name]
            if isinstance(p, Fixed):
                values[name] = p.value
            elif isinstance(p, Float):
                values[name] = trial.suggest_float(name, p.low, p.high, log=p.log, step=p.step)
            elif isinstance(p, Int):
                values[name] = trial.suggest_int(name, p.low, p.high, log=p.log, step=p.step)
            elif isinstance(p, Categorical):
                values[name] = trial.suggest_categorical(name, list(p.choices))
        return trial, {n: values[n] for n in space.params if n in values}


def median_pruner(
    n_startup_trials: int = 5,
    n_warmup_steps: int = 0,
    interval_steps: int = 1,
    n_min_trials: int = 1,
    first_step: int = 0,
) -> MedianStoppingRule:
    """rung's median rule configured as ``optuna.pruners.MedianPruner`` with these arguments
    (Optuna's defaults), for an objective ported from Optuna whose step ``s`` becomes rung step
    ``s - first_step + 1`` (``first_step=0``: Optuna's ``range(n)`` loop reported at ``s + 1``).
    Needs no Optuna. It prunes the same trials at the same steps as ``MedianPruner`` (except
    at a trial's last step, where a rung trial has completed).

    Raises:
        ConfigError: an argument ``MedianPruner`` refuses (key: its name), or a negative
            ``first_step``.
    """
    from rung._validate import check_int
    from rung.schedulers.median import MedianStoppingRule

    check_int("n_startup_trials", n_startup_trials, 0)
    check_int("n_warmup_steps", n_warmup_steps, 0)
    check_int("interval_steps", interval_steps, 1)
    check_int("n_min_trials", n_min_trials, 1)
    check_int("first_step", first_step, 0)
    grace = n_warmup_steps - first_step + 1
    if grace < 0:  # warm-up over before the first report: keep the interval's phase
        grace %= interval_steps
    return MedianStoppingRule(
        min_step=grace, min_trials=n_min_trials, rule="optuna",
        startup_trials=n_startup_trials, interval_steps=interval_steps,
    )


def _finite(x: float) -> float:
    """Optuna refuses NaN; rung's worst score (``inf``) stays as it is."""
    return math.inf if math.isnan(x) else float(x)


if not TYPE_CHECKING:  # hidden from type checkers, so that they flag unknown names

    def __getattr__(name: str) -> Any:
        # rung inside Optuna (a sampler and a pruner backed by rung):
        # rung.integrations.optuna_sampler, which imports Optuna
        if name in ("RungSampler", "RungPruner"):
            from rung.integrations import optuna_sampler

            return getattr(optuna_sampler, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
