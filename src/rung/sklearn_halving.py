"""The iterations of ``RungSearchCV`` (``rung.sklearn``): which candidates each one
cross-validates, in which batches, in which order, and what the study is told.

**Iterations.** Iteration ``i`` is step ``factor**i`` of the study. Its trials (the
candidates the scheduler carried on) are cross-validated by one call of scikit-learn's
``evaluate_candidates`` on ``n_resources_[i]`` units of the resource, which appends their rows
to ``cv_results_``: listed by their rank in the previous iteration, best first (ties in
candidate order). Each mean test score is reported at the step, and the scheduler's decision
says whether the trial goes on, waits for the rest of its rung (``paused``) or is stopped.

**The first iteration, in batches.** A searcher that learns from results (every searcher but
``"random"``, ``"sobol"`` and ``"grid"``: ``"tpe"``, ``"gp"``, ``"bohb"``, an Optuna sampler)
proposes the first iteration's candidates in batches: each batch is cross-validated and
reported before the next one is asked for, so the searcher places it by the scores of the
candidates before it. The first batch is the searcher's initial design (``n_initial``
candidates, at least as many as a batch); then batches of ``max(4, ceil(n_jobs / n_splits))``, the
fewest that keep ``n_jobs`` workers busy with their splits (fewer candidates per batch means
more model updates, less parallelism). The iteration keeps its ``n_candidates`` candidates,
its rows are appended batch after batch in candidate order, and every batch is trained and
tested on the same subsample of every split (also with ``random_state=None``); ``verbose``
prints the iteration's header once and scikit-learn's ``Fitting ...`` line per batch. The other
searchers, and scikit-learn's distributions, propose the whole iteration at once, as
``HalvingRandomSearchCV`` draws it.

scikit-learn refuses an ``evaluate_candidates`` call in which every fit fails (``ValueError:
All the N fits failed``): a batch it refuses is cross-validated again, once, with the next
batch (its trials are told nothing meanwhile), so a batch of failing candidates costs its fits
twice but stops nothing. If that evaluation fails too, or no batch follows (the iteration's
last), the refusal propagates, as scikit-learn's does for an iteration in which every fit
fails (an estimator that always fails is not fitted over and over).

**Candidates without a score.** A mean test score that is not finite is reported as the
objective's finite stand-in (``sklearn_candidates._ranked``) with ``no_score`` saying why: how
many splits had no score, and the errors of the fits that failed in that evaluation (from
scikit-learn's ``FitFailedWarning``, which is still shown as it would have been). A candidate
still without a score after the last iteration ends ``failed`` with that text as its error,
its last result ``no_score`` alone (no cut follows that would need the stand-in).

If anything raises (a fit with ``error_score="raise"``, an iteration whose every fit failed,
a scorer, Ctrl-C), the trials still running are ended (``sklearn_study.end_active``) before
the exception propagates.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rung.errors import ConfigError
from rung.sklearn_candidates import METRIC, _ilog, _plain, _ranked
from rung.sklearn_study import end_active

#: searchers whose proposals do not depend on results: the first iteration is asked at once
_NON_ADAPTIVE = ("random", "sobol", "grid")
#: the fewest candidates in a batch of the first iteration (after the initial design)
_MIN_BATCH = 4
#: the registry of the fit-failure warnings warned again (``_fit_failures``): a warning of the
#: same text from the same line is shown once, as Python's ``"default"`` action does
_WARNED: dict[Any, Any] = {}


class _Subsample:
    """Each split of ``base_cv`` with a fraction of its train and test indices, drawn with
    ``sklearn.utils.resample`` (without replacement) from ``random_state``: the subsample
    scikit-learn's halving search uses, so both see the same rows. Drawn at the first
    ``split`` call and the same at every later one, so that the batches of one iteration are
    compared on the same rows whatever ``random_state`` is."""

    def __init__(self, base_cv: Any, fraction: float, random_state: Any) -> None:
        self.base_cv = base_cv
        self.fraction = fraction
        self.random_state = random_state
        self._splits: list[tuple[Any, Any]] | None = None

    def split(self, X: Any, y: Any = None, **kwargs: Any) -> Iterator[tuple[Any, Any]]:
        from sklearn.utils import resample

        if self._splits is None:
            self._splits = [
                (resample(train, replace=False, random_state=self.random_state,
                          n_samples=int(self.fraction * len(train))),
                 resample(test, replace=False, random_state=self.random_state,
                          n_samples=int(self.fraction * len(test))))
                for train, test in self.base_cv.split(X, y, **kwargs)]
        yield from self._splits

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return int(self.base_cv.get_n_splits(X, y, groups))


@dataclass(frozen=True, slots=True)
class _Member:
    """A trial due at a step: its id, its candidate's parameters and the step it runs to."""

    tid: int
    params: dict[str, Any]
    until: int


