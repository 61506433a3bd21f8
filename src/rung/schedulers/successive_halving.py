"""Synchronous successive halving (Jamieson and Talwalkar, "Non-stochastic Best Arm
Identification and Hyperparameter Optimization", AISTATS 2016), in the form Hyperband runs as its
inner loop (Li, Jamieson, DeSalvo, Rostamizadeh and Talwalkar, "Hyperband: A Novel Bandit-Based
Approach to Hyperparameter Optimization", JMLR 2018, Algorithm 1, lines 3-9).

A *bracket* ``s`` draws ``n`` configurations and runs them through rungs ``i = 0..s``::

    n_i = floor(n * eta**-i)                 configurations at rung i
    r_i = floor(R * eta**(i - s))            steps each of them has trained at rung i
    keep the top floor(n_i / eta) of rung i; they go on to rung i + 1

with ``R = max_step``; the last rung is ``r_s = R``. (``r_i`` is the paper's ``r * eta**i`` with
``r = R * eta**-s``, rounded down to whole steps; it never drops below ``min_step``.)
Successive halving on its own is the most aggressive bracket, ``s = s_max = floor(log_eta(R /
min_step))``, with ``n = eta**s_max`` configurations unless ``n_configs`` says otherwise.

**Pause and resume.** A trial that reaches its rung is *paused*: the worker saves a checkpoint
and frees its slot. When every member of the rung has reported (or ended without reporting:
failed, or interrupted too often), the rung is *complete*: the top ``floor(n_i / eta)`` (ties to
the earlier trial) are *resumed* from their checkpoints up to the next rung, and the rest are
*retired* (``Scheduler.retired``): the engine ends them as stopped and releases their
checkpoints at once. A loser that is still saving its checkpoint when the rung completes is
retired when its pause arrives. The last member to report learns its fate at once (promoted in
place, or stopped) instead of pausing.

**Reasons.** Every member of a completed rung gets the decision on its result there, in the
same words whichever member completed it: ``"bracket 0 rung 0 (step 1): rank 2/9, promoted (top
3)"`` or ``"... rank 5/9, not in the top 3"``. The last member to report reads it in its reply;
a paused member's is handed to the engine through ``paused_decision`` (a ``STOP`` as it is
retired, a ``CONTINUE`` as it is resumed), which journals it (``rung.core.engine``).

**Results between rungs.** An objective that reports every few steps may skip a rung's step
``r_i``; its first result past ``r_i`` is its result at rung ``i`` (as Ray Tune records a
result at the first report at or past a milestone). Its worker waits there for the decision (a
worker past its lease waits at every report), and is paused, promoted or stopped as above.

**No deadlock.** Ray Tune's synchronous HyperBand could hang (ray-project/ray#6780): trials
waiting at a milestone kept resources that the trials they waited for needed. Here a worker slot
is freed only by ``TrialEnded``, and a trial waiting for its rung has *ended* (paused), so it holds
nothing. ``next_trial`` offers, in order: interrupted members of open brackets (resumed from
their checkpoints, up to their rung), paused promoted trials (oldest bracket first), new
members for a bracket whose first rung is not full, and finally a new bracket. Brackets are
opened in the paper's order; a bracket that cannot use a free worker because it waits for its
running members lets the next bracket start, so no worker idles while there is work (with one
worker this is exactly the paper's sequential loop). Whenever no trial is running, every open
rung is complete or has a member to (re)start, so ``next_trial`` always has an answer until the
brackets are done: the property test runs every bracket to the end for many ``(R, eta)`` and
1 to 64 workers.

**Members that ended.** A member that reported its result at a rung, then ended for good
before the rung completed (its pause checkpoint's save failed, its objective returned early),
is ranked and counts among the rung's ``n_i`` but is never promoted: it cannot go on, so its
place goes to the next best member that can (as scikit-learn's halving searches never keep a
candidate whose fit failed while others are left); the reasons say so: ``"... rank 4/9,
promoted (top 3 of those that can go on; passed over: trial 0, failed)"``. A member that ends
after its rung promoted it (while it saved its pause) counts at the next rung as ended without
a result: that rung completes one member short (its rung's losers are retired by then).

**A run interrupted after max_step.** A trial whose worker died after it reported
``max_step`` (in the objective's code after training) is resumed to end its run, as every
scheduler resumes an interrupted trial: from its checkpoint at ``max_step`` its launch starts
past ``max_step``, so only what follows the objective's loop runs. (Had its *driver* stopped,
the next session ends such a run completed: ``Engine.abandoned_ends``.)

**Results that are not finite** (``Objective(nan="worst")``: a NaN, infinite or missing
metric scores ``inf``) count among a rung's members, ranked last, and are never promoted, even
when fewer finite results than ``floor(n_i / eta)`` are in.

**Constraints.** A rung ranks by ``rank_key`` (``rung.schedulers._rung_table``: feasible
members first, then infeasible ones by total violation); an infeasible member's stop says so.

**Quotas.** ``quota="ceil"`` (a compatibility switch; default ``"floor"``) keeps
``ceil(n_i / eta)`` of every rung, as scikit-learn's ``HalvingGridSearchCV`` /
``HalvingRandomSearchCV`` do (``n_candidates_to_keep = ceil(n_candidates / factor)``), and plans
``n_{i+1} = ceil(n_i / eta)``.

**Budget.** When the engine cannot create a new trial (``Budget.n_trials`` spent, searcher
exhausted), ``on_start_refused`` closes every first rung with the members it has (promoting
``max(1, floor(n/eta))`` of them, so the bracket still carries its best to ``max_step``), and no
bracket is opened or filled any more.

The losers of a rung completed by ``on_start_refused`` are retired in that same turn: the engine
polls ``retired()`` after ``on_start_refused`` as after ``on_result`` and ``on_trial_end``.

Complexity: a report at a rung costs ``O(log n)`` (sorted rung table); completing a rung sorts
nothing (the table is kept sorted); ``next_trial`` is ``O(open brackets)``.

A bracket's plan (``s_max_for``, ``bracket_plan``) and its rungs' bookkeeping are in
``rung.schedulers._brackets``; how members whose runs end before their rung decides (interrupted,
failed) are resumed or counted is ``rung.schedulers._sync_ends``.
"""

