"""A parameter whose bounds depend on another (``units = trial.suggest_int("units", 1, depth)``),
as Optuna allows: the learned range spans every range declared, a proposal outside the call's
range is replaced by a draw from it, and the history records what the trial used. Before,
every trial whose bounds differed from the first one's failed with "a parameter keeps one
distribution" (27 of 30 with random, 29 of 30 with TPE)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.callbacks import Callback
from rung.core.events import Command, Event, ParamsUsed, TrialEnded
from rung.core.history import History
from rung.core.records import TrialStatus
from rung.core.rng import derive_rng
from rung.dbr import Trial
from rung.errors import ConfigError
from rung.space import Int, SearchSpace
from rung.space.learned import RULE, RULE_KEY, SpaceLearner, hull
from rung.storage.codec import from_body
from rung.storage.memory import MemoryJournal

R2 = {RULE_KEY: RULE}  # what this code's workers add to every report


def units_under_depth(trial: Trial) -> float:
    depth = trial.suggest_int("depth", 1, 8)
    units = trial.suggest_int("units", 1, depth)
    return (depth - 5) ** 2 + (units - 3) ** 2 / 10


def optimize(searcher: str, journal: Any, n_trials: int = 30, **options: Any) -> rung.Study:
    return rung.optimize(units_under_depth, n_trials=n_trials, searcher=searcher,
                         scheduler="fifo", n_workers=1, storage=journal, name="dep",
                         start_method="fork", progress=False, **options)


def check_units_under_depth(study: rung.Study, n_trials: int) -> None:
    trials = study.trials()
    assert len(trials) == n_trials
    assert all(t.status is TrialStatus.COMPLETED for t in trials), [t.error for t in trials]
    for t in trials:
        assert list(t.params) == ["depth", "units"]
        assert 1 <= t.params["units"] <= t.params["depth"] <= 8, t
    used = {r.trial_id: r for r in study.journal.read(study.name) if isinstance(r, ParamsUsed)}
    for t in trials:  # the history holds what each trial used, with the range it declared
        assert dict(used[t.id].params) == dict(t.params)
        assert used[t.id].declared["units"] == {"type": "int", "low": 1,
                                                "high": t.params["depth"]}
    # the learned range spans the ranges declared: the searcher proposes in it
    highs = {t.params["depth"] for t in trials}
    assert study.engine.space.to_json()["units"] == {"type": "int", "low": 1,
                                                     "high": max(highs)}


class CrashAfter(Callback):
    """Stops the driver (as a kill would) once ``n`` trials have ended."""

    def __init__(self, n: int) -> None:
        self.n = n

    def on_turn(self, events: Sequence[Event], commands: Sequence[Command],
                history: History) -> None:
        if any(isinstance(e, TrialEnded) for e in events) and \
                sum(t.status is not TrialStatus.RUNNING for t in history.trials()) >= self.n:
            raise KeyboardInterrupt


@pytest.mark.parametrize("searcher", ["random", pytest.param("tpe", marks=pytest.mark.slow)])
def test_bounds_that_depend_on_another_parameter(searcher: str) -> None:
    whole = MemoryJournal()
    study = optimize(searcher, whole)
    check_units_under_depth(study, 30)
    # a crash after 12 trials and a resume give the same trials, params and results
    crashed = MemoryJournal()
    with pytest.raises(KeyboardInterrupt):
        optimize(searcher, crashed, callbacks=[CrashAfter(12)])
    assert len(rung.Study.load("dep", crashed).trials()) < 30
    resumed = optimize(searcher, crashed)
    check_units_under_depth(resumed, 30)
    assert [(t.params, t.metrics) for t in resumed.trials()] == \
        [(t.params, t.metrics) for t in study.trials()]
    # and replaying either journal rebuilds the same space
    assert rung.Study.load("dep", crashed).engine.space == study.engine.space


def test_gp_models_a_parameter_with_varying_bounds() -> None:
    study = optimize("gp", MemoryJournal(), n_trials=8)
    check_units_under_depth(study, 8)


# --- the learned range -------------------------------------------------------------------------

def test_the_learned_range_widens_to_every_range_declared() -> None:
    lr = SpaceLearner(SearchSpace.empty())
    lr.observe({"depth": 3, "units": 2}, {"depth": DEPTH, "units": units(3)} | R2)
    assert lr.space.to_json()["units"] == units(3)
    assert lr.conflict({"units": units(6)} | R2) is None
    assert lr.observe({"depth": 6, "units": 5}, {"depth": DEPTH, "units": units(6)} | R2)
    assert lr.space.to_json()["units"] == units(6)
    # a narrower range changes nothing
    assert not lr.observe({"depth": 2, "units": 1}, {"depth": DEPTH, "units": units(2)} | R2)
    assert lr.distributions["units"] == units(6)


DEPTH = {"type": "int", "low": 1, "high": 8}


def units(high: int) -> dict[str, Any]:
    return {"type": "int", "low": 1, "high": high}


@pytest.mark.parametrize(("a", "b", "expected"), [
    ({"type": "int", "low": 2, "high": 10, "step": 2}, {"type": "int", "low": 4, "high": 20,
                                                        "step": 4},
     {"type": "int", "low": 2, "high": 20, "step": 2}),
    ({"type": "int", "low": 0, "high": 10, "step": 2}, {"type": "int", "low": 1, "high": 9,
                                                        "step": 2},
     {"type": "int", "low": 0, "high": 10}),  # grids that interleave: step 1
    ({"type": "int", "low": 1, "high": 10, "log": True}, {"type": "int", "low": 2, "high": 50,
                                                          "log": True},
     {"type": "int", "low": 1, "high": 50, "log": True}),
    ({"type": "float", "low": 0.0, "high": 1.0, "step": 0.25},
     {"type": "float", "low": 0.5, "high": 2.0, "step": 0.5},
     {"type": "float", "low": 0.0, "high": 2.0, "step": 0.25}),
    ({"type": "float", "low": 0.0, "high": 1.0, "step": 0.25},
     {"type": "float", "low": 0.1, "high": 2.0, "step": 0.25},
     {"type": "float", "low": 0.0, "high": 2.0}),  # grids that do not align: continuous
    ({"type": "float", "low": 0.0, "high": 1.0, "step": 0.25},
     {"type": "float", "low": 0.0, "high": 2.0},
     {"type": "float", "low": 0.0, "high": 2.0}),
])
def test_the_span_holds_every_value_of_both(a: dict[str, Any], b: dict[str, Any],
                                            expected: dict[str, Any]) -> None:
    assert hull("x", a, b) == expected == hull("x", b, a)
    from rung.space.params import param_from_json

    span = param_from_json("x", expected)._bind("x")
    for d in (a, b):
        p = param_from_json("x", d)._bind("x")
        assert all(span.contains(v) for v in p.grid(1000))


@pytest.mark.parametrize(("before", "now", "message"), [
    (units(8), {"type": "float", "low": 1.0, "high": 8.0},
     "x: declared as int(low=1, high=8) before, now as float(low=1.0, high=8.0): a parameter "
     "keeps its kind (only its bounds and step may change from call to call)"),
    (units(8), units(8) | {"log": True},
     "x: declared as int(low=1, high=8) before, now as int(low=1, high=8, log=True): a "
     "parameter keeps its log scale (only its bounds and step may change from call to call)"),
    ({"type": "categorical", "choices": ["a", "b"]}, {"type": "categorical", "choices": ["a"]},
     "x: declared as categorical(choices=['a', 'b']) before, now as categorical(choices=['a'])"
     ": a parameter keeps its choices (only its bounds and step may change from call to "
     "call)"),
])
def test_what_a_parameter_keeps_across_trials(before: dict[str, Any], now: dict[str, Any],
                                              message: str) -> None:
    """Optuna's storage refuses these too (another distribution class, another log, a
    categorical's 'dynamic value space')."""
    lr = SpaceLearner(SearchSpace.empty())
    lr.observe({"x": 1 if before["type"] != "categorical" else "a"}, {"x": before} | R2)
    err = lr.conflict({"x": now} | R2)
    assert isinstance(err, ConfigError) and err.key == "x"
    assert str(err) == message


