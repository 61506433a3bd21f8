"""Property tests (hypothesis): scheduler invariants under random interleavings, and
synchronous successive halving / Hyperband never deadlocking."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from random_world import RandomWorld, SmallBench

import rung
from rung import Action, Budget, TrialStatus
from rung.core import CheckpointSaved, Launch, Reply, ResultReported, TrialEnded
from rung.core.components import Scheduler
from rung.core.records import Outcome
from rung.schedulers import (
    ASHA,
    PBT,
    AsyncHyperband,
    Hyperband,
    MedianStoppingRule,
    SuccessiveHalving,
)
from rung.schedulers._ladder import rung_steps
from rung.schedulers.successive_halving import bracket_plan, s_max_for

FAST = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)

SCHEDULERS: dict[str, Callable[[], Scheduler]] = {
    "asha-stopping": lambda: ASHA(3),
    "asha-promotion": lambda: ASHA(2, variant="promotion"),
    "asha-guard": lambda: ASHA(3, guard=True),
    "sh": lambda: SuccessiveHalving(3),
    "hyperband": lambda: Hyperband(3),
    "hyperband-guard": lambda: Hyperband(2, guard=True),
    "async-hyperband": lambda: AsyncHyperband(3, variant="promotion"),
    "median": lambda: MedianStoppingRule(2, 2),
    "pbt": lambda: PBT(4, 2),
}


def _world(name: str, data: st.DataObject, max_step: int = 9) -> RandomWorld:
    capacity = data.draw(st.integers(1, 6), label="capacity")
    seed = data.draw(st.integers(0, 3), label="seed")
    w = RandomWorld(SCHEDULERS[name](), max_step, Budget(n_trials=40, max_steps=150), seed)
    w.run(lambda n: data.draw(st.integers(0, n - 1)), capacity, chaos_steps=120)
    return w


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
@FAST
@given(data=st.data())
def test_protocol_invariants_under_random_interleavings(name: str, data: st.DataObject) -> None:
    """Running <= capacity, every run ends exactly once, decisions only for running trials,
    no stall, and replay reproduces the scheduler's state."""
    w = _world(name, data)
    w.check_protocol()
    w.check_replay()


SPARSE: dict[str, Callable[[], Scheduler]] = {
    "asha-stopping": lambda: ASHA(2),
    "asha-promotion": lambda: ASHA(2, variant="promotion"),
    "asha-auto": lambda: ASHA(2, min_step="auto", probes=3),
    "sh": lambda: SuccessiveHalving(2),
    "hyperband": lambda: Hyperband(2),
    "async-hyperband": lambda: AsyncHyperband(2, variant="promotion"),
}


@pytest.mark.parametrize("name", sorted(SPARSE))
@settings(FAST, max_examples=8)
@given(data=st.data())
def test_trials_that_report_every_other_step_keep_the_protocol_invariants(
    name: str, data: st.DataObject
) -> None:
    """Reports at steps 2, 4, 6, ... (or odd steps after a resume) skip rungs (1, 2, 4, 8 of
    max_step 16 at eta 2). Same invariants as above: nothing stalls, replay reproduces the
    state, and a result judged at a rung it skipped is one the worker waited at."""
    capacity = data.draw(st.integers(1, 6), label="capacity")
    seed = data.draw(st.integers(0, 3), label="seed")
    w = RandomWorld(SPARSE[name](), 16, Budget(n_trials=30, max_steps=200), seed, stride=2)
    w.run(lambda n: data.draw(st.integers(0, n - 1)), capacity, chaos_steps=100)
    w.check_protocol()
    w.check_replay()
    late = [r for r in w.records if isinstance(r, Reply) and "reported at step" in
            r.decision.reason]
    for r in late:  # "(step s, reported at step r)": r past s, and the reply is to step r
        s, r_at = (int(x.split()[-1]) for x in r.decision.reason.split("(")[1].split(")")[0]
                   .split(", reported at"))
        assert s < r_at == r.step


def _replay_rung_tables(w: RandomWorld, rungs: list[int]) -> list[tuple[str, int, int, int, int]]:
    """Walk the journal keeping each rung's results; for every decision at a rung, return
    ``(action, rung, rank, n, trial)`` as of that moment."""
    tables: dict[int, list[tuple[float, int]]] = defaultdict(list)
    seen: dict[tuple[int, int], float] = {}
    out = []
    objective = w.spec.objective
    last_end: dict[int, Outcome] = {}
    for r in w.records:
        if isinstance(r, ResultReported) and r.step in rungs and r.trial_id in w.engine.history:
            key = (r.trial_id, r.step)
            score = objective.score(r.metrics)
            if key in seen:
                t = tables[r.step]
                t.pop(bisect.bisect_left(t, (seen[key], r.trial_id)))
            seen[key] = score
            bisect.insort(tables[r.step], (score, r.trial_id))
        elif isinstance(r, Reply) and r.step in rungs and r.decision.reason != "budget exhausted":
            t = tables[r.step]
            rank = bisect.bisect_left(t, (seen[(r.trial_id, r.step)], r.trial_id))
            out.append((r.decision.action.value, rungs.index(r.step), rank, len(t), r.trial_id))
        elif isinstance(r, TrialEnded):
            last_end[r.trial_id] = r.outcome
        elif isinstance(r, Launch) and last_end.get(r.trial_id) is Outcome.PAUSED:
            step = r.start_step - 1  # resumed from a pause: a promotion
            if step in rungs:
                t = tables[step]
                rank = bisect.bisect_left(t, (seen[(r.trial_id, step)], r.trial_id))
                out.append(("resume", rungs.index(step), rank, len(t), r.trial_id))
    return out


