"""PB2's model (``rung.schedulers.pb2``): exact GP regression with the time-varying
squared-exponential kernel of Bogunovic, Scarlett and Cevher ("Time-Varying Gaussian Process
Bandit Optimization", AISTATS 2016), as in Parker-Holder, Nguyen and Roberts (NeurIPS 2020),
section 4::

    k((x, t), (x', t')) = s2 * exp(-|x - x'|^2 / (2 l^2)) * (1 - eps) ** (|t - t'| / 2)

fitted by maximum marginal likelihood (L-BFGS-B from fixed starts: a fit is a pure function of
its data), and GP-UCB's maximizer on ``[0, 1]^d`` (Srinivas, Krause, Kakade and Seeger, ICML
2010), pending points counting for the variance only (Desautels, Krause and Burdick, GP-BUCB,
JMLR 2014). The rule in full is ``rung.schedulers.pb2``'s docstring.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.linalg import cho_factor, cho_solve, solve_triangular
from scipy.optimize import minimize

from rung.searchers._gp import _robust_cholesky

#: Uniform candidates scored before the best is polished.
N_CANDIDATES = 256
#: GP-UCB's confidence parameter (Srinivas et al. 2010).
DELTA = 0.1
#: Bounds of the kernel's hyperparameters (``y`` standardized, ``x`` in the unit cube, ``t`` in
#: intervals): lengthscale, signal variance, noise variance, eps.
_BOUNDS = ((0.05, 5.0), (0.05, 20.0), (1e-6, 2.0), (1e-4, 0.5))
_STARTS = ((0.3, 1.0, 0.1, 0.1), (1.0, 1.0, 0.01, 0.01))
_JITTER = 1e-8


class TimeVaryingGP:
    """Exact GP regression with the time-varying squared-exponential kernel (module
    docstring), on inputs ``X`` (unit cube), times ``t`` and targets ``y`` (standardized here);
    its hyperparameters are fitted when it is built."""

    def __init__(self, X: np.ndarray, t: np.ndarray, y: np.ndarray) -> None:
        self.X, self.t = X, t
        sd = float(np.std(y))
        self.y_mean, self.y_sd = float(np.mean(y)), (sd if sd > 0 else 1.0)
        self.y = (y - self.y_mean) / self.y_sd
        self._d2 = _sqdist(X, X)
        self._dt = np.abs(t[:, None] - t[None, :])
        self.theta = self._fit()
        self.L, self.alpha = self._factor(self.X, self.t, self.theta, self.y)

    @staticmethod
    def kernel(A: np.ndarray, ta: np.ndarray, B: np.ndarray, tb: np.ndarray,
               theta: Sequence[float]) -> np.ndarray:
        return _tv_se(_sqdist(A, B), np.abs(ta[:, None] - tb[None, :]), theta)

    def _factor(self, X: np.ndarray, t: np.ndarray, theta: Sequence[float],
                y: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        K = self.kernel(X, t, X, t, theta) + (theta[2] + _JITTER) * np.eye(len(t))
        L = _robust_cholesky(K)
        if y is None:
            return L, None
        return L, cho_solve((L, True), y, check_finite=False)

    def _nll(self, log_theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log marginal likelihood (up to a constant) at ``exp(log_theta)``, and its
        gradient in ``log_theta`` (``0.5 tr((K^-1 - a a^T) dK)``, ``a = K^-1 y``)."""
        theta = np.exp(log_theta)
        ls, _, noise, eps = theta
        n = len(self.y)
        Kf = _tv_se(self._d2, self._dt, theta)
        K = Kf + (noise + _JITTER) * np.eye(n)
        try:
            c = cho_factor(K, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros(4)
        alpha = cho_solve(c, self.y, check_finite=False)
        nll = float(0.5 * self.y @ alpha + np.sum(np.log(np.diag(c[0]))))
        W = cho_solve(c, np.eye(n), check_finite=False) - np.outer(alpha, alpha)
        WK = W * Kf
        grad = 0.5 * np.array([
            float(np.sum(WK * self._d2)) / (ls * ls),  # d/dlog l
            float(np.sum(WK)),  # d/dlog s2
            float(np.trace(W)) * noise,  # d/dlog noise
            float(np.sum(WK * self._dt)) * -eps / (2 * (1 - eps)),  # d/dlog eps
        ])
        return nll, grad

    def _fit(self) -> tuple[float, float, float, float]:
        """Marginal-likelihood hyperparameters (in log space, L-BFGS-B, fixed starts)."""
        bounds = [(math.log(lo), math.log(hi)) for lo, hi in _BOUNDS]
        best: tuple[float, np.ndarray] | None = None
        for start in _STARTS:
            res = minimize(self._nll, np.log(start), jac=True, method="L-BFGS-B",
                           bounds=bounds, options={"maxiter": 60})
            if math.isfinite(res.fun) and (best is None or res.fun < best[0]):
                best = (float(res.fun), np.asarray(res.x))
        x = np.exp(best[1]) if best is not None else np.array(_STARTS[0])
        return float(x[0]), float(x[1]), float(x[2]), float(x[3])

    def ucb_argmax(
        self, now: float, pending: np.ndarray, donor: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, dict[str, float]]:
        """The point of ``[0, 1]^d`` maximizing the UCB at time ``now``, the variance taken
        with ``pending`` rows (``(t, x)``) added to the inputs; and what decided it."""
        d = self.X.shape[1]
        n = len(self.y)
        beta = 2.0 * math.log(n * n * math.pi**2 / (6.0 * DELTA)) / 5.0
        theta = self.theta
        if len(pending):
            Xv = np.vstack([self.X, pending[:, 1:]])
            tv = np.concatenate([self.t, pending[:, 0]])
            Lv, _ = self._factor(Xv, tv, theta, None)
        else:
            Xv, tv, Lv = self.X, self.t, self.L

        def ucb(U: np.ndarray) -> np.ndarray:
            tu = np.full(len(U), now)
            mu = self.kernel(U, tu, self.X, self.t, theta) @ self.alpha
            v = solve_triangular(Lv, self.kernel(Xv, tv, U, tu, theta), lower=True,
                                 check_finite=False)
            var = np.maximum(theta[1] - np.sum(v * v, axis=0), 1e-12)
            return np.asarray(mu + math.sqrt(beta) * np.sqrt(var))

        cands = np.vstack([rng.random((N_CANDIDATES, d)), donor[None, :]])
        scores = ucb(cands)
        x0 = cands[int(np.argmax(scores))]
        res = minimize(lambda u: -float(ucb(u[None, :])[0]), x0, method="L-BFGS-B",
                       bounds=[(0.0, 1.0)] * d, options={"maxiter": 50})
        u = np.clip(np.asarray(res.x), 0.0, 1.0) if -res.fun >= scores.max() else x0
        ls, s2, noise, eps = theta
        tu = np.full(1, now)
        mu = float((self.kernel(u[None, :], tu, self.X, self.t, theta) @ self.alpha)[0])
        v = solve_triangular(self.L, self.kernel(self.X, self.t, u[None, :], tu, theta),
                             lower=True, check_finite=False)
        sd = math.sqrt(max(theta[1] - float(np.sum(v * v)), 0.0))
        return u, {"lengthscale": ls, "signal": s2, "noise": noise, "eps": eps, "beta": beta,
                   "mean": self.y_mean + self.y_sd * mu, "sd": self.y_sd * sd}


def _sqdist(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    return np.asarray(np.sum((A[:, None, :] - B[None, :, :]) ** 2, axis=2))


def _tv_se(d2: np.ndarray, dt: np.ndarray, theta: Sequence[float]) -> np.ndarray:
    """The time-varying squared-exponential kernel from squared distances ``d2`` and time
    gaps ``dt``: ``s2 exp(-d2 / (2 l^2)) (1 - eps)^(dt / 2)``."""
    ls, s2, _, eps = theta
    return np.asarray(s2 * np.exp(-d2 / (2 * ls * ls) + (0.5 * math.log1p(-eps)) * dt))