def test_a_parameter_of_the_initial_space_keeps_its_distribution() -> None:
    lr = SpaceLearner(SearchSpace({"units": Int(1, 4)}))
    err = lr.conflict({"units": units(8)} | R2)
    assert str(err) == ("units: declared as int(low=1, high=4) before, now as int(low=1, "
                        "high=8): a parameter keeps one distribution")


def test_a_replaced_value_outside_the_learned_range_was_not_the_searchers() -> None:
    lr = SpaceLearner(SearchSpace.empty())
    lr.observe({"depth": 6, "units": 5}, {"depth": DEPTH, "units": units(6)} | R2)
    rule = RULE | {"replaced": {"units": 5}}
    assert lr.conflict({"depth": DEPTH, "units": units(2), RULE_KEY: rule}) is None
    rule = RULE | {"replaced": {"units": 9}}  # enqueued: the searcher proposes within [1, 6]
    err = lr.conflict({"depth": DEPTH, "units": units(2), RULE_KEY: rule})
    assert str(err) == ("units: the value given for it, 9, does not fit the distribution "
                        "declared here, int(low=1, high=2) (an enqueued value must fit it)")
    rule = RULE | {"replaced": {"lr": 5.0}}  # a name the study did not know: enqueued
    err = lr.conflict({"lr": {"type": "float", "low": 0.0, "high": 1.0}, RULE_KEY: rule})
    assert str(err) == ("lr: the value given for it, 5.0, does not fit the distribution "
                        "declared here, float(low=0.0, high=1.0) (an enqueued value must fit "
                        "it)")


def test_a_report_without_the_rule_is_judged_by_the_old_rule() -> None:
    """A journal written before bounds could vary replays the conflicts it recorded."""
    lr = SpaceLearner(SearchSpace.empty())
    lr.observe({"units": 2}, {"units": units(3)})
    err = lr.conflict({"units": units(6)})
    assert str(err) == ("units: declared as int(low=1, high=3) before, now as int(low=1, "
                        "high=6): a parameter keeps one distribution")
    assert not lr.observe({"units": 2}, {"units": units(6)})  # and nothing widens
    assert lr.distributions["units"] == units(3)


