"""Weighted mixtures of product kernels on the unit encoding (the densities of TPE and BOHB).

One kernel per observation (plus, optionally, a broad prior kernel). Per dimension a kernel is a
Gaussian truncated to ``[0, 1]`` (continuous), the same Gaussian integrated over equal bins
(integers, stepped floats, ordered categoricals), or a probability table (unordered
categoricals, Aitchison-Aitken style). A kernel whose observation is inactive in a dimension is
uniform there; a point inactive in a dimension ignores it (the factor is marginalized out), so
conditional spaces need no imputation.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp, ndtr, ndtri

from rung.searchers._common import CAT, CONT, DISC, Dims

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def neighbor_sigmas(mus: np.ndarray, n_kernels: int, magic_clip: bool) -> np.ndarray:
    """Bandwidths from the distance to each observation's farther neighbour, the endpoints 0 and
    1 included, with the end kernels' outer gaps ignored and Bergstra's "magic clip"
    ``[1 / min(100, n_kernels + 1), 1]`` (the rule of Hyperopt and Optuna)."""
    m = mus.shape[0]
    if m == 0:
        return np.empty(0)
    order = np.argsort(mus, kind="stable")
    s = np.empty(m + 2)
    s[0], s[1:-1], s[-1] = 0.0, mus[order], 1.0
    sig = np.maximum(s[1:-1] - s[:-2], s[2:] - s[1:-1])
    if m + 2 >= 4:
        sig[0] = s[2] - s[1]
        sig[-1] = s[-2] - s[-3]
    out = np.empty(m)
    out[order] = sig
    lo = 1.0 / min(100.0, 1.0 + n_kernels) if magic_clip else 1e-12
    return np.clip(out, lo, 1.0)


class Parzen:
    """A weighted mixture of product kernels.

    Args:
        X: ``(m, d)`` observations in the unit encoding (NaN = inactive).
        weights: ``(m,)`` non-negative observation weights.
        dims: the encoding's dimension kinds.
        prior_weight: weight of one extra broad kernel (mean 0.5, sd 1 per dimension, uniform
            over categories); 0 for none.
        sigma: ``(m, d)`` bandwidths, or ``None`` for the neighbour rule per dimension.
        cat_bandwidth: ``(m, d)`` probability of leaving the observed category, or ``None`` for
            Optuna's rule (mass ``prior_weight / n_kernels`` spread over every category).
    """

    def __init__(
        self,
        X: np.ndarray,
        weights: np.ndarray,
        dims: Dims,
        prior_weight: float = 1.0,
        sigma: np.ndarray | None = None,
        cat_bandwidth: np.ndarray | None = None,
        magic_clip: bool = True,
    ) -> None:
        m, d = X.shape
        self.dims = dims
        with_prior = prior_weight > 0 or m == 0
        k = m + int(with_prior)
        mu = np.full((k, d), np.nan)
        mu[:m] = X
        sd = np.ones((k, d))
        w = np.empty(k)
        w[:m] = weights
        if with_prior:
            mu[m] = 0.5
            w[m] = prior_weight if m else 1.0
        self.with_prior = with_prior
        self.cat_p: dict[int, np.ndarray] = {}
        for j in range(d):
            active = ~np.isnan(X[:, j])
            n_act = int(active.sum())
            if dims.kind[j] == CAT:
                c = int(dims.size[j])
                p = np.full((k, c), 1.0 / c)
                if n_act:
                    idx = np.minimum((X[active, j] * c).astype(int), c - 1)
                    rows = np.flatnonzero(active)
                    if cat_bandwidth is None:
                        nk = n_act + 1
                        t = np.full((n_act, c), prior_weight / nk)
                        t[np.arange(n_act), idx] += 1.0
                        t /= t.sum(axis=1, keepdims=True)
                    else:
                        h = np.clip(cat_bandwidth[rows, j], 0.0, 1.0)[:, None]
                        t = np.broadcast_to(h / max(c - 1, 1), (n_act, c)).copy()
                        t[np.arange(n_act), idx] = 1.0 - h[:, 0]
                    p[rows] = t
                self.cat_p[j] = p
            elif n_act:
                if sigma is None:
                    sd[np.flatnonzero(active), j] = neighbor_sigmas(
                        X[active, j], n_act + 1, magic_clip
                    )
                else:
                    sd[:m, j] = sigma[:, j]
        self.mu = mu
        self.sd = sd
        tot = float(w.sum())
        self.w = w / tot if tot > 0 else np.full(k, 1.0 / k)
        with np.errstate(divide="ignore"):
            self.logw = np.log(self.w)
        # truncation mass of every kernel in every dimension
        self.logz = np.log(np.maximum(ndtr((1.0 - mu) / sd) - ndtr(-mu / sd), 1e-300))

    @property
    def n_kernels(self) -> int:
        return int(self.w.shape[0])

    # --- sampling ---------------------------------------------------------------------------
    def _sample_dim(self, j: int, kern: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n = kern.shape[0]
        mu = self.mu[kern, j]
        out = np.asarray(rng.random(n), dtype=float)  # uniform where the kernel is inactive
        act = ~np.isnan(mu)
        if not act.any():
            return out
        if self.dims.kind[j] == CAT:
            p = self.cat_p[j][kern[act]]
            c = p.shape[1]
            idx = np.minimum((np.cumsum(p, axis=1) < rng.random((p.shape[0], 1))).sum(axis=1),
                             c - 1)
            out[act] = (idx + 0.5) / c
            return out
        m, s = mu[act], self.sd[kern[act], j]
        a, b = ndtr(-m / s), ndtr((1.0 - m) / s)
        u = a + rng.random(m.shape[0]) * (b - a)
        out[act] = np.clip(m + s * ndtri(np.clip(u, 1e-300, 1 - 1e-16)), 0.0, 1.0)
        return out

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` joint draws: a kernel by weight, then each dimension from that kernel."""
        kern = rng.choice(self.n_kernels, size=n, p=self.w)
        return np.column_stack([self._sample_dim(j, kern, rng) for j in range(self.dims.d)]) \
            if self.dims.d else np.empty((n, 0))

    def sample_marginal(self, j: int, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws of dimension ``j`` alone, from the kernels active in it."""
        w = self._marginal_weights(j)
        kern = rng.choice(self.n_kernels, size=n, p=w)
        return self._sample_dim(j, kern, rng)

    def _marginal_weights(self, j: int) -> np.ndarray:
        act = ~np.isnan(self.mu[:, j])
        w = np.where(act, self.w, 0.0)
        tot = w.sum()
        return w / tot if tot > 0 else self.w

    # --- densities --------------------------------------------------------------------------
    def log_factors(self, Xc: np.ndarray) -> np.ndarray:
        """``(n, k, d)`` per-dimension log densities of every point under every kernel; 0 where
        the point is inactive, the uniform density where the kernel is."""
        n, d = Xc.shape
        k = self.n_kernels
        out = np.zeros((n, k, d))
        for j in range(d):
            x = Xc[:, j]
            px = ~np.isnan(x)
            if not px.any():
                continue
            kind = self.dims.kind[j]
            mu, sd = self.mu[:, j], self.sd[:, j]
            kact = ~np.isnan(mu)
            xs = x[px][:, None]
            if kind == CAT:
                c = int(self.dims.size[j])
                idx = np.minimum((x[px] * c).astype(int), c - 1)
                with np.errstate(divide="ignore"):
                    f = np.log(self.cat_p[j][:, idx].T)
            elif kind == DISC:
                nb = float(self.dims.size[j])
                b = np.minimum(np.floor(xs * nb), nb - 1)
                with np.errstate(divide="ignore", invalid="ignore"):
                    mass = ndtr(((b + 1) / nb - mu) / sd) - ndtr((b / nb - mu) / sd)
                    f = np.log(np.maximum(mass, 1e-300)) - self.logz[:, j]
                f = np.where(kact, f, -math.log(nb))
            else:
                assert kind == CONT
                with np.errstate(invalid="ignore"):
                    z = (xs - mu) / sd
                    f = -0.5 * z * z - _LOG_SQRT_2PI - np.log(sd) - self.logz[:, j]
                f = np.where(kact, f, 0.0)
            out[px, :, j] = f
        return out

    def log_pdf(self, Xc: np.ndarray) -> np.ndarray:
        """Joint log density of each row (mixture of product kernels)."""
        f = self.log_factors(Xc).sum(axis=2)
        return np.asarray(logsumexp(f + self.logw[None, :], axis=1))

    def log_pdf_marginal(self, j: int, x: np.ndarray) -> np.ndarray:
        """Log density of values ``x`` of dimension ``j`` under the kernels active in it."""
        Xc = np.full((x.shape[0], self.dims.d), np.nan)
        Xc[:, j] = x
        f = self.log_factors(Xc)[:, :, j]
        with np.errstate(divide="ignore"):
            lw = np.log(self._marginal_weights(j))
        return np.asarray(logsumexp(f + lw[None, :], axis=1))


def activity_groups(X: np.ndarray) -> list[np.ndarray]:
    """Dimensions grouped by the rows of ``X`` they are active in (not NaN), in order of their
    first dimension: in a conditional space, a branch's children form one group, the
    parameters every configuration uses another (Optuna's ``group=True``)."""
    act = ~np.isnan(X)
    groups: dict[bytes, list[int]] = {}
    for j in range(X.shape[1]):
        groups.setdefault(act[:, j].tobytes(), []).append(j)
    return [np.array(g, dtype=int) for g in groups.values()]


class GroupedParzen:
    """One ``Parzen`` per group of co-active dimensions, each fitted only on the observations
    active in that group; a point's density is the product over the groups it is active in.

    Why (Watanabe 2023, arXiv:2304.11127, on conditional spaces; Optuna's group
    decomposition): a joint kernel over a tree-structured space scores a point by the
    dimensions it uses, so a branch with more children multiplies in more density factors, and
    where "below" is concentrated those factors exceed 1 while the "above" kernels of other
    branches are uniform there. ``l/g`` then favours the branch already exploited, whatever its
    values. Per group, ``l_G`` and ``g_G`` live on the same subspace and only the observations
    that used it count, so every branch is judged on its own children and the choice among
    branches is left to the groups every configuration shares.

    Args: as ``Parzen``, plus ``groups`` (from ``activity_groups`` over every observation the
    model sees, so that "below" and "above" share them).
    """

    def __init__(
        self,
        X: np.ndarray,
        weights: np.ndarray,
        dims: Dims,
        groups: list[np.ndarray],
        prior_weight: float = 1.0,
        sigma: np.ndarray | None = None,
    ) -> None:
        self.d = dims.d
        self.parts: list[tuple[np.ndarray, Parzen]] = []
        for g in groups:
            rows = np.flatnonzero((~np.isnan(X[:, g])).any(axis=1))
            sub = Dims(dims.kind[g], dims.size[g], (), dims.conditional)
            s = None if sigma is None else sigma[np.ix_(rows, g)]
            self.parts.append(
                (g, Parzen(X[np.ix_(rows, g)], weights[rows], sub, prior_weight, sigma=s))
            )

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws, every group from its own mixture (inactive ones are dropped later)."""
        out = np.full((n, self.d), 0.5)
        for g, p in self.parts:
            out[:, g] = p.sample(rng, n)
        return out

    def log_pdf(self, Xc: np.ndarray) -> np.ndarray:
        """Sum over the groups each row is active in of the group's log density."""
        tot = np.zeros(Xc.shape[0])
        for g, p in self.parts:
            sub = Xc[:, g]
            act = (~np.isnan(sub)).any(axis=1)
            if act.any():
                tot[act] += p.log_pdf(sub[act])
        return tot
