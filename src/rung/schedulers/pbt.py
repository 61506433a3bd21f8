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
  step 8): lr 0.01 -> 0.012"``. The fork starts from that donor's checkpoint whether or not
  the donor is still training (one that completed meanwhile still has it recorded); should it
  be gone, another top member with a checkpoint is drawn, and the fork's ``parent_id`` is the
  record. With no checkpoint left to fork, a new member takes the place (tagged ``no_fork``,
  with why), or once none can start the place is lost, as ``state()["lost_places"]`` says;
- otherwise it continues to the next interval step, saving a checkpoint now (so it can serve as
  a donor).

**The place of an exploited member** stays in the ranking until its fork reports an interval
result of its own, with the exploited member's last result (its entry until the fork starts,
then the fork's, its results standing for the fork's at earlier steps too): the place counts in
the population's size and its quantile, and is never drawn as a donor. So a judgement exploits
only the bottom ``quantile_fraction`` of the whole population, whatever order members report
in. Why that result: the paper's truncation selection (section 3.1, appendix A.1) ranks the
population by its members' performance, one each; its exploited member is re-evaluated after
copying (``p <- eval(theta)``, a new measurement). Until the fork reports, rung has none: the
only number it could hold is its donor's, which is ranked already as the donor's own, and
counting it twice pushes every later reporter down a rank (with the worst first, a population
of 4 with a bottom of 1 lost 3 members at one step). The place holds the result measured in
it, as Ray Tune's exploit in place keeps the trial's last score until its next result.

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
it. The engine keeps a donor's checkpoint as long as a started fork needs it;
``needs_checkpoint(donor)`` says a planned fork, not started yet, will need it. A member that
skips one ends the run, in one line (``rung.schedulers.pbt_generations`` says why).

