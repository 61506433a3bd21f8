"""rung.sklearn.RungSearchCV against scikit-learn's HalvingRandomSearchCV and estimator checks."""

from __future__ import annotations

import itertools
import pickle
import warnings
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")

from scipy.stats import loguniform, randint
from sklearn.base import is_classifier
from sklearn.datasets import make_classification, make_regression
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import (
    HalvingRandomSearchCV,
    KFold,
    LeaveOneGroupOut,
    ShuffleSplit,
)
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from rung import Categorical, Float, SearchSpace, Study
from rung.errors import ConfigError, RungError
from rung.sklearn import RungSearchCV

X, Y = make_regression(n_samples=270, n_features=8, noise=10.0, random_state=0)
ALPHA = {"alpha": loguniform(1e-3, 1e3)}
TIMING = {"mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"}
SAME = ["n_resources_", "n_candidates_", "best_params_", "best_score_", "n_iterations_",
        "n_possible_iterations_", "n_required_iterations_", "n_remaining_candidates_",
        "min_resources_", "max_resources_", "n_splits_"]


def rows(search: Any) -> dict[tuple[int, tuple[Any, ...]], float]:
    """``cv_results_`` as (iteration, params) -> mean test score (row order aside)."""
    r = search.cv_results_
    return {(int(i), tuple(sorted(p.items()))): float(s)
            for i, p, s in zip(r["iter"], r["params"], r["mean_test_score"], strict=True)}


