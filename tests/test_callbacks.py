"""``rung.Callback``: told of a session's start, of every journaled turn and of its end; one that
raises stops the run with the journal intact."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import rung
from rung import ASHA, Budget, Callback, Float, Objective, Study
from rung.core.events import (
    COMMAND_TYPES,
    Command,
    Event,
    Launch,
    Reply,
    ResultReported,
    TrialEnded,
    TrialStarted,
)
from rung.core.history import History
from rung.errors import RunFailed
from rung.testing.executors import ScriptedBenchmark


def make(tmp_path: Path | None = None, n: int = 12, **kw: Any) -> Study:
    storage = tmp_path / "cb.db" if tmp_path is not None else None
    return Study.create("cb", {"x": Float(0.0, 1.0)}, Objective("loss"), searcher="random",
                        scheduler=ASHA(reduction_factor=3), max_step=9,
                        budget=Budget(n_trials=n), seed=3, storage=storage, **kw)


class Recorder(Callback):
    def __init__(self, raise_at_turn: int | None = None,
                 exc: BaseException | None = None) -> None:
        self.calls: list[str] = []
        self.events: list[Event] = []
        self.commands: list[Command] = []
        self.sizes: list[int] = []
        self.histories: set[int] = set()
        self.raise_at_turn = raise_at_turn
        self.exc = exc if exc is not None else ValueError("callback broke")
        self.turns = 0

    def on_start(self, study: Study) -> None:
        self.calls.append(f"start:{len(study.history)}")

    def on_turn(self, events: Sequence[Event], commands: Sequence[Command],
                history: History) -> None:
        self.calls.append("turn")
        self.turns += 1
        self.events.extend(events)
        self.commands.extend(commands)
        self.sizes.append(len(history))
        self.histories.add(id(history))
        if self.turns == self.raise_at_turn:
            raise self.exc

    def on_end(self, study: Study) -> None:
        self.calls.append(f"end:{len(study.history)}")


def split(records: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    cmds = [r for r in records if isinstance(r, COMMAND_TYPES)]
    evs = [r for r in records if not isinstance(r, COMMAND_TYPES)]
    return evs, cmds


def test_simulate_calls_start_every_turn_in_journal_order_and_end() -> None:
    study = make()
    rec = Recorder()
    study.simulate(ScriptedBenchmark(), n_workers=3, callbacks=[rec])
    assert rec.calls[0] == "start:0" and rec.calls[-1] == "end:12"
    assert rec.calls[1:-1] == ["turn"] * rec.turns and rec.turns > 12
    evs, cmds = split(study.journal.read("cb"))
    assert rec.events == evs  # every journaled event, once, in journal order
    assert rec.commands == cmds  # and every command
    assert rec.histories == {id(study.history)}
    assert rec.sizes == sorted(rec.sizes) and rec.sizes[-1] == 12
    assert sum(isinstance(e, TrialStarted) for e in rec.events) == 12
    assert sum(isinstance(e, TrialEnded) for e in rec.events) == 12
    stops = [c for c in rec.commands if isinstance(c, Reply) and c.decision.action == "stop"]
    assert stops and all("rung" in c.decision.reason for c in stops)  # ASHA gives its reason
    stopped = {t.id for t in study.trials("stopped")}
    assert {c.trial_id for c in stops} == stopped


def test_each_turn_gets_the_commands_its_events_caused() -> None:
    study = make(n=6)
    seen: list[tuple[list[Event], list[Command]]] = []

    class Pairs(Callback):
        def on_turn(self, events: Sequence[Event], commands: Sequence[Command],
                    history: History) -> None:
            seen.append((list(events), list(commands)))

    study.simulate(ScriptedBenchmark(), n_workers=2, callbacks=[Pairs()])
    for events, commands in seen:
        # a Reply answers a result of the same turn
        reported = {(e.trial_id, e.step) for e in events if isinstance(e, ResultReported)}
        assert {(c.trial_id, c.step) for c in commands if isinstance(c, Reply)} <= reported
    launched = [c.trial_id for _, cmds in seen for c in cmds if isinstance(c, Launch)]
    assert sorted(launched) == list(range(6))


def test_a_callback_that_raises_stops_the_run_and_the_journal_is_intact(
    tmp_path: Path,
) -> None:
    study = make(tmp_path)
    bad, other = Recorder(raise_at_turn=5), Recorder()
    with pytest.raises(ValueError, match="callback broke") as info:
        study.simulate(ScriptedBenchmark(), n_workers=3, callbacks=[bad, other])
    assert info.value is bad.exc
    assert bad.calls[-1].startswith("end:") and other.calls[-1].startswith("end:")
    assert other.turns == 4  # the callbacks after the one that raised miss that turn
    journaled = study.journal.read("cb")
    evs, cmds = split(journaled)
    assert bad.events == evs and bad.commands == cmds  # the turn was journaled before the call
    study.close()
    again = Study.load("cb", tmp_path / "cb.db")
    assert len(again.journal.read("cb")) == len(journaled)
    assert len(again.history) == len(study.history)
    again.simulate(ScriptedBenchmark(), n_workers=3)  # resumes to the budget
    assert len(again.history) == 12 and not again.engine.active
    again.close()


def test_keyboard_interrupt_in_a_callback_still_ends_every_callback() -> None:
    study = make()
    rec = Recorder(raise_at_turn=3, exc=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        study.simulate(ScriptedBenchmark(), n_workers=2, callbacks=[rec])
    assert rec.calls[-1].startswith("end:")


def test_on_end_runs_after_run_failed() -> None:
    study = make(constraints=[rung.Constraint("latency", "<=", 1.0)])
    rec = Recorder()
    with pytest.raises(RunFailed, match="latency"):
        study.simulate(ScriptedBenchmark(), n_workers=2, callbacks=[rec])
    # the run stops once 3 trials completed without the constraint's metric (11 of 12 made)
    assert rec.calls[0] == "start:0" and rec.calls[-1] == "end:11"
    assert len(study.trials()) == 11 and len(study.trials("completed")) == 3


def test_an_on_end_that_raises_propagates_after_every_on_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class EndBoom(Callback):
        def on_end(self, study: Study) -> None:
            raise RuntimeError("end boom")

    after = Recorder()
    with pytest.raises(RuntimeError, match="end boom"):
        make().simulate(ScriptedBenchmark(), n_workers=2, callbacks=[EndBoom(), after])
    assert after.calls[-1] == "end:12"
    # when the run is already failing, the first exception wins and on_end's is logged
    failing = Recorder(raise_at_turn=2)
    with caplog.at_level(logging.ERROR, logger="rung.callbacks"), \
            pytest.raises(ValueError, match="callback broke"):
        make().simulate(ScriptedBenchmark(), n_workers=2, callbacks=[failing, EndBoom()])
    assert any("raised in on_end" in r.getMessage() and r.exc_info for r in caplog.records)


def test_an_on_start_that_raises_runs_nothing() -> None:
    class StartBoom(Callback):
        def on_start(self, study: Study) -> None:
            raise RuntimeError("no tracking server")

    study = make()
    with pytest.raises(RuntimeError, match="no tracking server"):
        study.simulate(ScriptedBenchmark(), n_workers=2, callbacks=[StartBoom()])
    assert len(study.history) == 0 and study.journal.read("cb") == []


def test_run_on_worker_processes_calls_the_callbacks(tmp_path: Path) -> None:
    from rung.testing.executors import scripted_objective

    study = make(tmp_path, n=4)
    rec = Recorder()
    study.run(scripted_objective, n_workers=2, start_method="fork", callbacks=[rec])
    assert rec.calls[0] == "start:0" and rec.calls[-1] == "end:4"
    evs, cmds = split(study.journal.read("cb"))
    assert rec.events == evs and rec.commands == cmds
    assert sorted(e.trial_id for e in rec.events if isinstance(e, TrialEnded)) == [0, 1, 2, 3]
    study.close()


def test_callback_is_a_public_name() -> None:
    assert rung.Callback is Callback and "Callback" in rung.__all__
    base = Callback()
    base.on_start(make())  # the base class does nothing
    base.on_end(make())


def optuna_style(study: Any, trial: Any) -> None:
    """Optuna's callback signature: called after each trial with (study, frozen trial)."""


