"""Gaussian-process regression and LogEI for the ``gp`` searcher (numpy + scipy only).

* Kernel: Matérn-5/2 with one lengthscale per parameter (ARD); a categorical parameter's one-hot
  columns share its lengthscale, so two configurations differing in it are at distance
  ``sqrt(2) / l`` in that parameter.
* Hyperparameters (log lengthscales, log signal variance, log noise variance): maximum a
  posteriori by L-BFGS-B with the analytic gradient of the log marginal likelihood, from a fixed
  set of starts (deterministic, so a fit is a pure function of the data and may be cached).
  Priors: on each lengthscale ``l``, negative log density ``0.1 (l^2 + 1 / l^2)`` (Optuna
  GPSampler's prior on the inverse squared lengthscale ``1 / l^2``, ``-log p = 0.1 / t + 0.1 t``):
  within 0.7 of its minimum for ``l`` in [1/3, 3] and growing exponentially in ``|log l|``
  outside, so with few points a parameter that looks irrelevant keeps a lengthscale of a few
  units (and is still explored).
  Signal variance log-normal around 1 (the outputs are standardized); noise log-normal around
  ``1e-4`` with bounds ``[1e-9, 1]`` (learned, not fixed; the low floor lets a deterministic
  objective's small improvements be resolved). The measurements behind these priors are in
  docs/algorithm-notes.md.
* LogEI: the numerically stable logarithm of expected improvement of Ament, Daulton, Eriksson,
  Balandat and Bakshy, "Unexpected improvements to expected improvement for Bayesian
  optimization", NeurIPS 2023, with its gradient for L-BFGS-B polishing.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import cho_factor, cho_solve, lapack, solve_triangular
from scipy.optimize import minimize
from scipy.special import erfcx, log_ndtr, logsumexp, ndtr

SQRT5 = math.sqrt(5.0)
_C1 = 0.5 * math.log(2 * math.pi)
_C2 = 0.5 * math.log(math.pi / 2)
JITTER = 1e-8
LOG_NOISE_BOUNDS = (math.log(1e-9), 0.0)
LOG_LS_BOUNDS = (math.log(1e-3), math.log(1e3))
LOG_S2_BOUNDS = (math.log(1e-3), math.log(1e2))


_CONTROLLER: list[Any] = []  # one threadpoolctl controller per process, made on first use


def blas_single_thread() -> contextlib.AbstractContextManager[Any]:
    """A context in which BLAS runs on one thread (``threadpoolctl``, a core dependency; a
    no-op should it be missing all the same). The GP's matrices are at most a few hundred
    rows, too small for BLAS threads to pay off, and the driver shares the machine with the
    workers: measured on 2 busy cores (``benchmarks/RESULTS.md``, batch placement), one
    Hartmann6 suggestion at 300 observations took 2.7 s wall and 0.23 s CPU with OpenBLAS's 2
    threads, 1.3 s and 0.09 s with one."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # a core dependency; an install without it is only slower
        return contextlib.nullcontext()
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")  # type: ignore[no-any-return]


def matern52(r: np.ndarray) -> np.ndarray:
    return np.asarray((1.0 + SQRT5 * r + (5.0 / 3.0) * r * r) * np.exp(-SQRT5 * r))


def matern52_dr_over_r(r: np.ndarray) -> np.ndarray:
    """``-(dk/dr) / r`` (finite at r = 0)."""
    return np.asarray((5.0 / 3.0) * (1.0 + SQRT5 * r) * np.exp(-SQRT5 * r))


