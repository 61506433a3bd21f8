"""Conformance checks every searcher, scheduler and journal must pass.

They are plain functions that raise ``AssertionError`` with a message saying what broke, so a
third-party component can be checked from any test runner::

    from rung.testing import check_scheduler
    def test_my_scheduler():
        check_scheduler(lambda: MyScheduler(eta=3))

What is checked (DESIGN §8): determinism for a fixed seed, replay equals live state, an idle tick
changes nothing, suggestions lie in the space, decisions only concern running trials, every
run of a trial ends exactly once, running never exceeds capacity, and component state is JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rung.core.components import Scheduler, Searcher, SuggestRequest
from rung.core.engine import Engine
from rung.core.events import (
    CapacityChanged,
    CheckpointSaved,
    Decision,
    Launch,
    Record,
    Reply,
    ResultReported,
    Tick,
    TrialEnded,
    TrialStarted,
)
from rung.core.records import Budget, Objective, Outcome
from rung.core.rng import derive_rng
from rung.space import Categorical, Float, Int, SearchSpace
from rung.storage.base import Journal
from rung.storage.codec import from_body, to_body
from rung.storage.memory import MemoryJournal
from rung.study import Study

# --- a small deterministic multi-fidelity problem -------------------------------------------


def default_space() -> SearchSpace:
    """Float, log-float, int, categorical and a conditional parameter."""
    return SearchSpace(
        {
            "x": Float(-2.0, 2.0),
            "lr": Float(1e-4, 1e-1, log=True),
            "n": Int(1, 8),
            "opt": Categorical(["adam", "sgd"]),
            "momentum": Float(0.0, 0.99, when={"opt": "sgd"}),
        }
    )


class ToyBenchmark:
    """A cheap multi-fidelity problem on ``default_space``: the loss falls with the step
    towards a configuration-dependent floor; step costs vary by configuration so workers report
    at different rates."""

    def __init__(self, max_step: int = 27, space: SearchSpace | None = None) -> None:
        self.max_step = max_step
        self.space = space if space is not None else default_space()

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        u = self.space.to_unit(params)
        u = u[~__import__("numpy").isnan(u)]
        floor = float(((u - 0.3) ** 2).sum())
        loss = floor + 1.0 / step + 0.05 * math.sin(7.0 * float(u.sum()) + step)
        seconds = 0.5 + float(u[0]) if len(u) else 1.0
        return {"loss": loss}, seconds


def _spec(
    name: str,
    searcher: Searcher | str,
    scheduler: Scheduler | str,
    space: SearchSpace,
    max_step: int,
    budget: Budget,
    seed: int,
) -> Study:
    return Study.create(
        name,
        space,
        Objective("loss", "min"),
        searcher=searcher,
        scheduler=scheduler,
        max_step=max_step,
        budget=budget,
        seed=seed,
        storage=MemoryJournal(check=True),
    )


def _records(study: Study) -> list[Record]:
    return study.journal.read(study.name)


def _canon(records: Sequence[Record]) -> list[str]:
    out = []
    for r in records:
        kind, body = to_body(r)
        out.append(kind + json.dumps(body, sort_keys=True))
    return out


def _history_state(engine: Engine) -> list[Any]:
    h = engine.history
    return [
        (
            t.id,
            dict(t.params),
            t.status.value,
            [(r.step, dict(r.metrics)) for r in t.results],
            t.checkpoint,
            t.parent_id,
            dict(t.tags),
        )
        for t in h.trials()
    ]


def _check_protocol(records: Sequence[Record], capacity: int, where: str) -> None:
    """Walk a journal and check the lease protocol's invariants."""
    active: set[int] = set()
    ended_runs: dict[int, int] = {}
    launches: dict[int, int] = {}
    cap = 0
    for r in records:
        if isinstance(r, CapacityChanged):
            cap = r.capacity
        elif isinstance(r, Launch):
            assert r.trial_id not in active, f"{where}: trial {r.trial_id} launched twice"
            active.add(r.trial_id)
            launches[r.trial_id] = launches.get(r.trial_id, 0) + 1
            assert len(active) <= max(cap, capacity), (
                f"{where}: {len(active)} trials active with capacity {cap}"
            )
            assert 1 <= r.start_step <= r.max_step, f"{where}: bad start_step in {r!r}"
            assert r.start_step <= r.until_step <= r.max_step, f"{where}: bad lease in {r!r}"
        elif isinstance(r, Reply):
            assert r.trial_id in active, f"{where}: decision for trial {r.trial_id}, not running"
            assert isinstance(r.decision, Decision)
        elif isinstance(r, TrialEnded) and r.trial_id in active:
            active.discard(r.trial_id)
            ended_runs[r.trial_id] = ended_runs.get(r.trial_id, 0) + 1
    assert not active, f"{where}: trials {sorted(active)} never ended"
    for tid, n in launches.items():
        assert ended_runs.get(tid, 0) == n, (
            f"{where}: trial {tid} launched {n}x, ended {ended_runs.get(tid, 0)}x"
        )


