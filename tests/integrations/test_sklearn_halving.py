"""RungSearchCV's iterations (rung.sklearn_halving): a model-based searcher's first iteration
in batches, the order of the rows and the best candidate on ties, verbose output, and the
settings refused before anything is written."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np
import pytest

pytest.importorskip("sklearn")

from scipy.stats import loguniform
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.datasets import make_regression
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import Ridge
from sklearn.model_selection import HalvingRandomSearchCV

from rung import Float, Study
from rung.errors import ConfigError
from rung.sklearn import RungSearchCV

X, Y = make_regression(n_samples=100, n_features=4, noise=10.0, random_state=0)
ZEROS = np.zeros((270, 2)), np.zeros(270)


class Peak(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Scores ``-(x - 0.8)**2`` whatever the data: the best candidates are near 0.8."""

    def __init__(self, x: float = 0.0) -> None:
        self.x = x

    def fit(self, x: Any, y: Any) -> Peak:
        self.fitted_ = True
        return self

    def predict(self, x: Any) -> Any:
        return np.zeros(len(x))

    def score(self, x: Any, y: Any, sample_weight: Any = None) -> float:
        return float(-(self.x - 0.8) ** 2)


class Fixed(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Scores ``s`` when trained on fewer than 10 rows, 0.5 from 10 rows on (``tag`` only
    tells candidates with the same ``s`` apart)."""

    def __init__(self, s: float = 0.0, tag: int = 0) -> None:
        self.s = s
        self.tag = tag

    def fit(self, x: Any, y: Any) -> Fixed:
        self.n_ = len(x)
        return self

    def predict(self, x: Any) -> Any:
        return np.zeros(len(x))

    def score(self, x: Any, y: Any, sample_weight: Any = None) -> float:
        return float(self.s) if self.n_ < 10 else 0.5


def first_iteration(search: Any) -> list[float]:
    r = search.cv_results_
    return [p["x"] for p, i in zip(r["params"], r["iter"], strict=True) if i == 0]


@pytest.mark.parametrize("searcher", ["tpe", "gp"])
def test_a_model_based_searcher_places_the_first_iteration_by_its_scores(
    searcher: str, capsys: pytest.CaptureFixture[str],
) -> None:
    """The first iteration runs in batches: the initial design (n_initial=10), then batches
    of 4, each asked once the scores before it were told. After the initial design the
    candidates concentrate near the best score (x=0.8), where sobol's keep spreading out.
    Before, every candidate was asked before any score was told: tpe's and gp's were sobol's
    (their initial design), candidate for candidate."""
    space = {"x": Float(0.0, 1.0)}
    common: dict[str, Any] = dict(n_candidates=30, cv=3, random_state=0, refit=False)
    model = RungSearchCV(Peak(), space, searcher=searcher, verbose=1, **common).fit(*ZEROS)
    out = capsys.readouterr().out
    sobol = RungSearchCV(Peak(), space, searcher="sobol", **common).fit(*ZEROS)
    assert model.n_candidates_ == sobol.n_candidates_ == [30, 10, 4, 2]
    ours, theirs = first_iteration(model), first_iteration(sobol)
    assert ours[:10] == theirs[:10]  # the same initial design
    distance = np.abs(np.asarray(ours) - 0.8)
    assert np.median(distance[10:]) < 0.1 < np.median(np.abs(np.asarray(theirs[10:]) - 0.8))
    assert np.median(distance[10:]) < np.median(distance[:10]) / 2
    fitting = [int(n) for n in re.findall(r"Fitting 3 folds for each of (\d+) candidates", out)]
    assert fitting == [10, 4, 4, 4, 4, 4, 10, 4, 2]
    assert out.count("iter: 0\nn_candidates: 30\n") == 1


class FailingFits(Peak):
    """Peak, whose fits ``fails[0]`` to ``fails[1]`` (counted over the class) raise."""

    fits: ClassVar[list[int]] = [0]
    fails: ClassVar[tuple[int, int]] = (0, 0)

    def fit(self, x: Any, y: Any) -> Peak:
        FailingFits.fits[0] += 1
        if self.fails[0] <= FailingFits.fits[0] <= self.fails[1]:
            raise RuntimeError("this batch fails")
        return super().fit(x, y)


def test_a_batch_whose_every_fit_fails_is_evaluated_again_with_the_next(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """scikit-learn refuses an evaluation in which every fit failed ("All the 12 fits
    failed"): the second batch (fits 31 to 42, after the initial design's 30) is
    cross-validated again with the third, and the search goes on with all its candidates. If
    that evaluation fails too, the refusal propagates (an estimator that always fails is not
    fitted over and over), the trials ended."""
    space = {"x": Float(0.0, 1.0)}
    common: dict[str, Any] = dict(searcher="tpe", n_candidates=30, cv=3, random_state=0,
                                  refit=False)
    FailingFits.fits[0] = 0
    monkeypatch.setattr(FailingFits, "fails", (31, 42))
    search = RungSearchCV(FailingFits(), space, **common).fit(*ZEROS)
    assert search.n_candidates_ == [30, 10, 4, 2]
    xs = first_iteration(search)
    assert len(xs) == len(set(xs)) == 30
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert FailingFits.fits[0] == 12 + 3 * (30 + 10 + 4 + 2)  # the batch ran twice
    FailingFits.fits[0] = 0
    monkeypatch.setattr(FailingFits, "fails", (31, 66))  # the third batch's 8 too
    db = tmp_path / "s.db"
    with pytest.raises(ValueError, match="All the 24 fits failed"):
        RungSearchCV(FailingFits(), space, storage=db, **common).fit(*ZEROS)
    study = Study.load("RungSearchCV-FailingFits", storage=db)
    assert sorted((t.status.value, t.id) for t in study.trials())[:8] == [
        ("failed", i) for i in range(10, 18)]
    assert study.trials("running") == []
    study.close()


class RowSum(Peak):
    """Scores the sum of the test targets it is given: candidates tested on the same rows
    score the same."""

    def score(self, x: Any, y: Any, sample_weight: Any = None) -> float:
        return float(np.sum(y))


def test_the_batches_of_an_iteration_see_the_same_rows() -> None:
    """With random_state=None every split is subsampled once per iteration, not once per
    batch: the first iteration's 30 candidates, in 6 batches, all score alike."""
    search = RungSearchCV(RowSum(), {"x": Float(0.0, 1.0)}, searcher="tpe", n_candidates=30,
                          cv=3, refit=False).fit(ZEROS[0], np.arange(270.0))
    r = search.cv_results_
    first = np.asarray(r["mean_test_score"])[np.asarray(r["iter"]) == 0]
    assert len(first) == 30 and len(set(first)) == 1


def test_later_iterations_are_listed_best_first() -> None:
    """The rows of an iteration after the first follow the previous iteration's rank, ties
    in candidate order. Before, the candidate promoted last came first: [0.7, 0.9, 0.7]."""
    values = [0.1, 0.7, 0.2, 0.9, 0.3, 0.4, 0.5, 0.6, 0.7]
    grid = [{"s": [v], "tag": [i]} for i, v in enumerate(values)]
    search = RungSearchCV(Fixed(), grid, n_candidates=9, cv=3, random_state=0, refit=False,
                          max_resources=18).fit(*ZEROS)
    r = search.cv_results_
    assert [(p["s"], p["tag"]) for p, i in zip(r["params"], r["iter"], strict=True)
            if i == 1] == [(0.9, 3), (0.7, 1), (0.7, 8)]


def test_on_a_tie_the_earlier_candidate_is_best(tmp_path: Any) -> None:
    """In the last iteration every candidate scores 0.5: best_params_ is the earliest
    candidate's (tag 1, listed second as its first score was lower), which is the journal's
    best trial. Before, it was the first row's (tag 3)."""
    values = [0.1, 0.8, 0.2, 0.9, 0.3, 0.4, 0.5, 0.6, 0.7]
    grid = [{"s": [v], "tag": [i]} for i, v in enumerate(values)]
    db = tmp_path / "s.db"
    search = RungSearchCV(Fixed(), grid, n_candidates=9, cv=3, random_state=0, refit=False,
                          max_resources=18, storage=db).fit(*ZEROS)
    assert search.best_params_ == {"s": 0.8, "tag": 1}
    assert search.best_score_ == 0.5
    study = Study.load(search.study_name_, storage=db)
    best = study.best_trial
    assert best is not None and best.params == {"s": 0.8, "tag": 1}
    study.close()


def test_verbose_prints_what_halving_random_search_cv_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Before, verbose=1 printed only scikit-learn's "Fitting ..." lines, without the plan
    (n_iterations, ..., factor) and the iteration headers."""
    common: dict[str, Any] = dict(n_candidates=9, cv=3, random_state=0, verbose=1,
                                  min_resources=10)
    alpha = {"alpha": loguniform(1e-3, 1e3)}
    HalvingRandomSearchCV(Ridge(), alpha, **common).fit(X, Y)
    theirs = capsys.readouterr().out
    RungSearchCV(Ridge(), alpha, **common).fit(X, Y)
    ours = capsys.readouterr().out
    assert ours == theirs
    assert ours.startswith("n_iterations: 3\nn_required_iterations: 3\n")


def test_a_grid_plans_for_the_points_it_has() -> None:
    """A Float searched by "grid" has 5 points (its default): 5 candidates, planned as 5.
    Before, the iterations were planned for n_candidates=50: n_candidates_ [5, 2, 1] and
    n_required_iterations_ 4."""
    search = RungSearchCV(Ridge(), {"alpha": Float(0.01, 10.0, log=True)}, searcher="grid",
                          n_candidates=50, cv=3, random_state=0, min_resources=30).fit(X, Y)
    assert search.n_candidates_ == [5, 2]
    assert search.n_required_iterations_ == 2
    assert search.n_remaining_candidates_ == 1


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_resources": 1000},
     "max_resources: 1000 is above the 100 samples of X: with resource='n_samples' an "
     "iteration trains on at most all of them; give at most 100, or 'auto'"),
    ({"param_distributions": []},
     "param_distributions: an empty list: give a dict of parameter distributions, or a list "
     "of them"),
    ({"scoring": ["r2", "neg_mean_absolute_error"]},
     "scoring: one metric only (a scorer name or a callable): successive halving ranks the "
     "candidates by one score, got ['r2', 'neg_mean_absolute_error']"),
])
def test_refused_before_anything_is_written(kwargs: dict[str, Any], message: str,
                                            tmp_path: Any) -> None:
    """Before: max_resources above n_samples ran two iterations, then resample's "Cannot
    sample 106 out of arrays with dim 66"; an empty list named the internal parameter
    'candidate'; a list of scorers got scikit-learn's "refit must be set to a scorer key"."""
    db = tmp_path / "s.db"
    args: dict[str, Any] = {"param_distributions": {"alpha": loguniform(1e-3, 1e3)},
                            **kwargs}
    with pytest.raises(ConfigError) as e:
        RungSearchCV(Ridge(), cv=3, random_state=0, storage=db, **args).fit(X, Y)
    assert str(e.value) == message
    assert not db.exists()


def test_fit_is_quiet_at_verbose_0(caplog: pytest.LogCaptureFixture) -> None:
    # every candidate going on to the next iteration is told "paused" without a checkpoint:
    # it printed "trial 16 paused at step 3 without a checkpoint of that step
    # (study.checkpoint(16, 3, path) before tell): it will restart from scratch" per
    # candidate (36 lines for 27 candidates), advice a scikit-learn user cannot act on:
    # RungSearchCV refits every candidate from scratch by design
    import logging

    import numpy as np
    from scipy.stats import loguniform
    from sklearn.linear_model import Ridge

    from rung.sklearn import RungSearchCV

    rng = np.random.RandomState(0)
    X = rng.randn(270, 5)
    y = X @ rng.randn(5) + rng.randn(270)
    with caplog.at_level(logging.WARNING, logger="rung"):
        search = RungSearchCV(Ridge(), {"alpha": loguniform(1e-3, 1e3)}, n_candidates=27,
                              factor=3, cv=3, random_state=0).fit(X, y)
    assert search.n_resources_ == [6, 18, 54, 162]  # it went through its iterations
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