@pytest.mark.parametrize(("scoring", "kwargs"), [
    (None, {"n_candidates": 27}),
    ("neg_mean_absolute_error", {"n_candidates": 10, "factor": 2, "min_resources": "exhaust"}),
])
def test_same_search_as_halving_random_search_cv(scoring: Any, kwargs: dict[str, Any]) -> None:
    common = dict(cv=3, random_state=0, scoring=scoring, **kwargs)
    ours = RungSearchCV(Ridge(), ALPHA, **common).fit(X, Y)
    theirs = HalvingRandomSearchCV(Ridge(), ALPHA, **common).fit(X, Y)
    for att in SAME:
        assert getattr(ours, att) == getattr(theirs, att), att
    assert sorted(ours.cv_results_) == sorted(theirs.cv_results_)
    for key, value in theirs.cv_results_.items():
        assert np.shape(ours.cv_results_[key]) == np.shape(value), key
    assert rows(ours) == pytest.approx(rows(theirs), rel=1e-12)
    assert ours.cv_results_["params"][ours.best_index_] == ours.best_params_
    assert ours.cv_results_["iter"][ours.best_index_] == ours.n_iterations_ - 1
    np.testing.assert_allclose(ours.best_estimator_.coef_, theirs.best_estimator_.coef_)
    assert ours.score(X, Y) == pytest.approx(theirs.score(X, Y))
    # sklearn keeps ceil(n / factor) at each cut, and so does the study
    n = ours.n_candidates_
    assert all(b == -(-a // ours.factor) for a, b in itertools.pairwise(n))


def test_an_estimator_parameter_as_the_resource() -> None:
    common: dict[str, Any] = dict(resource="max_iter", max_resources=27, min_resources="exhaust", n_candidates=9,
                  cv=2, random_state=0)
    est = HistGradientBoostingRegressor(early_stopping=False, min_samples_leaf=5)
    dist = {"learning_rate": loguniform(0.01, 1.0), "max_leaf_nodes": randint(2, 16)}
    ours = RungSearchCV(est, dist, **common).fit(X, Y)
    theirs = HalvingRandomSearchCV(est, dist, **common).fit(X, Y)
    assert ours.n_resources_ == theirs.n_resources_ == [3, 9, 27]
    assert ours.n_candidates_ == theirs.n_candidates_ == [9, 3, 1]
    assert rows(ours) == pytest.approx(rows(theirs), rel=1e-12)
    assert [p["max_iter"] for p in ours.cv_results_["params"]] == (
        list(ours.cv_results_["n_resources"]))
    assert ours.best_estimator_.max_iter == 27 and ours.best_params_ == theirs.best_params_


def test_a_rung_space_with_rung_searchers_is_deterministic() -> None:
    space = SearchSpace({"alpha": Float(1e-3, 1e3, log=True),
                         "solver": Categorical(["auto", "svd"])})
    a = RungSearchCV(Ridge(), space, n_candidates=9, cv=3, random_state=3).fit(X, Y)
    b = RungSearchCV(Ridge(), space, n_candidates=9, cv=3, random_state=3).fit(X, Y)
    c = RungSearchCV(Ridge(), space, n_candidates=9, cv=3, random_state=4).fit(X, Y)
    assert a.n_candidates_ == [9, 3, 1]
    assert list(a.cv_results_["params"]) == list(b.cv_results_["params"])
    np.testing.assert_array_equal(a.cv_results_["mean_test_score"],
                                  b.cv_results_["mean_test_score"])
    assert list(a.cv_results_["params"]) != list(c.cv_results_["params"])
    assert all(1e-3 <= p["alpha"] <= 1e3 for p in a.cv_results_["params"])
    # the study's trials: 6 stopped at the first rung, 2 at the second, 1 completed at step 9
    statuses = sorted((t.status.value, t.last_step) for t in a.study_trials_)
    assert statuses == [("completed", 9)] + [("stopped", 1)] * 6 + [("stopped", 3)] * 2
    tpe = RungSearchCV(Ridge(), space, searcher="tpe", n_candidates=9, cv=3,
                       random_state=0).fit(X, Y)
    assert tpe.n_candidates_ == [9, 3, 1] and "alpha" in tpe.best_params_


def test_n_jobs_runs_the_same_search_in_parallel() -> None:
    one = RungSearchCV(Ridge(), ALPHA, n_candidates=9, cv=3, random_state=0).fit(X, Y)
    two = RungSearchCV(Ridge(), ALPHA, n_candidates=9, cv=3, random_state=0, n_jobs=2).fit(X, Y)
    for key in set(one.cv_results_) - TIMING:
        np.testing.assert_array_equal(one.cv_results_[key], two.cv_results_[key])


def test_refit_and_pickling() -> None:
    one = RungSearchCV(Ridge(), ALPHA, n_candidates=9, cv=3, random_state=0).fit(X, Y)
    no_refit = RungSearchCV(Ridge(), ALPHA, n_candidates=9, cv=3, random_state=0,
                            refit=False).fit(X, Y)
    assert not hasattr(no_refit, "best_estimator_")
    assert no_refit.best_params_ == one.best_params_ and no_refit.best_index_ == one.best_index_
    # a callable refit chooses among all rows itself (here: the first iteration's worst)
    worst = RungSearchCV(Ridge(), ALPHA, n_candidates=9, cv=3, random_state=0,
                         refit=lambda r: int(np.argmin(r["mean_test_score"]))).fit(X, Y)
    assert worst.best_index_ == int(np.argmin(worst.cv_results_["mean_test_score"]))
    again = pickle.loads(pickle.dumps(one))
    np.testing.assert_array_equal(again.predict(X[:5]), one.predict(X[:5]))


def test_a_journaled_search_reads_back_as_a_study(tmp_path: Any) -> None:
    db = tmp_path / "search.db"
    search = RungSearchCV(Ridge(), ALPHA, n_candidates=9, cv=3, random_state=0, storage=db,
                          study_name="ridge").fit(X, Y)
    study = Study.load("ridge", storage=db)
    trials = study.trials()
    assert [(t.status.value, t.last_step) for t in trials] == [
        (t.status.value, t.last_step) for t in search.study_trials_]
    best = study.best_trial
    assert best is not None and best.value == pytest.approx(search.best_score_)
    assert search.best_params_ == {"alpha": search.cv_results_["params"][search.best_index_][
        "alpha"]}
    study.close()
    with pytest.raises(RungError):  # one study per fit: the name is taken
        RungSearchCV(Ridge(), ALPHA, n_candidates=9, cv=3, storage=db,
                     study_name="ridge").fit(X, Y)


def test_classifier_smallest_resources() -> None:
    x, y = make_classification(n_samples=240, n_features=6, random_state=0)
    common: dict[str, Any] = dict(cv=2, random_state=0, n_candidates=6)
    dist = {"max_depth": [1, 2, 3, 4, 5, 6], "min_samples_leaf": [1, 5, 10, 20]}
    ours = RungSearchCV(DecisionTreeClassifier(random_state=0), dist, **common).fit(x, y)
    theirs = HalvingRandomSearchCV(DecisionTreeClassifier(random_state=0), dist,
                                   **common).fit(x, y)
    assert ours.min_resources_ == theirs.min_resources_ == 2 * 2 * 2  # splits * 2 * classes
    assert ours.n_resources_ == theirs.n_resources_ and ours.classes_.tolist() == [0, 1]


@pytest.mark.parametrize(("kwargs", "key"), [
    ({"factor": 1.5}, "factor"),
    ({"factor": 2.5}, "factor"),
    ({"n_candidates": "exhaust", "min_resources": "exhaust"}, "n_candidates"),
    ({"resource": "n_estimators"}, "resource"),
    ({"resource": "max_iter", "max_resources": "auto"}, "max_resources"),
    ({"min_resources": 1000}, "min_resources"),
])
def test_bad_settings_name_their_key(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as e:
        RungSearchCV(Ridge(), ALPHA, **kwargs).fit(X, Y)
    assert e.value.key == key


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"cv": KFold(3, shuffle=True)},
     "cv: KFold(n_splits=3, random_state=None, shuffle=True) gives other folds at every "
     "split() call, so the iterations would compare candidates on different data: set its "
     "random_state to an int, or shuffle=False"),
    ({"cv": ShuffleSplit(3)},
     "cv: ShuffleSplit(n_splits=3, random_state=None, test_size=None, train_size=None) gives "
     "other folds at every split() call, so the iterations would compare candidates on "
     "different data: set its random_state to an int, or shuffle=False"),
    ({"scoring": {"r2": "r2", "mae": "neg_mean_absolute_error"}, "refit": "r2"},
     "scoring: one metric only (a scorer name or a callable): successive halving ranks the "
     "candidates by one score, got {'r2': 'r2', 'mae': 'neg_mean_absolute_error'}"),
])
def test_what_halving_random_search_cv_refuses_is_refused(
    kwargs: dict[str, Any], message: str, tmp_path: Any
) -> None:
    """scikit-learn's halving search raises ValueError for both; before, a shuffling cv ran
    each iteration on other folds and a dict scoring died on KeyError('mean_test_score')."""
    db = tmp_path / "s.db"
    with pytest.raises(ValueError, match="."):  # scikit-learn's own refusal
        HalvingRandomSearchCV(Ridge(), ALPHA, random_state=0, **kwargs).fit(X, Y)
    with pytest.raises(ConfigError) as e:
        RungSearchCV(Ridge(), ALPHA, random_state=0, storage=str(db), **kwargs).fit(X, Y)
    assert str(e.value) == message
    assert not db.exists()  # refused before the study was created
    # with a seeded splitter the same search runs, and matches scikit-learn's
    if isinstance(kwargs.get("cv"), KFold):
        seeded = {"cv": KFold(3, shuffle=True, random_state=0)}
        ours = RungSearchCV(Ridge(), ALPHA, n_candidates=9, random_state=0, **seeded).fit(X, Y)
        theirs = HalvingRandomSearchCV(Ridge(), ALPHA, n_candidates=9, random_state=0,
                                       **seeded).fit(X, Y)
        assert rows(ours) == pytest.approx(rows(theirs))


