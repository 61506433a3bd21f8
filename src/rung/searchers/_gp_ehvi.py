"""Expected hypervolume improvement for the ``gp`` searcher on two objectives with constraints.

Each objective has its own GP (standardized over every observation, feasible or not: the
objectives of an infeasible configuration are measured and smooth across a constraint's
boundary, Gardner et al. 2014). A candidate's acquisition is ``log EHVI + sum log PoF``: the
exact expected hypervolume improvement of its two independent Gaussian predictions over the
front of the *feasible* observations, times the probability of feasibility of every constraint.

Exact EHVI for two objectives (Emmerich, Giannakoglou and Naujoks, "Single- and multiobjective
evolutionary optimization assisted by Gaussian random field metamodels", IEEE TEVC 2006;
Emmerich, Deutz and Klinkenberg, "Hypervolume-based expected improvement: monotonicity
properties and exact computation", CEC 2011): the region the front does not dominate below the
reference point ``r`` is a staircase of cells ``[x_i, x_{i+1}) x (-inf, y_i)`` (front sorted by
the first objective, ``x_0 = -inf``, ``x_{m+1} = r_1``, ``y_0 = r_2``), and a point ``P``
improves cell ``i`` by ``(x_{i+1} - max(x_i, P_1))^+ (y_i - P_2)^+``. With ``P_1`` and ``P_2``
independent Gaussians each factor's expectation is an EI: ``E[(a - P)^+] = s h((a - mu) / s)``
with ``h(z) = phi(z) + z Phi(z)``, so ``EHVI = sum_i s_1 (h(zu_i) - h(zl_i)) s_2 h(w_i)``. It is
evaluated in log space with ``log_h`` (Ament et al., NeurIPS 2023), so that candidates far from
improving still rank, and differentiated analytically for L-BFGS-B.

The reference point is each objective's worst value among the feasible observations plus a
tenth of its range over all of them. Pending trials enter as *Kriging believers* (Ginsbourger,
Le Riche and Carraro 2010): each objective GP is conditioned on its posterior mean there, and a
pending point whose constraint means all hold joins the front, so its neighbourhood has little
improvement left.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr, logsumexp

from rung.multiobjective import non_dominated
from rung.searchers._gp import GP, log_h
from rung.searchers._gp_data import _Model, standardize

_C1 = 0.5 * math.log(2 * math.pi)
#: the reference point lies this share of each objective's observed range beyond the worst
#: feasible value
REF_MARGIN = 0.1


def pareto_front(Y: np.ndarray) -> np.ndarray:
    """The non-dominated rows of ``Y`` (``(n, 2)``, minimized; ``rung.multiobjective.
    non_dominated``), sorted by the first objective (duplicates once)."""
    return np.unique(Y[non_dominated(Y)], axis=0).reshape(-1, 2)


def cells(front: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The staircase cells of the region below ``ref`` that ``front`` does not dominate: their
    lower and upper bounds in the first objective (the first lower bound ``-inf``) and their upper
    bound in the second."""
    F = front[np.all(front < ref, axis=1)]
    lo = np.concatenate([[-np.inf], F[:, 0]])
    hi = np.concatenate([F[:, 0], [ref[0]]])
    top = np.concatenate([[ref[1]], F[:, 1]])
    return lo, hi, top