def log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 - exp(x))`` for ``x < 0``, accurate everywhere (Mächler 2012)."""
    out = np.empty_like(x)
    a = x > -math.log(2.0)
    out[a] = np.log(-np.expm1(x[a]))
    out[~a] = np.log1p(-np.exp(x[~a]))
    return out


def log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z Phi(z))``: log of EI at unit variance (Ament et al. 2023, eq. 9)."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    hi = z > -1.0
    zh = z[hi]
    out[hi] = np.log(np.exp(-0.5 * zh * zh - _C1) + zh * ndtr(zh))
    lo = ~hi
    zl = z[lo]
    far = zl < -1e8
    mid = ~far
    res = np.empty_like(zl)
    zm = zl[mid]
    inner = np.log(erfcx(-zm / math.sqrt(2.0)) * np.abs(zm)) + _C2
    res[mid] = -0.5 * zm * zm - _C1 + log1mexp(np.minimum(inner, -1e-300))
    zf = zl[far]
    res[far] = -0.5 * zf * zf - _C1 - 2.0 * np.log(np.abs(zf))
    out[lo] = res
    return out


def dlog_h(z: np.ndarray, lh: np.ndarray) -> np.ndarray:
    """Derivative of ``log_h``: ``Phi(z) / h(z)``."""
    return np.asarray(np.exp(log_ndtr(z) - lh))


@dataclass(frozen=True, slots=True)
class Hyper:
    log_ls: np.ndarray  # one per parameter group
    log_s2: float
    log_noise: float

    def vector(self) -> np.ndarray:
        return np.concatenate([self.log_ls, [self.log_s2, self.log_noise]])


class Features:
    """Maps unit-encoded points to GP inputs: numeric dimensions as they are (inactive ->
    ``inactive_value``), categorical ones as one-hot columns (inactive -> all zero)."""

    def __init__(self, kinds: np.ndarray, sizes: np.ndarray, cat_kind: int,
                 inactive_value: float = -0.5) -> None:
        cols: list[int] = []
        self.slices: list[tuple[int, int, int]] = []  # (dim, first col, n cols); n=0: numeric
        c = 0
        for j, (k, s) in enumerate(zip(kinds, sizes, strict=True)):
            if k == cat_kind:
                self.slices.append((j, c, int(s)))
                cols.extend([j] * int(s))
                c += int(s)
            else:
                self.slices.append((j, c, 0))
                cols.append(j)
                c += 1
        self.group = np.array(cols, dtype=int)  # column -> parameter
        self.n_cols = c
        self.n_groups = len(kinds)
        self.inactive_value = inactive_value
        self.numeric_cols = np.array([c0 for _, c0, n in self.slices if n == 0], dtype=int)
        self.numeric_dims = np.array([j for j, _, n in self.slices if n == 0], dtype=int)

    def __call__(self, U: np.ndarray) -> np.ndarray:
        Z = np.zeros((U.shape[0], self.n_cols))
        for j, c0, n in self.slices:
            u = U[:, j]
            if n == 0:
                Z[:, c0] = np.where(np.isnan(u), self.inactive_value, u)
            else:
                ok = ~np.isnan(u)
                idx = np.minimum((u[ok] * n).astype(int), n - 1)
                Z[np.flatnonzero(ok), c0 + idx] = 1.0
        return Z


class GP:
    """Exact GP regression with a zero mean on standardized targets."""

    def __init__(self, Z: np.ndarray, y: np.ndarray, group: np.ndarray, n_groups: int) -> None:
        self.Z = Z
        self.y = y
        self.group = group
        self.n_groups = n_groups
        self.hyper: Hyper | None = None

    # --- hyperparameters ---------------------------------------------------------------------
    def _sq_by_group(self) -> np.ndarray:
        n = self.Z.shape[0]
        S = np.zeros((self.n_groups, n, n))
        for c in range(self.Z.shape[1]):
            d = self.Z[:, c][:, None] - self.Z[:, c][None, :]
            S[self.group[c]] += d * d
        return S

    def _neg_log_post(self, theta: np.ndarray, S: np.ndarray) -> tuple[float, np.ndarray]:
        m = self.n_groups
        log_ls, log_s2, log_noise = theta[:m], theta[m], theta[m + 1]
        inv_l2 = np.exp(-2.0 * log_ls)
        r2 = np.tensordot(inv_l2, S, axes=1)
        r = np.sqrt(np.maximum(r2, 0.0))
        s2, noise = math.exp(log_s2), math.exp(log_noise)
        Kf = s2 * matern52(r)
        n = self.y.shape[0]
        K = Kf + (noise + JITTER) * np.eye(n)
        try:
            cf = cho_factor(K, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros_like(theta)
        alpha = cho_solve(cf, self.y, check_finite=False)
        logdet = 2.0 * float(np.sum(np.log(np.diag(cf[0]))))
        nll = 0.5 * float(self.y @ alpha) + 0.5 * logdet + 0.5 * n * math.log(2 * math.pi)
        Kinv, info = lapack.dpotri(cf[0], lower=1)
        if info != 0:
            return 1e10, np.zeros_like(theta)
        Kinv = np.tril(Kinv) + np.tril(Kinv, -1).T
        W = Kinv - np.outer(alpha, alpha)
        g = np.empty_like(theta)
        A = s2 * matern52_dr_over_r(r)
        WA = W * A
        # dK/dlog l_g = A * S_g / l_g^2
        g[:m] = 0.5 * np.tensordot(S, WA, axes=([1, 2], [0, 1])) * inv_l2
        g[m] = 0.5 * float(np.sum(W * Kf))
        g[m + 1] = 0.5 * float(np.trace(W)) * noise
        # priors (negative log densities, up to constants)
        p_ls, dp_ls = lengthscale_penalty(log_ls)
        nll += p_ls
        g[:m] += dp_ls
        nll += (log_s2**2) / 2.0
        g[m] += log_s2
        mu_n, sd_n = math.log(1e-4), 3.0
        nll += (log_noise - mu_n) ** 2 / (2 * sd_n * sd_n)
        g[m + 1] += (log_noise - mu_n) / (sd_n * sd_n)
        return nll, g

    def fit(self, max_iter: int = 50, n_starts: int = 2) -> Hyper:
        """MAP hyperparameters from deterministic starts (lengthscales 0.3, then the prior's
        mode 1)."""
        m = self.n_groups
        S = self._sq_by_group()
        starts = [np.concatenate([np.full(m, ls), [0.0, math.log(1e-3)]])
                  for ls in (math.log(0.3), 0.0, math.log(0.08))][:n_starts]
        bounds = [LOG_LS_BOUNDS] * m + [LOG_S2_BOUNDS, LOG_NOISE_BOUNDS]
        best: tuple[float, np.ndarray] | None = None
        for x0 in starts:
            res = minimize(self._neg_log_post, x0, args=(S,), jac=True, method="L-BFGS-B",
                           bounds=bounds, options={"maxiter": max_iter, "ftol": 1e-7})
            val = float(res.fun)
            if math.isfinite(val) and (best is None or val < best[0]):
                best = (val, np.asarray(res.x))
        x = best[1] if best is not None else starts[0]
        self.hyper = Hyper(x[:m].copy(), float(x[m]), float(x[m + 1]))
        return self.hyper

    # --- posterior ---------------------------------------------------------------------------
    def condition(self, hyper: Hyper) -> None:
        """Factorize for prediction with fixed hyperparameters. ``y`` may be ``(n, S)``: S
        target vectors (fantasies) sharing one factorization; means are then ``(q, S)``."""
        self.hyper = hyper
        self.inv_l = np.exp(-hyper.log_ls)[self.group]
        self.s2 = math.exp(hyper.log_s2)
        self.noise = math.exp(hyper.log_noise)
        Zs = self.Z * self.inv_l
        r = _dist(Zs, Zs)
        K = self.s2 * matern52(r) + (self.noise + JITTER) * np.eye(self.Z.shape[0])
        self.L = _robust_cholesky(K)
        self.alpha = cho_solve((self.L, True), self.y, check_finite=False)
        self.Zs = Zs

    def joint(self, Zc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and full covariance at the rows of ``Zc``."""
        Zcs = Zc * self.inv_l
        Ks = self.s2 * matern52(_dist(Zcs, self.Zs))
        v = solve_triangular(self.L, Ks.T, lower=True, check_finite=False)
        cov = self.s2 * matern52(_dist(Zcs, Zcs)) - v.T @ v
        return Ks @ self.alpha, cov

    def predict(self, Zc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance (of the latent function) at the rows of ``Zc``."""
        Zcs = Zc * self.inv_l
        Ks = self.s2 * matern52(_dist(Zcs, self.Zs))
        mu = Ks @ self.alpha
        v = solve_triangular(self.L, Ks.T, lower=True, check_finite=False)
        var = np.maximum(self.s2 - np.sum(v * v, axis=0), 1e-12)
        return mu, var

    def predict_grad(
        self, Zc: np.ndarray, cols: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, variance and their gradients with respect to feature columns ``cols``."""
        Zcs = Zc * self.inv_l
        r = _dist(Zcs, self.Zs)
        Ks = self.s2 * matern52(r)
        mu = Ks @ self.alpha
        Kinv_ks = cho_solve((self.L, True), Ks.T, check_finite=False)  # (n, q)
        var = np.maximum(self.s2 - np.sum(Ks.T * Kinv_ks, axis=0), 1e-12)
        A = -self.s2 * matern52_dr_over_r(r)  # (q, n): dk/dz_c = A * (z_c - z_ic) / l_c^2
        dmu = np.empty((Zc.shape[0], cols.shape[0], *self.alpha.shape[1:]))
        dvar = np.empty((Zc.shape[0], cols.shape[0]))
        for i, c in enumerate(cols):
            il2 = self.inv_l[c] ** 2
            D = (Zc[:, c][:, None] - self.Z[:, c][None, :]) * il2 * A  # dK*/dz_c, (q, n)
            dmu[:, i] = D @ self.alpha
            dvar[:, i] = -2.0 * np.sum(D * Kinv_ks.T, axis=1)
        return mu, var, dmu, dvar


def lengthscale_penalty(log_ls: np.ndarray) -> tuple[float, np.ndarray]:
    """Negative log prior density of the lengthscales (up to a constant), ``sum 0.1 (l^2 +
    1 / l^2)``, and its gradient in ``log l``. Its minimum is at ``l = 1``, the side of the unit
    cube; it costs 0.2 at 1, about 0.9 at 1/3 or 3 and 10 at 0.1 or 10."""
    e2 = np.exp(2.0 * np.asarray(log_ls, dtype=float))
    return float(np.sum(0.1 * e2 + 0.1 / e2)), np.asarray(0.2 * e2 - 0.2 / e2)


def _robust_cholesky(K: np.ndarray) -> np.ndarray:
    """Cholesky factor of ``K``; with the noise floor near zero, clustered points (late in a
    run) can make ``K`` numerically indefinite, so the diagonal is raised tenfold until it
    factorizes."""
    extra = 1e-8 * max(float(np.mean(np.diag(K))), 1e-12)
    for _ in range(8):
        try:
            return np.asarray(np.linalg.cholesky(K))
        except np.linalg.LinAlgError:
            K = K + extra * np.eye(K.shape[0])
            extra *= 10.0
    return np.asarray(np.linalg.cholesky(K))


def _dist(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    a2 = np.sum(A * A, axis=1)[:, None]
    b2 = np.sum(B * B, axis=1)[None, :]
    return np.asarray(np.sqrt(np.maximum(a2 + b2 - 2.0 * (A @ B.T), 0.0)))


def log_ei(mu: np.ndarray, var: np.ndarray, best: float) -> np.ndarray:
    """LogEI of improving below ``best`` (minimization)."""
    sd = np.sqrt(var)
    z = (best - mu) / sd
    return np.asarray(log_h(z) + np.log(sd))


def log_ei_avg(
    mu: np.ndarray, var: np.ndarray, best: np.ndarray,
    dmu: np.ndarray | None = None, dvar: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Log of EI averaged over S fantasies (Snoek et al. 2012): ``mu`` is ``(q, S)``, ``best``
    ``(S,)``, ``dmu`` ``(q, c, S)``; the variance is shared. Returns values and gradients."""
    S = mu.shape[1]
    sd = np.sqrt(var)[:, None]
    z = (best[None, :] - mu) / sd
    lh = log_h(z)
    le = lh + np.log(sd)
    val = logsumexp(le, axis=1) - math.log(S)
    if dmu is None or dvar is None:
        return np.asarray(val), None
    w = np.exp(le - val[:, None] - math.log(S))  # softmax weights over fantasies
    dsd = dvar / (2.0 * sd)  # (q, c)
    sd3 = sd[:, :, None]
    dz = -dmu / sd3 - z[:, None, :] * dsd[:, :, None] / sd3
    gs = dlog_h(z, lh)[:, None, :] * dz + (dsd / sd)[:, :, None]
    return np.asarray(val), np.sum(w[:, None, :] * gs, axis=2)


def log_ei_grad(
    mu: np.ndarray, var: np.ndarray, dmu: np.ndarray, dvar: np.ndarray, best: float
) -> tuple[np.ndarray, np.ndarray]:
    sd = np.sqrt(var)
    z = (best - mu) / sd
    lh = log_h(z)
    dsd = dvar / (2.0 * sd[:, None])
    dz = -dmu / sd[:, None] - z[:, None] * dsd / sd[:, None]
    grad = dlog_h(z, lh)[:, None] * dz + dsd / sd[:, None]
    return lh + np.log(sd), grad
