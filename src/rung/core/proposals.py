"""Where a new trial's params come from, and how a define-by-run trial's become what it used.

Part of the engine (``rung.core.engine`` calls these with itself; they change nothing else):

- ``propose``: the params of a new trial: the journal's on replay, else the next enqueued
  configuration (``Study.enqueue``, ``points_to_evaluate``), completed by the searcher when
  partial, else the searcher's suggestion;
- ``on_enqueued``: a ``TrialEnqueued`` event joins the queue;
- ``on_params_used``: a ``ParamsUsed`` event (``rung.optimize``) records what the trial used
  and grows the study's space (``rung.space.learned``).

What a define-by-run trial's params are (reports of rule 3, ``rung.space.learned.MERGING``):
the values its runs used, in the order it first asked for them (a later run's value for a name
it asked before wins: the run's relaunch gave it the earlier value, so it differs only where
that run's call no longer contains it and drew another, which its later results come from),
followed, until a run of it ends for good, by the searcher's proposals for the parameters it
has not asked for yet. A paused or interrupted trial is therefore relaunched with both (its
``suggest_*`` calls return what it used, and the searcher's values for what it has not asked),
and a trial whose run ended for good (the objective returned or raised, or the trial was
stopped) holds exactly what it used. Reports of rules 1 and 2 (journals written before) replace
the trial's params by the run's, as they did when they were written, so such journals replay.

The queue is consumed by launches, which replay regenerates, so a resumed study never launches
an enqueued configuration twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rung.core.components import BindContext, SuggestRequest
from rung.core.events import Command, Decision, Launch, ParamsUsed, Reply, TrialEnqueued
from rung.space.learned import MERGING, RULE_KEY, SpaceLearner, describe, rule_of

if TYPE_CHECKING:
    from rung.core.engine import Engine

#: how the failure of a trial given an enqueued value its call does not contain begins (not
#: ``ConfigError:``: ``rung.optimize`` stops its run at those, and this one is the trial's own;
#: ``rung.dbr.trial.EnqueuedValueError`` is the worker's name for the same mistake)
ENQUEUED_VALUE_ERROR = "EnqueuedValueError"


def propose(engine: Engine, tid: int) -> Mapping[str, Any] | None:
    """The params of new trial ``tid`` (``None``: the searcher is exhausted). An enqueued
    configuration is consumed here, on replay too. On replay the journal's params are taken
    only at the turn whose journaled commands launch the trial (the searcher was exhausted at
    an earlier turn, and a configuration enqueued later launched it: that turn still has the
    searcher's answer, ``None``)."""
    queued = engine._queue.popleft() if engine._queue else None
    learner = engine._learner
    if queued is not None and learner is not None:
        learner.enqueued[tid] = dict(queued)
    params = engine._replay_params.get(tid)
    journaled = engine._journaled
    if params is not None and (journaled is None or any(
            type(c) is Launch and c.trial_id == tid for c in journaled)):
        return params
    space = engine.space
    if learner is not None and not space.params:
        return dict(queued or {})  # nothing learned yet: the trial draws everything
    h = engine.history
    request = SuggestRequest(
        tid, h.n_suggested, h, engine._streams(engine.spec.seed, "searcher", tid)
    )
    if queued is not None:
        if learner is not None:  # learned conditions are provisional: keep them all
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
    """A define-by-run trial's report of the params it used: they become its params in the
    history (see the module docstring; searchers see what was used, and the proposals a
    resumed trial has yet to ask for) and grow the space. A distribution that conflicts with
    the known one fails the trial (``ConfigError: <name>: ...``, and ``rung.optimize`` stops
    there); under rule 3 an enqueued value the trial's call does not contain fails the trial
    (``EnqueuedValueError: <name>: ...``; the search goes on)."""
    learner, h, tid = engine._learner, engine.history, ev.trial_id
    if learner is None or tid not in h:
        return
    rule = rule_of(ev.declared)
    declared = ev.declared
    misfit: str | None = None
    if rule >= MERGING:
        declared, misfit = _enqueued_misfit(learner, tid, ev)
    conflict = learner.conflict(declared)
    if conflict is not None:
        _fail(engine, tid, f"ConfigError: {conflict}", out)
        return
    old = h.params(tid)
    if rule >= MERGING:
        used = {**learner.used.get(tid, {}), **ev.params}  # a name keeps its place
        learner.used[tid] = used
        entry = ev.declared[RULE_KEY]
        final = isinstance(entry, Mapping) and entry.get("final") is True
        new = dict(used) if final else {**used, **{k: v for k, v in old.items()
                                                   if k not in used}}
    else:  # as written: the run's report replaces the trial's params
        used = new = dict(ev.params)
        learner.used[tid] = dict(used)
    grew = learner.observe(used, ev.declared)
    if list(old.items()) != list(new.items()):  # kept in the trial's order
        h._set_params(tid, new)
        grew = grew or dict(old) != new  # searchers cache encodings: rebind
    if misfit is not None:
        _fail(engine, tid, misfit, out)
    if grew:
        engine.space = h.space = learner.space
        spec = engine.spec
        engine.searcher.bind(BindContext(engine.space, spec.objective, spec.max_step, spec.seed))



def settle(engine: Engine, tid: int) -> None:
    """A define-by-run trial whose run ended for good without a final report (stopped while
    paused, failed, interrupted too often): its params become exactly what its runs used, the
    searcher's proposals for what it never asked dropped (the module docstring). Only reports
    of rule 3 keep proposals, so a trial of an older journal is left as it is."""
    learner, h = engine._learner, engine.history
    if learner is None or tid not in learner.used or tid not in h:
        return
    used = learner.used[tid]
    if dict(h.params(tid)) == used:
        return
    h._set_params(tid, dict(used))
    spec = engine.spec  # searchers cache encodings: rebind
    engine.searcher.bind(BindContext(engine.space, spec.objective, spec.max_step, spec.seed))

def _enqueued_misfit(
    learner: SpaceLearner, tid: int, ev: ParamsUsed
) -> tuple[Mapping[str, Any], str | None]:
    """Split a rule-3 report's replaced values: those of the trial's enqueued configuration
    (the failure text for the first, naming it) and the searcher's (left in the report for
    ``SpaceLearner.conflict`` to check)."""
    entry = ev.declared.get(RULE_KEY)
    replaced = entry.get("replaced") if isinstance(entry, Mapping) else None
    enqueued = learner.enqueued.get(tid)
    if not replaced or not enqueued:
        return ev.declared, None
    given = {n: v for n, v in replaced.items() if n in enqueued and _same(enqueued[n], v)}
    if not given:
        return ev.declared, None
    assert isinstance(entry, Mapping)
    rest = {n: v for n, v in replaced.items() if n not in given}
    declared = {**ev.declared, RULE_KEY: {**entry, "replaced": rest}}
    name, value = next(iter(given.items()))
    d = ev.declared.get(name) or {}
    drawn = f", {name}={ev.params[name]!r}" if name in ev.params else ""
    return declared, (
        f"{ENQUEUED_VALUE_ERROR}: {name}: the enqueued value {value!r} does not fit the "
        f"distribution declared for it here, {describe(d)}: the trial ran with a draw from "
        f"it instead{drawn}, and fails (an enqueued value must fit its call)")


def _same(a: Any, b: Any) -> bool:
    """Equal values of one type (``1`` is not ``True``, as among a categorical's choices)."""
    return type(a) is type(b) and a == b


def _fail(engine: Engine, tid: int, failure: str, out: list[Command]) -> None:
    """Fail the trial's run: it is stopped now, and ends failed with ``failure``."""
    lease = engine.active.get(tid)
    if lease is not None and not lease.decided:
        lease.failure = failure
        lease.decided = True
        out.append(Reply(tid, lease.position, Decision.stop(failure)))


__all__ = ["ENQUEUED_VALUE_ERROR", "on_enqueued", "on_params_used", "propose"]
