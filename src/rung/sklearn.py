"""``RungSearchCV``: scikit-learn's successive-halving search, with rung choosing and deciding.

``pip install 'rung[sklearn]'``. A drop-in for ``sklearn.model_selection.HalvingRandomSearchCV``
(same parameters, same fitted attributes: ``cv_results_`` with its ``iter`` and
``n_resources`` columns, ``best_params_``, ``best_estimator_``, ``best_score_``,
``best_index_``, ``n_resources_``, ``n_candidates_``, ...), in which a rung study runs the
search: rung's searcher proposes the candidates and rung's synchronous successive halving
(``rung.SuccessiveHalving`` with ``quota="ceil"``, the rule scikit-learn uses) decides which go
on. Successive halving: Jamieson and Talwalkar, "Non-stochastic Best Arm Identification and
Hyperparameter Optimization", AISTATS 2016; scikit-learn's variant of the schedule (minimum and
maximum resources, ``"exhaust"``) is kept as documented by scikit-learn.

**Resource and steps.** Iteration ``i`` trains every surviving candidate on ``n_resources_[i] =
min_resources_ * factor**i`` units of the resource (samples drawn from each CV split, or the
value of an estimator parameter such as ``n_estimators``). In the study this is step
``factor**i``: rung's rungs sit at ``1, factor, factor**2, ...`` and ``max_step`` is the last
iteration's step, so step ``k`` always means ``k * min_resources_`` units.

**Candidates.** ``param_distributions`` is either scikit-learn's (a dict, or a list of dicts,
of lists and ``scipy.stats`` distributions): candidates are drawn by
``sklearn.model_selection.ParameterSampler`` with ``random_state``, exactly as
``HalvingRandomSearchCV`` draws them, and launched in that order (the study's parameters are
theirs, one ``rung.Categorical`` each, with the values drawn, so that ``rung show`` and the
dashboard show them; a value that is not a JSON scalar, such as an estimator, by its
``repr``; candidates of a list of dicts that set different parameters by their index,
``candidate``); or a ``rung.SearchSpace`` (or
a mapping of rung parameters: ``rung.Float``, ``rung.Int``, ``rung.Categorical``, with
``when=`` conditions): then the study's ``searcher`` (``"random"``, ``"sobol"``, ``"tpe"``, ...)
proposes them, no more than it can (a ``"grid"`` its points). A searcher that learns from
results proposes the first iteration in batches, each placed by the scores of those before
(``rung.sklearn_halving``).

**Differences from HalvingRandomSearchCV.** Ties keep the *earlier* candidate, at a cut and for
``best_index_`` (rung's rule, the journal's best trial; scikit-learn's sort keeps the later
one); the rows of an iteration after the first are listed in ``cv_results_`` by the previous
iteration's rank, best first, ties in candidate order (scikit-learn lists them worst first);
``aggressive_elimination`` and non-integer ``factor`` are not supported (rung's rungs are
integer steps). Everything else, including the subsampling of each split (the same indices
for the same ``random_state``) and ``verbose``'s output, is scikit-learn's: with an integer
``random_state`` and no ties both searches evaluate the same candidates on the same data and
give the same scores.

**The study.** Its objective is ``mean_test_score``, maximized (``trials_dataframe()``'s
``value``; rung's own ``score`` column is its negation). With ``storage=`` it is journaled
under ``study_name_``, marked as driven by scikit-learn: ``rung show`` reads it like any study
but does not suggest resuming it (a search is fitted again, never resumed). If ``fit`` raises
(a fit with ``error_score="raise"``, an iteration whose every fit failed, Ctrl-C), the trials
still running end ``failed`` with the exception (``interrupted`` for Ctrl-C) before it
propagates.

**Candidates without a score.** A candidate whose mean test score is NaN (a fit failed and
``error_score`` is NaN, or the scorer is undefined on a small subsample: R² on one test
sample) ranks below every scored candidate and goes on only when too few candidates have a
score, as in scikit-learn; so a first iteration in which no candidate has a score still
carries ``ceil(n / factor)`` of them on. rung's journal holds a finite objective value for
every result its scheduler ranks, so such a result is reported as a finite stand-in (the
lowest float, below every score) with ``no_score`` saying why: the splits without a score and
the errors of the fits that failed. A candidate still without a score after the last
iteration ends ``failed``, with that text as its error.

``n_jobs`` has scikit-learn's meaning: the candidates of one iteration and their CV splits run
in parallel (joblib); the iterations run one after another, as successive halving needs.

How candidates and scores become the study's is ``rung.sklearn_candidates``; the iterations
are ``rung.sklearn_halving``; the study's name, mark and end ``rung.sklearn_study``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

try:
    from sklearn.base import is_classifier
    from sklearn.model_selection import ParameterSampler
    from sklearn.model_selection._search import BaseSearchCV
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import _num_samples
except ImportError as e:  # pragma: no cover - exercised without scikit-learn only
    raise ImportError("rung.sklearn needs scikit-learn, which is not installed: "
                      "pip install 'rung[sklearn]'") from e

from rung._validate import check_int
from rung.errors import ConfigError
from rung.sklearn_candidates import (
    _INDEX,
    METRIC,
    _candidate_space,
    _ilog,
    _is_rung_space,
)
from rung.sklearn_study import check_storage

_EXHAUST = "exhaust"


class RungSearchCV(BaseSearchCV):  # type: ignore[misc]
    """Successive halving over ``n_samples`` or an estimator parameter, run by a rung study.

    ``scoring``, ``n_jobs``, ``refit``, ``cv``, ``verbose``, ``pre_dispatch``, ``error_score``
    and ``return_train_score`` are as in ``HalvingRandomSearchCV`` (``BaseSearchCV``); one
    metric only (a scorer name or a callable returning one number).

    Args:
        estimator: the scikit-learn estimator to tune.
        param_distributions: scikit-learn's distributions (dict or list of dicts) or a
            ``rung.SearchSpace`` (see the module docstring).
        n_candidates: candidates in the first iteration; ``"exhaust"`` (default): enough for
            the last iteration to use ``max_resources`` (``max_resources_ //
            min_resources_``). Never more than the configurations a finite space holds (as
            ``ParameterSampler`` draws lists without replacement), nor than the searcher
            proposes (a ``"grid"``: its points); the iterations are planned for that many.
        factor: ``eta``, an integer >= 2 (a float with an integer value, ``3.0``, is that
            integer): a ``1/factor`` share (rounded up) of the candidates go on, with
            ``factor`` times the resource.
        resource: ``"n_samples"`` or the name of an integer parameter of the estimator
            (``"n_estimators"``, ``"max_iter"``).
        max_resources: the most resource a candidate gets (``"auto"``: the number of samples,
            and no more with ``resource="n_samples"``; required for an estimator parameter).
        min_resources: the first iteration's resource: an integer, ``"smallest"`` (2 per CV
            split, times the number of classes for a classifier; 1 for a parameter) or
            ``"exhaust"`` (the largest that still lets the last iteration run).
        searcher: the study's searcher when ``param_distributions`` is a rung space (one
            that learns from results proposes the first iteration in batches:
            ``rung.sklearn_halving``); with scikit-learn's distributions only ``"random"``
            (the default) is accepted.
        storage: where the study's journal goes: a SQLite file path (``str`` or
            ``os.PathLike``), or ``None``: in memory. Not a ``Journal`` object: scikit-learn
            clones and pickles its estimators. With a file, ``rung show`` and the dashboard
            read the search like any study.
        study_name: the study's name; a name already in ``storage`` is refused (one study
            per ``fit``). Default: ``"RungSearchCV-<estimator class>"``, or the first of
            ``"...-2"``, ``"...-3"``, ... not yet in ``storage``, so a search fitted again
            (``cross_val_score``, a second ``fit``, also fits running in parallel on one
            file) writes a study of its own. The name used is ``study_name_`` after ``fit``.
        random_state: seeds the candidates, the subsamples and the study (``None``: drawn from
            NumPy's global generator, as scikit-learn does).
        aggressive_elimination: accepted so that ``HalvingRandomSearchCV``'s arguments carry
            over; only ``False`` (its default) is supported.

    Raises:
        ConfigError: at ``fit``, before anything is written (key: the parameter's name): an
            invalid ``factor``, ``n_candidates`` or resource setting (``max_resources`` above
            the number of samples with ``resource="n_samples"``), an empty list of
            ``param_distributions`` (``{}`` is one candidate, as in scikit-learn), a
            multi-metric ``scoring``, a ``storage`` that is not a path, or a ``searcher``
            other than ``"random"`` with scikit-learn's distributions. A callable
            ``scoring`` that returns several metrics is refused (key ``scoring``) at the
            first evaluation, its trials ended ``failed``.
    """

    # checked by BaseSearchCV.fit before anything runs (InvalidParameterError naming the
    # parameter), as HalvingRandomSearchCV checks its own
    _parameter_constraints: dict[str, Any] = {
        **BaseSearchCV._parameter_constraints,
        "random_state": ["random_state"],
        "study_name": [str, None],
    }

    def __init__(
        self,
        estimator: Any,
        param_distributions: Any,
        *,
        n_candidates: int | str = _EXHAUST,
        factor: int | float = 3,
        resource: str = "n_samples",
        max_resources: int | str = "auto",
        min_resources: int | str = "smallest",
        searcher: Any = "random",
        storage: Any = None,
        study_name: str | None = None,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: bool | Callable[..., int] = True,
        cv: Any = 5,
        verbose: int = 0,
        pre_dispatch: str | int = "2*n_jobs",
        random_state: Any = None,
        error_score: Any = np.nan,
        return_train_score: bool = True,
        aggressive_elimination: bool = False,
    ) -> None:
        super().__init__(estimator, scoring=scoring, n_jobs=n_jobs, refit=refit, cv=cv,
                         verbose=verbose, pre_dispatch=pre_dispatch, error_score=error_score,
                         return_train_score=return_train_score)
        self.param_distributions = param_distributions
        self.n_candidates = n_candidates
        self.factor = factor
        self.resource = resource
        self.max_resources = max_resources
        self.min_resources = min_resources
        self.searcher = searcher
        self.storage = storage
        self.study_name = study_name
        self.random_state = random_state
        self.aggressive_elimination = aggressive_elimination

    # --- scikit-learn's contract ---------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, **params: Any) -> RungSearchCV:
        """Run the search, then refit the best candidate of the last iteration on all of
        ``X`` (if ``refit``). ``params`` go to the estimator's ``fit``."""
        # before scikit-learn reads them (its scorers, its refit check): its own messages for
        # a multi-metric scoring name no key, or ask for a refit metric rung cannot use
        scoring = self.scoring
        if isinstance(scoring, list | tuple | set | frozenset | Mapping):
            raise ConfigError(key="scoring", message=(
                f"one metric only (a scorer name or a callable): successive halving ranks "
                f"the candidates by one score, got {scoring!r}"))
        check_storage(self.storage)
        self._n_samples = _num_samples(X)
        self._X_y = (X, y)
        try:
            super().fit(X, y, **params)
        finally:
            del self._X_y
        self.best_score_ = self.cv_results_["mean_test_score"][self.best_index_]
        return self

    def _check_input_parameters(self, X: Any, y: Any, split_params: Mapping[str, Any]) -> None:
        """Called by ``BaseSearchCV.fit`` once ``cv`` is checked, before any fit: refuse what
        successive halving cannot rank by, as ``HalvingRandomSearchCV`` does (which raises
        the same ``ValueError`` subclass)."""
        if self.aggressive_elimination:
            raise ConfigError(key="aggressive_elimination", message=(
                "not supported: rung's successive halving runs the iterations max_resources "
                "allows, without extra eliminations at the first resource; leave it False"))
        cv = self._checked_cv_orig
        shuffle = getattr(cv, "shuffle", True)
        seed = getattr(cv, "random_state", 0)
        if shuffle and not isinstance(seed, int | np.integer):
            raise ConfigError(key="cv", message=(
                f"{cv!r} gives other folds at every split() call, so the iterations would "
                "compare candidates on different data: set its random_state to an int, or "
                "shuffle=False"))
        if self.study_name == "":
            raise ConfigError(key="study_name", message="must be a non-empty string or None, "
                                                        "got ''")

    def _select_best_index(self, refit: Any, refit_metric: str,
                           results: Mapping[str, Any]) -> int:
        """The best candidate of the last iteration (earlier iterations used less resource),
        the earliest candidate among tied ones (the rule of the cuts, and the journal's best
        trial); a callable ``refit`` chooses from all of ``cv_results_`` itself."""
        if callable(refit):
            return int(refit(results))
        iters = np.asarray(results["iter"])
        last = np.flatnonzero(iters == iters.max())
        scores = np.asarray(results["mean_test_score"], dtype=float)[last]
        if np.isnan(scores).all():
            return int(last[0])
        tied = [int(i) for i in last[scores == np.nanmax(scores)]]
        trial = self._row_trials  # the trial of each row: candidate order
        return min(tied, key=lambda i: trial[i])

    def _run_search(self, evaluate_candidates: Callable[..., Any]) -> None:
        from rung.sklearn_halving import Halving

        X, y = self._X_y
        self._check_resources(X, y)
        candidates, space, searcher, points = self._candidates()
        if candidates is not None:
            n_candidates = len(candidates)
        else:  # no more than the searcher can propose, as ParameterSampler draws from a grid
            n_candidates = self._n_first()
            for size in (space.size(), _searcher_size(space, searcher)):
                n_candidates = n_candidates if size is None else min(n_candidates, size)
        last_step = self._plan(n_candidates)
        study = self._study(space, searcher, n_candidates, last_step, points)
        try:
            halving = Halving(self, study, last_step, candidates, bool(points),
                              evaluate_candidates, n_candidates)
            halving.run()
            self.study_trials_ = study.trials()
        finally:
            study.close()  # the journal's lock too: the next fit may write to the same file
        self._row_trials = halving.rows  # for _select_best_index's tie rule
        # what one more cut would keep (scikit-learn's count after its last iteration)
        self.n_remaining_candidates_ = -(-self.n_candidates_[-1] // int(self.factor))
        self.n_iterations_ = len(self.n_resources_)

    # --- internals -------------------------------------------------------------------------------
    def _check_resources(self, X: Any, y: Any) -> None:
        """Resolve ``min_resources_`` and ``max_resources_`` as scikit-learn does."""
        factor = self.factor
        if isinstance(factor, float | np.floating) and float(factor).is_integer():
            factor = int(factor)  # scikit-learn's 3.0 is rung's 3 (its own checks take floats)
        if isinstance(factor, bool) or not isinstance(factor, int | np.integer) or factor < 2:
            raise ConfigError(key="factor", message=f"must be an integer >= 2 (rung's rungs are "
                                                    f"integer steps), got {factor!r}")
        if self.n_candidates == _EXHAUST and self.min_resources == _EXHAUST:
            raise ConfigError(key="n_candidates", message="n_candidates and min_resources cannot "
                                                          "both be 'exhaust'")
        if not _is_rung_space(self.param_distributions):
            if self.n_candidates != _EXHAUST:
                check_int("n_candidates", self.n_candidates, 1)
            if not (isinstance(self.searcher, str) and self.searcher == "random"):
                raise ConfigError(key="searcher", message=(
                    f"{self.searcher!r} needs a rung.SearchSpace as param_distributions: "
                    "scikit-learn's distributions are drawn by ParameterSampler, as "
                    "HalvingRandomSearchCV draws them; leave searcher='random' or give rung "
                    "parameters (rung.Float, rung.Int, rung.Categorical)"))
        if self.resource != "n_samples" and self.resource not in self.estimator.get_params():
            raise ConfigError(key="resource", message=f"{self.resource!r} is not a parameter of "
                                                      f"{type(self.estimator).__name__}")
        if self.max_resources == "auto":
            if self.resource != "n_samples":
                raise ConfigError(key="max_resources", message="'auto' needs resource="
                                                               "'n_samples'; give an integer")
            self.max_resources_ = self._n_samples
        else:
            self.max_resources_ = check_int("max_resources", self.max_resources, 1)
            if self.resource == "n_samples" and self.max_resources_ > self._n_samples:
                # each split's train and test sets are subsampled by n_resources / n_samples:
                # above 1, resample cannot draw that many rows (and would only repeat them)
                raise ConfigError(key="max_resources", message=(
                    f"{self.max_resources_} is above the {self._n_samples} samples of X: with "
                    "resource='n_samples' an iteration trains on at most all of them; give at "
                    f"most {self._n_samples}, or 'auto'"))
        if self.min_resources in ("smallest", _EXHAUST):
            if self.resource == "n_samples":
                self.min_resources_ = 2 * int(self.n_splits_)  # as fit counted them (groups)
                if is_classifier(self.estimator):
                    check_classification_targets(y)  # "Unknown label type" for a float target
                    self.min_resources_ *= len(np.unique(np.asarray(y)))
            else:
                self.min_resources_ = 1
        else:
            self.min_resources_ = check_int("min_resources", self.min_resources, 1)
        if self.min_resources_ > self.max_resources_:
            raise ConfigError(key="min_resources", message=(
                f"min_resources_={self.min_resources_} is above max_resources_="
                f"{self.max_resources_} (n_samples={self._n_samples})"))
        if self.min_resources_ == 0:
            raise ConfigError(key="min_resources", message=(
                f"min_resources_=0: X has no sample (n_samples={self._n_samples})"))

    def _n_first(self) -> int:
        if self.n_candidates == _EXHAUST:
            return max(1, int(self.max_resources_) // int(self.min_resources_))
        return check_int("n_candidates", self.n_candidates, 1)

    def _candidates(
        self,
    ) -> tuple[list[dict[str, Any]] | None, Any, Any, list[dict[str, Any]]]:
        """scikit-learn's candidates, the study's space and searcher, and the points it
        launches first; or ``None``, the rung space and searcher, and no points.

        The candidates' values are the study's parameters (one ``Categorical`` each, values
        that are not JSON scalars by their ``repr``), launched in order from the study's
        queue, so that the journal (``rung show``, the dashboard) shows them; candidates
        that do not all set the same parameters are proposed by a grid over their index
        (``candidate``)."""
        from rung.space import Categorical, SearchSpace

        searched = ConfigError(key="resource", message=f"{self.resource!r} is searched over: "
                                                       "it cannot also be the resource")
        if _is_rung_space(self.param_distributions):
            space = self.param_distributions
            if not isinstance(space, SearchSpace):
                space = SearchSpace(dict(space))
            if self.resource != "n_samples" and self.resource in space:
                raise searched
            return None, space, self.searcher, []
        dists = self.param_distributions
        if isinstance(dists, Sequence) and not isinstance(dists, str) and not dists:
            raise ConfigError(key="param_distributions", message=(
                "an empty list: give a dict of parameter distributions, or a list of them"))
        n = self._n_first()
        candidates = [dict(c) for c in ParameterSampler(self.param_distributions, n,
                                                        random_state=self.random_state)]
        if self.resource != "n_samples" and any(self.resource in c for c in candidates):
            raise searched
        named = _candidate_space(candidates)
        if named is not None:
            return candidates, named[0], "random", named[1]
        return (candidates, SearchSpace({_INDEX: Categorical(list(range(len(candidates))))}),
                "grid", [])

    def _plan(self, n_candidates: int) -> int:
        """Plan the iterations as scikit-learn does (``min_resources="exhaust"`` raised to fill
        the last one), print the plan with ``verbose``; the last iteration's step."""
        factor = int(self.factor)
        self.n_required_iterations_ = 1 + _ilog(n_candidates, factor)
        if self.min_resources == _EXHAUST:
            self.min_resources_ = max(self.min_resources_, self.max_resources_
                                      // factor ** (self.n_required_iterations_ - 1))
        self.n_possible_iterations_ = 1 + _ilog(self.max_resources_ // self.min_resources_, factor)
        n_iterations = min(self.n_possible_iterations_, self.n_required_iterations_)
        if self.verbose:  # scikit-learn's verbose output, which its users read
            print(f"n_iterations: {n_iterations}")
            print(f"n_required_iterations: {self.n_required_iterations_}")
            print(f"n_possible_iterations: {self.n_possible_iterations_}")
            print(f"min_resources_: {self.min_resources_}")
            print(f"max_resources_: {self.max_resources_}")
            print(f"aggressive_elimination: {self.aggressive_elimination}")
            print(f"factor: {self.factor}")
        return int(factor ** (n_iterations - 1))

    def _study(self, space: Any, searcher: Any, n_candidates: int, last_step: int,
               points: list[dict[str, Any]]) -> Any:
        """The study of this fit (``rung.sklearn_study.create_study``): its scheduler is
        rung's successive halving with scikit-learn's quota, its budget the candidates."""
        from rung import Budget, Objective, SuccessiveHalving
        from rung.sklearn_study import create_study

        seed = self.random_state
        if not isinstance(seed, int | np.integer) or isinstance(seed, bool):
            seed = int(check_random_state(seed).randint(2**31 - 1))
        scheduler = SuccessiveHalving(int(self.factor), 1, n_configs=n_candidates, iterations=1,
                                      quota="ceil")
        study = create_study(self.study_name, f"RungSearchCV-{type(self.estimator).__name__}",
                             self.storage, space=space, objective=Objective(METRIC, "max"),
                             searcher=searcher, scheduler=scheduler, max_step=last_step,
                             budget=Budget(n_trials=n_candidates), seed=int(seed),
                             points_to_evaluate=points)
        self.study_name_ = study.name
        return study


def _searcher_size(space: Any, searcher: Any) -> int | None:
    """How many candidates ``searcher`` proposes in ``space`` when it has a set of them (a
    ``"grid"``: its points), else ``None``. Refused components raise ``ConfigError`` as
    ``Study.create`` would, before anything is written."""
    from rung.core.components import BindContext, Searcher
    from rung.core.records import Objective
    from rung.core.registry import build, to_spec

    spec = to_spec("searcher", searcher, ("auto",))
    if spec.name == "auto":
        return None
    built = build("searcher", spec)
    if not isinstance(built, Searcher) or not built.exhausts or not hasattr(built, "__len__"):
        return None
    built.bind(BindContext(space, Objective(METRIC, "max"), 1, 0))
    return len(built)


__all__ = ["RungSearchCV"]