@FAST
@given(data=st.data())
def test_asha_stopping_passes_only_the_top_1_over_eta_of_its_rung(data: st.DataObject) -> None:
    w = _world("asha-stopping", data)
    passed: set[tuple[int, int]] = set()
    for action, k, rank, n, tid in _replay_rung_tables(w, rung_steps(1, 3, 9)):
        if (tid, k) in passed:
            continue  # re-reported after a restart from scratch: the first decision stands
        quota = max(1, n // 3)
        if action == "continue":
            assert rank < quota
            passed.add((tid, k))
        else:
            assert action == "stop" and rank >= quota


@FAST
@given(data=st.data())
def test_asha_promotion_promotes_only_from_the_top_floor_n_over_eta(data: st.DataObject) -> None:
    w = _world("asha-promotion", data)
    rungs = rung_steps(1, 2, 9)
    promoted: set[tuple[int, int]] = set()
    for action, k, rank, n, tid in _replay_rung_tables(w, rungs):
        if action == "continue" and (tid, k) in promoted:
            continue  # re-reported after a restart from scratch: the promotion stands
        if action in ("continue", "resume"):
            assert rank < n // 2, (action, k, rank, n)
            assert (tid, k) not in promoted, f"trial {tid} resumed twice from rung {k}"
            promoted.add((tid, k))


def _bench_run(
    sched: Scheduler, max_step: int, workers: int, seed: int, budget: Budget
) -> rung.Study:
    study = rung.Study.create(
        "p", SmallBench(max_step).space, objective="loss", scheduler=sched,
        max_step=max_step, budget=budget, seed=seed,
    )
    return study.simulate(SmallBench(max_step), n_workers=workers)


def _reached(study: rung.Study, bracket: int, step: int) -> int:
    h = study.history
    return sum(
        1 for t in h if h.tags(t).get("bracket") == bracket and step in h.scores(t)
    )


geometry = st.tuples(
    st.integers(2, 4),  # eta
    st.integers(1, 3),  # min_step
    st.integers(0, 5),  # s_max
    st.integers(0, 2),  # extra steps above min_step * eta**s_max (not a power: rounding)
).filter(lambda g: g[1] * g[0] ** g[2] + g[3] <= 250)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(geometry, st.integers(1, 64), st.integers(0, 5))
def test_hyperband_runs_every_bracket_to_the_end(
    g: tuple[int, int, int, int], workers: int, seed: int
) -> None:
    """Ray Tune #6780 hung synchronous Hyperband; here every bracket finishes, for any worker
    count from 1 to 64, with exactly the paper's n_i trials at every rung."""
    eta, r, s_max, extra = g
    R = r * eta**s_max + extra
    s_max = s_max_for(r, eta, R)
    study = _bench_run(
        Hyperband(eta, r, iterations=1), R, workers, seed, Budget(n_trials=10**6)
    )  # returns: no deadlock, no stall
    eng = study.engine
    assert eng.done and not eng.active
    state = eng.scheduler.state()
    assert state["open"] == [] and state["brackets_finished"] == s_max + 1
    completed = 0
    for b, s in enumerate(range(s_max, -1, -1)):
        ns, rs = bracket_plan(s, s_max, eta, R)
        assert [_reached(study, b, step) for step in rs] == ns
        completed += ns[-1]
    assert study.engine.history.count(TrialStatus.COMPLETED) == completed
    for _, _, members, promoted in eng.scheduler.completed_rungs:  # type: ignore[attr-defined]
        assert promoted == members // eta
    # every trial ended stopped or completed: the losers of every rung were retired (none is
    # left paused), and their checkpoints released
    assert not study.trials("running") and not study.trials("launched")
    assert not study.trials("paused")
    assert eng.summary()["checkpoints"] <= eng.spec.keep_checkpoints


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    st.integers(2, 4), st.integers(1, 64), st.integers(0, 3), st.integers(1, 60),
    st.booleans(),
)
def test_successive_halving_under_a_trial_budget_never_waits_forever(
    eta: int, workers: int, seed: int, n_trials: int, hyperband: bool
) -> None:
    R = eta**3
    sched = Hyperband(eta) if hyperband else SuccessiveHalving(eta)
    study = _bench_run(sched, R, workers, seed, Budget(n_trials=n_trials))
    state = study.engine.scheduler.state()
    assert study.engine.done
    assert state["open"] == [], "a bracket was left waiting"
    assert not study.trials("paused"), "a loser was left paused"
    for _, _, members, promoted in study.engine.scheduler.completed_rungs:  # type: ignore
        assert promoted <= max(1, members // eta)
    assert study.engine.history.count(TrialStatus.COMPLETED) >= 1


@FAST
@given(data=st.data())
def test_synchronous_rungs_promote_at_most_floor_n_over_eta(data: st.DataObject) -> None:
    w = _world("sh", data)
    for _, _, members, promoted in w.engine.scheduler.completed_rungs:  # type: ignore
        assert promoted <= max(1, members // 3)


@FAST
@given(data=st.data())
def test_pbt_forks_start_from_a_donor_checkpoint_never_their_own(data: st.DataObject) -> None:
    w = _world("pbt", data)
    h = w.engine.history
    ckpt_of: dict[int, str] = {}
    exploited: set[int] = set()
    time_shared: set[int] = set()  # paused between intervals (population > workers)
    seen: set[int] = set()
    for r in w.records:
        if isinstance(r, Reply) and r.decision.action is Action.STOP:
            if r.decision.reason.startswith("exploit"):
                exploited.add(r.trial_id)
        elif isinstance(r, Reply) and r.decision.reason.startswith("time-sharing"):
            time_shared.add(r.trial_id)
        elif isinstance(r, CheckpointSaved):
            ckpt_of[r.trial_id] = r.path
        elif isinstance(r, Launch):
            parent = h.parent_id(r.trial_id)
            if r.trial_id not in seen and parent is not None:
                # a fork's first launch: from its donor's latest checkpoint, for a trial
                # that was stopped to make room, never from the stopped trial's own
                assert r.checkpoint == ckpt_of[parent]
                assert r.start_step == int(r.checkpoint.rsplit("/", 1)[1]) + 1
                replaced = h.tags(r.trial_id)["replaces"]
                assert parent != replaced
                # stopped by an exploit reply, exploited while paused (time-sharing:
                # retired, so it ends stopped without a reply), or failed (its place is
                # filled as an exploited one's)
                assert replaced in exploited or h.status(replaced) is TrialStatus.FAILED or (
                    replaced in time_shared and h.status(replaced) is TrialStatus.STOPPED
                )
                ckpt_of[r.trial_id] = r.checkpoint  # a fork holds its donor's checkpoint
            seen.add(r.trial_id)
    forks = [t for t in h if h.parent_id(t) is not None]
    assert h.n_suggested == len(h) - len(forks)  # forks do not count toward n_trials


@FAST
@given(data=st.data())
def test_median_stops_take_effect_where_the_worker_waits(data: st.DataObject) -> None:
    """Every stop of the median rule is the reply to a result at the trial's lease: the worker
    was waiting for it, so it never trains a step past the decision."""
    w = _world("median", data)
    lease: dict[int, int] = {}
    stops = 0
    for r in w.records:
        if isinstance(r, Launch):
            lease[r.trial_id] = r.until_step
        elif isinstance(r, Reply) and "is worse than the median" in r.decision.reason:
            assert r.step == lease[r.trial_id]
            stops += 1
        elif isinstance(r, Reply) and r.decision.until_step is not None:
            lease[r.trial_id] = r.decision.until_step
    # (a stop decided at max_step gets no reply: the trial is finishing anyway)
    assert stops <= w.engine.scheduler.state()["stopped"]


@pytest.mark.parametrize("name", ["asha-promotion", "async-hyperband"])
@FAST
@given(data=st.data())
def test_promotion_retires_only_trials_that_can_never_be_promoted(
    name: str, data: st.DataObject
) -> None:
    """A retired trial (paused, then stopped without running again) ranks outside the top
    floor(n / eta) of its rung's final population, and is never launched again."""
    w = _world(name, data)
    h = w.engine.history
    last_end: dict[int, Outcome] = {}
    for r in w.records:
        if isinstance(r, TrialEnded):
            last_end[r.trial_id] = Outcome(r.outcome)
    sched = w.engine.scheduler
    for tid in h:
        if h.status(tid) is not TrialStatus.STOPPED or last_end.get(tid) is not Outcome.PAUSED:
            continue
        ladder = sched._ladder_of(h, tid)  # type: ignore[attr-defined]
        k = max(i for i, t in enumerate(ladder.tables) if tid in t.entered)
        table = ladder.tables[k]
        assert k < ladder.final
        assert table.table.bisect_left((table.entered[tid], tid)) >= len(table.table) // ladder.eta
        assert tid not in table.passed
