"""Where a new trial's params come from, and how a define-by-run trial's replace them.

Part of the engine (``rung.core.engine`` calls these with itself; they change nothing else):

- ``propose``: the params of a new trial: the journal's on replay, else the next enqueued
  configuration (``Study.enqueue``, ``points_to_evaluate``), completed by the searcher when
  partial, else the searcher's suggestion;
- ``on_enqueued``: a ``TrialEnqueued`` event joins the queue;
- ``on_params_used``: a ``ParamsUsed`` event (``rung.optimize``) replaces the trial's proposed
  params by those it used and grows the study's space (``rung.space.learned``).

The queue is consumed by launches, which replay regenerates, so a resumed study never launches
an enqueued configuration twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rung.core.components import BindContext, SuggestRequest
from rung.core.events import Command, Decision, ParamsUsed, Reply, TrialEnqueued

if TYPE_CHECKING:
    from rung.core.engine import Engine


def propose(engine: Engine, tid: int) -> Mapping[str, Any] | None:
    """The params of new trial ``tid`` (``None``: the searcher is exhausted). An enqueued
    configuration is consumed here, on replay too."""
    queued = engine._queue.popleft() if engine._queue else None
    params = engine._replay_params.get(tid)
    if params is not None:
        return params
    space = engine.space
    if engine._learner is not None and not space.params:
        return dict(queued or {})  # nothing learned yet: the trial draws everything
    h = engine.history
    request = SuggestRequest(
        tid, h.n_suggested, h, engine._streams(engine.spec.seed, "searcher", tid)
    )
    if queued is not None:
        if engine._learner is not None:  # learned conditions are provisional: keep them all
            return {**(engine.searcher.suggest(request) or {}), **queued}
        if any(k not in queued for k in space.active(queued)):
            proposal = engine.searcher.suggest(request) or {}
            return space.complete(queued, proposal, request.rng)
        return space.validate(queued)
    suggested = engine.searcher.suggest(request)
    if suggested is None:
        engine.exhausted = True
        return None
    return space.validate(suggested)


def on_enqueued(engine: Engine, ev: TrialEnqueued, out: list[Command]) -> None:
    engine._queue.append(dict(ev.params))
    engine._fill(out)


def on_params_used(engine: Engine, ev: ParamsUsed, out: list[Command]) -> None:
    """A define-by-run trial's actual params: they replace the proposed ones in the history
    (searchers see only what was used) and grow the space; a distribution that conflicts with
    the known one fails the trial (``ConfigError: <name>: ...``)."""
    learner, h, tid = engine._learner, engine.history, ev.trial_id
    if learner is None or tid not in h:
        return
    conflict = learner.conflict(ev.declared)
    lease = engine.active.get(tid)
    if conflict is not None:
        if lease is not None and not lease.decided:
            lease.failure = f"ConfigError: {conflict}"
            lease.decided = True
            out.append(Reply(tid, lease.position, Decision.stop(lease.failure)))
        return
    grew = learner.observe(ev.params, ev.declared)
    old = h.params(tid)
    if list(old.items()) != list(ev.params.items()):  # kept in the trial's order
        h._set_params(tid, dict(ev.params))
        grew = grew or dict(old) != dict(ev.params)  # searchers cache encodings: rebind
    if grew:
        engine.space = h.space = learner.space
        spec = engine.spec
        engine.searcher.bind(BindContext(engine.space, spec.objective, spec.max_step, spec.seed))


__all__ = ["on_enqueued", "on_params_used", "propose"]