class NoHooks:
    def on_turn(self, events: Any, commands: Any, history: Any) -> None: ...


@pytest.mark.parametrize(("cb", "message"), [
    (optuna_style, "is not a rung.Callback (a function: rung calls a callback's "
                   "on_turn(events, commands, history) after each turn, not callback(study, "
                   "trial) as Optuna does; subclass rung.Callback)"),
    (NoHooks(), "is not a rung.Callback (it has no on_start, on_end: subclass rung.Callback)"),
])
def test_something_else_than_a_callback_is_refused_before_anything_runs(
    cb: Any, message: str
) -> None:
    """Before: AttributeError("'function' object has no attribute 'on_start'")."""
    first = Recorder()
    study = make()
    with pytest.raises(rung.ConfigError) as e:
        study.simulate(ScriptedBenchmark(), n_workers=2, callbacks=[first, cb])
    assert e.value.key == "callbacks[1]"
    assert str(e.value) == f"callbacks[1]: {cb!r} {message}"
    assert first.calls == []  # refused before any on_start
    assert len(study.history) == 0 and study.journal.read("cb") == []


def _noop(ctx: Any) -> None:
    pass


def test_one_callback_counts_as_a_list_of_one_and_a_non_list_names_the_key() -> None:
    study = make()
    rec = Recorder()
    study.simulate(ScriptedBenchmark(), n_workers=3, callbacks=rec)  # type: ignore[arg-type]
    assert rec.calls[0] == "start:0" and rec.calls[-1] == "end:12"
    other = make()
    with pytest.raises(rung.ConfigError) as err:
        other.simulate(ScriptedBenchmark(), n_workers=3, callbacks=7)  # type: ignore[arg-type]
    assert str(err.value).startswith("callbacks: ") and "int" in str(err.value)
    assert len(other.history) == 0


def test_executor_options_with_an_executor_instance_are_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    from rung.executors.local import LocalExecutor

    study = make(tmp_path)
    rec = Recorder()
    ex = LocalExecutor(_noop, n_workers=1)
    with pytest.raises(rung.ConfigError) as err:
        study.run(_noop, executor=ex, callbacks=[rec], progress=False,
                  start_method="spawn")
    assert str(err.value).startswith("start_method: an option of the executor rung builds")
    assert "LocalExecutor(...)" in str(err.value)
    assert rec.calls == [] and len(study.history) == 0
