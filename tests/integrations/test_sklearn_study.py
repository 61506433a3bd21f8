"""RungSearchCV's study (rung.sklearn_study): its name under parallel fits, how its trials end
when a fit raises, its objective metric and what it records for a candidate without a score,
and what ``storage`` accepts."""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.datasets import make_regression
from sklearn.linear_model import Ridge

from rung import Study
from rung.cli.report import show_study
from rung.errors import ConfigError
from rung.sklearn import RungSearchCV
from rung.storage import SQLiteJournal, open_journal

X, Y = make_regression(n_samples=270, n_features=8, noise=10.0, random_state=0)
ALPHAS = {"alpha": [0.01, 0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6]}


class Boom(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Ridge, whose fit raises on ``fail_from`` training rows or more (``KeyboardInterrupt``
    with ``interrupt``, as Ctrl-C does)."""

    def __init__(self, alpha: float = 1.0, fail_from: int = 10**9,
                 interrupt: bool = False) -> None:
        self.alpha = alpha
        self.fail_from = fail_from
        self.interrupt = interrupt

    def fit(self, x: Any, y: Any) -> Boom:
        if len(x) >= self.fail_from:
            if self.interrupt:
                raise KeyboardInterrupt
            raise RuntimeError(f"boom at {len(x)} rows")
        self.model_ = Ridge(alpha=self.alpha).fit(x, y)
        return self

    def predict(self, x: Any) -> Any:
        return self.model_.predict(x)


def test_parallel_fits_on_one_file_each_get_a_study(tmp_path: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Fits sharing ``storage`` that all list the studies before any creates one (as
    cross_val_score(search, n_jobs=2) did) each take the next free name. Before, the first
    free name was listed and then created: all but one fit raised JournalError("study
    'RungSearchCV-Ridge' already exists ...")."""
    db = tmp_path / "s.db"
    n = 4
    barrier = threading.Barrier(n, timeout=60)
    listed = threading.local()
    original = SQLiteJournal.list_studies

    def list_then_wait(self: SQLiteJournal) -> list[str]:
        names = original(self)
        if not getattr(listed, "once", False):  # every fit has listed before any creates
            listed.once = True
            barrier.wait()
        return names

    monkeypatch.setattr(SQLiteJournal, "list_studies", list_then_wait)
    names: list[str] = []
    errors: list[BaseException] = []

    def fit() -> None:
        try:
            search = RungSearchCV(Ridge(), ALPHAS, n_candidates=3, cv=3, random_state=0,
                                  storage=db).fit(X, Y)
            names.append(search.study_name_)
        except BaseException as e:  # reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=fit) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(names) == ["RungSearchCV-Ridge"] + [f"RungSearchCV-Ridge-{k}" for k in
                                                      (2, 3, 4)]
    monkeypatch.undo()
    journal = open_journal(db)
    assert sorted(journal.list_studies()) == sorted(names)
    journal.close()