def test_a_splitter_that_needs_groups_gets_them() -> None:
    """min_resources_ counts the splits as fit does, with the groups given to fit; before,
    LeaveOneGroupOut raised "The 'groups' parameter should not be None"."""
    groups = np.arange(len(X)) % 3
    common: dict[str, Any] = dict(cv=LeaveOneGroupOut(), n_candidates=9, random_state=0)
    ours = RungSearchCV(Ridge(), ALPHA, **common).fit(X, Y, groups=groups)
    theirs = HalvingRandomSearchCV(Ridge(), ALPHA, **common).fit(X, Y, groups=groups)
    assert ours.n_splits_ == theirs.n_splits_ == 3
    assert ours.min_resources_ == theirs.min_resources_ == 6
    assert ours.n_resources_ == theirs.n_resources_
    assert rows(ours) == pytest.approx(rows(theirs))


# scikit-learn's own estimator checks, on the instances scikit-learn checks its
# HalvingRandomSearchCV with (LogisticRegression's take ~2 min here: slow lane)
def _instances() -> list[Any]:
    kw: dict[str, Any] = dict(cv=2, error_score="raise", random_state=0)
    return [
        RungSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, **kw),
        RungSearchCV(GaussianNB(), {"var_smoothing": [1e-9, 1e-6]}, **kw),
        RungSearchCV(Pipeline([("pca", PCA()), ("ridge", Ridge())]),
                     {"ridge__alpha": [0.1, 1.0]}, **kw),
    ]