def _check_idle_tick(study: Study, where: str) -> None:
    eng = study.engine
    before = (eng.history.version, _history_state(eng))
    cmds = eng.handle(Tick(eng.now))
    assert cmds == [], f"{where}: an idle tick produced commands {cmds!r}"
    assert before == (eng.history.version, _history_state(eng)), (
        f"{where}: an idle tick changed history"
    )


def _check_replay(study: Study, where: str) -> None:
    records = _records(study)
    decoded = [from_body(*to_body(r)) for r in records]
    replayed = Engine.replay(study.engine.created_spec, decoded)
    assert _history_state(replayed) == _history_state(study.engine), (
        f"{where}: replayed history differs from the live one"
    )
    assert replayed.scheduler.state() == study.engine.scheduler.state(), (
        f"{where}: replayed scheduler state differs from the live one"
    )
    assert replayed.tail == [], f"{where}: replay left commands unjournaled: {replayed.tail!r}"


# --- schedulers -----------------------------------------------------------------------------


def check_scheduler(
    make: Callable[[], Scheduler],
    searcher: Callable[[], Searcher] | str = "random",
    max_step: int = 27,
    n_workers: Sequence[int] = (1, 3, 16),
    budget: Budget | None = None,
    seeds: Sequence[int] = (0, 1),
) -> None:
    """Run ``make()`` on the simulated executor and check it. ``make`` must return a fresh
    scheduler each call."""
    from rung.core.registry import build, to_spec

    budget = budget or Budget(n_trials=40, max_steps=40 * max_step)
    sched = make()
    state_spec = to_spec("scheduler", sched)
    json.dumps(state_spec.to_json())  # persisted form is JSON
    rebuilt = build("scheduler", state_spec)
    assert rebuilt.get_params() == sched.get_params(), "scheduler does not round-trip its params"
    space = default_space()
    bench = ToyBenchmark(max_step, space)
    for seed in seeds:
        for w in n_workers:
            where = f"{type(sched).__name__} seed={seed} workers={w}"
            runs = []
            for _ in range(2):
                s = _spec(
                    "conf",
                    searcher if isinstance(searcher, str) else searcher(),
                    make(),
                    space,
                    max_step,
                    budget,
                    seed,
                )
                s.simulate(bench, n_workers=w)
                runs.append(s)
            a, b = runs
            assert _canon(_records(a)) == _canon(_records(b)), (
                f"{where}: two runs with one seed differ"
            )
            json.dumps(a.engine.scheduler.state())
            _check_protocol(_records(a), w, where)
            _check_replay(a, where)
            _check_idle_tick(a, where)
            assert len(a.engine.history) > 0, f"{where}: no trial ran"
            assert a.best_trial is not None, f"{where}: no best trial"
    _check_scheduler_ask_tell(make, max_step)


def _check_scheduler_ask_tell(make: Callable[[], Scheduler], max_step: int) -> None:
    """Drive the scheduler by hand with interleaved reports from several trials."""
    s = _spec("conf-ask", "random", make(), default_space(), max_step, Budget(n_trials=12), 3)
    bench = ToyBenchmark(max_step)
    running: dict[int, int] = {}
    guard = 0
    while guard < 10_000:
        guard += 1
        while len(running) < 4:
            t = s.ask()
            if t is None:
                break
            running[t.id] = t.checkpoint.step if t.checkpoint else 0
        if not running:
            break
        tid = min(running, key=lambda i: (running[i], i))
        step = running[tid] + 1
        metrics, _ = bench.evaluate(s.trial(tid).params, step)
        d = s.report(tid, step, metrics)
        running[tid] = step
        if d.action.value == "stop" or step >= max_step:
            s.tell(tid, "stopped" if step < max_step else "completed")
            del running[tid]
        elif d.action.value == "pause":
            s.checkpoint(tid, step, f"mem/{tid}/{step}")  # journaled, so replay sees it
            s.tell(tid, "paused")
            del running[tid]
    _check_protocol(_records(s), 4, "ask/tell")
    _check_replay(s, "ask/tell")


# --- searchers ------------------------------------------------------------------------------


