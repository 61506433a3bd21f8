"""PBT's generations (the rest of the rule is ``rung.schedulers.pbt``'s docstring).

**Time-sharing** (a population larger than the worker slots, as Ray Tune does it). The
scheduler never learns the number of slots; it sees members waiting instead. When a member
reaches an interval step while another member waits for a slot (an original not started yet, or
a member paused behind it), it pauses there with a checkpoint instead of continuing, and a free
slot goes to the waiting member that is furthest behind (lowest step, then lowest id). A paused
member is resumed only when nobody is behind it, so the population advances one interval at a
time (a *generation*, the synchronous variant of the paper's section 3) and a slot may idle
while the last member of a generation finishes. When the last live member reaches interval step
``s``, the whole generation is judged at once: the bottom ``quantile_fraction`` of the members'
results at ``s`` are exploited (the reporter is stopped; paused ones are retired through
``retired()``) and their places are filled by forks of top members' checkpoints at ``s`` (a
fork waits for a top member still on its way to save one; a paused member that saved none at
``s`` is no donor, and with no donor nobody is exploited). Every other member pauses at ``s``
and is resumed in turn. A generation whose last member fails instead of reporting is not judged
(its members just move on). With a population no larger than the slots nobody waits, and the
asynchronous rule of ``rung.schedulers.pbt`` applies unchanged.

**Reasons.** Every member of a judged generation gets the decision on its result at ``s``,
whether it reported last or waited paused: an exploited one the exploit's reason (``"exploit:
generation at step 8 judged: acc=1.6 ranks 4/4, in the bottom 1; replaced by a fork of trial 2
(acc=7.9 at step 8): lr 0.01 -> 0.012"``, PB2's acquisition after it), a paused one that stays
``"time-sharing: generation at step 8 judged: acc=5.2 ranks 2/4, not in the bottom 1; resumed
for the next interval"``. The reporter reads its own in its reply; a paused member's is handed
to the engine through ``paused_decision`` (a ``STOP`` as it is retired, a ``CONTINUE`` as it is
resumed), which journals it (``rung.core.engine``).

**A population that cannot fill.** When no new member can start (``Budget.n_trials`` is below
``population_size``, or the searcher is exhausted), the members started so far are the
population (``state()["population_size"]``): if they all wait at one interval step, that
generation is judged at once, and the paused members resume in turn.

**Without checkpoints PBT ends.** PBT copies a better member's trained state: it needs every
member to save a checkpoint when asked (``ctx.report(step, ..., save=...)``; ask/tell:
``Study.checkpoint`` before ``tell``). A time-shared member that pauses at interval step ``s``
without a checkpoint of ``s`` could only be resumed from scratch (or an older checkpoint) into
the same pause at ``s``, for ever, whatever ``Budget.n_trials`` says; and without checkpoints
no member can be copied, so nobody is ever exploited (an asynchronous population would only be
a random search that calls itself PBT). So the first member seen to skip a checkpoint (one
that pauses without it, or, with a population no larger than the workers, a top member that
went on past an interval step without saving when a member is to be exploited) ends the run
with one line, ``"PBT needs checkpoints: trial 0 paused at step 4 without saving a checkpoint
there; pass save= to ctx.report (ask/tell: Study.checkpoint before tell)"``: every paused
member is retired with it (its ``Cancel``), every running member is stopped with it at its
next report, and nothing is started, resumed or forked again (``state()["ended"]`` holds it).
The engine's runs then end as any finished search does; no budget can be spent looping.

``Generations`` is a part of ``PBT``, split out to keep one idea per file: it reads and changes
PBT's population state (declared below, set by ``PBT.bind``) and calls PBT's own helpers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rung.core.events import Action, Decision
from rung.core.history import History
from rung.core.records import Outcome, TrialStatus
from rung.schedulers._reasons import quote

_LIVE = (TrialStatus.LAUNCHED, TrialStatus.RUNNING, TrialStatus.PAUSED)
_RUNNING = (TrialStatus.LAUNCHED, TrialStatus.RUNNING)


class Generations:
    """Time-sharing a population larger than the worker slots, one generation at a time."""

    # PBT's state (``PBT.bind``) and helpers, as these methods use them
    _members: dict[int, None]
    _last: dict[int, tuple[int, float]]
    _paused: dict[int, int]
    _pending: dict[int, int]
    _judged: dict[int, list[int]]
    _top: dict[int, list[int]]
    _unsaved: str | None  # why PBT ended: a member skipped a checkpoint (module docstring)
    _plan: dict[int, tuple[int, dict[str, Any]]]
    _retire: list[int]
    _retiring: set[int]
    _why: dict[int, Decision]  # paused member -> the decision of its generation's judgement
    _originals: int
    _size: int
    _no_new: bool
    _burn_in: int
    objective: Any
    _sync: Callable[[History], None]
    _ranked: Callable[[], list[tuple[float, int]]]
    _quantile: Callable[[int], int]
    _alive: Callable[[History, int], bool]
    _draw: Callable[[History, int, int, list[int]], tuple[int, dict[str, Any]]]
    _replacement: Callable[[History, int, tuple[int, dict[str, Any]]], str]

    def _time_share(self, history: History, tid: int, step: int) -> Decision:
        """A member reached interval ``step`` while others wait for a slot: pause it there, and
        judge the generation once its last live member has arrived (module docstring)."""
        behind = sum(
            1 for t in self._members
            if self._alive(history, t) and (t not in self._last or self._last[t][0] < step)
        )
        if behind or self._originals < self._size:
            self._paused[tid] = step
            waiting = behind + self._size - self._originals
            return Decision(
                Action.PAUSE, None, True,
                f"time-sharing: paused at step {step} until {waiting} member(s) behind catch up",
            )
        ranked = self._ranked()
        rank = next(i for i, (_, t) in enumerate(ranked) if t == tid)
        stop, m, k, exploited = self._judge(history, step, tid)
        if stop:
            return Decision.stop(
                self._exploit(history, step, tid, ranked[rank][0], rank + 1, m, k))
        self._paused[tid] = step
        if step < self._burn_in:
            return Decision(
                Action.PAUSE, None, True,
                f"time-sharing: generation at step {step} complete, not judged (burn-in: "
                f"judged from step {self._burn_in}; rank {rank + 1}/{m}); paused for the next "
                "interval",
            )
        return Decision(
            Action.PAUSE, None, True,
            f"time-sharing: generation at step {step} judged (rank {rank + 1}/{m}, "
            f"{exploited} exploited); paused for the next interval",
        )

    def _judge(
        self, history: History, step: int, reporter: int | None
    ) -> tuple[bool, int, int, int]:
        """Judge the generation at interval ``step`` (every live member's last result is at
        ``step``): its bottom ``quantile_fraction`` leaves the population, to be replaced by
        forks of its top. Returns whether
        ``reporter`` is exploited, the generation's size, its quantile and how many were
        exploited (none while no top member can be a donor)."""
        ranked = self._ranked()
        m = len(ranked)
        k = self._quantile(m)
        if k < 1 or step < self._burn_in:
            return False, m, k, 0
        # a donor has a checkpoint at ``step``, or saves one now: the reporter, or a member
        # whose pause at ``step`` is on its way (a pause saves first)
        donors = [
            t for _, t in ranked[:k]
            if t == reporter or _fresh(history, t, step)
            or (t in self._paused and history.status(t) in _RUNNING)
        ]
        if not donors:
            return False, m, k, 0
        stop = False
        top = [t for _, t in ranked[:k]]
        losers = [t for _, t in ranked[m - k:]]
        for t in losers:
            del self._members[t]
            del self._last[t]
            self._pending[t] = step
            self._judged[t] = top
            self._plan[t] = self._draw(history, t, step, donors)
            if t == reporter:
                stop = True
            else:
                self._paused.pop(t, None)
                if history.status(t) is TrialStatus.PAUSED:
                    self._retire.append(t)
                else:  # told to pause, not there yet: retired once it is
                    self._retiring.add(t)
        # the reasons of the members not reporting (module docstring, "Reasons")
        for rank, (score, t) in enumerate(ranked, 1):
            if t == reporter:
                continue
            if rank > m - k:
                self._why[t] = Decision.stop(
                    self._exploit(history, step, t, score, rank, m, k))
            elif t in self._paused:
                self._why[t] = Decision.proceed(None, (
                    f"time-sharing: generation at step {step} judged: "
                    f"{quote(self.objective, score)} ranks {rank}/{m}, not in the bottom {k}; "
                    "resumed for the next interval"))
        return stop, m, k, len(losers)

    def _exploit(
        self, history: History, step: int, member: int, score: float, rank: int, m: int, k: int
    ) -> str:
        """The reason of ``member``'s stop when its generation at ``step`` is judged (its
        ``score`` ranks ``rank``/``m``, in the bottom ``k``): its plan's donor, both results
        and explore's changes (``_replacement``)."""
        return (f"exploit: generation at step {step} judged: {quote(self.objective, score)} "
                f"ranks {rank}/{m}, in the bottom {k}; "
                + self._replacement(history, step, self._plan[member]))

    def on_start_refused(self, history: History) -> bool:
        """No new member can start (``Budget.n_trials`` is spent, or the searcher is
        exhausted) while the population is not full: the members started so far are the
        population. If they all wait at the same interval step, that generation is judged now
        (its last member has arrived); either way the paused members are resumed in turn. A
        new member that was to replace one (no donor had a checkpoint) and cannot start leaves
        the population one smaller."""
        self._sync(history)
        if self._originals >= self._size:
            # a new member in a replaced member's place could not start: the place is lost
            # (and so are those of others waiting for one), and a paused member may now be
            # the one furthest behind
            self._no_new = True
            return True
        self._size = self._originals
        self._no_new = True
        alive = [t for t in self._members if self._alive(history, t)]
        steps = {self._last[t][0] if t in self._last else 0 for t in alive}
        if alive and len(steps) == 1 and all(t in self._paused for t in alive):
            self._judge(history, steps.pop(), None)
        return True

    def retired(self) -> list[int]:
        out, self._retire = self._retire, []
        return out

    def paused_decision(self, trial_id: int) -> Decision | None:
        """The decision of a judged generation on a member that waited paused: asked by the
        engine (``rung.core.engine``) as it retires it (a ``STOP``, the exploit's reason) or
        resumes it (a ``CONTINUE``); forgotten once asked. ``None``: nothing was decided
        while it paused."""
        return self._why.pop(trial_id, None)


    # --- without checkpoints (module docstring) ---------------------------------------------
    def ended(self) -> str | None:
        """The reason PBT ended (``Scheduler.ended``): a member skipped a checkpoint."""
        return self._unsaved

    def _unsaved_pause(self, history: History, tid: int, outcome: Outcome) -> None:
        """``tid``'s run ended ``outcome``: a member that paused without a checkpoint of the
        step it paused at ends PBT (``_give_up``); once ended, each member that pauses is
        retired with the same reason. A pause its driver's stop cut short (error
        ``DRIVER_STOPPED``: the save may have been under way) blames nobody: the member stays
        paused, to be resumed from its last checkpoint as an interrupted one is."""
        if outcome is not Outcome.PAUSED or tid in self._retiring:
            return
        from rung.core.engine import DRIVER_STOPPED  # the engine imports schedulers

        if self._unsaved is None and history.error(tid) == DRIVER_STOPPED:
            return
        if self._unsaved is not None:
            self._members.pop(tid, None)
            self._retire.append(tid)
            self._why[tid] = Decision.stop(self._unsaved)
            return
        step = self._paused.get(tid)
        ckpt = history.checkpoint(tid)
        if step is None or (ckpt is not None and ckpt.step >= step):
            return
        self._give_up(history, f"trial {tid} paused at step {step} without saving a "
                      "checkpoint there; pass save= to ctx.report (ask/tell: Study.checkpoint "
                      "before tell)")

    def _no_saves(self, history: History, top: list[int]) -> Decision | None:
        """A member is to be exploited but none of the ``top`` members it would copy has a
        checkpoint, and each went on past its last interval step, where it was asked for one,
        without saving: PBT ends (``_give_up``, its ``STOP`` for the reporter). ``None``: a
        top member may still save one (it has not reported past that step yet)."""
        if not top or any(history.checkpoint(t) is not None
                          or history.last_step(t) <= self._last[t][0] for t in top):
            return None
        t = top[0]
        return self._give_up(history, f"trial {t} went on past step {self._last[t][0]} "
                             "without saving the checkpoint asked for there, so no member can "
                             "be copied; pass save= to ctx.report (ask/tell: Study.checkpoint "
                             "before reporting on)")

    def _give_up(self, history: History, why: str) -> Decision:
        """End PBT (module docstring): retire the paused members with ``why``, drop the
        planned forks; ``next_trial`` launches nothing more, ``on_result`` stops everyone."""
        reason = self._unsaved = f"{type(self).__name__} needs checkpoints: {why}"
        stop = Decision.stop(reason)
        for t in self._paused:
            if history.status(t) is TrialStatus.PAUSED:
                self._members.pop(t, None)
                self._retire.append(t)
                self._why[t] = stop
        self._paused.clear()  # those whose pause is on its way are retired once paused
        for t in self._retiring:  # exploited, their pause on its way: no fork will follow
            self._why[t] = stop
        for plans in (self._pending, self._plan, self._judged, self._top):
            plans.clear()
        return stop


def _fresh(history: History, tid: int, step: int) -> bool:
    """``tid`` is live and has a checkpoint at ``step`` or later."""
    ckpt = history.checkpoint(tid)
    return history.status(tid) in _LIVE and ckpt is not None and ckpt.step >= step
