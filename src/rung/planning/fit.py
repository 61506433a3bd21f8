"""Learning-curve fits for the planner: one power law per pilot trial, with a pooled prior.

Model. In score space (lower is better: ``Objective.score``), trial ``k``'s curve is the
three-parameter power law

    y_k(s) = c_k + a_k * s ** (-alpha_k),        alpha_k > 0,

the ``pow3`` member of the parametric families Domhan, Springenberg and Hutter (2015,
"Speeding up Automatic Hyperparameter Optimization of Deep Neural Networks by Extrapolation of
Learning Curves") extrapolate with, and the family Kadra et al. (2023, "Scaling Laws for
Hyperparameter Optimization", Deep Power Laws) fit to every configuration. ``c`` is the
asymptote, ``a`` the gap still to close at step 1, ``alpha`` how fast it closes.

Fitting, in two passes (empirical Bayes):

1. Trials with at least ``MIN_POINTS`` results are fitted alone by least squares
   (``scipy.optimize.least_squares``, ``alpha`` through its logarithm, bounded to
   ``[ALPHA_MIN, ALPHA_MAX]``). Their parameters give the pooled prior: the median and a robust
   spread (1.4826 x MAD) of ``log alpha`` and of ``a``, and ``sigma``, the median of their
   residual standard deviations (corrected for the three fitted parameters), which weighs the
   prior against the data below.
2. Every trial is refitted as a maximum a posteriori estimate: the residuals are stacked with
   ``sigma * (theta - prior_mean) / prior_spread`` for ``theta = (log alpha, a)``, so a trial
   with many points follows its data and a trial stopped after one or two steps takes its
   shape from the population (one point fixes only its level ``c``).

Observation noise (``CurvePrior.noise``, what the planner adds to a synthetic curve) is not
``sigma``: a power law misfits curves that are flat and then drop (a classifier's error stuck at
the class prior for its first steps), and that misfit is smooth along the steps, not noise. The
noise is estimated from differences of consecutive residuals, which cancel a smooth misfit:
``median |r(s) - r(s')| / (0.6745 * sqrt 2)`` over pairs of consecutive reported steps of the
well-observed trials (the difference-based variance estimator of Rice 1984, "Bandwidth Choice
for Nonparametric Regression", made robust with the median absolute deviation). A metric
measured without noise (a recorded table, a deterministic model) gets ``noise = 0``, so
configurations whose curves coincide (a plateau shared by many) tie as they do in the real
study, and the scheduler's decisions on ties are simulated as they will happen.

With no well-observed trial there is no population to borrow from: the prior is then a flat
curve (``a = 0``) around ``ALPHA_PRIOR``, so short trials extrapolate their last value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

MIN_POINTS = 4
ALPHA_MIN, ALPHA_MAX = 0.02, 4.0
ALPHA_PRIOR = 0.5
_MAD = 1.4826  # MAD -> standard deviation for a normal distribution


@dataclass(frozen=True)
class CurveFit:
    """One trial's fitted power law (see the module docstring) and how many points it used."""

    c: float
    a: float
    alpha: float
    n_points: int

    def __call__(self, steps: np.ndarray | Sequence[int] | int) -> np.ndarray:
        """The fitted score at ``steps`` (an array, or one step)."""
        s = np.asarray(steps, dtype=float)
        return np.asarray(self.c + self.a * s ** (-self.alpha))


@dataclass(frozen=True)
class CurvePrior:
    """The pooled prior and noise of pass 1 (module docstring)."""

    log_alpha: float
    log_alpha_sd: float
    a: float
    a_sd: float
    sigma: float
    n_trials: int  # how many well-observed trials it pools
    noise: float = 0.0  # observation noise (module docstring)