class Halving:
    """Runs the iterations of one ``fit`` of ``search`` (a ``RungSearchCV`` whose resources
    are resolved) on ``study``; ``candidates``: scikit-learn's candidates, which trial ``i``
    (``by_id``) or the candidate index parameter names, or ``None`` for a rung space.

    After ``run``: ``search.n_resources_`` and ``search.n_candidates_`` per iteration, and
    ``rows``, the trial of each row of ``cv_results_``."""

    def __init__(self, search: Any, study: Any, last_step: int,
                 candidates: list[dict[str, Any]] | None, by_id: bool,
                 evaluate_candidates: Callable[..., Any], n_planned: int) -> None:
        from joblib import effective_n_jobs

        self.search = search
        self.study = study
        study._restarts_by_design = True  # each iteration refits from scratch: no warning
        self.last_step = last_step
        self.candidates = candidates
        self.by_id = by_id
        self.evaluate = evaluate_candidates
        self.n_planned = n_planned
        self.rows: list[int] = []
        self._rank: dict[int, float] = {}  # each trial's ranked score at its last iteration
        self._cvs: dict[int, Any] = {}  # step -> the subsampling splitter of its iteration
        self.batch = max(_MIN_BATCH, -(-int(effective_n_jobs(search.n_jobs))
                                       // int(search.n_splits_)))
        n_initial = getattr(study.engine.searcher, "n_initial", 0)
        self.first = max(n_initial if isinstance(n_initial, int) else 0, self.batch)
        self.batched = (candidates is None and study.spec.searcher.name not in _NON_ADAPTIVE
                        and self.first < n_planned)

    def run(self) -> None:
        """Every iteration; the trials still running are ended if anything raises."""
        self.search.n_resources_ = []
        self.search.n_candidates_ = []
        try:
            carry = self._first_in_batches() if self.batched else []
            while True:
                batch = list(carry)
                while (t := self.study.ask()) is not None:
                    batch.append(self._member(t))
                if not batch:
                    return
                step = batch[0].until
                if any(m.until != step for m in batch):  # one iteration at a time
                    raise AssertionError(f"successive halving mixed steps {batch}")
                # listed best first: by the previous iteration's rank, ties in candidate order
                batch.sort(key=lambda m: (-self._rank.get(m.tid, 0.0), m.tid))
                self._start(step, len(batch))
                carry = self._report(batch, self._cross_validate(batch, step), step)
        except BaseException as e:
            end_active(self.study, e)
            raise

    def _first_in_batches(self) -> list[_Member]:
        """The first iteration, batch after batch (see the module docstring); the trials due
        at the next step that the scheduler handed out once it was over."""
        self._start(1, self.n_planned)
        deferred: list[_Member] = []  # a batch whose every fit failed, evaluated again once
        later: list[_Member] = []
        asked = evaluated = 0
        size = self.first
        exhausted = False  # the searcher (or the budget) gives no more candidates
        while not later:
            new: list[_Member] = []
            while len(new) < size:
                t = self.study.ask()
                if t is None:
                    exhausted = True
                    break
                m = self._member(t)
                if m.until != 1:  # the first rung is complete: the next iteration's
                    later.append(m)
                    break
                new.append(m)
            asked += len(new)
            size = self.batch
            if not new and not deferred:
                break
            batch = deferred + new
            try:
                scores = self._cross_validate(batch, 1)
            except ValueError as e:
                if (not _all_fits_failed(e) or deferred or exhausted
                        or asked >= self.n_planned):
                    raise  # evaluated again already, or no batch follows to evaluate it with
                deferred = batch
                continue
            deferred = []
            evaluated += len(batch)
            later += self._report(batch, scores, 1)
        self.search.n_candidates_[-1] = evaluated
        return later

    def _member(self, trial: Any) -> _Member:
        """The trial ``ask`` returned, with its candidate's parameters."""
        p = dict(trial.params)
        if self.candidates is not None:  # enqueued in order (trial i is candidate i), or
            # proposed by a grid over their index
            from rung.sklearn_candidates import _INDEX

            c = self.candidates[trial.id if self.by_id else p[_INDEX]]
            if self.by_id and p != {k: _plain(v) for k, v in c.items()}:
                raise AssertionError(f"trial {trial.id} launched {p}, not candidate {c}")
            p = dict(c)
        return _Member(trial.id, p, self.study.engine.active[trial.id].until_step)

    def _start(self, step: int, n_candidates: int) -> None:
        """Record (and with ``verbose``, print as scikit-learn does) an iteration's start."""
        s = self.search
        n_resources = min(step * s.min_resources_, s.max_resources_)
        s.n_resources_.append(n_resources)
        s.n_candidates_.append(n_candidates)
        if s.verbose:
            print("-" * 10)
            print(f"iter: {_ilog(step, int(s.factor))}")
            print(f"n_candidates: {n_candidates}")
            print(f"n_resources: {n_resources}")

    def _cross_validate(self, batch: Sequence[_Member], step: int) -> list[tuple[float, str]]:
        """Cross-validate ``batch`` at ``step``'s resource: each one's mean test score, and
        why it has none when it is not finite."""
        s = self.search
        n_resources = min(step * s.min_resources_, s.max_resources_)
        if s.resource == "n_samples":
            cv = self._cvs.get(step)
            if cv is None:
                cv = self._cvs[step] = _Subsample(s._checked_cv_orig, n_resources / s._n_samples,
                                                  s.random_state)
            params = [dict(m.params) for m in batch]
        else:
            cv = s._checked_cv_orig
            params = [{**m.params, s.resource: n_resources} for m in batch]
        n = len(params)
        more = {"iter": [_ilog(step, int(s.factor))] * n, "n_resources": [n_resources] * n}
        with _fit_failures() as failures:
            results = self.evaluate(params, cv, more_results=more)
        self.rows.extend(m.tid for m in batch)
        if "mean_test_score" not in results:  # a callable scoring that returned a dict
            names = sorted(k[len("mean_test_"):] for k in results if k.startswith("mean_test_"))
            raise ConfigError(key="scoring", message=(
                f"the callable returned several metrics ({', '.join(names)}): successive "
                "halving ranks the candidates by one score; return one number"))
        means = np.asarray(results["mean_test_score"], dtype=float)[-n:]
        splits = np.array([np.asarray(results[f"split{i}_test_score"], dtype=float)[-n:]
                           for i in range(int(s.n_splits_))])
        return [(float(mean), "" if np.isfinite(mean) else
                 _no_score(float(mean), splits[:, j], n_resources, failures))
                for j, mean in enumerate(means)]

    def _report(self, batch: Sequence[_Member], scores: Sequence[tuple[float, str]],
                step: int) -> list[_Member]:
        """Report each trial's score at ``step`` and end it as the scheduler decides; the
        trials it carries on in place (due at the next step)."""
        carry: list[_Member] = []
        for m, (score, why) in zip(batch, scores, strict=True):
            metrics = _ranked(score, why)
            self._rank[m.tid] = metrics[METRIC]
            if step == self.last_step and score != score:
                # no score at the end: failed, its last result without the stand-in (no
                # later cut needs it ranked), so that its value reads as missing
                self.study.tell(m.tid, "failed", {"no_score": why}, step=step, error=why)
                continue
            decision = self.study.report(m.tid, step, metrics)
            action = decision.action.value
            if action == "continue" and step < self.last_step:
                carry.append(_Member(m.tid, m.params, int(decision.until_step
                                                          or self.last_step)))
                continue
            self.study.tell(m.tid, {"continue": "completed", "pause": "paused"}.get(
                action, "stopped"))
        return carry


def _all_fits_failed(error: ValueError) -> bool:
    """``error`` is scikit-learn's refusal of an evaluation in which every fit failed."""
    return re.match(r"\s*All the \d+ fits failed", str(error)) is not None


def _no_score(mean: float, splits: np.ndarray[Any, Any], n_resources: int,
              failures: Sequence[str]) -> str:
    """Why a candidate's mean test score is ``mean`` (not finite): its splits without a score,
    and the fits of its evaluation that failed (``failures``: the text of scikit-learn's
    ``FitFailedWarning``), else that the scorer gave no score."""
    bad = [float(v) for v in splits if not np.isfinite(v)]
    shown = "nan" if any(v != v for v in bad) else ("-inf" if any(v < 0 for v in bad) else "inf")
    why = (f"mean test score is {mean} at n_resources={n_resources}: {len(bad)} of "
           f"{len(splits)} split scores are {shown}")
    if not failures:
        return f"{why}; no fit failed: the scorer gave no score"
    from rung.reporter import error_summary

    counts = [m.group(0) for f in failures
              if (m := re.search(r"\d+ fits failed out of a total of \d+", f))]
    errors: list[str] = []
    for text in failures:
        for part in text.split("-" * 80 + "\n")[1:]:
            _, _, trace = part.partition("\n")
            line = error_summary(trace)
            if line not in errors:
                errors.append(line)
    return (f"{why}; {', '.join(counts) or 'fits failed'} in this evaluation: "
            f"{'; '.join(errors[:3])}{' ...' if len(errors) > 3 else ''}")


@contextlib.contextmanager
def _fit_failures() -> Iterator[list[str]]:
    """Collects the text of every ``FitFailedWarning`` warned inside (scikit-learn's summary
    of the fits that failed, with their errors), whatever the warning filters say; once the
    block is left, each is warned again as it was, so the caller's filters apply to it as
    they would have (shown, ignored, or raised). Other warnings pass as usual."""
    from sklearn.exceptions import FitFailedWarning

    caught: list[warnings.WarningMessage] = []
    texts: list[str] = []
    try:
        with warnings.catch_warnings():
            shown = warnings.showwarning

            def show(message: Warning | str, category: type[Warning], filename: str,
                     lineno: int, file: Any = None, line: str | None = None) -> None:
                if issubclass(category, FitFailedWarning):
                    caught.append(warnings.WarningMessage(message, category, filename, lineno,
                                                          file, line))
                else:
                    shown(message, category, filename, lineno, file, line)

            warnings.showwarning = show
            warnings.filterwarnings("always", category=FitFailedWarning)
            yield texts
    finally:
        for w in caught:
            texts.append(str(w.message))
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno,
                                   registry=_WARNED)