def check_searcher(
    make: Callable[[], Searcher],
    space: SearchSpace | None = None,
    n_trials: int = 20,
    n_workers: int = 4,
    seed: int = 0,
) -> None:
    """Check a searcher on ``space`` (default: a mixed conditional space)."""
    from rung.core.registry import build, to_spec

    space = space if space is not None else default_space()
    sea = make()
    spec = to_spec("searcher", sea)
    json.dumps(spec.to_json())
    assert build("searcher", spec).get_params() == sea.get_params(), (
        "searcher params do not round-trip"
    )
    bench = ToyBenchmark(1, space)
    runs = []
    for _ in range(2):
        s = _spec("conf-s", make(), "fifo", space, 1, Budget(n_trials=n_trials), seed)
        s.simulate(bench, n_workers=n_workers)
        runs.append(s)
    a, b = runs
    where = f"{type(sea).__name__}"
    assert _canon(_records(a)) == _canon(_records(b)), f"{where}: two runs with one seed differ"
    for t in a.trials():
        assert space.validate(t.params) == dict(t.params), f"{where}: {t.params!r} not in the space"
    _check_replay(a, where)
    _check_protocol(_records(a), n_workers, where)
    # output depends only on the request: asking twice with the same request gives the same
    eng = a.engine
    rq = SuggestRequest(
        eng.history.next_id,
        eng.history.n_suggested,
        eng.history,
        derive_rng(seed, "searcher", eng.history.next_id),
    )
    rq2 = SuggestRequest(
        rq.trial_id, rq.index, rq.history, derive_rng(seed, "searcher", rq.trial_id)
    )
    p1, p2 = eng.searcher.suggest(rq), eng.searcher.suggest(rq2)
    assert p1 == p2, f"{where}: suggest is not a function of its request ({p1!r} != {p2!r})"
    if p1 is not None:
        space.validate(p1)
    # a different seed gives different proposals (for searchers that use randomness at all)
    c = _spec("conf-s", make(), "fifo", space, 1, Budget(n_trials=n_trials), seed + 1)
    c.simulate(bench, n_workers=n_workers)


# --- journals -------------------------------------------------------------------------------


def sample_records() -> list[Record]:
    """One record of every kind, with awkward values (NaN metric, unicode, nested params)."""
    from rung.core.events import Action, Cancel, DeleteCheckpoint

    return [
        CapacityChanged(2, 0.0, new_session=True),
        Launch(0, {"lr": 0.1, "opt": "sgd", "n": 3, "flag": True, "none": None}, 1, 3, 9, None),
        TrialStarted(0, 0.5),
        ResultReported(0, 1, {"loss": 0.25, "acc": float("nan"), "név": 1.0}, 1.0),
        Reply(0, 3, Decision(Action.CONTINUE, 9, True, "rank 1/3")),
        CheckpointSaved(0, 3, "0/3", 1.5, 1234),
        Reply(0, 4, Decision(Action.STOP, None, False, "below cutoff")),
        TrialEnded(0, Outcome.STOPPED, 2.0, None),
        TrialEnded(1, Outcome.FAILED, 2.5, "Traceback ...\nValueError: boom"),
        Launch(0, {"lr": 0.1}, 4, 9, 9, "0/3"),
        Cancel(0, "budget"),
        DeleteCheckpoint(0, "0/3"),
        Tick(3.0),
    ]


def _same(a: Any, b: Any) -> bool:
    return json.dumps(to_body(a), sort_keys=True) == json.dumps(to_body(b), sort_keys=True)


def check_journal(make: Callable[[], Journal]) -> None:
    """Check the five-method protocol on a fresh journal from ``make()``."""
    from rung.errors import JournalError

    j = make()
    assert j.list_studies() == [], "a new journal lists studies"
    spec = {"name": "a", "space": {"x": {"type": "float", "low": 0, "high": 1}}, "v": [1, 2]}
    j.create_study("a", spec)
    j.create_study("b", {"name": "b"})
    assert j.list_studies() == ["a", "b"], f"list_studies gave {j.list_studies()!r}"
    assert j.load_study("a") == spec, "load_study does not return the spec as stored"
    try:
        j.create_study("a", spec)
    except JournalError:
        pass
    else:
        raise AssertionError("creating an existing study did not raise JournalError")
    for bad in (
        lambda: j.load_study("zz"),
        lambda: j.read("zz"),
        lambda: j.append("zz", [Tick(0.0)]),
    ):
        try:
            bad()
        except JournalError:
            pass
        else:
            raise AssertionError("an unknown study did not raise JournalError")
    recs = sample_records()
    j.append("a", recs[:4])
    j.append("a", [])
    j.append("a", recs[4:])
    j.append("b", [Tick(9.0)])
    got = j.read("a")
    assert len(got) == len(recs), f"read {len(got)} records, appended {len(recs)}"
    for x, y in zip(got, recs, strict=True):
        assert _same(x, y), f"record changed on the way: {y!r} -> {x!r}"
    after = j.read("a", after=5)
    assert len(after) == len(recs) - 5 and _same(after[0], recs[5]), "read(after=) is wrong"
    assert len(j.read("b")) == 1, "studies are not separate"
