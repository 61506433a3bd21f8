"""How ``RungSearchCV`` (``rung.sklearn``) puts scikit-learn's candidates and scores into a rung
study.

- ``_is_rung_space``: whether ``param_distributions`` is a rung space (a ``SearchSpace``, or a
  mapping of rung parameters) rather than scikit-learn's distributions;
- ``_candidate_space``: a space with one ``Categorical`` per parameter of scikit-learn's
  candidates, and the candidates as its points (``_plain``: a value as a JSON scalar, or its
  ``repr``); ``None`` when they do not make one, and the candidates are then proposed by their
  index, the parameter ``_INDEX``;
- ``METRIC``, ``_ranked``: the study's objective metric and the metrics reported for a mean
  test score: a finite stand-in for one that is not finite (rung's schedulers never promote a
  non-finite score), with why it has none;
- ``_ilog``: ``floor(log_base(n))`` in exact integer arithmetic, for the iterations' steps.

Nothing here imports scikit-learn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def _is_rung_space(space: Any) -> bool:
    from rung.space import SearchSpace
    from rung.space.params import Param

    if isinstance(space, SearchSpace):
        return True
    return (isinstance(space, Mapping) and len(space) > 0
            and all(isinstance(v, Param) for v in space.values()))


#: the parameter of a study whose candidates are proposed by their index
_INDEX = "candidate"


def _candidate_space(
    candidates: Sequence[Mapping[str, Any]],
) -> tuple[Any, list[dict[str, Any]]] | None:
    """A space with one ``Categorical`` per parameter of ``candidates`` (their values, in
    first-seen order) and the candidates as points of it; ``None`` if they do not all set
    the same parameters (a list of dicts with other keys), or the values do not make a
    space."""
    from rung.errors import RungError
    from rung.space import Categorical, SearchSpace

    if not candidates:
        return None
    keys = list(candidates[0])
    if not keys or any(sorted(c) != sorted(keys) for c in candidates):
        return None
    points = [{k: _plain(c[k]) for k in keys} for c in candidates]
    choices: dict[str, dict[tuple[str, Any], Any]] = {k: {} for k in keys}
    for point in points:
        for k, v in point.items():
            choices[k].setdefault((type(v).__name__, v), v)
    try:
        space = SearchSpace({k: Categorical(list(c.values())) for k, c in choices.items()})
    except (RungError, TypeError, ValueError):
        return None
    return space, points


def _plain(value: Any) -> Any:
    """``value`` as a JSON scalar: itself, a NumPy scalar's value, or its ``repr``."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float) and np.isfinite(value):
        return value
    return repr(value)


#: the study's objective metric (maximized): scikit-learn's name for what ranks a candidate,
#: which rung's own lower-is-better ``score`` column (its negation) does not collide with
METRIC = "mean_test_score"

#: what a candidate whose mean test score is NaN, or -inf, is ranked by: below every finite
#: score (NaN below -inf), so that, as in scikit-learn, it goes on only when too few
#: candidates have a score (rung's schedulers never promote a score that is not finite)
_NAN_RANK = -float(np.finfo(float).max)
_NEG_INF_RANK = float(np.nextafter(_NAN_RANK, 0.0))


def _ranked(score: float, why: str = "") -> dict[str, Any]:
    """The metrics reported for a candidate's mean test ``score``: ``score`` itself under
    ``METRIC``; for one that is not finite, a finite stand-in there (the scheduler ranks by
    it: rung's journal holds a finite objective value for every result it ranks) and ``why``
    the candidate has no score under ``no_score``."""
    if np.isfinite(score):
        return {METRIC: score}
    stand_in = (_NAN_RANK if score != score else _NEG_INF_RANK if score < 0
                else float(np.finfo(float).max))
    return {METRIC: stand_in, "no_score": why or f"mean test score is {score}"}


def _ilog(n: int, base: int) -> int:
    """``floor(log_base(n))`` for ``n >= 1``, in exact integer arithmetic."""
    k = 0
    while base ** (k + 1) <= n:
        k += 1
    return k
