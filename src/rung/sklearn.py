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
proposes them.

**Differences from HalvingRandomSearchCV.** Ties at a cut keep the *earlier* candidate (rung's
rule; scikit-learn's sort keeps the later one); the candidates of iterations after the first are
listed in ``cv_results_`` best first (scikit-learn lists them worst first);
``aggressive_elimination`` and non-integer ``factor`` are not supported (rung's rungs are
integer steps). Everything else, including the subsampling of each split (the same indices
for the same ``random_state``), is scikit-learn's: with an integer ``random_state`` and no ties
both searches evaluate the same candidates on the same data and give the same scores.

**Candidates without a score.** A candidate whose mean test score is NaN (a fit failed and
``error_score`` is NaN, or the scorer is undefined on a small subsample: R² on one test
sample) ranks below every scored candidate and goes on only when too few candidates have a
score, as in scikit-learn; so a first iteration in which no candidate has a score still
carries ``ceil(n / factor)`` of them on. The study records such a result under
``mean_test_score`` (NaN, or -inf) with a finite stand-in under ``score`` (the lowest float)
by which the scheduler ranks it; a candidate still without a score after the last iteration
ends ``failed``, naming why.

``n_jobs`` has scikit-learn's meaning: the candidates of one iteration and their CV splits run
in parallel (joblib); the iterations run one after another, as successive halving needs.

How candidates and scores become the study's is ``rung.sklearn_candidates``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

try:
    from sklearn.base import is_classifier
    from sklearn.model_selection import ParameterSampler
    from sklearn.model_selection._search import BaseSearchCV
    from sklearn.utils import check_random_state, resample
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import _num_samples
except ImportError as e:  # pragma: no cover - exercised without scikit-learn only
    raise ImportError("rung.sklearn needs scikit-learn, which is not installed: "
                      "pip install 'rung[sklearn]'") from e

from rung._validate import check_int
from rung.errors import ConfigError
from rung.sklearn_candidates import (
    _INDEX,
    _candidate_space,
    _ilog,
    _is_rung_space,
    _plain,
    _ranked,
)

_EXHAUST = "exhaust"


class _Subsample:
    """Each split of ``base_cv`` with a fraction of its train and test indices, drawn with
    ``sklearn.utils.resample`` (without replacement) from ``random_state``: the subsample
    scikit-learn's halving search uses, so both see the same rows."""

    def __init__(self, base_cv: Any, fraction: float, random_state: Any) -> None:
        self.base_cv = base_cv
        self.fraction = fraction
        self.random_state = random_state

    def split(self, X: Any, y: Any = None, **kwargs: Any) -> Iterator[tuple[Any, Any]]:
        for train, test in self.base_cv.split(X, y, **kwargs):
            yield (resample(train, replace=False, random_state=self.random_state,
                            n_samples=int(self.fraction * len(train))),
                   resample(test, replace=False, random_state=self.random_state,
                            n_samples=int(self.fraction * len(test))))

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return int(self.base_cv.get_n_splits(X, y, groups))


class RungSearchCV(BaseSearchCV):  # type: ignore[misc]
    """Successive halving over ``n_samples`` or an estimator parameter, run by a rung study.

    ``scoring``, ``n_jobs``, ``refit``, ``cv``, ``verbose``, ``pre_dispatch``, ``error_score``
    and ``return_train_score`` are as in ``HalvingRandomSearchCV`` (``BaseSearchCV``); one
    metric only.

    Args:
        estimator: the scikit-learn estimator to tune.
        param_distributions: scikit-learn's distributions (dict or list of dicts) or a
            ``rung.SearchSpace`` (see the module docstring).
        n_candidates: candidates in the first iteration; ``"exhaust"`` (default): enough for
            the last iteration to use ``max_resources`` (``max_resources_ //
            min_resources_``). Never more than the configurations a finite space holds (as
            ``ParameterSampler`` draws lists without replacement).
        factor: ``eta``, an integer >= 2 (a float with an integer value, ``3.0``, is that
            integer): a ``1/factor`` share (rounded up) of the candidates go on, with
            ``factor`` times the resource.
        resource: ``"n_samples"`` or the name of an integer parameter of the estimator
            (``"n_estimators"``, ``"max_iter"``).
        max_resources: the most resource a candidate gets (``"auto"``: the number of samples;
            required for an estimator parameter).
        min_resources: the first iteration's resource: an integer, ``"smallest"`` (2 per CV
            split, times the number of classes for a classifier; 1 for a parameter) or
            ``"exhaust"`` (the largest that still lets the last iteration run).
        searcher: the study's searcher when ``param_distributions`` is a rung space; with
            scikit-learn's distributions only ``"random"`` (the default) is accepted.
        storage: where the study's journal goes (a SQLite file path; ``None``: in memory).
            With a file, ``rung show`` and the dashboard read the search like any study.
        study_name: the study's name; a name already in ``storage`` is refused (one study
            per ``fit``). Default: ``"RungSearchCV-<estimator class>"``, or the first of
            ``"...-2"``, ``"...-3"``, ... not yet in ``storage``, so a search fitted again
            (``cross_val_score``, a second ``fit``) writes a study of its own. The name used
            is ``study_name_`` after ``fit``.
        random_state: seeds the candidates, the subsamples and the study (``None``: drawn from
            NumPy's global generator, as scikit-learn does).
        aggressive_elimination: accepted so that ``HalvingRandomSearchCV``'s arguments carry
            over; only ``False`` (its default) is supported.

    Raises:
        ConfigError: an invalid ``factor``, ``n_candidates`` or resource setting, or a
            ``searcher`` other than ``"random"`` with scikit-learn's distributions, at ``fit``
            (key: the parameter's name).
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
        factor: int = 3,
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
        scoring = self.scoring
        if scoring is not None and not isinstance(scoring, str) and not callable(scoring):
            raise ConfigError(key="scoring", message=(
                f"one metric only (a scorer name or a callable): successive halving ranks "
                f"the candidates by one score, got {scoring!r}"))

    @staticmethod
    def _select_best_index(refit: Any, refit_metric: str, results: Mapping[str, Any]) -> int:
        """The best candidate of the last iteration (earlier iterations used less resource);
        a callable ``refit`` chooses from all of ``cv_results_`` itself."""
        if callable(refit):
            return int(refit(results))
        iters = np.asarray(results["iter"])
        last = np.flatnonzero(iters == iters.max())
        scores = np.asarray(results["mean_test_score"], dtype=float)[last]
        if np.isnan(scores).all():
            return int(last[0])
        return int(last[int(np.nanargmax(scores))])

    def _run_search(self, evaluate_candidates: Callable[..., Any]) -> None:
        X, y = self._X_y
        self._check_resources(X, y)
        candidates, space, searcher, points = self._candidates()
        if candidates is not None:
            n_candidates = len(candidates)
        else:  # no more than a finite space holds, as ParameterSampler draws from a grid
            size = space.size()
            n_candidates = self._n_first() if size is None else min(self._n_first(), size)
        study, last_step = self._study(space, searcher, n_candidates, points)
        try:
            self._halve(study, last_step, candidates, bool(points), evaluate_candidates)
        finally:
            study.close()  # the journal's lock too: the next fit may write to the same file
        # what one more cut would keep (scikit-learn's count after its last iteration)
        self.n_remaining_candidates_ = -(-self.n_candidates_[-1] // int(self.factor))
        n_required = 1 + _ilog(n_candidates, int(self.factor))
        self.n_required_iterations_ = n_required
        self.n_iterations_ = len(self.n_resources_)

    def _halve(self, study: Any, last_step: int, candidates: list[dict[str, Any]] | None,
               by_id: bool, evaluate_candidates: Callable[..., Any]) -> None:
        """The iterations: ask every trial due at the step, cross-validate them, report."""
        self.n_resources_: list[int] = []
        self.n_candidates_: list[int] = []
        carry: list[tuple[int, dict[str, Any], int]] = []  # promoted in place by the last report
        while True:
            batch = list(carry)
            carry = []
            while (t := study.ask()) is not None:
                p = dict(t.params)
                if candidates is not None:  # enqueued in order (trial i is candidate i), or
                    # proposed by a grid over their index
                    c = candidates[t.id if by_id else p[_INDEX]]
                    if by_id and p != {k: _plain(v) for k, v in c.items()}:
                        raise AssertionError(f"trial {t.id} launched {p}, not candidate {c}")
                    p = dict(c)
                batch.append((t.id, p, study.engine.active[t.id].until_step))
            if not batch:
                break
            step = batch[0][2]
            if any(s != step for _, _, s in batch):  # one iteration at a time (one bracket)
                raise AssertionError(f"successive halving mixed steps {batch}")
            scores = self._evaluate(evaluate_candidates, [p for _, p, _ in batch], step)
            for (tid, p, _), score in zip(batch, scores, strict=True):
                decision = study.report(tid, step, _ranked(score))
                action = decision.action.value
                if action == "continue" and step < last_step:
                    carry.append((tid, p, int(decision.until_step or last_step)))
                    continue
                status = {"continue": "completed", "pause": "paused"}.get(action, "stopped")
                if status == "completed" and score != score:  # no score at the end
                    study.tell(tid, "failed", error=(
                        f"mean test score is nan at n_resources={self.n_resources_[-1]}: a "
                        f"fit or its scoring failed on some split (error_score="
                        f"{self.error_score!r})"))
                else:
                    study.tell(tid, status)
        self.study_trials_ = study.trials()

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

    def _study(self, space: Any, searcher: Any, n_candidates: int,
               points: list[dict[str, Any]]) -> tuple[Any, int]:
        """The study (in memory) and its last step, after planning the iterations as
        scikit-learn does (``min_resources="exhaust"`` raised to fill the last one)."""
        from rung import Budget, Objective, Study, SuccessiveHalving
        from rung.storage import open_journal

        factor = int(self.factor)
        n_required = 1 + _ilog(n_candidates, factor)
        if self.min_resources == _EXHAUST:
            self.min_resources_ = max(self.min_resources_,
                                      self.max_resources_ // factor ** (n_required - 1))
        self.n_possible_iterations_ = 1 + _ilog(self.max_resources_ // self.min_resources_, factor)
        n_iterations = min(self.n_possible_iterations_, n_required)
        last_step = factor ** (n_iterations - 1)
        seed = self.random_state
        if not isinstance(seed, int | np.integer) or isinstance(seed, bool):
            seed = int(check_random_state(seed).randint(2**31 - 1))
        scheduler = SuccessiveHalving(factor, 1, n_configs=n_candidates, iterations=1,
                                      quota="ceil")
        journal = open_journal(self.storage)
        taken = set(journal.list_studies())
        name = self.study_name
        if name is None:  # the first free one: a search is fitted again (cross_val_score...)
            base = name = f"RungSearchCV-{type(self.estimator).__name__}"
            k = 1
            while name in taken:
                k += 1
                name = f"{base}-{k}"
        elif name in taken:
            journal.close()
            raise ConfigError(key="study_name", message=(
                f"{name!r} is already a study in {self.storage}: each fit writes a study of "
                "its own; give another study_name, or none (a free name is then chosen)"))
        study = Study.create(name, space, Objective("score", "max"), searcher=searcher,
                             scheduler=scheduler, max_step=last_step,
                             budget=Budget(n_trials=n_candidates), seed=int(seed),
                             storage=journal, points_to_evaluate=points)
        self.study_name_ = name
        return study, last_step

    def _evaluate(self, evaluate_candidates: Callable[..., Any],
                  candidates: Sequence[dict[str, Any]], step: int) -> list[float]:
        """Cross-validate ``candidates`` at ``step``'s resource; their mean test scores."""
        n_resources = min(step * self.min_resources_, self.max_resources_)
        itr = _ilog(step, int(self.factor))
        if self.resource == "n_samples":
            cv: Any = _Subsample(self._checked_cv_orig, n_resources / self._n_samples,
                                 self.random_state)
            params = [dict(c) for c in candidates]
        else:
            cv = self._checked_cv_orig
            params = [{**c, self.resource: n_resources} for c in candidates]
        self.n_resources_.append(n_resources)
        self.n_candidates_.append(len(params))
        more = {"iter": [itr] * len(params), "n_resources": [n_resources] * len(params)}
        results = evaluate_candidates(params, cv, more_results=more)
        scores = np.asarray(results["mean_test_score"], dtype=float)[-len(params):]
        return [float(s) for s in scores]


__all__ = ["RungSearchCV"]