def _expected_failures(estimator: Any) -> dict[str, str]:
    # the same exclusion scikit-learn makes for HalvingRandomSearchCV (and GridSearchCV): the
    # search hands y to its estimator unchanged, so a column y raises no DataConversionWarning
    # when the estimator accepts 2-D targets (Ridge does; GaussianNB warns, and passes)
    if is_classifier(estimator):
        return {}
    return {"check_supervised_y_2d": "DataConversionWarning not caught (as for scikit-learn's "
                                     "own search estimators)"}


@parametrize_with_checks(  # type: ignore[untyped-decorator]
    _instances(), expected_failed_checks=_expected_failures)
def test_sklearn_estimator_checks(estimator: Any, check: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


@pytest.mark.slow
@parametrize_with_checks(  # type: ignore[untyped-decorator]
    [RungSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2, error_score="raise",
                  random_state=0)],
    expected_failed_checks=_expected_failures)
def test_sklearn_estimator_checks_logistic_regression(estimator: Any, check: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


def test_a_journaled_search_can_be_fitted_again(tmp_path: Any) -> None:
    """scikit-learn fits clones of an estimator again and again (cross_val_score, nested
    CV); with storage= and no study_name each fit writes a study of its own. Before, the
    second fit raised JournalError("... already exists (use Study.load or
    load_if_exists=True)"), naming options RungSearchCV does not have."""
    from sklearn.model_selection import cross_val_score

    db = tmp_path / "search.db"
    search = RungSearchCV(Ridge(), ALPHA, n_candidates=9, cv=3, random_state=0, storage=db)
    scores = cross_val_score(search, X, Y, cv=3, error_score="raise")
    assert len(scores) == 3 and np.isfinite(scores).all()
    search.fit(X, Y)
    assert search.study_name_ == "RungSearchCV-Ridge-4"
    from rung.storage import open_journal

    journal = open_journal(db)
    assert journal.list_studies() == ["RungSearchCV-Ridge"] + [
        f"RungSearchCV-Ridge-{k}" for k in (2, 3, 4)]
    journal.close()
    study = Study.load("RungSearchCV-Ridge-4", storage=db)
    assert len(study.trials()) == 9
    study.close()
    with pytest.raises(ConfigError) as e:  # a name given is never replaced
        RungSearchCV(Ridge(), ALPHA, n_candidates=9, cv=3, storage=db,
                     study_name="RungSearchCV-Ridge-2").fit(X, Y)
    assert str(e.value) == (
        f"study_name: 'RungSearchCV-Ridge-2' is already a study in {db}: each fit writes a "
        "study of its own; give another study_name, or none (a free name is then chosen)")


def test_halving_random_search_cvs_arguments_carry_over() -> None:
    """Every argument of HalvingRandomSearchCV is one of RungSearchCV's, with the same
    default; aggressive_elimination=True is refused at fit. Before, aggressive_elimination
    (even False, its default) was a TypeError at construction."""
    import inspect

    theirs = inspect.signature(HalvingRandomSearchCV).parameters
    ours = inspect.signature(RungSearchCV).parameters
    for name, p in theirs.items():
        if name in ("estimator", "param_distributions"):
            continue
        assert name in ours, name
        default = ours[name].default
        assert default == p.default or (default != default and p.default != p.default), name
    search = RungSearchCV(Ridge(), ALPHA, n_candidates=9, cv=3, random_state=0,
                          aggressive_elimination=False).fit(X, Y)
    assert search.get_params()["aggressive_elimination"] is False
    with pytest.raises(ConfigError) as e:
        RungSearchCV(Ridge(), ALPHA, aggressive_elimination=True).fit(X, Y)
    assert e.value.key == "aggressive_elimination"


def test_the_guides_port_of_halving_grid_search_cv() -> None:
    """docs/migrate-sklearn.md: ``HalvingGridSearchCV(est, grid)`` is ``RungSearchCV(est, grid,
    n_candidates=len(ParameterGrid(grid)), min_resources="exhaust")``: every candidate of the
    grid, the same iterations and scores."""
    from sklearn.model_selection import HalvingGridSearchCV, ParameterGrid

    grid = {"alpha": [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0], "fit_intercept": [True, False]}
    theirs = HalvingGridSearchCV(Ridge(), grid, cv=3, random_state=0).fit(X, Y)
    ours = RungSearchCV(Ridge(), grid, n_candidates=len(ParameterGrid(grid)),
                        min_resources="exhaust", cv=3, random_state=0).fit(X, Y)
    for att in SAME:
        assert getattr(ours, att) == getattr(theirs, att), att
    assert ours.n_candidates_[0] == 12
    assert rows(ours) == pytest.approx(rows(theirs), rel=1e-12)


def test_a_first_iteration_without_any_score_still_halves() -> None:
    """R² is undefined on one test sample: with cv=3 and min_resources="smallest" (6 samples)
    every candidate's first score is NaN. scikit-learn still carries ceil(n / factor) of them
    on; before, rung never promoted a NaN, so the search ended after one iteration with
    best_score_ nan and refit the first candidate."""
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    common: dict[str, Any] = dict(n_candidates=9, cv=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # UndefinedMetricWarning
        ours = RungSearchCV(Ridge(), ALPHA, **common).fit(x, y)
        theirs = HalvingRandomSearchCV(Ridge(), ALPHA, **common).fit(x, y)
    assert ours.n_resources_ == theirs.n_resources_ == [6, 18, 54]
    assert ours.n_candidates_ == theirs.n_candidates_ == [9, 3, 1]
    r = ours.cv_results_
    assert np.isnan(r["mean_test_score"][:9]).all()
    # NaNs tie: the earlier candidates go on (rung's rule; scikit-learn takes the later ones)
    first = [p["alpha"] for p in r["params"][:9]]
    assert sorted(p["alpha"] for p in r["params"][9:12]) == sorted(first[:3])
    assert np.isfinite(ours.best_score_)
    assert ours.best_score_ == r["mean_test_score"][ours.best_index_]
    assert ours.cv_results_["iter"][ours.best_index_] == 2
    statuses = sorted((t.status.value, t.last_step) for t in ours.study_trials_)
    assert statuses == [("completed", 9)] + [("stopped", 1)] * 6 + [("stopped", 3)] * 2
    # the scheduler ranked by the finite stand-in; no_score says why there is none
    nan_result = ours.study_trials_[5].results[0].metrics
    assert nan_result == {
        "mean_test_score": -np.finfo(float).max,
        "no_score": "mean test score is nan at n_resources=6: 2 of 3 split scores are nan; "
                    "no fit failed: the scorer gave no score"}


def test_a_candidate_without_a_score_at_the_end_fails_naming_why() -> None:
    """A scorer that gives NaN on the full data: the last candidate's trial ends failed with
    the reason, not completed with the stand-in as its value (its last result has none)."""
    def scorer(estimator: Any, x: Any, y: Any) -> float:
        return float("nan") if len(x) > 60 else float(estimator.score(x, y))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = RungSearchCV(Ridge(), ALPHA, n_candidates=3, cv=3, random_state=0,
                              min_resources=90, scoring=scorer).fit(X, Y)
    assert search.n_resources_ == [90, 270]
    last = [t for t in search.study_trials_ if t.last_step == 3]
    why = ("mean test score is nan at n_resources=270: 3 of 3 split scores are nan; no fit "
           "failed: the scorer gave no score")
    assert [(t.status.value, t.error, t.results[-1].metrics) for t in last] == [
        ("failed", why, {"no_score": why})]
    assert np.isnan(search.best_score_)


def test_a_searcher_with_scikit_learns_distributions_is_refused(tmp_path: Any) -> None:
    """scikit-learn's distributions are drawn by ParameterSampler; before, searcher="tpe"
    beside them was ignored without a word (the same candidates as the default's)."""
    db = tmp_path / "s.db"
    with pytest.raises(ConfigError) as e:
        RungSearchCV(Ridge(), ALPHA, searcher="tpe", storage=str(db)).fit(X, Y)
    assert str(e.value) == (
        "searcher: 'tpe' needs a rung.SearchSpace as param_distributions: scikit-learn's "
        "distributions are drawn by ParameterSampler, as HalvingRandomSearchCV draws them; "
        "leave searcher='random' or give rung parameters (rung.Float, rung.Int, "
        "rung.Categorical)")
    assert not db.exists()
    explicit = RungSearchCV(Ridge(), ALPHA, searcher="random", n_candidates=3, cv=3,
                            random_state=0).fit(X, Y)
    assert explicit.n_candidates_ == [3, 1]


def test_the_journal_shows_the_candidates_params(tmp_path: Any) -> None:
    """``rung show`` and the dashboard read the study's params: scikit-learn's candidates are
    the study's parameters (values that are not JSON scalars by their repr). Before, every
    trial's params were {'candidate': <its index>}."""
    from sklearn.preprocessing import StandardScaler

    db = tmp_path / "search.db"
    est = Pipeline([("scale", StandardScaler()), ("ridge", Ridge())])
    dist = {"scale": [StandardScaler(), "passthrough"], "ridge__alpha": loguniform(1e-2, 1e2),
            "ridge__fit_intercept": [True, False]}
    search = RungSearchCV(est, dist, n_candidates=9, cv=3, random_state=0, storage=db,
                          study_name="named").fit(X, Y)
    study = Study.load("named", storage=db)
    first = search.cv_results_["params"][:9]
    assert [dict(t.params) for t in study.trials()] == [
        {"scale": "StandardScaler()" if isinstance(c["scale"], StandardScaler) else c["scale"],
         "ridge__alpha": float(c["ridge__alpha"]),
         "ridge__fit_intercept": c["ridge__fit_intercept"]} for c in first]
    seen = [study.trials()[0].params["scale"]]
    seen.append("passthrough" if seen[0] != "passthrough" else "StandardScaler()")
    assert study.engine.space.to_json()["scale"] == {"type": "categorical", "choices": seen}
    best = study.best_trial
    assert best is not None and best.params["ridge__alpha"] == search.best_params_["ridge__alpha"]
    study.close()
    # candidates that set other parameters (a list of dicts) keep their index
    grids = [{"alpha": [0.1, 1.0]}, {"alpha": [10.0], "fit_intercept": [False]}]
    mixed = RungSearchCV(Ridge(), grids, n_candidates=3, cv=3, random_state=0, storage=db,
                         study_name="mixed").fit(X, Y)
    study = Study.load("mixed", storage=db)
    assert [dict(t.params) for t in study.trials()] == [{"candidate": i} for i in range(3)]
    assert [mixed.cv_results_["params"][i] for i in range(3)] == [
        dict(p) for p in search_candidates(grids, 3)]
    study.close()


def search_candidates(dist: Any, n: int) -> list[dict[str, Any]]:
    from sklearn.model_selection import ParameterSampler

    return [dict(c) for c in ParameterSampler(dist, n, random_state=0)]


def test_bad_arguments_are_refused_before_anything_is_written(tmp_path: Any) -> None:
    """Before: study_name='' was refused under the key 'name' once the journal file existed,
    and random_state='a' was numpy's "'a' cannot be used to seed a numpy.random.RandomState
    instance"."""
    db = tmp_path / "s.db"
    with pytest.raises(ConfigError) as e:
        RungSearchCV(Ridge(), ALPHA, storage=str(db), study_name="").fit(X, Y)
    assert str(e.value) == "study_name: must be a non-empty string or None, got ''"
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="^The 'random_state' parameter of "
                                                    "RungSearchCV must be "):
        RungSearchCV(Ridge(), ALPHA, storage=str(db), random_state="a").fit(X, Y)
    assert not db.exists()


@pytest.mark.parametrize("space", [
    {"max_iter": [10, 20], "learning_rate": [0.1, 0.3]},
    SearchSpace({"max_iter": Categorical([10, 20]), "learning_rate": Float(0.05, 0.5)}),
])
def test_the_resource_cannot_be_searched_over(space: Any, tmp_path: Any) -> None:
    """Before, with a rung space the searched max_iter was replaced by the resource's value
    without a word (scikit-learn's distributions were refused already)."""
    db = tmp_path / "s.db"
    with pytest.raises(ConfigError) as e:
        RungSearchCV(HistGradientBoostingRegressor(), space, resource="max_iter",
                     max_resources=27, n_candidates=3, cv=2, storage=str(db)).fit(X, Y)
    assert str(e.value) == "resource: 'max_iter' is searched over: it cannot also be the resource"
    assert not db.exists()


@pytest.mark.parametrize("searcher", ["random", "grid"])
def test_a_finite_rung_space_plans_for_the_candidates_it_holds(searcher: str) -> None:
    """A space of 3 configurations and n_candidates=9: 3 candidates, planned as 3 (as
    scikit-learn plans a list smaller than n_candidates). Before, the iterations were planned
    for 9: n_candidates_ [3, 1, 1] and n_required_iterations_ 3."""
    space = SearchSpace({"alpha": Categorical([0.1, 1.0, 10.0])})
    common: dict[str, Any] = dict(n_candidates=9, cv=3, random_state=0, min_resources=30)
    ours = RungSearchCV(Ridge(), space, searcher=searcher, **common).fit(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "The total space of parameters 3 is smaller ..."
        theirs = HalvingRandomSearchCV(Ridge(), {"alpha": [0.1, 1.0, 10.0]}, **common).fit(X, Y)
    assert ours.n_candidates_ == theirs.n_candidates_ == [3, 1]
    assert ours.n_resources_ == theirs.n_resources_ == [30, 90]
    assert ours.n_required_iterations_ == theirs.n_required_iterations_ == 2
    assert ours.n_remaining_candidates_ == theirs.n_remaining_candidates_ == 1


def test_an_integer_valued_float_factor_is_that_integer() -> None:
    """scikit-learn takes factor=3.0; it was refused as 'must be an integer >= 2'."""
    as_float = RungSearchCV(Ridge(), ALPHA, factor=3.0, random_state=0).fit(X, Y)
    as_int = RungSearchCV(Ridge(), ALPHA, factor=3, random_state=0).fit(X, Y)
    assert as_float.n_resources_ == as_int.n_resources_
    assert as_float.best_params_ == as_int.best_params_
    assert as_float.factor == 3.0  # the parameter is left as given (scikit-learn's convention)