**Simulation** (``Study.simulate``): the decisions are PBT's own (ranks, exploits, donors,
explored values, lineage, budget), but a ``Benchmark`` is stateless: a fork's results are
``evaluate(fork's params, step)`` from its checkpoint's step on, those of a run trained with
the fork's params from step 1. The donor's trained state plays no part, so a simulation shows
how PBT spends its budget, not what copying a better member's weights gains. A warning says so
(``simulation_note``, once per process).

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
from typing import Any, ClassVar

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
from rung.schedulers._pbt_changes import PBT_CHANGES
from rung.schedulers._reasons import quote
from rung.schedulers.pbt_explore import (
    DEFAULT_FACTORS,
    ExploreFn,
    check_factors,
    check_hyperparams,
    explore,
    perturb,
    reference,
    resolve_explore,
)
from rung.schedulers.pbt_forks import Forks
from rung.schedulers.pbt_generations import _LIVE, Generations
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

    version = 13
    changes = PBT_CHANGES  # what each version changed (rung.schedulers._pbt_changes)

    #: What ``Study.simulate`` warns (module docstring, "Simulation"): ``{name}`` is the class's.
    simulation_note: ClassVar[str] = (
        "{name} is simulated with a stateless benchmark: each fork's results are the "
        "benchmark's for the fork's explored hyperparameters as if it had trained with them "
        "from step 1; the donor's trained state (the checkpoint it copies) plays no part. The "
        "exploit and explore decisions, donors, lineage and budget are simulated as in a real "
        "run; the gain from copying a better member's weights is not."
    )

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
        names = check_hyperparams(space, self.hyperparams)
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
        self._stands_for: dict[int, int] = {}  # fork holding its recipient's entry -> recipient
        self._from_step: dict[int, int] = {}  # such a fork -> the step of its checkpoint
        self._lost: list[dict[str, Any]] = []  # places no fork nor new member could fill
        self._refill: dict[str, Any] | None = None  # the place a new member is to fill
        self._unsaved: str | None = None  # PBT ended: a member skipped a checkpoint

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
        """``(score, member)`` of the members' last interval results, best first (an exploited
        member's place waiting for its fork is not a member)."""
        return sorted((score, tid) for tid, (_, score) in self._last.items()
                      if tid in self._members)

    def _holders(self) -> int:
        """Exploited members whose fork has not started: their entries stay in ``_last``."""
        return sum(1 for t in self._pending if t in self._last)

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
        if self._unsaved is not None:  # ended: a member skipped a checkpoint
            return None
        resume = self.resume_interrupted(history)
        if resume is not None:
            return resume
        placed, nxt = self._place(history)  # an exploited or failed member's place
        if placed:
            return nxt
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
        if self._unsaved is not None:
            return Decision.stop(self._unsaved)
        tid, step, score = request.trial_id, request.result.step, request.score
        self._why.pop(tid, None)  # it reports: what was decided while it paused is moot
        interval = self.perturbation_interval
        # an interval result: one at an interval step, or the first past an interval step the
        # member has not reported at (it reports every few steps)
        # (a fork holding its recipient's entry: past the step it was forked at)
        last = self._from_step.get(tid, self._last[tid][0] if tid in self._last else 0)
        if (step >= self.max_step or tid not in self._members
                or (step % interval and step // interval <= last // interval)):
            return Decision.proceed(self.lease(step + 1))
        self._last[tid] = (step, score)
        self._stands_for.pop(tid, None)  # its own result from now on
        self._from_step.pop(tid, None)
        if self._originals < self._size or self._paused:
            return self._time_share(history, tid, step)
        # the rank: how many places beat the reporter at the latest interval step both have
        # reached (module docstring), an exploited member's kept until its fork reports;
        # nobody is exploited before every member has reported
        ranked = ranked_at(history, self._last, step, self._stands_for)
        m = len(ranked)
        k = self._quantile(m)
        better = beating(history, self._last, tid, step, score, self._stands_for)
        rank = len(better)
        complete = self._originals >= self._size and m - self._holders() >= len(self._members)
        if step < self._burn_in:
            return Decision(
                Action.CONTINUE, step + interval, True,
                f"rank {rank + 1}/{m} at step {step} (burn-in: judged from step "
                f"{self._burn_in})",
            )
        if complete and k >= 1 and rank >= m - k:
            # the top: of the members that beat it, the k best by their results at ``step``
            # (or their latest, if behind); an exploited member's place is no donor
            top = [t for _, t in ranked if t in better and t in self._members
                   and t not in self._stands_for][:k]
            donors = [t for t in top if self._donor(history, t)]
            if donors:
                # it leaves the population; its result stays ranked until its fork reports
                del self._members[tid]
                self._pending[tid] = step
                self._top[tid] = top
                plan = self._plan[tid] = self._draw(history, tid, step, donors)
                return Decision.stop(
                    f"exploit: {quote(self.objective, score)} at step {step} ranks "
                    f"{rank + 1}/{m}, in the bottom {k}; "
                    + self._replacement(history, step, plan)
                )
            ended = self._no_saves(history, top)  # nobody to copy will ever have one
            if ended is not None:
                return ended
        return Decision(
            Action.CONTINUE, step + interval, True,
            f"rank {rank + 1}/{m} at step {step}",
        )

    reopens = False  # a population of population_size members, none started later

    def on_start_refused(self, history: History) -> bool:
        self._lose(self._refill)  # a new member in a place no fork could fill: it is lost
        self._refill = None
        return super().on_start_refused(history)

    def on_trial_end(self, request: EndRequest) -> None:
        history, tid, outcome = request.history, request.trial_id, request.outcome
        self._sync(history)
        self._unsaved_pause(history, tid, outcome)  # a pause without a checkpoint ends PBT
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
            if tid not in self._pending or tid in self._failed:  # else: held for its fork
                self._last.pop(tid, None)
            self._paused.pop(tid, None)
            self._stands_for.pop(tid, None)
            self._from_step.pop(tid, None)

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
            "lost_places": [dict(e) for e in self._lost],
            "ended": self._unsaved,
        }


#: Defaults of the parameters added after PBT's first release (``get_params``).
_LATER_DEFAULTS: dict[str, Any] = {
    "burn_in_period": 0, "perturbation_factors": list(DEFAULT_FACTORS), "explore": None,
}


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None
