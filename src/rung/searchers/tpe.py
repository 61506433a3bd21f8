"""Tree-structured Parzen estimator.

Bergstra, Bardenet, Bengio and Kégl, "Algorithms for hyper-parameter optimization", NeurIPS
2011; the components follow Watanabe, "Tree-structured Parzen estimator: understanding its
algorithm components and their roles for better empirical performance", arXiv:2304.11127, 2023.

The algorithm, step by step (each step is one method below):

1. *Initial design.* The first ``n_initial`` suggestions, and any made before the model has
   ``min_points`` observations, are points of the study's scrambled Sobol' sequence.
2. *Which fidelity.* With a multi-fidelity scheduler, the model uses the largest step at which
   at least ``min_points`` trials reported (as BOHB does); with a single fidelity that is
   ``max_step``.
3. *Split* (``_split``). Observations are ranked by score (lower is better; ties by trial id) and
   the best ``gamma(n) = min(ceil(gamma * n), max_below)`` form the "below" group, the rest the
   "above" group (``gamma_schedule="sqrt"``: Hyperopt's ``ceil(gamma * sqrt(n))``). Trials a
   scheduler stopped below the modelled step join "above" as its worst members. With
   constraints, feasible trials rank before infeasible ones, which rank by total violation
   (``History.violation(..., ranking=True)``: a constraint's metric the trial has not reported
   by the modelled step counts as holding, unless its result there is final;
   ``rung.core.constraints``); with
   several objectives the ranking is by non-dominated sorting, ties within the last front broken
   by hypervolume contribution (MOTPE; Ozaki et al., GECCO 2020 / JAIR 2022).

   Pending trials join "above" as its worst members (the *constant liar*, Optuna's
   ``constant_liar=True``, so parallel suggestions do not repeat one another), but their kernels
   weigh ``liar_weight`` (default 0.01) each where an observation weighs up to 1, so a wave of
   parallel suggestions spreads without being pushed out of the incumbent's region. A
   sequential study has no pending trials and is unaffected. (Why 0.01: docs/algorithm-notes.md.)

   With several objectives each pending trial also *claims* the "below" member nearest it
   (Euclidean, unit encoding), and ``l`` is fitted on the unclaimed members only (all members,
   each weighing ``1 / (1 + claims)``, once every one is claimed), so the trials in flight
   refine different points of the front instead of piling onto the member of best ``l/g``
   while its results are awaited. It is the local-penalization idea (González et al.,
   AISTATS 2016: discount the model where a pending point already searches) applied to
   ``l``'s kernels rather than the acquisition, rung's own; the liar alone, at any weight,
   did not help there (docs/algorithm-notes.md). One objective: no claims.
4. *Weights.* Inside each group, ordered best first, all but the last 25 members get a linear
   ramp of weights from ``1/n`` up (Optuna's ``default_weights``, but over value order, where
   Optuna 5 and Hyperopt ramp over trial age, oldest least): the "above" observations nearest
   the split weigh least, so ``g`` describes the clearly bad regions (the "below" group, at
   most ``max_below`` = 25, is unweighted). A prior kernel of weight ``prior_weight`` is added
   to both. (Value order rather than age order: docs/algorithm-notes.md.)
5. *Densities* ``l(x)`` (below) and ``g(x)`` (above): mixtures of truncated Gaussians on the unit
   encoding with the neighbour-distance bandwidth and magic clip (``bandwidth="scott"``: one
   bandwidth ``0.2 n^(-1/(d+4))`` per group), discretized for integer and stepped parameters,
   Aitchison-Aitken style probability tables for categorical ones (``_parzen.Parzen``).
   Log-scaled integers are scored by the density at their code (Optuna: the mass of their bin).
   Conditional parameters (multivariate): the dimensions are split into groups of co-active
   parameters (a branch's children, the parameters every configuration uses), and each group
   has its own ``l`` and ``g`` fitted only on the observations that used it; a candidate's
   density is the product over the groups it uses (Optuna's ``group=True``;
   ``_parzen.GroupedParzen`` says why a single joint kernel locks onto one branch). Univariate:
   each parameter's density comes from the observations that used it.
6. *Branches* (conditional spaces). A categorical that other parameters' ``when=`` conditions
   name chooses a branch of the tree. ``l/g`` ranks a branch by its typical observation, so a
   branch whose good region is narrow (poor on average, best at its optimum) loses every
   acquisition once "below" holds another branch, and is never tried again: the categorical
   kernels give an unobserved branch only the prior's mass, and ``g`` holds the branch's poor
   draws (Watanabe 2023, section 3, on categorical and conditional parameters). So every value
   of a branching categorical keeps at least ``min_branch_share`` of the recent half of the
   trials in which the categorical is active (capped at ``0.5 / choices``): when one falls
   below it, the next suggestion is restricted to that branch (the least-tried value, then the
   first), its other coordinates still chosen by ``l/g``. A per-branch minimum exploration,
   deterministic given the history; ``min_branch_share=0`` turns it off.
7. *Acquisition.* ``n_candidates`` draws from ``l``; the one maximizing ``log l - log g`` (the
   expected-improvement ranking of the paper) is proposed. With trials pending (parallel
   workers), the best one that is not a pending configuration and, past ``LARGE_BATCH`` (32)
   pending trials, keeps the spread radius from each of them (``_pending``: the hard-ball form
   of local penalization, González et al., AISTATS 2016), capped by the median
   nearest-neighbour distance within "below", drawing more candidates when none does; the
   initial design likewise skips a Sobol' point whose configuration is pending. First of all,
   though, every trial's configuration counts as pending here, whatever its state, so
   nothing is repeated while an untried configuration is found (``DesignThenModel``; only
   where the active parameters are all discrete can two configurations coincide).
   ``multivariate=True`` draws and scores whole configurations from joint kernels (Falkner et
   al. 2018); ``False`` treats every parameter independently, as the original paper does.

The state needed is a pure function of the history, so nothing is carried between calls; all
randomness comes from ``request.rng``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from rung._validate import check_bool, check_choice, check_float, check_int
from rung.core.components import BindContext, SuggestRequest
from rung.core.history import History
from rung.core.registry import register
from rung.multiobjective import default_reference, hv_contributions, nondominated_sort
from rung.searchers._common import DEFINE_BY_RUN_TRIED, Observations, decode, snap
from rung.searchers._model_based import DesignThenModel
from rung.searchers._parzen import GroupedParzen, Parzen, activity_groups
from rung.searchers._pending import PendingSet, config_key, local_scale
from rung.space import Categorical

#: the largest ``n_candidates`` (``ConfigError`` past it): each is drawn and scored under both
#: densities, every observation a kernel (``n_candidates=10**9`` asked for 7.5 GiB per
#: parameter). ``max_below`` needs none: a cap, bounded by the observations themselves.
MAX_CANDIDATES = 10_000


def ramp_weights(n: int) -> np.ndarray:
    """Optuna's default observation weights: 1 for the last 25, a linear ramp from ``1/n`` for
    the ones before (Optuna orders by trial number, ``_split`` by value)."""
    if n < 25:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, n - 25), np.ones(25)])


@register("searcher", "tpe")
class TPESearcher(DesignThenModel):
    """Args:
        n_initial: Sobol' points before the model takes over.
        multivariate: joint kernels over all parameters (else one density per parameter).
        gamma: fraction of observations in the "below" group.
        max_below: cap on the "below" group's size.
        gamma_schedule: ``"linear"`` (``ceil(gamma n)``) or ``"sqrt"`` (``ceil(gamma sqrt n)``).
        prior_weight: weight of the broad prior kernel in both densities.
        n_candidates: draws from ``l`` scored per suggestion; at most ``MAX_CANDIDATES``
            (10,000).
        bandwidth: ``"neighbor"`` (per observation, per dimension) or ``"scott"``.
        constant_liar: pending trials count as the worst observations (in "above"); off, they
            are left out of the model.
        liar_weight: the weight of a pending trial's kernel in ``g`` (an observation's is at
            most 1).
        min_points: observations a step needs to be modelled (default ``max(5, d + 1)``).
        min_branch_share: the least share of the recent half of the trials that each value of a
            branching categorical keeps (step 6); 0 turns it off.
        repeats: once every configuration of a finite space was tried, propose tried ones
            again (a noisy objective) instead of being exhausted (see ``DesignThenModel``).
    """

    version = 9
    changes = {
        6: "trials that failed by themselves are observations with the worst score"
        " (before: the model never saw them and kept proposing where every trial failed)",
        2: "conditional spaces (multivariate): one density per group of co-active parameters, "
        "fitted on the trials that used them (was one joint kernel, which locked onto one "
        "branch); each value of a categorical that 'when=' conditions name keeps at least "
        "min_branch_share (0.1) of the recent half of the trials, the next suggestion is "
        "restricted to a branch below it",
        3: "pending trials (parallel workers only; sequential suggestions are unchanged): a "
        "configuration equal to a pending one is not proposed while another is free (more "
        "draws from l, then uniform ones; the initial design moves on to the next Sobol' "
        "point), and past 32 pending trials a suggestion keeps the spread radius (at most the "
        "median nearest-neighbour distance within the 'below' group) from each pending point "
        "(rung.searchers._pending)",
        4: "a configuration some trial already has, in any state, is not proposed while "
        "another is free (the initial design moves on to the next Sobol' point, then a "
        "uniform draw; the model takes its best untried candidate, drawing more as for "
        "pending ones); only where the active parameters are all discrete (a finite space, "
        "an all-discrete branch) can two coincide, elsewhere suggestions are unchanged; was: "
        "Int(0, 20) repeated 7 of its first 21 suggestions",
        5: "a finite space (at most 10,000 configurations) whose every configuration was "
        "tried, in any state, exhausts the searcher (suggest returns None: the search ends), "
        "unless repeats=True; before that, when draws keep meeting tried configurations, an "
        "untried one is picked uniformly; was: Int(0, 4) with 20 trials spent 15 of them on "
        "repeats",
        7: DEFINE_BY_RUN_TRIED,
        8: "constraints: an observation ranks by its constraints' latest values at or before "
        "the modelled step, and a constraint whose metric the trial has not reported by then "
        "counts as holding unless its result there is final (before: infeasible at every "
        "step that lacked the metric, so a metric reported only at the end ranked every "
        "observation below it by trial id); studies without constraints are unchanged",
        9: "several objectives with pending trials (parallel workers): each pending trial "
        "claims the nearest 'below' member and l is fitted on the unclaimed ones (all, at "
        "1/(1+claims), once every one is claimed), so a batch refines different points of the "
        "front; was: the 8 in flight piled onto the same members (ZDT1 / DTLZ2 at 100 trials, "
        "8 in flight, 40 seeds: hypervolume 10.40 -> 10.58, 2.348 -> 2.407); one objective "
        "and sequential studies are unchanged",
    }

    def __init__(
        self,
        n_initial: int = 10,
        multivariate: bool = True,
        gamma: float = 0.1,
        max_below: int = 25,
        gamma_schedule: str = "linear",
        prior_weight: float = 1.0,
        n_candidates: int = 24,
        bandwidth: str = "neighbor",
        constant_liar: bool = True,
        liar_weight: float = 0.01,
        min_points: int | None = None,
        min_branch_share: float = 0.1,
        repeats: bool = False,
    ) -> None:
        self.n_initial = n_initial
        self.multivariate = multivariate
        self.gamma = gamma
        self.max_below = max_below
        self.gamma_schedule = gamma_schedule
        self.prior_weight = prior_weight
        self.n_candidates = n_candidates
        self.bandwidth = bandwidth
        self.constant_liar = constant_liar
        self.liar_weight = liar_weight
        self.min_points = min_points
        self.min_branch_share = min_branch_share
        self.repeats = repeats

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        check_int("searcher.params.n_initial", self.n_initial, 0)
        check_int("searcher.params.max_below", self.max_below, 1)
        check_int("searcher.params.n_candidates", self.n_candidates, 1, MAX_CANDIDATES)
        check_float("searcher.params.gamma", self.gamma, 0.0, 1.0, low_open=True)
        check_float("searcher.params.prior_weight", self.prior_weight, 0.0)
        check_float("searcher.params.liar_weight", self.liar_weight, 0.0)
        check_float("searcher.params.min_branch_share", self.min_branch_share, 0.0, 1.0)
        for key in ("multivariate", "constant_liar"):
            check_bool(f"searcher.params.{key}", getattr(self, key))
        check_choice("searcher.params.gamma_schedule", self.gamma_schedule, ("linear", "sqrt"))
        check_choice("searcher.params.bandwidth", self.bandwidth, ("neighbor", "scott"))
        self._bind_design(ctx, default_min_points=max(5, ctx.space.n_dims + 1),
                          min_points_low=2)
        parents = {parent for p in ctx.space.params.values() for parent in p.when}
        self._branching = [
            (j, name, len(p.choices)) for j, name in enumerate(ctx.space.dims)
            if name in parents and isinstance(p := ctx.space[name], Categorical)
        ]

    # --- the algorithm ----------------------------------------------------------------------
    def suggest(self, request: SuggestRequest) -> dict[str, Any] | None:
        h = request.history
        if self._exhausted(h):
            return None
        if request.index < self.n_initial or self._dims.d == 0:
            return self._initial(request)
        modelled = self._observations(h)
        if modelled is None:
            return self._initial(request)
        _, obs = modelled
        branch = self._short_branch(h)
        below, above, liars = self._split(h, obs)
        if not below:
            return self._initial(request)
        groups = None
        if self._dims.conditional and self.multivariate:
            groups = activity_groups(self._units.get(h, below + above + liars))
        claims = self._claims(h, below, obs.pending) if len(h.objectives) > 1 else None
        l_est = self._density(h, below, groups=groups, scale=claims)
        g_est = self._density(h, above, liars, groups)
        pend = None
        if obs.pending:
            cap = local_scale(self._units.get(h, below))
            pend = PendingSet(self._units.get(h, obs.pending), cap=cap)
        tried = self._tried(h)
        if tried:
            # first a configuration no trial has (outside the short branch if every one
            # inside it was tried); if none is found (every one was tried), one that is not
            # pending, as in any space
            avoid = PendingSet(self._units.get(h, obs.pending), tried,
                               cap=pend.radius if pend is not None else None)
            for b in (branch, None) if branch is not None else (None,):
                u = self._best_candidate(l_est, g_est, request.rng, b, avoid)
                if config_key(u) not in tried:
                    return decode(self.space, u)
            untried = self._finite.untried(tried, request.rng)
            if untried is not None:
                return untried
        u = self._best_candidate(l_est, g_est, request.rng, branch, pend)
        return decode(self.space, u)

    def _short_branch(self, h: History) -> tuple[int, float] | None:
        """``(dimension, code)`` of the branch below its minimum share (step 6), or ``None``."""
        if not self._branching or self.min_branch_share <= 0:
            return None
        for j, name, c in self._branching:
            counts = np.zeros(c, dtype=int)
            p = self.space[name]
            assert isinstance(p, Categorical)
            n = len(h)
            for tid in range(n - (n + 1) // 2, n):  # the recent half: a branch tried early
                params = h.params(tid)              # and then abandoned comes back too
                if name in params:
                    counts[p.index(params[name])] += 1
            share = min(self.min_branch_share, 0.5 / c)
            k = int(np.argmin(counts))
            if counts[k] < share * counts.sum():
                return j, (k + 0.5) / c
        return None

    def n_below(self, n: int) -> int:
        if self.gamma_schedule == "sqrt":
            k = math.ceil(self.gamma * math.sqrt(n))
        else:
            k = math.ceil(self.gamma * n)
        return max(1, min(k, self.max_below, n))

    def _rank(self, h: History, obs: Observations) -> list[int]:
        """Observed trial ids, best first (ties broken by trial id). With constraints, feasible
        trials first, then by total violation as ranked at the modelled step (a metric not
        reported by then counts as holding: ``History.violation(..., ranking=True)``); with
        several objectives, by non-dominated front, the front that straddles the split ordered
        by hypervolume contribution."""
        ids = np.array(obs.ids)
        if len(h.objectives) == 1 and not h.constraints:
            order = np.lexsort((ids, obs.y))
            return [obs.ids[i] for i in order]
        viol = np.array([h.violation(t, obs.step, ranking=True) for t in obs.ids])
        if len(h.objectives) == 1:
            order = np.lexsort((ids, obs.y, viol))
            return [obs.ids[i] for i in order]
        Y = np.array([h.values(t, obs.step) for t in obs.ids]).reshape(len(obs.ids), -1)
        viol = np.where(np.all(np.isfinite(Y), axis=1), viol, np.inf)
        ok = viol == 0.0
        front = np.full(len(obs.ids), np.iinfo(np.int64).max // 2)
        if ok.any():
            front[ok] = nondominated_sort(Y[ok])
        rank = [int(i) for i in np.lexsort((ids, front, viol))]
        k = self.n_below(len(rank))
        if ok.sum() > k:
            f = front[rank[k - 1]]
            members = [i for i in rank if front[i] == f and ok[i]]
            if len(members) > 1:
                ref = default_reference(Y[ok])
                contrib = hv_contributions(Y[members], ref)
                best_first = [members[j] for j in np.argsort(-contrib, kind="stable")]
                first = rank.index(members[0])
                rank[first:first + len(members)] = best_first
        return [obs.ids[i] for i in rank]

    def _split(
        self, h: History, obs: Observations
    ) -> tuple[list[int], list[int], list[int]]:
        """Both groups best first (the order the weights ramp over), dropped trials last in
        "above", as its worst members; then the pending trials that join "above" after them
        with the constant liar (none without it)."""
        ranked = self._rank(h, obs)
        k = self.n_below(len(ranked))
        liars = list(obs.pending) if self.constant_liar else []
        return ranked[:k], ranked[k:] + sorted(obs.dropped), liars

    def _claims(self, h: History, below: list[int], pending: Sequence[int]) -> np.ndarray | None:
        """Weight factors of the "below" members with several objectives (step 3): 0 for a
        member some pending trial is nearest to (ties: the better member), 1 for the others;
        ``1 / (1 + claims)`` for all once every member is claimed. ``None`` (no change) without
        pending trials or without the liar."""
        if not pending or not below or not self.constant_liar:
            return None
        X = np.nan_to_num(self._units.get(h, below), nan=-0.5)
        P = np.nan_to_num(self._units.get(h, list(pending)), nan=-0.5)
        near = np.argmin(np.sum((P[:, None, :] - X[None, :, :]) ** 2, axis=2), axis=1)
        claims = np.bincount(near, minlength=len(below))
        if (claims == 0).any():
            return np.asarray(claims == 0, dtype=float)
        return np.asarray(1.0 / (1.0 + claims))

    def _density(
        self,
        h: History,
        ids: list[int],
        liars: Sequence[int] = (),
        groups: list[np.ndarray] | None = None,
        scale: np.ndarray | None = None,
    ) -> Any:
        """Observations weighted by the ramp (times ``scale``, one factor per member of
        ``ids``, if given), liars (appended last) by ``liar_weight``; one density per group of
        co-active dimensions when ``groups`` is given (step 5)."""
        ramp = ramp_weights(len(ids))
        if scale is not None:
            ramp = ramp * scale
        ids = list(ids) + list(liars)
        X = self._units.get(h, ids)
        w = np.concatenate([ramp, np.full(len(liars), self.liar_weight)])
        sigma = None
        if self.bandwidth == "scott":
            s = 0.2 * max(len(ids), 1) ** (-1.0 / (self._dims.d + 4))
            sigma = np.full(X.shape, max(s, 1.0 / min(100.0, len(ids) + 2.0)))
        if groups is not None:
            return GroupedParzen(X, w, self._dims, groups, self.prior_weight, sigma=sigma)
        return Parzen(X, w, self._dims, self.prior_weight, sigma=sigma)

    def _best_candidate(
        self,
        l_est: Any,
        g_est: Any,
        rng: np.random.Generator,
        branch: tuple[int, float] | None = None,
        pend: PendingSet | None = None,
    ) -> np.ndarray:
        """Step 7; with pending trials (``pend``), the best candidate that is not a pending
        configuration (and, past ``_pending.LARGE_BATCH`` of them, keeps the spread radius),
        drawing more candidates from ``l``, then uniform ones, when none is (``_pending``)."""
        n = self.n_candidates
        if self.multivariate:
            C = self._draw(l_est, g_est, rng, n, branch)
            if pend is None:
                return np.asarray(C[0])
            i = pend.first_free(C, range(C.shape[0]))
            if i is not None:
                return np.asarray(C[i])
            return self._free(l_est, g_est, rng, branch, pend, C)
        # independent: every parameter picks its own best draw
        u = np.empty(self._dims.d)
        for j in range(self._dims.d):
            raw = np.full((n, self._dims.d), 0.5)
            raw[:, j] = l_est.sample_marginal(j, rng, n)
            x = snap(self.space, self._dims, raw, conditions=False)[:, j]
            acq = l_est.log_pdf_marginal(j, x) - g_est.log_pdf_marginal(j, x)
            u[j] = x[int(np.argmax(acq))]
        if branch is not None:
            u[branch[0]] = branch[1]
        if pend is None or pend.first_free(u[None, :], [0]) is not None:
            return u
        return self._free(l_est, g_est, rng, branch, pend, u[None, :])

    def _draw(
        self, l_est: Any, g_est: Any, rng: np.random.Generator, n: int,
        branch: tuple[int, float] | None,
    ) -> np.ndarray:
        """``n`` snapped draws from ``l``, best ``log l - log g`` first (ties: draw order)."""
        raw = l_est.sample(rng, n)
        if branch is not None:
            raw[:, branch[0]] = branch[1]
        C = snap(self.space, self._dims, raw)
        acq = l_est.log_pdf(C) - g_est.log_pdf(C)
        return np.asarray(C[np.argsort(-acq, kind="stable")])

    def _free(
        self, l_est: Any, g_est: Any, rng: np.random.Generator,
        branch: tuple[int, float] | None, pend: PendingSet, C: np.ndarray,
    ) -> np.ndarray:
        """A configuration that may be proposed when no candidate of ``C`` (best first) may:
        more draws from ``l``, then uniform draws, first keeping the spread radius, then
        without it; ``C[0]`` when the space has no other configuration (all pending)."""
        n = self.n_candidates

        def uniform(k: int) -> np.ndarray:
            raw = rng.random((k, self._dims.d))
            if branch is not None:
                raw[:, branch[0]] = branch[1]
            return snap(self.space, self._dims, raw)

        for spread in (True, False) if pend.radius > 0 else (False,):
            if not spread:
                i = pend.first_free(C, range(C.shape[0]), spread=False)
                if i is not None:
                    return np.asarray(C[i])
            u = pend.free_point(lambda k: self._draw(l_est, g_est, rng, k, branch), n,
                                spread=spread)
            if u is None:
                u = pend.free_point(uniform, 4 * n, spread=spread)
            if u is not None:
                return u
        return np.asarray(C[0])
