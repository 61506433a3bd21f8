"""Placement from every fidelity: one GP per decision step, combined by ranking-weighted gPoE.

The ``gp`` searcher models one step, the largest with ``min_points`` results (BOHB's rule).
Under a multi-fidelity scheduler most results sit below it: ASHA with ``eta = 3`` records three
times as many at each lower rung. ``GPSearcher(fidelities="all")`` uses them, as MFES-HB does
(Li, Shen, Jiang, Zhang and Cui, "MFES-HB: Efficient Hyperband with Multi-Fidelity Quality
Measurements", AAAI 2021): a surrogate per fidelity, combined by a generalized product of
experts (Cao and Fleet, "Generalized Product of Experts for Automatic and Principled Fusion of
Gaussian Process Predictions", 2014), each member weighted by how well it ranks the results of
the highest modelled fidelity, so a low fidelity that ranks configurations as the top one does
informs placement and one that does not (ties, late bloomers) is ignored.

**Members** (``member_steps``). The top step (the one ``gp`` models anyway) and the lower steps
where a scheduler decided: walking down from the top, a step joins when it has at least
``growth`` (1.5) times the results of the last step that joined, so ASHA's rungs join (three
times the results each) and the steps between them, reached by the same trials, do not; at
most ``MAX_LOW`` lower steps, the highest first. Under FIFO every step has the same results:
the top alone, exactly the ``gp`` searcher's usual model. Each member is fitted on its own
step's results like the top one (dropped trials as the worst score, the same ``max_points``
rule, standardized per member).

**Weights** (``ranking_weights``), RGPE's rule (Feurer, Letham and Bakshy, "Scalable
Meta-Learning for Bayesian Optimization using Ranking-Weighted Gaussian Process Ensembles",
2018): the ranking loss of a member is the number of pairs of top-step results it orders
differently from their scores (results measured there: a trial dropped below the top step has
none); over ``N_DRAWS`` draws of every member's predictive posterior at the top step's
configurations, a member's weight is the share of draws in which its loss is the
lowest (a tie goes to the higher step). A lower member whose median loss exceeds the 95th
percentile of the top member's gets weight 0 (RGPE's guard against weight dilution). Every
member is judged by its leave-one-out posterior at the configurations whose trials it was
fitted on (RGPE does so for its target model only; here the lower steps were fitted on the
same trials, at their lower step): a member must be judged on how it predicts a configuration
without that configuration's own result, as it must predict a new one, not on how the lower
step's values of the same trials happen to rank. Draws come from the suggestion's ``rng``:
replay reproduces the weights.

**Combination** (``Ensemble``): with weights ``w_i`` (summing to 1) and member posteriors
``(m_i, v_i)`` at a point, the ensemble's mean and variance are ``m = sum(w_i m_i / v_i) /
sum(w_i / v_i)`` and ``v = 1 / sum(w_i / v_i)``: each member counts by its weight and its
confidence there, and where every member is uncertain the ensemble is too. Members with weight
0 are left out; when only the top member remains the searcher uses it alone, unchanged.
Gradients follow by the chain rule, so the acquisition's L-BFGS-B polishing works as on a
single GP. Pending trials are fantasized in the top member only (the one whose step they have
not reached).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.linalg import cho_solve

from rung.core.history import History
from rung.searchers._gp import GP

#: at most this many steps below the top one join the ensemble
MAX_LOW = 4
#: a lower step joins when it has this many times the results of the last step that joined
GROWTH = 1.5
#: posterior draws per suggestion for the weights
N_DRAWS = 128
#: top-step points the ranking loss is measured on (more: the best half and a spread of the rest)
MAX_RANKED = 64


def member_steps(history: History, top: int, min_points: int,
                 growth: float = GROWTH, max_low: int = MAX_LOW) -> list[int]:
    """The lower steps that join the ensemble, highest first (module docstring)."""
    out: list[int] = []
    last = history.n_at_step(top)
    for s in reversed(history.steps()):
        if s >= top:
            continue
        n = history.n_at_step(s)
        if n >= min_points and n >= growth * last:
            out.append(s)
            last = n
            if len(out) >= max_low:
                break
    return out


def loo_posterior(gp: GP) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-out posterior mean and variance at each of ``gp``'s own points (closed form
    from the inverse kernel matrix: Rasmussen and Williams 2006, eq. 5.12); ``gp`` conditioned
    on a single target vector."""
    n = gp.y.shape[0]
    Kinv = cho_solve((gp.L, True), np.eye(n), check_finite=False)
    d = np.maximum(np.diag(Kinv), 1e-12)
    return gp.y - (Kinv @ gp.y) / d, 1.0 / d