@pytest.mark.parametrize(("kwargs", "raised", "status", "error"), [
    ({"error_score": "raise"}, RuntimeError, "failed", "RuntimeError: boom at 12 rows"),
    ({}, ValueError, "failed", "ValueError: All the 9 fits failed."),
    ({"interrupt": True}, KeyboardInterrupt, "interrupted", None),
])
def test_a_fit_that_raises_ends_the_running_trials(
    kwargs: dict[str, Any], raised: type[BaseException], status: str, error: str | None,
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every fit of the second iteration (12 training rows) raises: with error_score="raise"
    the estimator's error, with error_score=nan scikit-learn's "All the 9 fits failed", or
    Ctrl-C. Its three trials end failed with the exception (interrupted for Ctrl-C), and
    ``rung show`` suggests no resume. Before, they were left running and rung show said
    "resume it from Python, Study.load(...).run(objective)", which a search cannot do."""
    db = tmp_path / "s.db"
    est = Boom(fail_from=12, interrupt=kwargs.pop("interrupt", False))
    search = RungSearchCV(est, ALPHAS, n_candidates=9, cv=3, random_state=0, storage=db,
                          **kwargs)
    with warnings.catch_warnings(), pytest.raises(raised):
        warnings.simplefilter("ignore")
        search.fit(X, Y)
    study = Study.load("RungSearchCV-Boom", storage=db)
    ended = [(t.status.value, t.last_step, t.error and t.error.splitlines()[0])
             for t in study.trials() if t.status.value != "stopped"]
    assert ended == [(status, 1, error)] * 3
    assert study.trials("running") == []
    text = show_study("RungSearchCV-Boom", str(db))
    assert "Study.load" not in text and "rung resume" not in text
    study.close()


def test_rung_show_says_a_search_cannot_be_resumed(tmp_path: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A search killed before it could end its trials (here: ending them is disabled) leaves
    them running; its study says scikit-learn drove it, so ``rung show`` says rung cannot
    resume them instead of suggesting Study.load(...).run(objective)."""
    import rung.sklearn_halving

    monkeypatch.setattr(rung.sklearn_halving, "end_active", lambda study, error: None)
    db = tmp_path / "s.db"
    with warnings.catch_warnings(), pytest.raises(RuntimeError):
        warnings.simplefilter("ignore")
        RungSearchCV(Boom(fail_from=12), ALPHAS, n_candidates=9, cv=3, random_state=0,
                     storage=db, error_score="raise").fit(X, Y)
    text = show_study("RungSearchCV-Boom", str(db))
    assert ("note: 3 trial(s) were running when the driver stopped; scikit-learn "
            "(RungSearchCV) drove this study and ran its trials: rung cannot resume them") in text
    assert "Study.load" not in text


def test_a_callable_scoring_with_several_metrics_is_refused_naming_scoring(
    tmp_path: Any,
) -> None:
    """Before: KeyError('mean_test_score') from inside the search, its trials left running."""
    db = tmp_path / "s.db"

    def two(est: Any, x: Any, y: Any) -> dict[str, float]:
        return {"r2": float(est.score(x, y)), "one": 1.0}

    with pytest.raises(ConfigError) as e:
        RungSearchCV(Ridge(), ALPHAS, n_candidates=9, cv=3, random_state=0, storage=db,
                     scoring=two).fit(X, Y)
    message = ("scoring: the callable returned several metrics (one, r2): successive halving "
               "ranks the candidates by one score; return one number")
    assert str(e.value) == message
    study = Study.load("RungSearchCV-Ridge", storage=db)
    assert {(t.status.value, t.error) for t in study.trials()} == {
        ("failed", f"ConfigError: {message}")}
    study.close()


def test_the_objective_is_mean_test_score_and_a_failed_candidate_says_why(
    tmp_path: Any,
) -> None:
    """The study's metric is scikit-learn's mean_test_score: trials_dataframe's value is the
    score and rung's own score column its negation (before, the metric was named "score":
    value 0.9 beside score -0.9, and results_dataframe renamed it metric_score). A candidate
    whose every fit failed is ranked by the stand-in, with no_score naming the fit error
    (before, the journal held no error text)."""
    db = tmp_path / "s.db"
    grid = [{"alpha": [0.01], "fail_from": [0]}, {"alpha": [0.1, 1.0, 10.0]}]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FitFailedWarning
        search = RungSearchCV(Boom(), grid, n_candidates=4, cv=3, random_state=0,
                              storage=db, min_resources=30).fit(X, Y)
    study = Study.load(search.study_name_, storage=db)
    assert (study.spec.objective.metric, study.spec.objective.mode) == ("mean_test_score", "max")
    df = study.trials_dataframe()
    best = study.best_trial
    assert best is not None and best.value == search.best_score_
    finite = df[np.isfinite(df["value"]) & (df["value"] > -1e300)]
    np.testing.assert_allclose(finite["score"], -finite["value"])
    assert "metric_score" not in study.results_dataframe().columns
    first = search.cv_results_["params"][:4]
    failing = first.index({"alpha": 0.01, "fail_from": 0})
    metrics = study.trials()[failing].results[0].metrics
    assert metrics == {
        "mean_test_score": -np.finfo(float).max,
        "no_score": "mean test score is nan at n_resources=30: 3 of 3 split scores are nan; "
                    "3 fits failed out of a total of 12 in this evaluation: RuntimeError: "
                    "boom at 20 rows"}
    study.close()


def test_a_journal_object_as_storage_is_refused(tmp_path: Any) -> None:
    """``storage`` is a path: a Journal object was closed by the first fit ("Cannot operate
    on a closed database" at the second) and made clone / cross_val_score fail ("cannot
    pickle 'sqlite3.Connection'")."""
    journal = open_journal(tmp_path / "s.db")
    with pytest.raises(ConfigError) as e:
        RungSearchCV(Ridge(), ALPHAS, n_candidates=3, cv=3, storage=journal).fit(X, Y)
    assert e.value.key == "storage"
    assert str(e.value).startswith(
        "storage: a SQLite file path or None, got SQLiteJournal <rung.storage.sqlite.")
    assert str(e.value).endswith(
        ": an estimator's parameters are plain values (scikit-learn clones and pickles it, "
        "cross_val_score fits it again), which an open journal is not; give the journal's "
        "path")
    assert journal.list_studies() == []  # nothing written, and the caller's journal is open
    journal.close()
