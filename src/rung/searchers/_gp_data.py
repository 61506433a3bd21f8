"""What the ``gp`` searcher's GPs are fitted on: scores standardized, dropped trials as the
worst score, several objectives scalarized (ParEGO), constraint slacks, and the points kept
under a cap; the acquisition's candidates and local penalties; and ``_Model``, a fitted GP with
what the acquisition needs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rung.core.history import History
from rung.searchers._common import CONT, Dims, Observations, snap
from rung.searchers._gp import GP
from rung.space import SearchSpace


class _Model:
    """A fitted GP on standardized targets plus what the acquisition needs: the incumbent
    ``best`` and, with fantasies, one incumbent per fantasy (``bests``)."""

    def __init__(
        self,
        gp: GP,
        best: float,
        bests: np.ndarray | None = None,
        cons: list[tuple[GP, float]] | None = None,
        use_ei: bool = True,
    ) -> None:
        self.gp = gp
        self.best = best
        self.bests = bests
        self.cons = cons or []  # (GP of a standardized constraint slack, feasibility threshold)
        self.use_ei = use_ei


def constraint_targets(
    h: History, step: int, ids: list[int]
) -> tuple[np.ndarray, list[tuple[int, np.ndarray, np.ndarray, float]]]:
    """What the constraints' GPs are fitted on (Gardner et al., ICML 2014: one GP per
    constraint slack, feasible iff ``<= 0``): whether each observation is feasible as ranked at
    ``step`` (``History.slacks`` with ``ranking=True``: a constraint's metric not reported by
    ``step`` is unknown and counts as holding, unless the result there is final), and for
    every constraint known at two observations or more ``(constraint, the rows where it is
    known, their slacks standardized, the standardized threshold 0)``. A slack that is not
    finite (a metric not finite, or never reported by a final result) is the worst finite one
    (1 if none is). A constraint known at fewer than two observations gets no GP: its
    probability of feasibility is left out of the acquisition."""
    slack = np.array([h.slacks(t, step, ranking=True) for t in ids],
                     dtype=float).reshape(len(ids), -1)
    known = ~np.isnan(slack)
    feasible = np.all(~known | (slack <= 0), axis=1)
    out: list[tuple[int, np.ndarray, np.ndarray, float]] = []
    for c in range(slack.shape[1]):
        rows = np.flatnonzero(known[:, c])
        if rows.size < 2:
            continue
        sc = slack[rows, c].copy()
        fin = np.isfinite(sc)
        sc[~fin] = sc[fin].max() if fin.any() else 1.0
        m_c, s_c = float(sc.mean()), float(sc.std()) or 1.0
        out.append((c, rows, (sc - m_c) / s_c, -m_c / s_c))
    return feasible, out


def standardize(y: np.ndarray) -> np.ndarray:
    """``(y - mean) / std`` (``/ 1`` for a constant ``y``); finite values near the float
    limits (1e308) are divided by their largest magnitude first, where the mean and the
    standard deviation would overflow to inf and give NaN."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean, sd = float(y.mean()), float(y.std())
    if not (math.isfinite(mean) and math.isfinite(sd)) and np.all(np.isfinite(y)):
        y = y / float(np.max(np.abs(y)))
        mean, sd = float(y.mean()), float(y.std())
    return np.asarray((y - mean) / (sd if sd > 0 else 1.0))


def with_dropped(obs: Observations) -> Observations:
    """``obs`` with its dropped trials as observations of an infinite score (the worst finite
    one once ``_select`` has replaced it; the worst normalized value in ``parego``)."""
    if not obs.dropped:
        return obs
    ids = obs.ids + obs.dropped
    y = np.concatenate([obs.y, np.full(len(obs.dropped), np.inf)])
    return Observations(obs.step, ids, y, obs.pending, obs.dropped)


