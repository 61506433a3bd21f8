"""Population-based training (Jaderberg, Dalibard, Osindero, Czarnecki, Donahue, Razavi, Vinyals,
Green, Dunning, Simonyan, Fernando and Kavukcuoglu, "Population Based Training of Neural
Networks", arXiv:1711.09846, 2017).

A *population* of ``population_size`` trials trains in parallel. Every ``perturbation_interval``
steps (the paper's "ready" criterion), a member that reports at an interval step (or, if it reports
every few steps, its first result past one) is ranked against the live population (truncation
selection, the paper's section 3.1). Members report asynchronously, so the reporter is compared
with each other member at the latest interval step both have reached: a member ahead with its
result at the reporter's step, a member behind at its own last interval step, where the reporter's
result there stands for it (a fork's results before it was forked are its lineage's: its donor's,
up to the checkpoint it copied; ``rung.schedulers.pbt_lineage``). Its rank is one plus the
number of members that beat it. Comparing latest results instead (Ray Tune's rule) ranks a slower
member against results from steps it has not reached, and a member that is always first to arrive
against results one interval older than its own, so on an improving curve it looks better than it
is and is seldom exploited. Nobody is exploited until every member of the population has started
and reported once. Ties go to the lower trial id (two members tied at the top of a population of
two, as in the paper's toy, still exploit: the copy is explored, which breaks the tie):

- in the bottom ``quantile_fraction`` (at most half the population): **exploit**. The trial is
  stopped, and a new trial is *forked* from the checkpoint of a member drawn uniformly from the
  top ``quantile_fraction`` of the members that beat it (best first by their results at its
  step, or their latest if behind): ``Fork(parent_id=donor, params=explore(donor's params))``. The
  fork starts from the donor's checkpoint, never the stopped trial's own (the bug of
  ray-project/ray#28196), takes the stopped trial's place in the population, and records its
  lineage in ``parent_id`` and its tags (``{"pbt": "fork", "replaces": <stopped trial>,
  "from_step": <the checkpoint's step>}``). The donor and the explored values are drawn when
  the member is judged, so the stop's reason says them, in the objective's units: ``"exploit:
  acc=0.2 at step 8 ranks 8/8, in the bottom 2; replaced by a fork of trial 3 (acc=0.93 at
  step 8): lr 0.01 -> 0.012"``. (Should that donor leave the population before the fork
  starts, another top member is drawn; the fork's ``parent_id`` is the record.);
- otherwise it continues to the next interval step, saving a checkpoint now (so it can serve as
  a donor).

**Explore** (the paper's "perturb", section 3.1 and appendix A) is ``rung.schedulers.pbt_explore``:
each explored hyperparameter is resampled from the space with probability
``resample_probability``, else multiplied by one of ``perturbation_factors`` (default 1.2 or 0.8,
equally likely) and kept in its range and on its grid; the result is always valid in the space.
A user's ``explore=`` function then sees (a copy of) that result and returns the params the fork
trains with, checked against the space (``pbt_explore`` says how it is stored with the study).

**Burn-in.** A member's results at steps below ``burn_in_period`` are never judged: nobody is
exploited before that step (members still save a checkpoint at every interval step and are
ranked, so the reasons show where they stand), as in Ray Tune's option of that name.

**Time-sharing** (a population larger than the worker slots, as Ray Tune does it: the members
advance one interval at a time, a *generation*, judged at once when its last member arrives) and
**a population that cannot fill** (fewer members can start than ``population_size``) are
``rung.schedulers.pbt_generations``.

**Failed members** (failed, or interrupted more than ``max_interruptions`` times) leave the
population, and their places are filled as an exploited member's are: by a fork of a top
member's latest checkpoint (``tags["replaces"]`` names the failed member), or, while no live
member has a checkpoint, by a new member from the searcher. The population keeps its size, and
no worker slot idles for the rest of the study because a member diverged. Once a new member
cannot start (``Budget.n_trials`` spent), a place no fork can fill is lost: the population is
one smaller, and its paused members resume.

Drawing donors and building forks is ``rung.schedulers.pbt_forks``; ``schedule`` (a member's
hyperparameter schedule, read from its lineage) is ``rung.schedulers.pbt_schedule``.

**Checkpoints.** Workers wait for a decision at every interval step (their lease ends there),
and the decision carries ``checkpoint=True``: the checkpoint exists before anyone can fork from
it. The engine keeps a donor's checkpoint as long as a fork still needs it.

**Determinism.** The donor and the explored values come from ``derive_rng(seed, "pbt",
recipient, step)``; ranking is by ``(score, trial id)``. Forks do not count toward
``Budget.n_trials``; bound a PBT study with ``Budget.max_steps``.

Complexity: a report at an interval step compares the reporter with the live population,
``O(P log P)`` (and a walk up a fork's lineage where a comparison needs a result from before
it was forked); other reports are ``O(1)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rung._validate import check_float, check_int
from rung.core.components import (
    BindContext,
    EndRequest,
    NextTrial,
    ResultRequest,
    Resume,
    Scheduler,
    StartNew,
)
from rung.core.events import Action, Decision
from rung.core.history import History
from rung.core.records import Outcome, TrialStatus
from rung.core.registry import register
from rung.errors import ConfigError
from rung.schedulers._reasons import quote
from rung.schedulers.pbt_explore import (
    DEFAULT_FACTORS,
    ExploreFn,
    check_factors,
    explore,
    perturb,
    reference,
    resolve_explore,
)
from rung.schedulers.pbt_forks import Forks
from rung.schedulers.pbt_generations import _LIVE, _RUNNING, Generations, _fresh
from rung.schedulers.pbt_lineage import beating, ranked_at
from rung.schedulers.pbt_schedule import schedule

__all__ = ["PBT", "explore", "perturb", "schedule"]



@register("scheduler", "pbt")
class PBT(Generations, Forks, Scheduler):
    """Population-based training (the module docstring has the whole rule).

    At every ``perturbation_interval`` steps a member is compared with the others at the latest
    interval step both have reached; one in the bottom ``quantile_fraction`` is stopped and
    replaced by a fork of a top member's checkpoint, with explored hyperparameters. The stop's
    reason names the donor, both results in the objective's units and what explore changed;
    the fork's ``parent_id`` and tags (``replaces``, ``from_step``) keep the lineage, and
    ``schedule(study.history, trial_id)`` reads a member's hyperparameter schedule from it. A
    population larger than the worker slots time-shares them, one generation at a time.

    Args:
        population_size: trials that train side by side (>= 2); fewer if ``Budget.n_trials``
            or the searcher gives fewer configurations.
        perturbation_interval: steps between exploit/explore decisions (below ``max_step``).
        quantile_fraction: the bottom fraction is replaced by forks of the top fraction
            (``0 < q <= 0.5``).
        resample_probability: chance that explore resamples a value instead of perturbing it.
        hyperparams: names of the parameters to explore, each once (default: every tunable
            parameter).
        burn_in_period: no member is judged at a step below it (default 0: from the first
            interval step); below ``max_step``.
        perturbation_factors: the multipliers explore perturbs a number by, each equally
            likely (default ``(1.2, 0.8)``, the paper's); positive; a factor of 1 keeps the value.
        explore: a function ``(params: dict) -> dict`` applied after the built-in explore,
            or its ``"module:function"`` name (module ``rung.schedulers.pbt_explore``); its
            result must be valid in the space.
    """

    version = 10
    changes = {
        10: "the reason of a decision taken on a paused trial is journaled: a Cancel of a retired "
        "trial with its rank and quota (or its exploit), a Reply on a resumed trial's last "
        "result saying why it was promoted (decisions unchanged; an older rung cannot replay "
        "such a journal)",
        2: "a population larger than the worker slots time-shares: members pause at every "
        "interval step while others wait, the member furthest behind resumes, and each "
        "generation's bottom quantile is exploited at once (before: members ran to max_step "
        "one after another and nobody was exploited until the last ones)",
        3: "time-sharing with real workers, which honour a pause at their next report: only "
        "members whose pause has happened are resumed (before: one still running could be "
        "picked, and the engine refused it), and a member exploited while its pause was on "
        "its way ends stopped once it pauses (before: it stayed paused for good)",
        4: "a failed member (or one interrupted too often) is replaced by a fork of a top "
        "member (before: the population shrank for good and its worker slot idled); explore "
        "snaps a stepped number to the nearest grid point inside its range and moves one that "
        "would not move by a grid step (before: snapping down left some stuck, e.g. Int(2, 64, "
        "step=2) at 4 and 6 going up, and a float whose range ends off its grid could be "
        "pushed off it, which raised SpaceError)",
        5: "when no new member can start (Budget.n_trials below population_size, or the "
        "searcher exhausted) the members started so far are the population, the generation "
        "they wait at is judged and they train on (before: they stayed paused at the first "
        "interval for good); a top member whose pause is on its way counts as a donor when a "
        "generation is judged (before: nobody was exploited); hyperparams=[] and a name given "
        "twice are refused",
        6: "a member is never ranked against a result from a step it has not reached: a member "
        "ahead counts with its result at the reporter's step (before: with its latest, so a "
        "slower member was exploited for being behind); the donor and explored values are "
        "drawn when a member is judged, and the stop's reason quotes values, donor and "
        "changes; forks are tagged from_step; a fork no longer waits for a paused top member "
        "that saved no checkpoint at the generation's step (before: the study stalled)",
        7: "a paused member that saved no checkpoint at a generation's step is no donor (before: "
        "the generation's bottom was exploited and its forks waited for good, or became new "
        "members); a place that neither a fork nor a new member (Budget.n_trials spent) can "
        "fill is lost and the paused members resume (before: all could stay paused for good)",
        8: "the reporter is compared with each member at the latest interval step both reached "
        "(before: with every member's latest result, so a member always first to arrive at "
        "an interval step was compared with results one interval older than its own and, on "
        "an improving curve, seldom exploited); donors are drawn from the top of the members "
        "that beat it; exploit reasons drop the '(top k: cutoff)' part, which no longer "
        "decides",
        9: "a member that reports every few steps is judged at its first result past each "
        "interval step (before: only results exactly at an interval step counted, so with "
        "reports at 5, 10, 15 and perturbation_interval=4 nobody was ever judged or asked "
        "for a checkpoint); members that report every step decide as before",
    }

    def __init__(
        self,
        population_size: int = 8,
        perturbation_interval: int = 4,
        quantile_fraction: float = 0.25,
        resample_probability: float = 0.25,
        hyperparams: list[str] | None = None,
        burn_in_period: int = 0,
        perturbation_factors: Sequence[float] = DEFAULT_FACTORS,
        explore: ExploreFn | str | None = None,
    ) -> None:
        self.population_size = population_size
        self.perturbation_interval = perturbation_interval
        self.quantile_fraction = quantile_fraction
        self.resample_probability = resample_probability
        self.hyperparams = hyperparams
        self.burn_in_period = burn_in_period
        self.perturbation_factors = perturbation_factors
        self.explore = explore

    def get_params(self) -> dict[str, Any]:
        """The constructor's arguments as a spec stores them: ``perturbation_factors`` as a
        list, ``explore`` by its ``"module:function"`` name; the options added after PBT's
        first release only when set, so existing studies' specs read back unchanged."""
        params = super().get_params()
        if isinstance(params.get("perturbation_factors"), tuple):
            params["perturbation_factors"] = list(params["perturbation_factors"])
        if callable(params.get("explore")):
            params["explore"] = reference(params["explore"]) or params["explore"]
        for key, default in _LATER_DEFAULTS.items():
            if key in params and params[key] == default:
                del params[key]
        return params

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        check_int("scheduler.params.population_size", self.population_size, 2)
        interval = check_int(
            "scheduler.params.perturbation_interval", self.perturbation_interval, 1
        )
        if interval >= ctx.max_step:
            raise ConfigError(
                key="scheduler.params.perturbation_interval",
                message=f"must be below max_step ({ctx.max_step}) for any exploit to happen, "
                f"got {interval}",
            )
        check_float("scheduler.params.quantile_fraction", self.quantile_fraction, 0, 0.5,
                    low_open=True)
        check_float("scheduler.params.resample_probability", self.resample_probability, 0, 1)
        burn_in = check_int("scheduler.params.burn_in_period", self.burn_in_period, 0)
        if burn_in >= ctx.max_step:
            raise ConfigError(
                key="scheduler.params.burn_in_period",
                message=f"must be below max_step ({ctx.max_step}) for any exploit to happen, "
                f"got {burn_in}",
            )
        self._burn_in = burn_in
        self._factors = check_factors(self.perturbation_factors)
        self._custom, self._custom_ref = resolve_explore(self.explore)
        space = ctx.space
        if self.hyperparams is None:
            names = list(space.dims)
        else:
            if isinstance(self.hyperparams, str) or not isinstance(self.hyperparams, list):
                raise ConfigError(
                    key="scheduler.params.hyperparams",
                    message=f"must be a list of parameter names, got {self.hyperparams!r}",
                )
            if not self.hyperparams:
                raise ConfigError(
                    key="scheduler.params.hyperparams",
                    message="must name at least one parameter to explore (leave it out to "
                    "explore every tunable parameter), got []",
                )
            names = []
            for n in self.hyperparams:
                if n in names:
                    raise ConfigError(key="scheduler.params.hyperparams",
                                      message=f"{n!r} is named twice")
                if n not in space.dims:
                    raise ConfigError(
                        key="scheduler.params.hyperparams",
                        message=f"{n!r} is not a tunable parameter of the space ({space.dims})",
                    )
                names.append(n)
        self.space = space
        self._names = names
        self._seen = 0
        self._size = self.population_size  # less once no new member can start
        self._no_new = False  # a new member was refused: no replacement by a new member
        self._members: dict[int, None] = {}  # the live population
        self._originals = 0
        self._last: dict[int, tuple[int, float]] = {}  # member -> its last interval result
        self._pending: dict[int, int] = {}  # stopped member -> step, waiting for its fork
        self._exploits = 0
        self._failed: set[int] = set()  # failed members waiting for their replacement
        self._replaced = 0  # failed members replaced
        self._lineage: list[dict[str, Any]] = []  # the most recent forks
        self._paused: dict[int, int] = {}  # time-sharing: member -> interval step it waits at
        self._retire: list[int] = []  # paused members exploited, for ``retired()``
        self._retiring: set[int] = set()  # exploited while their pause was still on its way
        self._why: dict[int, Decision] = {}  # time-sharing: paused member -> its judgement
        self._judged: dict[int, list[int]] = {}  # time-sharing: recipient -> the top it forks
        self._top: dict[int, list[int]] = {}  # asynchronous: recipient -> the top at its step
        self._plan: dict[int, tuple[int, dict[str, Any]]] = {}  # recipient -> donor, params

    def lease(self, start_step: int) -> int:
        """The first interval step at or after ``start_step`` (or ``max_step``)."""
        i = self.perturbation_interval
        return min(-(-start_step // i) * i, self.max_step)

    # --- bookkeeping ------------------------------------------------------------------------
    def _sync(self, history: History) -> None:
        n = len(history)
        for tid in range(self._seen, n):
            self._members[tid] = None
            # a new member that replaces one (no donor had a checkpoint) is not an original
            if history.parent_id(tid) is None and "replaces" not in history.tags(tid):
                self._originals += 1
        self._seen = n

    def _ranked(self) -> list[tuple[float, int]]:
        return sorted((score, tid) for tid, (_, score) in self._last.items())

    def _quantile(self, m: int) -> int:
        k = math.ceil(m * self.quantile_fraction)
        return min(k, m // 2)

    def _alive(self, history: History, tid: int) -> bool:
        """Running, paused, or interrupted and still to be resumed."""
        status = history.status(tid)
        if status is TrialStatus.INTERRUPTED:
            return history.interruptions(tid) <= self.max_interruptions
        return status in _LIVE

    def _lowest_step(self, history: History) -> int:
        """The interval step of the live member furthest behind (0: one has none yet)."""
        steps = [
            self._last[t][0] if t in self._last else 0
            for t in self._members if self._alive(history, t)
        ]
        return min(steps, default=0)

    # --- hooks ------------------------------------------------------------------------------
    def next_trial(self, history: History) -> NextTrial | None:
        self._sync(history)
        resume = self.resume_interrupted(history)
        if resume is not None:
            return resume
        while self._pending:
            recipient, step = next(iter(self._pending.items()))
            plan = self._plan.get(recipient)
            top = self._judged.get(recipient)
            if top is not None:
                # time-sharing: fork from the judged generation's top, from checkpoints at
                # ``step`` (wait while a top member is still on its way to save one; a paused
                # member without one will not get one)
                if any(history.status(t) in _RUNNING and not _fresh(history, t, step)
                       for t in top):
                    return None
                del self._judged[recipient]
                usable: list[int] | None = [t for t in top if _fresh(history, t, step)]
                if not usable:  # no top member saved at ``step``: the best ones that did
                    usable = [t for _, t in self._ranked()
                              if _fresh(history, t, step)][: len(top)]
            else:
                judged = self._top.pop(recipient, None)
                usable = None if judged is None else [
                    t for t in judged
                    if history.status(t) in _LIVE and history.checkpoint(t) is not None
                ] or None  # none left: the top by latest results
            del self._pending[recipient]
            self._plan.pop(recipient, None)
            fork = self._fork(history, recipient, step, usable, plan)
            if fork is not None:
                return fork
            if self._no_new:
                continue  # no new member can start either: the place is lost
            # no live member has a checkpoint (any more): refill the slot with a new member
            if recipient in self._failed:
                self._failed.discard(recipient)
                self._replaced += 1
            return StartNew(self.lease(1), {"pbt": "member", "replaces": recipient})
        if self._originals < self._size:
            return StartNew(self.lease(1), {"pbt": "member"})
        # time-sharing: the member furthest behind, once nobody is behind it; only members
        # whose pause has happened (a worker honours a PAUSE at its next report, so a member
        # told to pause may still be running)
        paused = [(step, tid) for tid, step in self._paused.items()
                  if history.status(tid) is TrialStatus.PAUSED]
        if paused:
            step, tid = min(paused)
            if step <= self._lowest_step(history):
                del self._paused[tid]
                ckpt = history.checkpoint(tid)
                return Resume(tid, self.lease(ckpt.step + 1 if ckpt else 1))
        return None

    def on_result(self, request: ResultRequest) -> Decision:
        history = request.history
        self._sync(history)
        tid, step, score = request.trial_id, request.result.step, request.score
        self._why.pop(tid, None)  # it reports: what was decided while it paused is moot
        interval = self.perturbation_interval
        # an interval result: one at an interval step, or the first past an interval step the
        # member has not reported at (it reports every few steps)
        last = self._last.get(tid)
        if (step >= self.max_step or tid not in self._members
                or (step % interval
                    and step // interval <= (0 if last is None else last[0] // interval))):
            return Decision.proceed(self.lease(step + 1))
        self._last[tid] = (step, score)
        if self._originals < self._size or self._paused:
            return self._time_share(history, tid, step)
        # the rank: how many members beat the reporter at the latest interval step both have
        # reached (module docstring); nobody is exploited before every member has reported
        ranked = ranked_at(history, self._last, step)
        m = len(ranked)
        k = self._quantile(m)
        better = beating(history, self._last, tid, step, score)
        rank = len(better)
        complete = self._originals >= self._size and m >= len(self._members)
        if step < self._burn_in:
            return Decision(
                Action.CONTINUE, step + interval, True,
                f"rank {rank + 1}/{m} at step {step} (burn-in: judged from step "
                f"{self._burn_in})",
            )
        if complete and k >= 1 and rank >= m - k:
            # the top: of the members that beat it, the k best by their results at ``step``
            # (or their latest, if behind)
            top = [t for _, t in ranked if t in better][:k]
            donors = [
                t for t in top
                if history.status(t) in _LIVE and history.checkpoint(t) is not None
            ]
            if donors:
                del self._members[tid]
                del self._last[tid]
                self._pending[tid] = step
                self._top[tid] = top
                plan = self._plan[tid] = self._draw(history, tid, step, donors)
                return Decision.stop(
                    f"exploit: {quote(self.objective, score)} at step {step} ranks "
                    f"{rank + 1}/{m}, in the bottom {k}; "
                    + self._replacement(history, step, plan)
                )
        return Decision(
            Action.CONTINUE, step + interval, True,
            f"rank {rank + 1}/{m} at step {step}",
        )

    def on_trial_end(self, request: EndRequest) -> None:
        history, tid, outcome = request.history, request.trial_id, request.outcome
        self._sync(history)
        if outcome.status.final:
            self._why.pop(tid, None)
        if tid in self._retiring:
            self._retiring.discard(tid)
            if outcome is Outcome.PAUSED:
                self._retire.append(tid)
        failed = outcome is Outcome.FAILED or (
            outcome is Outcome.INTERRUPTED and history.interruptions(tid) > self.max_interruptions
        )
        if failed and tid in self._members:
            # its place goes to a fork of a top member, as an exploited member's does
            last = self._last.get(tid)
            self._pending[tid] = last[0] if last is not None else 0
            self._failed.add(tid)
        if failed or outcome in (Outcome.COMPLETED, Outcome.STOPPED):
            self._members.pop(tid, None)
            self._last.pop(tid, None)
            self._paused.pop(tid, None)

    def state(self) -> dict[str, Any]:
        return {
            "population": list(self._members),
            "population_size": self._size,
            "ranked": [[tid, self._last[tid][0], _finite(s)] for s, tid in self._ranked()],
            "pending_forks": list(self._pending),
            "paused": sorted(self._paused),
            "retiring": sorted(self._retiring),
            "exploits": self._exploits,
            "failed_replaced": self._replaced,
            "recent_forks": [dict(e) for e in self._lineage],
        }


#: Defaults of the parameters added after PBT's first release (``get_params``).
_LATER_DEFAULTS: dict[str, Any] = {
    "burn_in_period": 0, "perturbation_factors": list(DEFAULT_FACTORS), "explore": None,
}


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None