def _log_pos(mu: np.ndarray, sd: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``log E[(a - P)^+]`` for ``P ~ N(mu, sd^2)``, ``(q, k)`` for ``a`` of ``(k,)``."""
    z = (a[None, :] - mu[:, None]) / sd[:, None]
    out = np.full(z.shape, -np.inf)
    fin = np.isfinite(z)
    out[fin] = log_h(z[fin])
    return np.asarray(out + np.log(sd)[:, None])


def log_ehvi(
    mu: tuple[np.ndarray, np.ndarray], var: tuple[np.ndarray, np.ndarray],
    box: tuple[np.ndarray, np.ndarray, np.ndarray],
    dmu: tuple[np.ndarray, np.ndarray] | None = None,
    dvar: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Log EHVI of ``q`` points with independent Gaussian objectives (means and variances per
    objective, ``(q,)``) over the cells ``box`` (``cells``), and with ``dmu`` / ``dvar``
    (``(q, c)`` each) its gradient in those ``c`` coordinates."""
    lo, hi, top = box
    s1, s2 = np.sqrt(var[0]), np.sqrt(var[1])
    lu = _log_pos(mu[0], s1, hi)
    ll = _log_pos(mu[0], s1, lo)  # -inf for the first cell
    with np.errstate(divide="ignore", invalid="ignore"):
        la = lu + np.log(-np.expm1(np.minimum(ll - lu, 0.0)))
    lb = _log_pos(mu[1], s2, top)
    lt = la + lb
    val = logsumexp(lt, axis=1)
    if dmu is None or dvar is None:
        return np.asarray(val), None
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pi = np.where(np.isfinite(lt), np.exp(lt - val[:, None]), 0.0)  # each cell's share
        zu = (hi[None, :] - mu[0][:, None]) / s1[:, None]
        zl = (lo[None, :] - mu[0][:, None]) / s1[:, None]
        w = (top[None, :] - mu[1][:, None]) / s2[:, None]
        # d A = -(Phi(zu) - Phi(zl)) dmu1 + (phi(zu) - phi(zl)) ds1, per A; B alike
        cdf_a = np.exp(log_ndtr(zu) - la) - np.where(np.isfinite(zl),
                                                    np.exp(log_ndtr(zl) - la), 0.0)
        pdf_a = np.exp(-0.5 * zu * zu - _C1 - la) - np.where(
            np.isfinite(zl), np.exp(-0.5 * zl * zl - _C1 - la), 0.0)
        cdf_b = np.exp(log_ndtr(w) - lb)
        pdf_b = np.exp(-0.5 * w * w - _C1 - lb)
        c_mu1 = -np.sum(np.where(pi > 0, pi * cdf_a, 0.0), axis=1)
        c_s1 = np.sum(np.where(pi > 0, pi * pdf_a, 0.0), axis=1)
        c_mu2 = -np.sum(np.where(pi > 0, pi * cdf_b, 0.0), axis=1)
        c_s2 = np.sum(np.where(pi > 0, pi * pdf_b, 0.0), axis=1)
    ds1 = dvar[0] / (2.0 * s1[:, None])
    ds2 = dvar[1] / (2.0 * s2[:, None])
    g = (c_mu1[:, None] * dmu[0] + c_s1[:, None] * ds1
         + c_mu2[:, None] * dmu[1] + c_s2[:, None] * ds2)
    return np.asarray(val), np.nan_to_num(g)


@dataclass(slots=True)
class EhviModel:
    """What the acquisition needs: the two objectives' GPs (Kriging believers at the pending
    points), the cells of the feasible front, and the constraints' GPs with their thresholds.
    ``use_ei`` is false while nothing is feasible (the acquisition is then the probability of
    feasibility alone); ``best`` is unused (local penalization needs a scalar model)."""

    gps: tuple[GP, GP]
    box: tuple[np.ndarray, np.ndarray, np.ndarray]
    cons: list[tuple[GP, float]]
    use_ei: bool
    best: float = 0.0

    def value(self, Zc: np.ndarray, grad_cols: np.ndarray | None
              ) -> tuple[np.ndarray, np.ndarray | None]:
        """Log EHVI at the rows of ``Zc`` (and its gradient in ``grad_cols``)."""
        if grad_cols is None:
            (m1, v1), (m2, v2) = (g.predict(Zc) for g in self.gps)
            return log_ehvi((m1, m2), (v1, v2), self.box)
        (m1, v1, d1, e1), (m2, v2, d2, e2) = (g.predict_grad(Zc, grad_cols) for g in self.gps)
        return log_ehvi((m1, m2), (v1, v2), self.box, (d1, d2), (e1, e2))


def build(
    Yraw: np.ndarray, feasible: np.ndarray, fit: Callable[[np.ndarray, str], GP],
    Zp: np.ndarray | None, cons: list[tuple[GP, float]],
) -> tuple[EhviModel, np.ndarray]:
    """The model of a suggestion: ``Yraw`` the observations' two objectives (``(n, 2)``, lower
    is better; not finite = the worst finite), ``feasible`` which observations are,
    ``fit(y, tag)`` a GP on the observations for standardized targets ``y`` (cached per tag),
    ``Zp`` the pending points' GP features (or None), ``cons`` the constraints' GPs. Also
    returns a score per observation for placing local candidates: 0 on the feasible front, 1
    elsewhere feasible, 2 infeasible."""
    Y = np.empty_like(Yraw, dtype=float)
    for j in range(2):
        col = np.asarray(Yraw[:, j], dtype=float)
        fin = np.isfinite(col)
        col = np.where(fin, col, col[fin].max() if fin.any() else 0.0)
        Y[:, j] = standardize(col)
    gps = [fit(Y[:, j], f"objective-{j}") for j in range(2)]
    use = bool(feasible.any())
    pts = Y[feasible] if use else Y
    if Zp is not None and Zp.shape[0]:
        believed = np.ones(Zp.shape[0], dtype=bool)
        for gpc, thr in cons:
            believed &= gpc.predict(Zp)[0] <= thr
        means = []
        for j, g in enumerate(gps):
            m, _ = g.predict(Zp)
            means.append(m)
            kb = GP(np.vstack([g.Z, Zp]), np.concatenate([g.y, m]), g.group, g.n_groups)
            assert g.hyper is not None
            kb.condition(g.hyper)
            gps[j] = kb
        if use:
            pts = np.vstack([pts, np.column_stack(means)[believed]])
    front = pareto_front(pts)
    ref = pts.max(axis=0) + REF_MARGIN * np.maximum(Y.max(axis=0) - Y.min(axis=0), 1e-9)
    score = np.full(Y.shape[0], 2.0)
    if use:
        score[feasible] = 1.0
        on_front = (Y[:, None, :] == front[None, :, :]).all(axis=2).any(axis=1) & feasible
        score[on_front] = 0.0
    return EhviModel((gps[0], gps[1]), cells(front, ref), cons, use), score


#: what ``GPSearcher``'s acquisition scores: LogEI (x PoF) on one GP, or EHVI x PoF
AnyModel = _Model | EhviModel