def parego(Y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """ParEGO's scalarization (Knowles, IEEE TEVC 2006) of lower-is-better objectives: each
    normalized to [0, 1], then the augmented Chebyshev norm with random simplex weights."""
    Y = np.where(np.isfinite(Y), Y, np.nan)
    lo, hi = np.nanmin(Y, axis=0), np.nanmax(Y, axis=0)
    N = (Y - lo) / np.where(hi > lo, hi - lo, 1.0)
    N = np.where(np.isnan(N), 1.0, N)
    w = rng.dirichlet(np.ones(Y.shape[1]))
    return np.asarray(np.max(w * N, axis=1) + 0.05 * np.sum(w * N, axis=1))
def candidates(
    space: SearchSpace, dims: Dims, n: int, X: np.ndarray, y: np.ndarray,
    rng: np.random.Generator, sparse: bool = False,
) -> np.ndarray:
    """The acquisition's candidates in the unit cube: ``n`` scrambled Sobol' points and ``n``
    perturbations of the 5 best observations (lowest ``y``) at two scales (a binned coordinate
    redrawn with probability ``1 / d``); with ``sparse``, half of the perturbations move only
    about one coordinate (each with probability ``1 / d``, at least one), which stays on a front
    along the box's faces or a constraint's boundary."""
    d = dims.d
    from scipy.stats import qmc  # lazily: scipy.stats is slow to import

    sob = qmc.Sobol(d, scramble=True, rng=np.random.default_rng(int(rng.integers(2**63))))
    m = 1 << max(0, (n - 1).bit_length())
    glob = sob.random_base2(int(math.log2(m)))[:n]
    top = X[np.argsort(y, kind="stable")[: min(5, X.shape[0])]]
    base = top[rng.integers(top.shape[0], size=n)]
    base = np.where(np.isnan(base), rng.random(base.shape), base)
    scale = np.where(rng.random((n, 1)) < 0.5, 0.02, 0.1)
    loc = base + scale * rng.standard_normal(base.shape)
    flip = rng.random(base.shape) < 1.0 / max(d, 1)
    binned = dims.kind != CONT
    loc = np.where(flip & binned[None, :], rng.random(base.shape), loc)
    if sparse:
        keep = rng.random(base.shape) >= 1.0 / max(d, 1)
        keep[np.arange(n), rng.integers(d, size=n)] = False
        keep[rng.random(n) < 0.5] = False  # these move in every coordinate
        loc = np.where(keep, base, loc)
    return snap(space, dims, np.clip(np.vstack([glob, loc]), 0.0, 1.0))


def penalties(
    gp: Any, Zp: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Local penalization balls (González et al., AISTATS 2016) of the pending trials beyond the
    fantasy cap, at GP features ``Zp``, under ``gp`` (a GP or an ensemble): the centres,
    posterior means and sds there, and the Lipschitz constant of the mean in the numeric
    feature columns ``cols``."""
    mu, var = gp.predict(Zp)
    if mu.ndim == 2:
        mu = mu.mean(axis=1)
    if cols.size:
        probe = Zp[: min(64, Zp.shape[0])]
        _, _, dmu, _ = gp.predict_grad(probe, cols)
        if dmu.ndim == 3:
            dmu = dmu.mean(axis=2)
        lip = float(np.max(np.linalg.norm(dmu, axis=1)))
    else:
        lip = 0.0
    lip = max(lip, 1e-7)
    return Zp, mu, np.sqrt(var), lip


def subset(y: np.ndarray, ids: np.ndarray, cap: int) -> np.ndarray:
    """Indices of at most ``cap`` points, ascending: all of them if they fit, else the best half
    of ``cap`` and an evenly spaced (by rank) selection of the others."""
    if y.shape[0] <= cap:
        return np.arange(y.shape[0])
    order = np.lexsort((ids, y))
    k = cap // 2
    rest = order[k:]
    pick = np.unique(np.linspace(0, len(rest) - 1, cap - k).round().astype(int))
    return np.sort(np.concatenate([order[:k], rest[pick]]))

