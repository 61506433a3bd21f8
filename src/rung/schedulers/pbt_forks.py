"""PBT's forks: who takes an exploited or failed member's place, and with which params (the
rest of the rule is ``rung.schedulers.pbt``'s docstring).

When a member is judged, a donor is drawn uniformly from the top members that can donate (the
generator is ``derive_rng(seed, "pbt", recipient, step)``) and its params are explored: the
built-in explore of ``rung.schedulers.pbt_explore`` (``PB2`` replaces it), then the user's
``explore=`` function if one is set. That *plan* is kept until the fork starts; the fork is
built from it while its donor's checkpoint is still recorded, whether or not the donor is
still training (a donor that completed between the exploit and the fork is still the donor
the reason named), else from a new draw among the top members judged with it that have a
checkpoint, else among the top members by their latest results. A fork always starts from
its donor's latest checkpoint and takes the recipient's place in the population. While a plan
waits, ``needs_checkpoint`` names its donor: the checkpoint the fork will start from.

**The place while the fork waits (asynchronous exploits).** An exploited member keeps its entry
in the ranking, its own last result, until its fork starts, and the fork then holds that entry
until it reports an interval result of its own (as Ray Tune's exploit in place keeps the
trial's last score until its next result): the place counts in the population and its
quantile, with the result measured there, and is never drawn as a donor. Why its own result and
not its donor's: see ``rung.schedulers.pbt``'s docstring.

If no fork is possible (no judged top member and no ranked member has a checkpoint left), the
place goes to a new member from the searcher, tagged ``"no_fork"`` with the reason; once no new
member can start, the place is lost, and ``state()["lost_places"]`` says why.

``Forks`` is a part of ``PBT``, split out to keep one idea per file: it reads and changes
PBT's population state (declared below, set by ``PBT.bind``) and calls PBT's own helpers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rung.core.components import Fork, NextTrial, StartNew
from rung.core.history import History
from rung.core.records import TrialStatus
from rung.core.rng import derive_rng
from rung.schedulers._reasons import quote
from rung.schedulers.pbt_explore import (
    ExploreFn,
    apply_explore,
    describe_changes,
    explore,
    load_explore,
)
from rung.schedulers.pbt_generations import _LIVE, _RUNNING, _fresh
from rung.schedulers.pbt_lineage import score_at
from rung.space.search_space import SearchSpace


class Forks:
    """Drawing a donor and its explored params, and building the fork that replaces a member."""

    # PBT's state (``PBT.bind``) and helpers, as these methods use them
    seed: int
    space: SearchSpace
    objective: Any
    resample_probability: float
    _names: list[str]
    _factors: tuple[float, ...]
    _custom: ExploreFn | None
    _custom_ref: str | None
    _members: dict[int, None]
    _last: dict[int, tuple[int, float]]
    _pending: dict[int, int]
    _plan: dict[int, tuple[int, dict[str, Any]]]
    _judged: dict[int, list[int]]
    _top: dict[int, list[int]]
    _stands_for: dict[int, int]
    _from_step: dict[int, int]
    _lost: list[dict[str, Any]]
    _refill: dict[str, Any] | None
    _no_new: bool
    _failed: set[int]
    _lineage: list[dict[str, Any]]
    _seen: int
    _exploits: int
    _replaced: int
    _sync: Callable[[History], None]
    _ranked: Callable[[], list[tuple[float, int]]]
    _quantile: Callable[[int], int]
    lease: Callable[[int], int]

    def _place(self, history: History) -> tuple[bool, NextTrial | None]:
        """The next place to fill (an exploited or failed member's), oldest first:
        ``(True, what to launch)`` (``None``: wait, a top member of a judged generation is
        still on its way to save its checkpoint), or ``(False, None)``: no place to fill."""
        self._refill = None
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
                    return True, None
                del self._judged[recipient]
                usable: list[int] | None = [t for t in top if _fresh(history, t, step)]
                if not usable:  # no top member saved at ``step``: the best ones that did
                    usable = [t for _, t in self._ranked()
                              if _fresh(history, t, step)][: len(top)]
            else:
                # asynchronous: the plan's donor while its checkpoint is recorded (ended or
                # not), else another of the top judged with it: a member that still has its
                # own result, or one that completed, with a checkpoint (none left: the top by
                # latest results)
                judged = self._top.pop(recipient, None)
                usable = None if judged is None else [
                    t for t in judged if history.checkpoint(t) is not None and (
                        (plan is not None and t == plan[0]) or self._donor(history, t)
                        or history.status(t) is TrialStatus.COMPLETED)
                ] or None
            del self._pending[recipient]
            self._plan.pop(recipient, None)
            fork = self._fork(history, recipient, step, usable, plan)
            if fork is not None:
                return True, fork
            # no fork is possible: the place leaves the ranking
            held = self._last.pop(recipient, None)
            lost = {"replaces": recipient, "at": step,
                    "why": self._no_fork(history, recipient, step, plan)}
            if self._no_new:  # no new member can start either: the place is lost
                self._lose(lost)
                continue
            # refill the place with a new member from the searcher
            if recipient in self._failed:
                self._failed.discard(recipient)
                self._replaced += 1
            tags: dict[str, Any] = {"pbt": "member", "replaces": recipient}
            if held is not None:
                tags["no_fork"] = lost["why"]
            self._refill = lost  # lost after all if the new member cannot start
            return True, StartNew(self.lease(1), tags)
        return False, None

    def _lose(self, lost: dict[str, Any] | None) -> None:
        """Record a place that neither a fork nor a new member could fill
        (``state()["lost_places"]``, the 20 most recent)."""
        if lost is not None:
            self._lost.append(lost)
            del self._lost[:-20]

    def _donor(self, history: History, t: int) -> bool:
        """``t`` may be drawn as a donor: a live member with its own interval result (not an
        exploited member's place, nor a fork still holding one) and a checkpoint."""
        return (t in self._members and t in self._last and t not in self._stands_for
                and history.status(t) in _LIVE and history.checkpoint(t) is not None)

    def _no_fork(
        self, history: History, recipient: int, step: int,
        plan: tuple[int, dict[str, Any]] | None,
    ) -> str:
        """Why no fork could take ``recipient``'s place (exploited or failed at ``step``)."""
        if plan is None:
            return f"no member has a checkpoint to fork from at step {step}"
        return (f"trial {plan[0]}'s checkpoint is gone ({history.status(plan[0]).value}) and "
                "no other top member has one")

    def needs_checkpoint(self, trial_id: int) -> bool:
        """Whether a planned fork names ``trial_id`` as its donor: its checkpoint is what the
        fork will start from, so it must outlive ``trial_id``'s end until the fork launches
        (the engine's checkpoint lifecycle may ask this before it releases a checkpoint)."""
        return any(donor == trial_id for donor, _ in self._plan.values())

    def _fork(
        self, history: History, recipient: int, step: int, top: list[int] | None,
        plan: tuple[int, dict[str, Any]] | None,
    ) -> Fork | None:
        """The fork that takes ``recipient``'s place: the ``plan`` made when it was judged
        (its donor and explored values) while that donor is in ``top`` (the members that can
        be donors now), else a donor drawn from ``top``; ``top=None`` (a failed member, or no
        judged top member has a checkpoint left): the top of the members ranked by their
        latest results. The fork takes over the recipient's entry in the ranking, if it kept
        one (an asynchronous exploit: module docstring), until its own first interval result;
        else it enters with its donor's result at the checkpoint's step."""
        if top is None:
            ranked = [t for _, t in self._ranked() if self._donor(history, t)]
            top = ranked[: max(self._quantile(len(self._last)), 1)]
        if plan is not None and plan[0] in top:
            donor, params = plan
        elif not top:
            return None
        else:
            donor, params = self._draw(history, recipient, step, top)
        ckpt = history.checkpoint(donor)
        assert ckpt is not None
        # a Fork is always materialized, as trial ``next_id``: it joins the population now
        self._sync(history)
        fork_id = history.next_id
        self._members[fork_id] = None
        held = self._last.pop(recipient, None)
        if held is not None:  # it holds the place's entry until it reports its own
            self._last[fork_id] = held
            self._stands_for[fork_id] = recipient
            self._from_step[fork_id] = ckpt.step
        else:
            self._last[fork_id] = (ckpt.step, history.score(donor, ckpt.step))
        self._seen = fork_id + 1
        entry = {"replaces": recipient, "parent": donor, "step": ckpt.step, "at": step}
        if recipient in self._failed:
            self._failed.discard(recipient)
            self._replaced += 1
            entry["failed"] = True
        else:
            self._exploits += 1
        self._lineage.append(entry)
        del self._lineage[:-20]
        tags = {"pbt": "fork", "replaces": recipient, "from_step": ckpt.step}
        return Fork(donor, params, self.lease(ckpt.step + 1), tags)

    def _draw(
        self, history: History, recipient: int, step: int, donors: list[int]
    ) -> tuple[int, dict[str, Any]]:
        """A donor drawn uniformly from ``donors``, and its explored params."""
        rng = derive_rng(self.seed, "pbt", recipient, step)
        donor = donors[int(rng.integers(len(donors)))]
        return donor, self._users_explore(self._explore(history, donor, step, rng))

    def _users_explore(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` after the user's ``explore=`` function, if the scheduler has one."""
        if self._custom_ref is None:
            return params
        if self._custom is None:  # its module was not importable when bound
            self._custom = load_explore(self._custom_ref)
        return apply_explore(self._custom, self._custom_ref, self.space, params)

    def _explore(
        self, history: History, donor: int, step: int, rng: np.random.Generator
    ) -> dict[str, Any]:
        """The built-in explore of the donor's params (``pbt_explore``); ``PB2`` replaces it."""
        return explore(self.space, history.params(donor), self._names,
                       self.resample_probability, rng, self._factors)

    def _replacement(self, history: History, step: int, plan: tuple[int, dict[str, Any]]) -> str:
        """``"replaced by a fork of trial 0 (loss=0.1 at step 4): lr 0.01 -> 0.012"``: the
        donor's result at ``step`` (or at its latest step, if it is behind)."""
        donor, params = plan
        last, score = self._last.get(donor, (step, None))
        at = min(step, last)
        if at < last:
            score = score_at(history, donor, at)
        where = "" if score is None else f" ({quote(self.objective, score)} at step {at})"
        return (f"replaced by a fork of trial {donor}{where}: "
                f"{describe_changes(self.space, history.params(donor), params)}")