FIXTURE = Path(__file__).with_name("journal_units_conflict.json")


def test_a_journal_that_recorded_the_conflict_replays_and_continues() -> None:
    """``journal_units_conflict.json``: ``units_under_depth`` run by the code before this
    change (random, seed 0, 12 trials), killed after 5 trials: trials 3 and 4 failed with
    the conflict, trial 5 was launched with units=5 for depth 3."""
    data = json.loads(FIXTURE.read_text())
    journal = MemoryJournal()
    journal.create_study("old", data["spec"])
    journal.append("old", [from_body(kind, body) for kind, body in data["records"]])
    old = rung.Study.load("old", journal)  # replays: no ReplayDivergenceError
    conflicts = {t.id: t.error for t in old.trials() if t.status is TrialStatus.FAILED}
    assert conflicts == {
        3: "ConfigError: units: declared as int(low=1, high=5) before, now as int(low=1, "
           "high=3): a parameter keeps one distribution",
        4: "ConfigError: units: declared as int(low=1, high=5) before, now as int(low=1, "
           "high=2): a parameter keeps one distribution"}
    assert old.engine.space.to_json()["units"] == units(5)
    old.close()
    # this code continues it: no trial fails any more, and the range widens
    study = rung.optimize(units_under_depth, storage=journal, name="old", n_workers=1,
                          start_method="fork", progress=False)
    trials = study.trials()
    assert len(trials) == 12
    assert [t.id for t in trials if t.status is TrialStatus.FAILED] == [3, 4]
    for t in trials[5:]:
        assert t.status is TrialStatus.COMPLETED
        assert 1 <= t.params["units"] <= t.params["depth"]
    # trial 5 was proposed units=5 under depth=3: it drew units in [1, 3] instead
    assert trials[5].params["depth"] == 3 and trials[5].params["units"] <= 3


# --- the trial, on the worker ------------------------------------------------------------------

class FakeContext:
    """What ``Trial`` reads of a ``TrialContext``: the proposal, the id, the report channel."""

    def __init__(self, params: Mapping[str, Any], trial_id: int = 7) -> None:
        self.params = dict(params)
        self.trial_id = trial_id
        self.sent: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def _send_params(self, params: Mapping[str, Any], declared: Mapping[str, Any]) -> None:
        self.sent.append((dict(params), dict(declared)))


def trial_with(params: Mapping[str, Any]) -> tuple[Trial, FakeContext]:
    ctx = FakeContext(params)
    return Trial(ctx, ["loss"], 3), ctx  # type: ignore[arg-type]


def test_a_proposal_inside_the_calls_range_is_used() -> None:
    trial, _ = trial_with({"depth": 6, "units": 4})
    assert trial.suggest_int("units", 1, trial.suggest_int("depth", 1, 8)) == 4


def test_a_proposal_outside_the_calls_range_is_replaced_by_a_draw_from_it() -> None:
    trial, ctx = trial_with({"depth": 2, "units": 7})
    depth = trial.suggest_int("depth", 1, 8)
    got = trial.suggest_int("units", 1, depth)
    expected = Int(1, 2)._bind("units").sample(derive_rng(3, "define-by-run", 7, "units"))
    assert got == expected and 1 <= got <= 2
    trial._flush()
    ((params, declared),) = ctx.sent
    assert params == {"depth": 2, "units": got}  # what was used, not what was proposed
    # with the proposal replaced, for the driver to check it was the searcher's
    assert declared == {"depth": DEPTH, "units": units(2),
                        RULE_KEY: RULE | {"replaced": {"units": 7}}}


def test_a_proposal_of_the_wrong_type_is_still_an_error() -> None:
    trial, _ = trial_with({"opt": "nadam"})
    with pytest.raises(ConfigError) as e:
        trial.suggest_categorical("opt", ["adam", "sgd"])
    assert str(e.value) == ("opt: the value given for it ('nadam' is not one of "
                            "['adam', 'sgd']) does not fit the distribution declared here")


def test_asking_again_in_one_trial_returns_the_same_value() -> None:
    """As Optuna: the value of the first call, if the new range holds it."""
    trial, _ = trial_with({"units": 3})
    assert trial.suggest_int("units", 1, 8) == 3
    assert trial.suggest_int("units", 1, 4) == 3
    with pytest.raises(ConfigError) as e:
        trial.suggest_int("units", 1, 2)
    assert str(e.value) == ("units: asked again as int(low=1, high=2), which does not contain "
                            "the value 3 it has in this trial (asked first as int(low=1, "
                            "high=8)): a parameter has one value per trial")
    with pytest.raises(ConfigError) as e:
        trial.suggest_float("units", 1, 8)
    assert str(e.value) == ("units: declared as int(low=1, high=8) before, now as float("
                            "low=1.0, high=8.0): a parameter keeps its kind (only its bounds "
                            "and step may change from call to call)")
