"""Gaussian-process Bayesian optimization.

Snoek, Larochelle and Adams, "Practical Bayesian optimization of machine learning algorithms",
NeurIPS 2012 (Matérn-5/2 ARD kernel, pending evaluations integrated over); acquisition LogEI of
Ament et al., "Unexpected improvements to expected improvement for Bayesian optimization",
NeurIPS 2023; batches beyond the fantasy cap by local penalization (González, Dai, Hennig and
Lawrence, "Batch Bayesian optimization via local penalization", AISTATS 2016); constraints by
probability of feasibility (Gardner et al., "Bayesian optimization with inequality constraints",
ICML 2014).

One suggestion:

1. *Initial design*: suggestions are points of the study's scrambled Sobol' sequence until
   ``n_initial`` have been made *and* ``n_initial`` observations exist (the convention of
   Optuna's ``n_startup_trials``, which counts completed trials). With parallel workers the
   design so continues while its first points are still running, instead of fitting a GP to
   a handful of them.
2. *Data*: results at the largest step with at least ``min_points`` of them (with a
   multi-fidelity scheduler), in the unit encoding; categorical parameters one-hot, inactive
   numeric coordinates set to -0.5 (outside the cube, so "inactive" is its own value). Scores
   are standardized; a missing or non-finite score is replaced by the worst finite one.
   Trials a scheduler ended below that step (*dropped*: stopped at a lower rung) enter as
   observations with the worst score, as TPE's bad group counts them: the
   scheduler judged them worse than the ones that went on. Without them the model never
   sees a rejection and proposes the rejected point again and again (one configuration
   proposed 300 times, each stopped at the first rung: mf-branin, ASHA, one worker).
   With ``fidelities="all"`` the lower steps a scheduler decided at are modelled too, one GP
   each, and combined with the top step's by a product of experts weighted by how well each
   ranks the top step's results (``rung.searchers._fidelities``, after MFES-HB, Li et al.
   AAAI 2021), so results at every rung inform placement where they rank like the top step.
3. *Cost bound*: at most ``max_points`` observations enter the GP: when there are more, the
   best half of them and an evenly spaced (by rank) selection of the rest. With the default 256
   a suggestion stays well under a second at 1,000 observations and beyond (see
   ``benchmarks/RESULTS.md``).
4. *Hyperparameters*: MAP by L-BFGS-B from deterministic starts (``_gp.GP.fit``); a fit is a
   pure function of the data, so it is cached and reused while only pending trials change.
5. *Pending trials*: EI is averaged over 16 *fantasies* of the outcomes of the
   ``max_fantasies`` most recent pending trials, drawn jointly from the posterior (Snoek et al.
   2012, section 3.3); the fantasies share one factorization, so this costs one Cholesky of
   ``n + p`` points (``_batch.fantasize``). A pending point has little improvement left under
   its fantasies, and a region whose fantasies are good has a better incumbent, so concurrent
   suggestions spread out; pending trials beyond that cap *locally
   penalize* the acquisition with a ball whose radius follows from a Lipschitz estimate of the
   mean, so hundreds of concurrent suggestions still spread over distinct promising regions.
6. *Acquisition*: LogEI over the best feasible observation, plus the log probability of feasibility
   of every constraint (one GP per constraint slack, on the observations whose slack is known at
   the modelled step: a constraint's metric a trial has not reported by then is unknown there, and
   the observation counts as feasible for it, unless its result there is final;
   ``_gp_data.constraint_targets``, ``rung.core.constraints``; while nothing is feasible, the
   probability of feasibility alone), plus the penalties, on ``n_candidates`` scrambled Sobol'
   points and as many perturbations of the best observations; the best few are polished by L-BFGS-B
   over their active continuous coordinates with the analytic gradient; the best polished point
   that is not already an observed or pending configuration is proposed (if every one is, a free
   random configuration; also never a failed or paused trial's, while one is found:
   ``DesignThenModel``). The starts and the proposal keep a distance from every pending point
   in the unit cube while a candidate that far is found (``_pending.PendingSet``): at least
   ``_batch.separation`` (``1e-3``, less once the best observations are refined more finely:
   where the model is confident the fantasies barely lower EI at a pending point, and a batch
   piled onto one), past ``LARGE_BATCH`` (32) pending trials the larger spread radius, so a
   batch of hundreds cannot pile onto the region the penalties leave open. The initial design
   skips a Sobol' point whose configuration is pending.

Several objectives are scalarized per suggestion by ParEGO's augmented Chebyshev norm with
random weights (Knowles 2006), except two objectives with constraints: there each objective has
its own GP and the acquisition is the exact expected hypervolume improvement over the feasible
front times the probability of feasibility (Emmerich et al. 2006; ``_gp_ehvi``), local
candidates around the feasible front (half of them moving about one coordinate:
``_gp_data.candidates``), pending trials as Kriging believers. (ParEGO x PoF left
half of OSY's trials infeasible: an infeasible observation's better scalarized score made the
model promise improvements outside the feasible region, larger than any PoF discounted.)
Randomness (candidates, fantasies, weights) comes only from ``request.rng``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_ndtr

from rung._validate import check_choice, check_int
from rung.core.components import BindContext, SuggestRequest
from rung.core.history import History
from rung.core.registry import register
from rung.searchers._batch import fantasize, separation
from rung.searchers._common import (
    CAT,
    CONT,
    DEFINE_BY_RUN_TRIED,
    Observations,
    decode,
    gather,
    snap,
)
from rung.searchers._fidelities import Ensemble, member_steps, ranking_weights
from rung.searchers._gp import (
    GP,
    Features,
    Hyper,
    blas_single_thread,
    log_ei,
    log_ei_avg,
    log_ei_grad,
)
from rung.searchers._gp_data import (
    _Model,
    candidates,
    constraint_targets,
    parego,
    penalties,
    standardize,
    subset,
    with_dropped,
)
from rung.searchers._gp_ehvi import AnyModel, EhviModel
from rung.searchers._gp_ehvi import build as ehvi_build
from rung.searchers._model_based import DesignThenModel
from rung.searchers._pending import PendingSet, config_key

#: the largest ``n_candidates``, ``max_points`` and ``max_fantasies`` (``ConfigError`` past
#: them): a suggestion scores ``2 x n_candidates`` candidates against the GP's points
#: (``n_candidates=10**9`` asked for 16 GiB in a 2-D space), and a fit or a fantasy is cubic
#: in the points it conditions on (``max_points`` observations plus ``max_fantasies`` pending
#: trials; about 13 s for a fit at 1,000 on one core). As ``rung.cost.stop_rule``'s GP: 10,000
#: and 1,000.
#: ``n_polish`` needs none: it polishes at most the ``2 x n_candidates`` candidates.
MAX_CANDIDATES = 10_000
MAX_POINTS = 1_000
MAX_FANTASIES = 1_000


@register("searcher", "gp")
class GPSearcher(DesignThenModel):
    """Gaussian-process searcher (see the module docstring).

    Args:
        n_initial: Sobol' points, and observations, before the model takes over.
        n_candidates: quasi-random candidates per suggestion (as many local ones are added);
            at most ``MAX_CANDIDATES`` (10,000).
        n_polish: best candidates polished by L-BFGS-B.
        max_points: most observations the GP is conditioned on; at most ``MAX_POINTS``
            (1,000).
        max_fantasies: most pending trials whose outcomes are fantasized (joint posterior
            draws); the rest penalize locally. At most ``MAX_FANTASIES`` (1,000).
        min_points: observations a step needs to be modelled (default 3).
        repeats: once every configuration of a finite space was tried, propose tried ones
            again (a noisy objective) instead of being exhausted (see ``DesignThenModel``).
        fidelities: ``"top"``: model the largest step with ``min_points`` results (BOHB's
            rule); ``"all"``: also the lower steps a scheduler decided at, one GP each,
            weighted by how well each ranks the top step's results (``rung.searchers.
            _fidelities``; single-objective studies; with several objectives, the top step).
    """

    version = 10
    changes = {
        10: "two objectives with constraints: one GP per objective and the acquisition log "
        "EHVI (exact, over the feasible front) + log PoF, local candidates around the feasible "
        "front (half of them moving about one coordinate), pending trials as Kriging "
        "believers (was ParEGO's scalarization x PoF: OSY kept a median 49 of 100 trials "
        "feasible, now 86); other studies are unchanged",
        6: "trials that failed by themselves are observations with the worst score"
        " (before: the model never saw them and kept proposing where every trial failed)",
        2: "pending trials (parallel workers only; sequential suggestions are unchanged): the "
        "initial design moves on to the next Sobol' point when its configuration is pending, "
        "a suggestion whose candidates are all taken is a free random configuration (was the "
        "design's point, possibly pending), and past 32 pending trials a suggestion keeps the "
        "spread radius from each pending point (rung.searchers._pending)",
        3: "multi-fidelity: trials stopped below the modelled step are observations with the "
        "worst score (before: left out, so a rejected configuration could be proposed again)",
        4: "the initial design skips a Sobol' point whose configuration some trial already "
        "has, in any state (then a uniform draw none has), and the model never proposes a "
        "failed or paused trial's configuration either, while another is free; only where "
        "the active parameters are all discrete (a finite space, an all-discrete branch) can "
        "two coincide, elsewhere suggestions are unchanged; was: Int(0, 4) repeated a "
        "configuration within its first 5 suggestions",
        5: "a finite space (at most 10,000 configurations) whose every configuration was "
        "tried, in any state, exhausts the searcher (suggest returns None: the search ends), "
        "unless repeats=True; before that, when draws keep meeting tried configurations, an "
        "untried one is picked uniformly; was: Int(0, 4) with 20 trials spent 15 of them on "
        "repeats; results near the float limits (1e308) are scaled before they are "
        "standardized (their mean and deviation overflowed: the GP was fitted on NaN)",
        7: DEFINE_BY_RUN_TRIED,
        8: "constraints: a slack is the constraint's latest value at or before the modelled "
        "step (a trial stopped below it included), and a constraint whose metric the trial "
        "has not reported by then is unknown: left out of that constraint's GP and counted "
        "as holding for the incumbent (before: infinitely violated, so a metric reported "
        "only at the end made every observation infeasible and the acquisition a flat "
        "probability of feasibility); studies without constraints are unchanged",
        9: "pending trials (parallel workers only; sequential suggestions are unchanged): a "
        "suggestion keeps at least min(1e-3, the spacing of the 5 best observations / 10) "
        "from each pending point in the unit cube (rung.searchers._batch); before, several "
        "suggestions of a batch could be one point (three within 4e-5 of each other)",
    }

    def __init__(
        self,
        n_initial: int = 10,
        n_candidates: int = 1024,
        n_polish: int = 4,
        max_points: int = 256,
        max_fantasies: int = 64,
        min_points: int | None = None,
        repeats: bool = False,
        fidelities: str = "top",
    ) -> None:
        self.n_initial = n_initial
        self.n_candidates = n_candidates
        self.n_polish = n_polish
        self.max_points = max_points
        self.max_fantasies = max_fantasies
        self.min_points = min_points
        self.repeats = repeats
        self.fidelities = fidelities

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments; ``fidelities`` only when set (older specs stay as they were)."""
        params = super().get_params()
        return {k: v for k, v in params.items() if (k, v) != ("fidelities", "top")}

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        check_int("searcher.params.n_initial", self.n_initial, 0)
        check_int("searcher.params.n_candidates", self.n_candidates, 1, MAX_CANDIDATES)
        check_int("searcher.params.n_polish", self.n_polish, 0)
        check_int("searcher.params.max_points", self.max_points, 4, MAX_POINTS)
        check_int("searcher.params.max_fantasies", self.max_fantasies, 0, MAX_FANTASIES)
        check_choice("searcher.params.fidelities", self.fidelities, ("top", "all"))
        self._bind_design(ctx, default_min_points=3, min_points_low=2)
        self._features = Features(self._dims.kind, self._dims.size, CAT)
        self._fit_cache: dict[str, tuple[Any, Hyper]] = {}
        log_ints = {j for j, *_ in self._dims.log_int}
        self._polish_dims = np.array(
            [j for j in range(self._dims.d) if self._dims.kind[j] == CONT and j not in log_ints],
            dtype=int,
        )

    # --- data ---------------------------------------------------------------------------------
    def _select(self, obs: Observations) -> tuple[list[int], np.ndarray] | None:
        y = obs.y.copy()
        finite = np.isfinite(y)
        if not finite.any():
            return None
        y[~finite] = y[finite].max()
        keep = subset(y, np.array(obs.ids), self.max_points)
        return [obs.ids[i] for i in keep], y[keep]

    def _fit(
        self, step: int, ids: list[int], y: np.ndarray, Z: np.ndarray, tag: str = "objective",
        reuse: float = 1.0,
    ) -> GP:
        """Hyperparameters on at most ``MAX_FIT_POINTS`` of the points (the same best-half
        rule), then the posterior on all of them. One cached fit per ``tag``, reused for the
        same data, or (``reuse > 1``) while the points number less than ``reuse`` times those
        it was made on."""
        gp = GP(Z, y, self._features.group, self._features.n_groups)
        key = (step, tuple(ids), y.tobytes())
        cached = self._fit_cache.get(tag)
        if cached is not None and (cached[0] == key or len(ids) < reuse * len(cached[0][1])):
            hyper = cached[1]
        else:
            sub = subset(y, np.array(ids), MAX_FIT_POINTS)
            fit_gp = GP(Z[sub], y[sub], self._features.group, self._features.n_groups)
            hyper = fit_gp.fit()
            self._fit_cache[tag] = (key, hyper)
        gp.condition(hyper)
        return gp

    # --- suggest ------------------------------------------------------------------------------
    def suggest(self, request: SuggestRequest) -> dict[str, Any] | None:
        with blas_single_thread():
            return self._suggest(request)

    def _suggest(self, request: SuggestRequest) -> dict[str, Any] | None:
        h = request.history
        if self._exhausted(h):
            return None
        # the design goes on while its points are still running (observations counted at the
        # step with the most of them, so a multi-fidelity study counts its low-step results)
        n_obs = max((h.n_at_step(s) for s in h.steps()), default=0)
        if request.index < self.n_initial or n_obs < self.n_initial or self._dims.d == 0:
            return self._initial(request)
        modelled = self._observations(h)
        if modelled is None:
            return self._initial(request)
        step, obs = modelled
        sel = self._select(with_dropped(obs))
        if sel is None:
            return self._initial(request)
        ids, y_raw = sel
        X = self._units.get(h, ids)
        Z = self._features(X)
        cons: list[tuple[GP, float]] = []
        feasible = np.ones(len(ids), dtype=bool)
        if h.constraints:
            feasible, targets = constraint_targets(h, step, ids)
            for c, rows, sc, thr in targets:
                cons.append((self._fit(step, [ids[i] for i in rows], sc, Z[rows], f"c{c}"), thr))
        if len(h.objectives) == 2 and h.constraints:  # EHVI x PoF (_gp_ehvi)
            return self._suggest_ehvi(request, step, ids, obs.pending, X, Z, feasible, cons)
        if len(h.objectives) > 1:
            y_raw = parego(np.array([h.values(t, step) for t in ids]), request.rng)
        y = standardize(y_raw)
        gp = self._fit(step, ids, y, Z)
        use_ei = bool(feasible.any())
        best = float(y[feasible].min()) if use_ei else float(y.min())
        lows, weights = ([], np.ones(1)) if self.fidelities == "top" or len(
            h.objectives) > 1 else self._low_fidelities(
            h, step, gp, Z, y, ids, np.isin(ids, obs.ids), request.rng)
        if lows:
            mu_obs, _ = Ensemble([gp, *lows], weights).predict(Z)
            best = float(mu_obs[feasible].min()) if use_ei else float(mu_obs.min())
        # pending trials: the newest as joint fantasies, the rest as penalties
        pending = obs.pending
        fant = pending[-self.max_fantasies:] if self.max_fantasies else []
        penal = pending[: len(pending) - len(fant)]
        bests = None
        if fant:
            Zp = self._features(self._units.get(h, fant))
            gp, F = fantasize(gp, Zp, request.rng, N_FANTASIES)
            bests = np.minimum(best, F.min(axis=0))
            if lows:
                mu_p, _ = Ensemble([gp, *lows], weights).predict(Zp)
                bests = np.minimum(best, mu_p.min(axis=0))
        surrogate: Any = Ensemble([gp, *lows], weights) if lows else gp
        lp = penalties(surrogate, self._features(self._units.get(h, penal)),
                       self._features.numeric_cols) if penal else None
        model = _Model(surrogate, best, bests, cons, use_ei)
        return self._propose(request, model, lp, X, y, pending)

    def _propose(self, request: SuggestRequest, model: AnyModel, lp: Any, X: np.ndarray,
                 y: np.ndarray, pending: list[int]) -> dict[str, Any] | None:
        pend = PendingSet(self._units.get(request.history, pending), self._tried(request.history),
                          floor=separation(X, y))
        u = self._optimize(model, lp, X, y, request.rng, pend)
        if u is None:  # every candidate observed or pending: any other configuration
            u = pend.free_point(lambda k: snap(self.space, self._dims,
                                               request.rng.random((k, self._dims.d))),
                                self.n_candidates, spread=False)
        return decode(self.space, u) if u is not None else self._initial(request)

    def _suggest_ehvi(self, request: SuggestRequest, step: int, ids: list[int],
                      pending: list[int], X: np.ndarray, Z: np.ndarray, feasible: np.ndarray,
                      cons: list[tuple[GP, float]]) -> dict[str, Any] | None:
        """Two objectives with constraints: EHVI x PoF (``_gp_ehvi``); the newest
        ``max_fantasies`` pending trials as Kriging believers, the others only kept apart."""
        h = request.history
        kb = pending[-self.max_fantasies:] if self.max_fantasies else []
        model, score = ehvi_build(
            np.array([h.values(t, step) for t in ids], dtype=float), feasible,
            lambda yy, tag: self._fit(step, ids, yy, Z, tag),
            self._features(self._units.get(h, kb)) if kb else None, cons)
        front = score == 0.0
        score[front] = -request.rng.random(int(front.sum()))  # local candidates: any 5 of it
        return self._propose(request, model, None, X, score, pending)

    def _low_fidelities(self, h: History, step: int, top: GP, Z: np.ndarray, y: np.ndarray,
                        top_ids: list[int], measured: np.ndarray, rng: np.random.Generator,
                        ) -> tuple[list[GP], np.ndarray]:
        """The lower steps' GPs with a weight above 0, and the weights of ``[top, *those]``
        (``rung.searchers._fidelities``); ``([], [1.0])`` when none has."""
        gps, fitted = [], []
        for s in member_steps(h, step, self._min_points):
            sel = self._select(with_dropped(gather(h, s)))
            if sel is None:
                continue
            ids, y_s = sel
            gps.append(self._fit(s, ids, standardize(y_s),
                                 self._features(self._units.get(h, ids)), f"step-{s}",
                                 reuse=LOW_REFIT_GROWTH))
            fitted.append(ids)
        if not gps:
            return [], np.ones(1)
        w = ranking_weights(top, gps, Z, y, rng, measured=measured, ids=top_ids,
                            low_ids=fitted)
        keep = [i for i in range(len(gps)) if w[i + 1] > 0]
        if not keep:
            return [], np.ones(1)
        return [gps[i] for i in keep], np.concatenate([w[:1], w[1:][keep]])

    # --- acquisition --------------------------------------------------------------------------
    def _acq(
        self, model: AnyModel, lp: Any, Zc: np.ndarray, grad_cols: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        g: np.ndarray | None
        if not model.use_ei:  # nothing feasible yet: find feasibility first
            q = Zc.shape[0]
            val = np.zeros(q)
            g = None if grad_cols is None else np.zeros((q, grad_cols.shape[0]))
        elif isinstance(model, EhviModel):
            val, g = model.value(Zc, grad_cols)
        elif grad_cols is None:
            gp = model.gp
            mu, var = gp.predict(Zc)
            if model.bests is not None:
                val, g = log_ei_avg(mu, var, model.bests)
            else:
                val, g = log_ei(mu, var, model.best), None
        else:
            gp = model.gp
            mu, var, dmu, dvar = gp.predict_grad(Zc, grad_cols)
            if model.bests is not None:
                val, g = log_ei_avg(mu, var, model.bests, dmu, dvar)
            else:
                val, g = log_ei_grad(mu, var, dmu, dvar, model.best)
        for gpc, thr in model.cons:
            if grad_cols is None:
                mc, vc = gpc.predict(Zc)
            else:
                mc, vc, dmc, dvc = gpc.predict_grad(Zc, grad_cols)
            sc = np.sqrt(vc)
            t = (thr - mc) / sc
            lpof = log_ndtr(t)
            val = val + lpof
            if g is not None and grad_cols is not None:
                ratio = np.exp(-0.5 * t * t - 0.5 * math.log(2 * math.pi) - lpof)
                dsc = dvc / (2.0 * sc[:, None])
                g = g + ratio[:, None] * (-dmc / sc[:, None] - t[:, None] * dsc / sc[:, None])
        if lp is not None:
            Zp, mup, sdp, lip = lp
            diff = Zc[:, None, :] - Zp[None, :, :]
            dist = np.sqrt(np.sum(diff * diff, axis=2)) + 1e-12  # (q, p)
            t = (model.best + lip * dist - mup[None, :]) / sdp[None, :]
            val = val + np.sum(log_ndtr(t), axis=1)
            if g is not None and grad_cols is not None:
                dlog = np.exp(-0.5 * t * t - 0.5 * math.log(2 * math.pi) - log_ndtr(t))
                coef = dlog * lip / sdp[None, :] / dist  # (q, p)
                g = g + np.einsum("qp,qpc->qc", coef, diff[:, :, grad_cols])
        return val, g

    def _optimize(
        self, model: AnyModel, lp: Any, X: np.ndarray, y: np.ndarray, rng: np.random.Generator,
        pend: PendingSet,
    ) -> np.ndarray | None:
        C = candidates(self.space, self._dims, self.n_candidates, X, y, rng,
                       sparse=isinstance(model, EhviModel))
        vals, _ = self._acq(model, lp, self._features(C))
        order = np.argsort(-vals, kind="stable")
        far = pend.spread(C)  # large batches: starts outside the pending points' balls
        if far.any() and not far.all():
            order = order[far[order]]
        starts: list[np.ndarray] = []
        seen: set[bytes] = set()
        for i in order:
            k = config_key(C[i])
            if k in seen:
                continue
            seen.add(k)
            starts.append(C[i])
            if len(starts) >= max(self.n_polish, 1) * 4:
                break
        polished = self._polish(model, lp, starts[: self.n_polish])
        finals = [*polished, *starts]
        F = np.array(finals)
        fv, _ = self._acq(model, lp, self._features(F))
        order = np.argsort(-fv, kind="stable")
        i = pend.first_free(F, order)
        if i is None and pend.radius > 0:
            i = pend.first_free(F, order, spread=False)
        return None if i is None else np.asarray(F[i])

    def _polish(self, model: AnyModel, lp: Any, starts: list[np.ndarray]) -> list[np.ndarray]:
        """L-BFGS-B on the active continuous coordinates of every start at once (the sum of
        separable objectives: one model evaluation per iteration for all starts)."""
        if not starts:
            return []
        U0 = np.array(starts)
        act = ~np.isnan(U0[:, self._polish_dims]) if self._polish_dims.size else None
        if act is None or not act.any():
            return starts
        col_of = {j: c0 for j, c0, _ in self._features.slices}
        cols = np.array([col_of[j] for j in self._polish_dims], dtype=int)
        Z0 = self._features(U0)
        rows, which = np.nonzero(act)  # variable v is dim polish_dims[which[v]] of start rows[v]

        def f(x: np.ndarray) -> tuple[float, np.ndarray]:
            Z = Z0.copy()
            Z[rows, cols[which]] = x
            v, g = self._acq(model, lp, Z, cols)
            assert g is not None
            return -float(np.sum(v)), -g[rows, which]

        x0 = U0[rows, self._polish_dims[which]]
        res = minimize(f, x0, jac=True, method="L-BFGS-B",
                       bounds=[(0.0, 1.0)] * x0.size, options={"maxiter": 30})
        U = U0.copy()
        if np.all(np.isfinite(res.x)):
            U[rows, self._polish_dims[which]] = np.clip(res.x, 0.0, 1.0)
        return list(snap(self.space, self._dims, U))


MAX_FIT_POINTS = 128
#: fantasies per pending trial's outcome (joint posterior draws)
N_FANTASIES = 16
#: a lower step's GP keeps its hyperparameters until its points grow by this factor
LOW_REFIT_GROWTH = 1.25
