"""Reading a journal as written (``rung.core.as_written``) gives the state an exact replay
gives, whichever event it starts following the journal from: on journals of every kind of
scheduler, with failed trials and a crash and resume. (A divergent journal is read so from its
first divergent event on: ``tests/trust/test_read_as_written.py``.)"""

from __future__ import annotations

import math
from typing import Any

import pytest

import rung
from rung.core.as_written import JournalScheduler
from rung.core.engine import Engine
from rung.core.events import Tick, is_event
from rung.core.records import StudySpec
from rung.core.replay import follow_from
from rung.storage import MemoryJournal

SPACE = rung.SearchSpace({"x": rung.Float(0.0, 1.0), "y": rung.Float(0.0, 1.0)})


class Bench:
    """Fails (a NaN loss) the trials with ``x > 0.85`` that reach step 3."""

    max_step = 9

    def evaluate(self, params: Any, step: int) -> tuple[dict[str, float], float]:
        x, y = float(params["x"]), float(params["y"])
        if x > 0.85 and step == 3:
            return {"loss": math.nan}, 1.0
        return {"loss": x + y / step + 0.1 * math.sin(7 * step * x)}, 0.5 + x


def _journal(scheduler: Any, budget: rung.Budget) -> tuple[StudySpec, list[Any]]:
    """A simulated study cut short at an event in its middle (a crash), then resumed."""
    full = MemoryJournal()
    s = rung.Study.create("p", SPACE, objective="loss", searcher="random",
                          scheduler=scheduler, max_step=9, budget=budget, seed=1,
                          storage=full)
    s.simulate(Bench(), n_workers=3, progress=False)
    records = full.read("p")
    events = [i for i, r in enumerate(records) if is_event(r)]
    j = MemoryJournal()
    j.create_study("p", full.load_study("p"))
    j.append("p", records[:events[len(events) // 2]])
    rung.Study.load("p", j).simulate(Bench(), n_workers=3, progress=False)
    return StudySpec.from_json(j.load_study("p")), j.read("p")


def _state(e: Engine, created: int) -> tuple[Any, ...]:
    """What the views read of an engine; the scheduler's tags only of the first ``created``
    trials (the journal does not hold them)."""
    h = e.history
    trials = [(t.id, t.status, dict(t.params), t.results, t.error, t.checkpoint, t.score,
               t.value, t.parent_id is None, t.tags if t.id < created else None,
               t.parent_id if t.id < created else None, h.launches(t.id),
               h.interruptions(t.id)) for t in h.trials()]
    return (trials, e.summary(), e.checkpoints.paths(), e.stopped, e.exhausted,
            sorted(e.active), e.capacity, e.elapsed, e.meter.cost, e.meter.device_hours,
            h.n_suggested, h.steps_consumed, h.best_trial_id(), e.version_note, e.tail)


SCHEDULERS = [
    ("fifo", rung.Budget(n_trials=14)),
    ("asha", rung.Budget(n_trials=16)),
    ("hyperband", rung.Budget(n_trials=16)),
    ("successive_halving", rung.Budget(n_trials=16)),
    ("median", rung.Budget(n_trials=14)),
    ("pbt", rung.Budget(max_steps=120)),
    ("asha", rung.Budget(max_steps=70)),  # leases capped by the steps left
]


@pytest.mark.parametrize(("scheduler", "budget"), SCHEDULERS,
                         ids=[f"{s}-{'/'.join(b.to_json())}" for s, b in SCHEDULERS])
def test_following_the_journal_gives_the_replayed_state(scheduler: str,
                                                        budget: rung.Budget) -> None:
    spec, records = _journal(scheduler, budget)
    replayed = Engine.replay(spec, records)
    h = replayed.history
    assert h.count(rung.TrialStatus.STOPPED) + h.count(rung.TrialStatus.FAILED) > 0
    n = sum(1 for r in records if is_event(r))
    for k in sorted({0, 1, n // 3, n // 2, 2 * n // 3, n - 1, n}):
        prefix = Engine.from_spec(spec)
        follow_from(prefix, spec, records[:_record_of(records, k)], k)
        created = len(prefix.history)
        read = follow_from(Engine.from_spec(spec), spec, records, k)
        assert isinstance(read.scheduler, JournalScheduler)
        assert read.read_as_written is not None
        assert _state(read, created) == _state(replayed, created), k


def _record_of(records: list[Any], k: int) -> int:
    """The index of the ``k``-th event's record (``len(records)`` past the last)."""
    events = [i for i, r in enumerate(records) if is_event(r)]
    return events[k] if k < len(events) else len(records)


def test_a_fork_read_as_written_names_the_trial_whose_checkpoint_it_starts_from() -> None:
    spec, records = _journal("pbt", rung.Budget(max_steps=120))
    replayed = Engine.replay(spec, records)
    read = follow_from(Engine.from_spec(spec), spec, records, 0)
    forks = [t for t in replayed.history.trials() if t.parent_id is not None]
    assert forks
    for t in forks:
        parent = read.history.parent_id(t.id)
        assert parent is not None
        assert read.history.launches(parent) >= 1  # an existing trial (the saver)


def test_an_engine_that_follows_its_journal_decides_nothing_new() -> None:
    spec, records = _journal("asha", rung.Budget(n_trials=16))
    read = follow_from(Engine.from_spec(spec), spec, records, 3, error="nothing new here")
    assert read.scheduler.state() == {}
    assert read.scheduler.fidelity_steps() == Engine.replay(spec, records).scheduler.\
        fidelity_steps()
    with pytest.raises(rung.ReplayDivergenceError, match="^nothing new here$"):
        read.handle(Tick(1e9))


def test_exact_journals_load_read_only_as_they_replay() -> None:
    """No divergence: a read-only load is the exact replay, with no marker."""
    spec, records = _journal("asha", rung.Budget(n_trials=16))
    j = MemoryJournal()
    j.create_study("p", spec.to_json())
    j.append("p", records)
    study = rung.Study.load("p", j, readonly=True)
    assert study.engine.read_as_written is None
    assert not isinstance(study.engine.scheduler, JournalScheduler)
