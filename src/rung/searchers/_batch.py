"""What the ``gp`` searcher does about a batch of pending trials: fantasies of their outcomes,
and a least distance from each of them.

**Fantasies.** With pending trials (parallel workers) ``gp`` averages LogEI over ``n`` joint
draws of their outcomes from the GP's posterior, the GP conditioned on each (Snoek, Larochelle
and Adams, "Practical Bayesian optimization of machine learning algorithms", NeurIPS 2012,
section 3.3). The draws get a variance of ``1e-6`` (``fantasy_jitter``: the joint covariance
of close points is numerically singular without it) and are conditioned on as observations,
with the model's learned noise.

**Separation** (``separation``). Where the model is confident, the fantasies barely change it:
near the optimum of a smooth objective the posterior variance at a pending point is already
about the learned noise (about ``1e-4``, standardized, early in a run), one more noisy
observation only halves it, EI there stays as high as anywhere, and batches asked in a row
piled onto one point (12 results of ``sin(7x) + (y - 0.2)^2``, then 6 asks: three within
``4e-5`` of each other). So every suggestion keeps a least distance from each pending point in
the unit cube, the hard-ball form of local penalization (González, Dai, Hennig and Lawrence,
"Batch Bayesian optimization via local penalization", AISTATS 2016), whose penalizer excludes a
ball around each pending point: ``MIN_SEPARATION`` (``1e-3``), or less once the search refines
its incumbent more finely than that, so that a batch may still refine at the search's own
resolution (``_pending.PendingSet(floor=...)``; past 32 pending trials the larger spread
radius of ``_pending`` applies).

Measured and rejected (``bench_searchers``, 8 workers, seeds 0-19, regret at 100 trials,
median; ``docs/algorithm-notes.md``): conditioning the fantasies without the learned noise (the
draw's own ``1e-6`` only: a fantasy is a value of the latent function, the multi-point EI of
Ginsbourger, Le Riche and Carraro, "Kriging is well-suited to parallelize optimization", 2010)
fixed the audit's batch (pairs 0.013-0.037 apart) but lowered Levy10's late progress (6.23 ->
7.13 over 40 seeds, p = 0.06; at 93 trials p = 0.02); a fixed ``1e-3`` separation, or the
best observations' spacing itself, cost Branin its last refinements (5.8e-7 -> 9.6e-7 and
8.9e-7, p = 0.01).
"""

from __future__ import annotations

import numpy as np

from rung.searchers._gp import GP, JITTER
from rung.searchers._pending import local_scale

#: the most that ``separation`` asks of a ``gp`` suggestion: its distance, in the unit cube,
#: from each pending trial's configuration
MIN_SEPARATION = 1e-3
#: the best observations whose spacing bounds ``separation``
N_BEST = 5
#: ``separation`` is at most their spacing divided by this
LOCAL_SHARE = 10.0


def separation(X: np.ndarray, y: np.ndarray) -> float:
    """The least distance in the unit cube that a suggestion keeps from each pending point
    (while a candidate that far is found): ``MIN_SEPARATION``, or ``1 / LOCAL_SHARE`` of the
    spacing of the ``N_BEST`` best observations (rows of ``X``, scores ``y``, lower is better;
    ``_pending.local_scale``: the median distance to the nearest other one) when that is less,
    so that a search already refining its incumbent at that scale may still place concurrent
    trials at its own resolution (as ``tpe`` caps its spread radius)."""
    scale = local_scale(X[np.argsort(y, kind="stable")[:N_BEST]])
    return MIN_SEPARATION if scale is None else min(MIN_SEPARATION, scale / LOCAL_SHARE)


def fantasy_jitter(p: int) -> float:
    """The variance added to the joint posterior covariance of ``p`` pending points to draw
    their fantasies (standardized targets)."""
    return 1e-6 + 1e-9 * p


def fantasize(gp: GP, Zp: np.ndarray, rng: np.random.Generator,
              n: int) -> tuple[GP, np.ndarray]:
    """``n`` joint fantasies of the outcomes at the pending points ``Zp`` (GP features) under
    ``gp`` (conditioned), and a GP with ``gp``'s hyperparameters on its data plus each fantasy
    (``y`` of shape ``(n_obs + p, n)``: one factorization for all). Returns that GP and the
    fantasies ``F``, ``(p, n)``."""
    hyper = gp.hyper
    assert hyper is not None
    mu_p, cov = gp.joint(Zp)
    p = Zp.shape[0]
    Lp = np.linalg.cholesky(cov + fantasy_jitter(p) * np.eye(p) + JITTER * np.eye(p))
    F = mu_p[:, None] + Lp @ rng.standard_normal((p, n))
    y = np.repeat(gp.y[:, None], n, 1)
    fgp = GP(np.vstack([gp.Z, Zp]), np.vstack([y, F]), gp.group, gp.n_groups)
    fgp.condition(hyper)
    return fgp, F