def ranking_weights(top: GP, lows: Sequence[GP], Z: np.ndarray, y: np.ndarray,
                    rng: np.random.Generator, n_draws: int = N_DRAWS,
                    measured: np.ndarray | None = None,
                    ids: Sequence[int] | None = None,
                    low_ids: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """Weights of ``[top, *lows]`` (summing to 1; module docstring). ``Z`` and ``y`` are the
    top member's features and standardized scores (``top`` was conditioned on them);
    ``measured`` (a boolean mask, default all) marks the points with a result at the top step:
    the loss is counted on those only (a trial dropped below the top step, which the top member
    holds as the worst score, has no result there to rank). ``ids`` are the trials of the top
    member's points and ``low_ids[i]`` those ``lows[i]`` was fitted on: a top point whose trial
    a lower member holds is predicted by that member's leave-one-out posterior too, so every
    member is judged on configurations it predicts without their own results (otherwise a
    lower step would be judged on how its values at the same trials rank, not on how its model
    predicts a new configuration)."""
    m_top, v_top = loo_posterior(top)
    idx = np.arange(y.shape[0]) if measured is None else np.flatnonzero(measured)
    if idx.shape[0] < 2:
        return np.asarray(np.eye(1 + len(lows))[0])
    if idx.shape[0] > MAX_RANKED:
        order = idx[np.argsort(y[idx], kind="stable")]
        k = MAX_RANKED // 2
        rest = order[k:]
        pick = np.unique(np.linspace(0, len(rest) - 1, MAX_RANKED - k).round().astype(int))
        idx = np.sort(np.concatenate([order[:k], rest[pick]]))
    yt = y[idx]
    means = [m_top[idx]]
    sds = [np.sqrt(v_top[idx])]
    for i, gp in enumerate(lows):
        mu, var = gp.predict(Z[idx])
        var = var + gp.noise  # predictive, as the leave-one-out variances are
        if ids is not None and low_ids is not None:
            where = {t: j for j, t in enumerate(low_ids[i])}
            m_loo, v_loo = loo_posterior(gp)
            for r, t in enumerate(ids[int(j)] for j in idx):
                j = where.get(t)
                if j is not None:
                    mu[r], var[r] = m_loo[j], v_loo[j]
        means.append(mu)
        sds.append(np.sqrt(var))
    M, S = np.array(means), np.array(sds)  # (members, n)
    eps = rng.standard_normal((n_draws, *M.shape))
    F = M[None] + S[None] * eps  # (draws, members, n)
    truth = yt[:, None] < yt[None, :]
    pairs = F[..., :, None] < F[..., None, :]  # (draws, members, n, n)
    loss = np.sum(pairs != truth, axis=(2, 3))  # (draws, members)
    best = np.argmin(loss, axis=1)  # first minimum: a tie goes to the higher step
    w = np.bincount(best, minlength=M.shape[0]).astype(float)
    limit = np.percentile(loss[:, 0], 95)
    for i in range(1, M.shape[0]):
        if np.median(loss[:, i]) > limit:
            w[i] = 0.0
    if w.sum() == 0:
        w[0] = 1.0
    return np.asarray(w / w.sum())


class Ensemble:
    """The members' gPoE combination, with ``GP``'s ``predict`` and ``predict_grad``
    (module docstring). The top member may hold fantasies (means ``(q, F)``); the others
    hold one target vector."""

    def __init__(self, members: Sequence[GP], weights: np.ndarray) -> None:
        self.members = list(members)
        self.weights = np.asarray(weights, dtype=float)

    def predict(self, Zc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = [gp.predict(Zc) for gp in self.members]
        fant = [mu for mu, _ in parts if mu.ndim == 2]
        num = np.zeros(fant[0].shape if fant else (Zc.shape[0],))
        prec = np.zeros(Zc.shape[0])
        for (mu, var), w in zip(parts, self.weights, strict=True):
            p = w / var
            prec += p
            num += (p * mu) if num.ndim == mu.ndim == 1 else (p[:, None] * (
                mu if mu.ndim == 2 else mu[:, None]))
        mean = num / (prec[:, None] if num.ndim == 2 else prec)
        return mean, 1.0 / prec

    def predict_grad(
        self, Zc: np.ndarray, cols: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        q, c = Zc.shape[0], cols.shape[0]
        parts = [gp.predict_grad(Zc, cols) for gp in self.members]
        fant = max(p[0].ndim for p in parts) == 2
        shape = (q, parts[0][0].shape[1]) if fant and parts[0][0].ndim == 2 else (q,)
        num = np.zeros(shape)
        dnum = np.zeros((q, c, *shape[1:]))
        prec = np.zeros(q)
        dprec = np.zeros((q, c))
        for (mu, var, dmu, dvar), w in zip(parts, self.weights, strict=True):
            p = w / var  # (q,)
            dp = -w * dvar / (var * var)[:, None]  # (q, c)
            prec += p
            dprec += dp
            if mu.ndim == 2:
                num += p[:, None] * mu
                dnum += p[:, None, None] * dmu + dp[:, :, None] * mu[:, None, :]
            elif fant:
                num += (p * mu)[:, None]
                dnum += (p[:, None] * dmu + dp * mu[:, None])[:, :, None]
            else:
                num += p * mu
                dnum += p[:, None] * dmu + dp * mu[:, None]
        if fant:
            mean = num / prec[:, None]
            dmean = (dnum - mean[:, None, :] * dprec[:, :, None]) / prec[:, None, None]
        else:
            mean = num / prec
            dmean = (dnum - mean[:, None] * dprec) / prec[:, None]
        var = 1.0 / prec
        dvar = -dprec / (prec * prec)[:, None]
        return mean, var, dmean, dvar