def _residuals(theta: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    c, a, la = theta
    return np.asarray(c + a * s ** (-math.exp(la)) - y)


def _solve(s: np.ndarray, y: np.ndarray, prior: CurvePrior | None) -> np.ndarray:
    from scipy.optimize import least_squares

    lo, hi = math.log(ALPHA_MIN), math.log(ALPHA_MAX)
    la0 = prior.log_alpha if prior is not None else math.log(ALPHA_PRIOR)
    a0 = prior.a if prior is not None else float(y[0] - y[-1]) if len(y) > 1 else 0.0
    c0 = float(y[-1]) - a0 * float(s[-1]) ** (-math.exp(la0))
    x0 = np.array([c0, a0, min(max(la0, lo), hi)])
    if prior is None:
        def fun(theta: np.ndarray) -> np.ndarray:
            return _residuals(theta, s, y)
    else:
        # a noise-free pilot still needs the prior to pin the shape of its short trials
        w = max(prior.sigma, 1e-4 * max(abs(prior.a), 1e-3))
        pm = np.array([prior.log_alpha, prior.a])
        ps = np.array([max(prior.log_alpha_sd, 1e-3), max(prior.a_sd, 1e-9)])

        def fun(theta: np.ndarray) -> np.ndarray:
            pen = w * (np.array([theta[2], theta[1]]) - pm) / ps
            return np.concatenate([_residuals(theta, s, y), pen])

    res = least_squares(fun, x0, bounds=([-np.inf, -np.inf, lo], [np.inf, np.inf, hi]),
                        method="trf", x_scale="jac", max_nfev=400)
    return np.asarray(res.x)


def pooled_prior(curves: Mapping[int, tuple[np.ndarray, np.ndarray]]) -> CurvePrior:
    """Pass 1: free fits of the trials with ``MIN_POINTS`` or more results, pooled."""
    las: list[float] = []
    amps: list[float] = []
    sds: list[float] = []
    diffs: list[np.ndarray] = []
    for s, y in curves.values():
        if len(s) < MIN_POINTS:
            continue
        c, a, la = _solve(s, y, None)
        las.append(float(la))
        amps.append(float(a))
        r = _residuals(np.array([c, a, la]), s, y)
        sds.append(float(np.sqrt((r**2).sum() / (len(s) - 3))))
        diffs.append(np.abs(np.diff(r)))
    if not las:
        return CurvePrior(math.log(ALPHA_PRIOR), 0.5, 0.0, 1e-6, 0.0, 0)
    la_arr, a_arr = np.array(las), np.array(amps)
    la_sd = _MAD * float(np.median(np.abs(la_arr - np.median(la_arr))))
    a_sd = _MAD * float(np.median(np.abs(a_arr - np.median(a_arr))))
    scale = float(np.median(np.abs(a_arr))) or 1.0
    return CurvePrior(
        log_alpha=float(np.median(la_arr)),
        log_alpha_sd=max(la_sd, 0.1),  # never certain of the shape: keep the data in charge
        a=float(np.median(a_arr)),
        a_sd=max(a_sd, 0.1 * scale),
        sigma=float(np.median(sds)),
        n_trials=len(las),
        noise=float(np.median(np.concatenate(diffs))) / (0.6745 * math.sqrt(2.0)),
    )


def fit_curves(
    curves: Mapping[int, tuple[Sequence[int] | np.ndarray, Sequence[float] | np.ndarray]],
) -> tuple[dict[int, CurveFit], CurvePrior]:
    """Fit every trial's curve (module docstring).

    Args:
        curves: trial id -> ``(steps, scores)``: the steps it reported (ascending, distinct)
            and their lower-is-better scores; at least one point each.

    Returns:
        ``(fits, prior)``: one ``CurveFit`` per trial id, and the pooled prior with the
        observation ``noise`` the planner adds to synthetic curves.
    """
    data = {
        k: (np.asarray(s, dtype=float), np.asarray(y, dtype=float)) for k, (s, y) in curves.items()
    }
    prior = pooled_prior(data)
    fits: dict[int, CurveFit] = {}
    for k, (s, y) in data.items():
        if len(s) == 1 and prior.n_trials == 0:
            fits[k] = CurveFit(float(y[0]), 0.0, ALPHA_PRIOR, 1)
            continue
        c, a, la = _solve(s, y, prior)
        fits[k] = CurveFit(float(c), float(a), float(math.exp(la)), len(s))
    return fits, prior
