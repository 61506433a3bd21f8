"""BOHB's model-based sampler.

Falkner, Klein and Hutter, "BOHB: Robust and efficient hyperparameter optimization at scale",
ICML 2018 (algorithm 2 and section 3.2). BOHB is Hyperband (the scheduler's job in rung: use it
with ``scheduler="hyperband"`` or ``"asha"``) whose new configurations come from this searcher.
It reads only the ``History``: the results every trial reported at every step, whatever bracket
or rung tagged it.

One suggestion:

1. With probability ``random_fraction`` (and until a model exists), a uniform random
   configuration: BOHB keeps its convergence guarantee from these. One that no trial has yet,
   if one of 100 draws is (where the active parameters are all discrete, a draw may repeat a
   tried configuration, which adds nothing).
2. *Budget*: the largest step at which enough trials reported for both densities, at least
   ``2 * min_points`` (``min_points`` defaults to ``d + 1``): the paper's "largest budget with
   a model", where a model needs ``min_points`` observations in each group (HpBandSter fits no
   KDE on fewer; the paper's ``N_min + 2`` would leave "bad" two points).
3. *Split*: observations rank by score; with constraints feasible ones first, then by total
   violation (as ranked at the step: a constraint's metric not reported by then counts as
   holding unless the result there is final, ``rung.core.constraints``); with several objectives
   by non-dominated front, then hypervolume contribution (``rank_keys``, MOTPE's ranking). The
   best ``max(min_points, top_n_percent% of n)`` are "good", and so is every observation tied
   with the worst of them (on learning curves most configurations often share one value at a low
   step: which of them is good must not depend on their trial ids, as it did up to version 2);
   the next ``max(min_points, (100 - top_n_percent)% of n)`` are "bad". The budget of 2. is the
   largest step at which both groups then hold ``min_points``; a step whose results tie too much
   is skipped for the next lower one. Only observations at that step count, as in the paper:
   neither pending trials nor trials a scheduler stopped below it (version 1 added both to
   "bad", which on late-bloomer curves marked the slow starters a scheduler had stopped early as
   bad and steered sampling to fast starters).
4. *Densities*: product-kernel KDEs of both groups with Scott's normal-reference bandwidth
   ``1.06 std n^(-1/(d+4))`` per dimension, clipped below at ``min_bandwidth``; categorical
   parameters use Aitchison-Aitken kernels (statsmodels' ``KDEMultivariate``, as the paper).
5. *Acquisition*: ``n_candidates`` draws, each a random "good" point perturbed with bandwidths
   multiplied by ``bandwidth_factor`` (categoricals resampled with probability equal to their
   bandwidth); the draw maximizing ``l(x) / g(x)`` among those no trial has tried yet
   (whatever its state) is proposed: a repeat adds no information, and the densities peak on
   the tried "good" points, so on discrete spaces the best draw is often one of them. If every
   draw was tried, a random untried configuration (up to 100 draws, then a uniform pick among
   a finite space's untried configurations).

Finite spaces: where every tunable parameter is an integer, a stepped float or a categorical
(at most ``_common.EXHAUSTIBLE``, 10,000, configurations), ``suggest`` returns ``None`` once
every configuration has been proposed, whatever became of the trials (pending, failed, stopped
by the scheduler): the searcher is exhausted and no new trial starts (the scheduler may still
promote or resume the trials it has). ``repeats=True`` (a noisy objective) proposes tried
configurations again instead.

Inactive (conditional) coordinates need no imputation here: a kernel is uniform in a dimension
its observation lacks, and a candidate ignores a dimension it lacks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rung._validate import check_bool, check_float, check_int
from rung.core.components import BindContext, Searcher, SuggestRequest
from rung.core.history import History
from rung.core.registry import register
from rung.multiobjective import default_reference, hv_contributions, nondominated_sort
from rung.searchers._common import (
    CAT,
    DEFINE_BY_RUN_TRIED,
    FiniteConfigs,
    Observations,
    UnitCache,
    decode,
    dims_of,
    gather,
    snap,
)
from rung.searchers._model_based import check_min_points
from rung.searchers._parzen import Parzen
from rung.searchers._pending import config_key

#: the largest ``n_candidates`` (``ConfigError`` past it): each candidate is scored under both
#: densities, every observation a kernel (``n_candidates=10**9`` asked for 7.5 GiB per
#: parameter)
MAX_CANDIDATES = 10_000

_RANDOM_DRAWS = 100


def rank_keys(h: History, obs: Observations) -> np.ndarray:
    """``(n, k)`` lexicographic keys of the observations, lower is better: the score alone for one
    objective without constraints; with constraints the total violation first (feasible trials
    first, then the least violation; ``History.violation(..., ranking=True)``: a constraint's
    metric not reported by ``obs.step`` counts as holding); with several objectives the
    non-dominated front of the feasible trials, then minus the hypervolume contribution within the
    front (MOTPE's ranking, ``tpe``). Equal rows are ties."""
    if len(h.objectives) == 1 and not h.constraints:
        return obs.y[:, None]
    viol = np.array([h.violation(t, obs.step, ranking=True) for t in obs.ids], dtype=float)
    if len(h.objectives) == 1:
        return np.column_stack([viol, obs.y])
    Y = np.array([h.values(t, obs.step) for t in obs.ids], dtype=float).reshape(len(obs.ids), -1)
    viol = np.where(np.all(np.isfinite(Y), axis=1), viol, np.inf)
    ok = viol == 0.0
    front = np.full(len(obs.ids), np.inf)
    contrib = np.zeros(len(obs.ids))
    if ok.any():
        front[ok] = nondominated_sort(Y[ok])
        ref = default_reference(Y[ok])
        for f in np.unique(front[ok]):
            members = np.flatnonzero(ok & (front == f))
            contrib[members] = hv_contributions(Y[members], ref)
    return np.column_stack([viol, front, -contrib])


@register("searcher", "bohb")
class BOHBSearcher(Searcher):
    """Args (defaults of the paper's reference implementation, HpBandSter, and its names but
    for ``n_candidates``, rung's word shared with ``tpe`` and ``gp``):
        min_points: observations per group (default ``d + 1``).
        top_n_percent: percentage of observations in the "good" group (the share ``tpe``'s
            ``gamma`` gives as a fraction, for its "below" group).
        n_candidates: candidates drawn per suggestion; at most ``MAX_CANDIDATES`` (10,000).
            ``num_samples=`` (HpBandSter's name) is a deprecated alias (``rung._renamed``).
        random_fraction: fraction of uniformly random suggestions.
        bandwidth_factor: widening of the bandwidths when drawing candidates.
        min_bandwidth: lower bound of every bandwidth.
        repeats: once every configuration of a finite space was tried, propose tried ones
            again (a noisy objective) instead of being exhausted.
    """

    version = 8
    changes = {
        6: "trials that failed by themselves are observations with the worst score"
        " (before: the model never saw them and kept proposing where every trial failed)",
        2: "the density model uses only the observations at the modelled step (no pending "
        "trials or trials stopped below it in the 'bad' group) and that step is the largest "
        "with 2 * min_points observations (was min_points + 2)",
        3: "results tied with the worst 'good' one are all good (the ranks inside a tie were "
        "the trial ids' order), a step with no such split is skipped for the next lower one, "
        "and a configuration some trial already has is never proposed again by the model",
        4: "constraints: feasible observations rank first, then by total violation; several "
        "objectives: by non-dominated front, then hypervolume contribution (was: the first "
        "objective's score alone, so constraints and the other objectives were ignored); "
        "one objective without constraints is unchanged; the random configurations (the "
        "random_fraction, and before a model exists) are ones no trial has, in any state, if "
        "one of 100 draws is (only where the active parameters are all discrete can a draw "
        "repeat one; elsewhere they are unchanged)",
        5: "a finite space (at most 10,000 configurations) whose every configuration was "
        "tried, in any state, exhausts the searcher (suggest returns None: no new trial), "
        "unless repeats=True; a random configuration that 100 draws could not find untried is "
        "picked uniformly among the untried ones; was: Int(0, 4) with 20 trials spent 15 of "
        "them on repeats",
        7: DEFINE_BY_RUN_TRIED,
        8: "constraints: an observation ranks by its constraints' latest values at or before "
        "the step, and a constraint whose metric the trial has not reported by then counts "
        "as holding unless its result there is final (before: infeasible at every step that "
        "lacked the metric, so a metric reported only at the end ranked every observation "
        "below the top step by trial id); studies without constraints are unchanged",
    }

    def __init__(
        self,
        min_points: int | None = None,
        top_n_percent: int = 15,
        n_candidates: int = 64,
        random_fraction: float = 1 / 3,
        bandwidth_factor: float = 3.0,
        min_bandwidth: float = 1e-3,
        repeats: bool = False,
    ) -> None:
        self.min_points = min_points
        self.top_n_percent = top_n_percent
        self.n_candidates = n_candidates
        self.random_fraction = random_fraction
        self.bandwidth_factor = bandwidth_factor
        self.min_bandwidth = min_bandwidth
        self.repeats = repeats

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        self._min_points = check_min_points(self.min_points, ctx.space.n_dims + 1, low=1)
        check_int("searcher.params.top_n_percent", self.top_n_percent, 1, 99)
        check_int("searcher.params.n_candidates", self.n_candidates, 1, MAX_CANDIDATES)
        check_float("searcher.params.random_fraction", self.random_fraction, 0.0, 1.0)
        check_float(
            "searcher.params.bandwidth_factor", self.bandwidth_factor, 0.0, 1e6, low_open=True
        )
        check_float("searcher.params.min_bandwidth", self.min_bandwidth, 0.0, 1.0, low_open=True)
        check_bool("searcher.params.repeats", self.repeats)
        self._dims = dims_of(ctx.space)
        self._units = UnitCache(ctx.space)
        self._finite = FiniteConfigs(ctx.space)

    def suggest(self, request: SuggestRequest) -> dict[str, Any] | None:
        rng = request.rng
        h = request.history
        if not self.repeats and self._finite.exhausted(self._units.tried(h)):
            return None
        if self._dims.d == 0 or rng.random() < self.random_fraction:
            return self._random(h, rng)
        split = self._split(h)
        if split is None:
            return self._random(h, rng)
        good, bad = split
        Xg, Xb = self._units.get(h, good), self._units.get(h, bad)
        bw_g, bw_b = self._bandwidths(Xg), self._bandwidths(Xb)
        l_kde = self._kde(Xg, bw_g)
        g_kde = self._kde(Xb, bw_b)
        wide = self._kde(Xg, bw_g * np.where(self._dims.kind == CAT, 1.0, self.bandwidth_factor))
        C = snap(self.space, self._dims, wide.sample(rng, self.n_candidates))
        score = l_kde.log_pdf(C) - g_kde.log_pdf(C)
        tried = self._units.tried(h)
        for i in np.argsort(-score, kind="stable"):
            if config_key(C[i]) not in tried:
                return decode(self.space, C[int(i)])
        # every candidate was tried already (a narrow "good" density on a discrete space): a
        # random configuration not tried yet, if a few draws find one
        return self._random(h, rng)

    def _random(self, h: History, rng: np.random.Generator) -> dict[str, Any]:
        """A uniform random configuration that no trial has (in any state), if one of
        ``_RANDOM_DRAWS`` draws is; the last draw otherwise. Only where the active parameters
        are all discrete can a draw be one already tried."""
        tried = self._units.tried(h)
        for _ in range(_RANDOM_DRAWS):
            cfg = self.space.sample(rng)
            if config_key(self.space.to_unit(cfg)) not in tried:
                return cfg
        untried = self._finite.untried(tried, rng)
        return untried if untried is not None else cfg

    def _split(self, h: History) -> tuple[list[int], list[int]] | None:
        """The "good" and "bad" trial ids at the largest step whose split is defined, or
        ``None``. A step qualifies with at least ``2 * min_points`` results and both groups of
        at least ``min_points`` once tied results are kept together (module docstring, 3)."""
        mp = self._min_points
        for step in reversed(h.steps()):
            if h.n_at_step(step) < 2 * mp:
                continue
            obs = gather(h, step)
            n = len(obs.ids)
            keys = rank_keys(h, obs)
            order = np.lexsort((np.array(obs.ids), *keys[:, ::-1].T))
            ks = keys[order]
            n_good = max(mp, (self.top_n_percent * n) // 100)
            # every result tied with the worst "good" one is good too: the ranks inside a tie
            # are the trial ids' order, which says nothing about the configurations
            tied = np.all(ks == ks[n_good - 1], axis=1)
            cut = int(np.flatnonzero(tied)[-1]) + 1
            n_bad = max(mp, ((100 - self.top_n_percent) * n) // 100)
            if n - cut < mp:
                continue
            ranked = [obs.ids[i] for i in order]
            return ranked[:cut], ranked[cut:cut + n_bad]
        return None

    def _bandwidths(self, X: np.ndarray) -> np.ndarray:
        """Normal-reference bandwidth per dimension (over the observations active in it)."""
        n, d = X.shape
        act = ~np.isnan(X)
        cnt = act.sum(axis=0)
        Xz = np.where(act, X, 0.0)
        mean = Xz.sum(axis=0) / np.maximum(cnt, 1)
        var = (np.where(act, X - mean, 0.0) ** 2).sum(axis=0) / np.maximum(cnt, 1)
        sd = np.where(cnt > 1, np.sqrt(var), 0.5)
        bw = 1.06 * sd * n ** (-1.0 / (d + 4))
        return np.asarray(np.maximum(bw, self.min_bandwidth))

    def _kde(self, X: np.ndarray, bw: np.ndarray) -> Parzen:
        m = X.shape[0]
        sigma = np.broadcast_to(bw, X.shape).copy()
        cat_max = np.where(self._dims.size > 1, (self._dims.size - 1) / np.maximum(
            self._dims.size, 1), 1.0)
        h = np.broadcast_to(np.minimum(bw, cat_max), X.shape).copy()
        return Parzen(X, np.ones(m), self._dims, prior_weight=0.0, sigma=sigma,
                      cat_bandwidth=h)

