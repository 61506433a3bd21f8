"""PBT's forks: who takes an exploited or failed member's place, and with which params (the
rest of the rule is ``rung.schedulers.pbt``'s docstring).

When a member is judged, a donor is drawn uniformly from the top members that can donate (the
generator is ``derive_rng(seed, "pbt", recipient, step)``) and its params are explored: the
built-in explore of ``rung.schedulers.pbt_explore`` (``PB2`` replaces it), then the user's
``explore=`` function if one is set. That *plan* is kept until the fork starts; the fork is
built from it while its donor is still among the top, else from a new draw. A fork always
starts from its donor's latest checkpoint and takes the recipient's place in the population.

``Forks`` is a part of ``PBT``, split out to keep one idea per file: it reads and changes
PBT's population state (declared below, set by ``PBT.bind``) and calls PBT's own helpers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rung.core.components import Fork
from rung.core.history import History
from rung.core.rng import derive_rng
from rung.schedulers._reasons import quote
from rung.schedulers.pbt_explore import (
    ExploreFn,
    apply_explore,
    describe_changes,
    explore,
    load_explore,
)
from rung.schedulers.pbt_generations import _LIVE
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
    _failed: set[int]
    _lineage: list[dict[str, Any]]
    _seen: int
    _exploits: int
    _replaced: int
    _sync: Callable[[History], None]
    _ranked: Callable[[], list[tuple[float, int]]]
    _quantile: Callable[[int], int]
    lease: Callable[[int], int]

    def _fork(
        self, history: History, recipient: int, step: int, top: list[int] | None,
        plan: tuple[int, dict[str, Any]] | None,
    ) -> Fork | None:
        """The fork that takes ``recipient``'s place: the ``plan`` made when it was judged
        (its donor and explored values) while that donor is in ``top`` (the top members that
        can be donors now), else a donor drawn from ``top``; ``top=None`` (a failed member):
        the top of the members ranked by their latest results."""
        if top is None:
            ranked = [
                t for _, t in self._ranked()
                if history.status(t) in _LIVE and history.checkpoint(t) is not None
            ]
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
        params = self._explore(history, donor, step, rng)
        if self._custom_ref is not None:
            if self._custom is None:  # its module was not importable when bound
                self._custom = load_explore(self._custom_ref)
            params = apply_explore(self._custom, self._custom_ref, self.space, params)
        return donor, params

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