from __future__ import annotations

import math
from typing import Any

from rung._validate import check_bool, check_choice, check_int
from rung.core.components import (
    BindContext,
    EndRequest,
    NextTrial,
    ResultRequest,
    Resume,
    Scheduler,
    StartNew,
)
from rung.core.events import CONTINUE, Decision
from rung.core.history import History
from rung.core.records import TrialStatus
from rung.core.registry import register
from rung.errors import ConfigError
from rung.schedulers._brackets import (  # s_max_for, bracket_plan: re-exported
    _Bracket,
    bracket_plan,
    s_max_for,
)
from rung.schedulers._guard import FidelityGuard
from rung.schedulers._rung_table import key_score, rank_key
from rung.schedulers._sync_ends import MemberEnds
from rung.schedulers._sync_reasons import here, verdict

QUOTAS = ("floor", "ceil")  # as in rung.schedulers._ladder (not imported: no need to load it)


class SynchronousBrackets(MemberEnds, Scheduler):
    """Shared machinery of ``SuccessiveHalving`` and ``Hyperband``: brackets of synchronous
    rungs, paused and resumed trials. Subclasses choose the next bracket (``_next_bracket``)."""

    version = 6
    changes = {6: "with constraints, a rung ranks feasible results first, then infeasible ones "
                  "by total violation (a constraint's metric not reported by the rung's step "
                  "counts as holding), and an infeasible member's stop names the constraints "
                  "it violates (before: constraints were ignored); studies without constraints "
                  "decide as in version 5",
               5: "a member that ended for good (failed, stopped, completed) after reporting "
                  "its result at a rung is never promoted: its place goes to the next best "
                  "(before: it was promoted, the next rung waited for it forever and the "
                  "study ended with its best trials paused); a trial interrupted after it "
                  "reported max_step (its worker died after training) is resumed to end its "
                  "run, as other schedulers resume it (before: it stayed interrupted)",
               4: "the reason of a decision taken on a paused trial is journaled: a Cancel of a "
                  "retired trial with its rank and quota (or its exploit), a Reply on a resumed "
                  "trial's last result saying why it was promoted (decisions unchanged; an older"
                  " rung cannot replay such a journal)",
               2: "a trial that skips its rung's step (it reports every few steps) counts at "
                  "the rung with its first result past it (before: it never joined the rung, "
                  "ran to max_step, and the rung completed without it)",
               3: "a result that is not finite (NaN, infinite or missing under "
                  "Objective(nan='worst')) is never promoted (before: it was when too few "
                  "finite results filled the top floor(n_i/eta))"}

    reduction_factor: int
    min_step: int
    guard: bool
    iterations: int | None
    quota: str

    def get_params(self) -> dict[str, Any]:
        # ``quota`` came after the first release: persisted only when set (the specs of
        # existing studies stay byte-identical)
        params = super().get_params()
        if params.get("quota") == "floor":
            del params["quota"]
        return params

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        eta = check_int("scheduler.params.reduction_factor", self.reduction_factor, 2)
        self._ceil = check_choice("scheduler.params.quota", self.quota, QUOTAS) == "ceil"
        r = check_int("scheduler.params.min_step", self.min_step, 1)
        if r > ctx.max_step:
            raise ConfigError(
                key="scheduler.params.min_step", message=f"{r} is above max_step ({ctx.max_step})"
            )
        if self.iterations is not None:
            check_int("scheduler.params.iterations", self.iterations, 1)
        check_bool("scheduler.params.guard", self.guard)
        self.s_max = s_max_for(r, eta, ctx.max_step)
        # the most aggressive bracket's rungs are the fidelity ladder the guard watches
        self._ladder = bracket_plan(self.s_max, self.s_max, eta, ctx.max_step)[1]
        self._guard = FidelityGuard(self._ladder) if self.guard else None
        self._brackets: dict[int, _Bracket] = {}  # open brackets, oldest first
        self._finished: list[dict[str, Any]] = []  # states of finished brackets (the last few)
        self._n_finished = 0
        self._n_opened = 0
        self._where: dict[int, tuple[int, int]] = {}  # trial -> (bracket, rung) it works for
        self._interrupted: dict[int, None] = {}
        # trials that reported max_step in their bracket's last rung and were interrupted
        # before their run ended (their worker died after training): resumed to finish
        self._finishers: dict[int, None] = {}
        self._seen = 0  # trials registered from history
        self._starved = False
        self._promotions = 0
        self._retired: list[int] = []  # paused losers to name in the next ``retired()``
        # trial -> the decision on its result at a rung completed while it was not reporting,
        # until the engine asks for it (``paused_decision``)
        self._why: dict[int, Decision] = {}
        # (bracket, rung) -> the members of a completed rung that were passed over because
        # they had ended for good (trial, status), for the rung's reasons (one entry per
        # trial passed over: it stays small)
        self._passed: dict[tuple[int, int], list[tuple[int, str]]] = {}
        # (bracket, rung, members, promoted) of every completed rung, for tests and analysis
        self.completed_rungs: list[tuple[int, int, int, int]] = []

    # --- geometry ---------------------------------------------------------------------------
    @property
    def current_s_max(self) -> int:
        """``s_max`` for new brackets: lowered by one per guard raise."""
        level = self._guard.level if self._guard is not None else 0
        return max(self.s_max - level, 0)

    def fidelity_steps(self) -> list[int]:
        return list(self._ladder)

    def _next_bracket(self, index: int) -> tuple[int, list[int], list[int]] | None:
        """``(s, [n_i], [r_i])`` of the ``index``-th bracket, or ``None`` to open no more."""
        raise NotImplementedError

    # --- bookkeeping ------------------------------------------------------------------------
    def _sync(self, history: History) -> None:
        """Register the trials created since the last call (new members of first rungs)."""
        n = len(history)
        for tid in range(self._seen, n):
            b = history.tags(tid).get("bracket")
            br = self._brackets.get(b) if isinstance(b, int) else None
            if br is None:
                continue
            rung0 = br.rungs[0]
            rung0.members[tid] = None
            self._where[tid] = (br.index, 0)
            if len(rung0.members) >= rung0.quota:
                rung0.closed = True
        self._seen = n

    def _check(self, br: _Bracket, i: int, history: History) -> list[int]:
        """Complete rung ``i`` if it can be; returns the promoted trials (possibly empty)."""
        rung = br.rungs[i]
        if rung.promoted is not None or not rung.complete:
            return []
        last = i == len(br.rungs) - 1
        if last:
            rung.promoted = []
            self._finish(br)
            return []
        # floor(n_i / eta), and at least one, so a bracket always carries its best to the top
        # (this only matters for brackets cut short by the budget or a small n_configs: the
        # paper's brackets have floor(n_i / eta) >= 1 below their last rung); quota="ceil":
        # ceil(n_i / eta), never below one
        n_i, eta = len(rung.members), self.reduction_factor
        k = -(-n_i // eta) if self._ceil else max(n_i // eta, 1)
        # best first: a score that is not finite is never promoted (they sort last), nor a
        # member that ended for good (module docstring, "Members that ended")
        promoted: list[int] = []
        passed: list[tuple[int, str]] = []
        for key, t in rung.table:
            if len(promoted) >= k or key_score(key) == math.inf:
                break
            tid = int(t)
            status = history.status(tid)
            if status.final:
                passed.append((tid, status.value))
            else:
                promoted.append(tid)
        if passed:
            self._passed[(br.index, i)] = passed
        rung.promoted = promoted
        self._promotions += len(promoted)
        self.completed_rungs.append((br.index, i, len(rung.members), len(promoted)))
        nxt = br.rungs[i + 1]
        nxt.quota = len(promoted)
        nxt.closed = True
        for tid in promoted:
            nxt.members[tid] = None
            self._where[tid] = (br.index, i + 1)
        for tid in rung.members:
            # (the reporter's is its reply: on_result drops it here; a member that ended for
            # good is asked for nothing)
            if tid in rung.scores and not history.status(tid).final:
                self._why[tid] = verdict(br, i, tid, history.last_step(tid), promoted, passed,
                                         history)
            if tid not in nxt.members:
                self._where.pop(tid, None)
                if history.status(tid) is TrialStatus.PAUSED:
                    self._retired.append(tid)  # a loser: it will never be resumed
        br.queue.update(dict.fromkeys(promoted))
        if not promoted:
            self._finish(br)
        else:
            self._check(br, i + 1, history)
        return promoted

    def _finish(self, br: _Bracket) -> None:
        br.done = True
        for rung in br.rungs:
            for tid in rung.members:
                if self._where.get(tid, (-1, 0))[0] == br.index:
                    del self._where[tid]
        self._brackets.pop(br.index, None)
        self._n_finished += 1
        self._finished.append(br.state())
        del self._finished[:-8]

    # --- hooks ------------------------------------------------------------------------------
    def next_trial(self, history: History) -> NextTrial | None:
        self._sync(history)
        # 0, 1. a run interrupted after max_step, then interrupted members of open brackets
        resume = self._resume_ended(history)  # (rung.schedulers._sync_ends)
        if resume is not None:
            return resume
        # 2. promoted trials that have paused (oldest bracket first)
        for br in self._brackets.values():
            for tid in br.queue:
                if history.status(tid) is TrialStatus.PAUSED:
                    del br.queue[tid]
                    return Resume(tid, br.rungs[self._where[tid][1]].step)
        if self._starved:
            return None
        # 3. new members for a first rung that is not full
        for br in self._brackets.values():
            rung0 = br.rungs[0]
            if not rung0.closed:
                return StartNew(rung0.step, {"bracket": br.index, "s": br.s})
        # 4. a new bracket
        plan = self._next_bracket(self._n_opened)
        if plan is None:
            return None
        s, ns, rs = plan
        br = _Bracket(self._n_opened, s, ns, rs)
        self._n_opened += 1
        self._brackets[br.index] = br
        return StartNew(rs[0], {"bracket": br.index, "s": s})

    def on_budget_raised(self, history: History) -> None:
        """New trials may start again: rungs are no longer final for want of them."""
        self._starved = False

    def on_start_refused(self, history: History) -> bool:
        self._sync(history)
        self._starved = True
        for br in list(self._brackets.values()):
            rung0 = br.rungs[0]
            if rung0.closed:
                continue
            rung0.closed = True
            if not rung0.members:
                self._finish(br)
            else:
                self._check(br, 0, history)
        return True

    def on_result(self, request: ResultRequest) -> Decision:
        history = request.history
        self._sync(history)
        tid, step, score = request.trial_id, request.result.step, request.score
        self._why.pop(tid, None)  # it reports: whatever was decided while it did not is moot
        if self._guard is not None:
            self._guard.observe(tid, step, score, history)
        where = self._where.get(tid)
        if where is None or where[0] not in self._brackets:
            if tid in self._finishers:  # resumed to finish: its rungs are behind it
                return CONTINUE
            if "bracket" in history.tags(tid):  # a loser resumed after an interruption
                return Decision.stop("no longer in its bracket (not promoted)")
            return CONTINUE
        br = self._brackets[where[0]]
        i = where[1]
        rung = br.rungs[i]
        br.queue.pop(tid, None)  # it runs: nothing to resume
        if step < rung.step:
            return Decision.proceed(rung.step)
        # at its rung's step, or past it: a trial that reports every few steps is judged at
        # its first result past the rung (module docstring, "Results between rungs")
        rung.record(tid, rank_key(history, tid, step, score))
        last = i == len(br.rungs) - 1
        if last:
            self._check(br, i, history)
            return CONTINUE
        promoted = self._check(br, i, history)
        self._why.pop(tid, None)  # its decision is its reply
        if rung.promoted is None:
            expected = len(rung.members) if rung.closed else rung.quota
            return Decision.pause(
                f"{here(br, i, step)}: {len(rung.scores)}/{expected} results in; paused "
                f"until the rung is complete"
            )
        if tid in promoted:
            br.queue.pop(tid, None)  # it is on its worker: no resume needed
        return verdict(br, i, tid, step, promoted, self._passed.get((br.index, i), ()), history)

    def on_trial_end(self, request: EndRequest) -> None:
        history = request.history
        self._sync(history)
        tid = request.trial_id
        outcome = request.outcome
        if outcome.status.final:
            self._why.pop(tid, None)
        self._ended(history, tid, outcome)  # (rung.schedulers._sync_ends)

    def retired(self) -> list[int]:
        out, self._retired = self._retired, []
        return out

    def paused_decision(self, trial_id: int) -> Decision | None:
        """The decision on a paused trial's result at a rung completed while it was paused:
        asked by the engine (``rung.core.engine``) as it retires the trial (a ``STOP``: ``"...
        rank 5/9, not in the top 3"``) or resumes it (a ``CONTINUE``: ``"... rank 2/9, promoted
        (top 3)"``); forgotten once asked. ``None``: nothing was decided while it paused."""
        return self._why.pop(trial_id, None)

    def state(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "s_max": self.s_max,
            "brackets_opened": self._n_opened,
            "brackets_finished": self._n_finished,
            "promotions": self._promotions,
            "starved": self._starved,
            "open": [br.state() for br in self._brackets.values()],
            "finished": list(self._finished),
        }
        if self._guard is not None:
            out["guard"] = self._guard.state()
        return out


@register("scheduler", "successive_halving")
class SuccessiveHalving(SynchronousBrackets):
    """Synchronous successive halving: bracket after bracket of ``n_configs`` trials (default
    ``eta**s_max``), each rung keeping the top ``1/eta``.

    Args:
        reduction_factor: ``eta`` (>= 2).
        min_step: the first rung's resource ``r`` (the bracket is ``s = floor(log_eta(max_step /
            min_step))``).
        n_configs: configurations per bracket (default ``eta**s``: one reaches ``max_step``).
        iterations: brackets to run (``None``: until the budget is spent).
        guard: open later brackets at a higher first rung while the rank correlation between
            adjacent rungs is low (see ``rung.schedulers._guard``).
        quota: ``"floor"`` (default: the top ``floor(n_i / eta)`` of a rung go on, at least
            one) or ``"ceil"`` (``ceil(n_i / eta)``, as scikit-learn keeps).
    """

    def __init__(
        self,
        reduction_factor: int = 3,
        min_step: int = 1,
        n_configs: int | None = None,
        iterations: int | None = None,
        guard: bool = False,
        quota: str = "floor",
    ) -> None:
        self.reduction_factor = reduction_factor
        self.min_step = min_step
        self.n_configs = n_configs
        self.iterations = iterations
        self.guard = guard
        self.quota = quota

    def bind(self, ctx: BindContext) -> None:
        super().bind(ctx)
        if self.n_configs is not None:
            check_int("scheduler.params.n_configs", self.n_configs, 1)

    def _next_bracket(self, index: int) -> tuple[int, list[int], list[int]] | None:
        if self.iterations is not None and index >= self.iterations:
            return None
        s = self.current_s_max
        n = self.n_configs if self.n_configs is not None else self.reduction_factor**s
        ns, rs = bracket_plan(s, s, self.reduction_factor, self.max_step, n, self._ceil)
        return s, ns, rs


__all__ = ["QUOTAS", "SuccessiveHalving", "SynchronousBrackets", "bracket_plan", "s_max_for"]
