"""PBT's options for Ray Tune users: ``burn_in_period``, ``perturbation_factors`` and a user's
``explore=`` function (stored by name, rebuilt by ``Study.load``); the defaults decide as before
and leave the stored spec as it was."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sched_script import Script, summary

from rung import Action, Budget, ConfigError, Decision, Float, Int, SearchSpace, Study
from rung.core.rng import derive_rng
from rung.schedulers import PBT
from rung.schedulers.pbt import explore
from rung.space import Categorical

SPACE = SearchSpace({"lr": Float(0.001, 1.0, log=True), "width": Int(1, 64)})


def halve_lr(params: dict[str, Any]) -> dict[str, Any]:
    """A user's explore: halves lr (clipped to the space), keeps the rest."""
    return {**params, "lr": max(params["lr"] / 2, 0.001)}


def out_of_range(params: dict[str, Any]) -> dict[str, Any]:
    return {**params, "lr": 5.0}


def not_a_dict(params: dict[str, Any]) -> Any:
    return [params]


def _population(s: Script, step: int, losses: list[float]) -> list[Decision | None]:
    """Every member reports ``losses[member]`` at ``step`` and saves a checkpoint there."""
    out = []
    for tid, loss in enumerate(losses):
        out.append(s.report(tid, step, loss))
        if out[-1] is not None and out[-1].checkpoint:
            s.checkpoint(tid, step)
    return out


# --- burn_in_period ---------------------------------------------------------------------------


def test_burn_in_blocks_judging_before_its_step() -> None:
    s = Script(PBT(4, 2, 0.25, 0.0, burn_in_period=4), max_step=8, space=SPACE,
               budget=Budget(max_steps=100))
    s.capacity(4)
    # step 2: trial 3 is the worst, and would be exploited without a burn-in (as in test_pbt)
    d = _population(s, 2, [0.1, 0.3, 0.4, 0.8])
    assert d[3] == Decision(Action.CONTINUE, 4, True,
                            "rank 4/4 at step 2 (burn-in: judged from step 4)")
    assert all(x is not None and x.action is Action.CONTINUE for x in d)
    # step 4: judged
    d = _population(s, 4, [0.05, 0.2, 0.3, 0.7])
    assert d[3] is not None and d[3].action is Action.STOP
    assert d[3].reason.startswith("exploit: loss=0.7 at step 4 ranks 4/4, in the bottom 1; "
                                  "replaced by a fork of trial 0")
    (launch,) = s.end(3, "stopped")
    assert summary([launch]) == [(4, 5, 6, "c/0/4")]
    s.assert_replay_matches()


def test_without_burn_in_the_same_script_exploits_at_the_first_interval() -> None:
    s = Script(PBT(4, 2, 0.25, 0.0), max_step=8, space=SPACE, budget=Budget(max_steps=100))
    s.capacity(4)
    d = _population(s, 2, [0.1, 0.3, 0.4, 0.8])
    assert d[3] is not None and d[3].action is Action.STOP


def test_burn_in_blocks_a_time_shared_generation() -> None:
    s = Script(PBT(2, 2, 0.5, 0.0, burn_in_period=4), max_step=8, space=SPACE,
               budget=Budget(max_steps=100))
    s.capacity(1)
    d0 = s.report(0, 2, 0.1)
    assert d0 is not None and d0.action is Action.PAUSE
    (launch,) = s.pause(0, 2)
    assert launch.trial_id == 1
    d1 = s.report(1, 2, 0.9)  # the generation at step 2 is complete: not judged
    assert d1 == Decision(
        Action.PAUSE, None, True,
        "time-sharing: generation at step 2 complete, not judged (burn-in: judged from step 4; "
        "rank 2/2); paused for the next interval",
    )
    (launch,) = s.pause(1, 2)
    assert (launch.trial_id, launch.checkpoint) == (0, "c/0/2")  # resumed, nobody exploited
    assert s.scheduler.state()["exploits"] == 0
    s.assert_replay_matches()


# --- perturbation_factors ---------------------------------------------------------------------


def test_the_factors_are_the_multipliers_of_explore() -> None:
    s = Script(PBT(4, 2, 0.25, 0.0, perturbation_factors=[2.0, 0.5]), max_step=8,
               space=SPACE, budget=Budget(max_steps=100))
    s.capacity(4)
    d = _population(s, 2, [0.1, 0.3, 0.4, 0.8])
    assert d[3] is not None and d[3].action is Action.STOP
    s.end(3, "stopped")
    h = s.engine.history
    donor, child = h.params(0), h.params(4)
    # the draws PBT makes for recipient 3 at step 2: the donor (one choice), then per
    # parameter a resample draw and a factor draw
    rng = derive_rng(0, "pbt", 3, 2)
    rng.integers(1)
    factors = []
    for _ in ("lr", "width"):
        rng.random()
        factors.append(2.0 if rng.random() < 0.5 else 0.5)
    assert child["lr"] == pytest.approx(min(max(donor["lr"] * factors[0], 0.001), 1.0))
    assert child["width"] == min(max(round(donor["width"] * factors[1]), 1), 64)
    assert child["lr"] / donor["lr"] in (pytest.approx(2.0), pytest.approx(0.5))
    s.assert_replay_matches()


def test_default_factors_draw_as_before() -> None:
    """The default (1.2, 0.8) makes the draws explore made before factors were a parameter."""
    params = {"lr": 0.1, "width": 10}
    for seed in range(20):
        got = explore(SPACE, params, ["lr", "width"], 0.0, np.random.default_rng(seed))
        rng = np.random.default_rng(seed)
        want = []
        for _ in range(2):
            rng.random()
            want.append(1.2 if rng.random() < 0.5 else 0.8)
        assert got["lr"] == pytest.approx(0.1 * want[0])
        assert got["width"] == round(10 * want[1])


def test_a_factor_of_one_keeps_every_value() -> None:
    space = SearchSpace({"f": Float(0.0, 1.0, step=0.25), "i": Int(1, 10),
                         "o": Categorical(["s", "m", "l"], ordered=True)})
    params = {"f": 0.5, "i": 3, "o": "m"}
    for seed in range(5):
        assert explore(space, params, ["f", "i", "o"], 0.0, np.random.default_rng(seed),
                       (1.0,)) == params


@pytest.mark.parametrize(
    ("kwargs", "key", "message"),
    [
        ({"burn_in_period": -1}, "burn_in_period", "must be an integer >= 0, got -1"),
        ({"burn_in_period": 1.5}, "burn_in_period", "must be an integer >= 0, got 1.5"),
        ({"burn_in_period": 9}, "burn_in_period",
         "must be below max_step (9) for any exploit to happen, got 9"),
        ({"perturbation_factors": []}, "perturbation_factors",
         "must be a non-empty list of positive numbers (e.g. [1.2, 0.8]), got []"),
        ({"perturbation_factors": "1.2"}, "perturbation_factors",
         "must be a non-empty list of positive numbers (e.g. [1.2, 0.8]), got '1.2'"),
        ({"perturbation_factors": [1.2, 0]}, "perturbation_factors",
         "must hold positive numbers, got 0"),
        ({"perturbation_factors": [True]}, "perturbation_factors",
         "must hold positive numbers, got True"),
        ({"explore": 3}, "explore", "must be a function (params -> params) or "
         "'module:function', got 3"),
        ({"explore": "halve_lr"}, "explore", "must be 'module:function', got 'halve_lr'"),
        ({"explore": "test_pbt_options:not_there"}, "explore",
         "cannot import 'test_pbt_options:not_there' (AttributeError: module "
         "'test_pbt_options' has no attribute 'not_there'); import or define it before "
         "loading the study"),
        ({"explore": "test_pbt_options:SPACE"}, "explore",
         "'test_pbt_options:SPACE' is not callable"),
        ({"explore": lambda p: p}, "explore",
         "<lambda> cannot be stored with the study "
         "(Study.load rebuilds the scheduler from its spec): pass a function defined at the "
         "top level of a module, or its 'module:function' name"),
    ],
)
def test_bad_options_name_their_key(kwargs: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        Study.create("bad", SPACE, "loss", scheduler=PBT(**kwargs), max_step=9,
                     budget=Budget(max_steps=100))
    assert (e.value.key, e.value.message) == (f"scheduler.params.{key}", message)


def test_defaults_leave_the_stored_spec_as_it_was() -> None:
    assert PBT().to_spec().to_json() == {"name": "pbt", "params": {
        "population_size": 8, "perturbation_interval": 4, "quantile_fraction": 0.25,
        "resample_probability": 0.25, "hyperparams": None}}
    params = PBT(burn_in_period=4, perturbation_factors=(1.5, 0.5),
                 explore=halve_lr).to_spec().params
    assert (params["burn_in_period"], params["perturbation_factors"], params["explore"]) == (
        4, [1.5, 0.5], "test_pbt_options:halve_lr")


# --- explore= ---------------------------------------------------------------------------------


def test_a_users_explore_is_applied_after_the_built_in_one() -> None:
    s = Script(PBT(4, 2, 0.25, 0.0, explore=halve_lr), max_step=8, space=SPACE,
               budget=Budget(max_steps=100))
    s.capacity(4)
    d = _population(s, 2, [0.1, 0.3, 0.4, 0.8])
    s.end(3, "stopped")
    h = s.engine.history
    # the built-in explore with PBT's draws, then halve_lr
    rng = derive_rng(0, "pbt", 3, 2)
    rng.integers(1)
    built_in = explore(SPACE, h.params(0), ["lr", "width"], 0.0, rng)
    assert h.params(4) == halve_lr(built_in)
    assert d[3] is not None and d[3].reason.endswith(
        f"lr {h.params(0)['lr']:.6g} -> {h.params(4)['lr']:.6g}, "
        f"width {h.params(0)['width']} -> {h.params(4)['width']}")
    # replay rebuilds the scheduler from its spec, which names the function
    assert s.spec.scheduler.params["explore"] == "test_pbt_options:halve_lr"
    s.assert_replay_matches()


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (out_of_range, "test_pbt_options:out_of_range returned an invalid configuration: "
         "'lr': 5.0 is outside [0.001, 1.0]"),
        (not_a_dict, "test_pbt_options:not_a_dict must return a dict of params, got [{"),
    ],
)
def test_an_invalid_result_of_a_users_explore_is_refused(fn: Any, message: str) -> None:
    s = Script(PBT(4, 2, 0.25, 0.0, explore=fn), max_step=8, space=SPACE,
               budget=Budget(max_steps=100))
    s.capacity(4)
    _population(s, 2, [0.1, 0.3, 0.4])
    with pytest.raises(ConfigError) as e:
        s.report(3, 2, 0.8)
    assert e.value.key == "scheduler.params.explore"
    assert e.value.message.startswith(message)


def test_study_load_imports_the_users_explore_by_name(tmp_path: Path) -> None:
    from random_world import SmallBench

    db = tmp_path / "s.db"
    bench = SmallBench(8)
    study = Study.create("p", bench.space, "loss", scheduler=PBT(4, 2, explore=_keep),
                         max_step=8, budget=Budget(n_trials=4, max_steps=80), seed=1,
                         storage=db)
    study.simulate(bench, n_workers=2)
    forks = [t for t in study.trials() if t.parent_id is not None]
    assert forks
    again = Study.load("p", storage=db)
    assert [t.params for t in again.trials()] == [t.params for t in study.trials()]
    assert again.engine.scheduler.state() == study.engine.scheduler.state()


def _keep(params: dict[str, Any]) -> dict[str, Any]:
    return dict(params)


def test_study_load_refuses_an_explore_it_cannot_import(tmp_path: Path) -> None:
    """A function from a module that is gone (a script's ``__main__`` in another process)."""
    from random_world import SmallBench

    mod = types.ModuleType("gone_explore_mod")

    def keep(params: dict[str, Any]) -> dict[str, Any]:
        return dict(params)

    keep.__module__, keep.__qualname__ = "gone_explore_mod", "keep"
    mod.keep = keep  # type: ignore[attr-defined]
    sys.modules["gone_explore_mod"] = mod
    db = tmp_path / "s.db"
    bench = SmallBench(8)
    try:
        study = Study.create("p", bench.space, "loss", scheduler=PBT(4, 2, explore=keep),
                             max_step=8, budget=Budget(n_trials=4, max_steps=80), storage=db)
        assert study.spec.scheduler.params["explore"] == "gone_explore_mod:keep"
        study.simulate(bench, n_workers=2)
    finally:
        del sys.modules["gone_explore_mod"]
    with pytest.raises(ConfigError) as e:
        Study.load("p", storage=db)
    assert e.value.key == "scheduler.params.explore"
    assert e.value.message.startswith(
        "cannot import 'gone_explore_mod:keep' (ModuleNotFoundError: No module named "
        "'gone_explore_mod')")


def test_a_name_whose_module_comes_later_is_imported_at_the_first_fork(tmp_path: Path) -> None:
    """``rung run`` checks the spec (and binds the scheduler) before it puts the spec's
    ``path`` on ``sys.path``: the module is imported when the first fork needs it."""
    scheduler = PBT(4, 2, 0.25, 0.0, explore="later_explore_mod:halve")
    s = Script(scheduler, max_step=8, space=SPACE, budget=Budget(max_steps=100))
    s.capacity(4)
    (tmp_path / "later_explore_mod.py").write_text(
        "def halve(params):\n    return {**params, 'lr': max(params['lr'] / 2, 0.001)}\n")
    sys.path.insert(0, str(tmp_path))
    try:
        _population(s, 2, [0.1, 0.3, 0.4, 0.8])
        s.end(3, "stopped")
        rng = derive_rng(0, "pbt", 3, 2)
        rng.integers(1)
        built_in = explore(SPACE, s.engine.history.params(0), ["lr", "width"], 0.0, rng)
        assert s.engine.history.params(4) == halve_lr(built_in)
        s.assert_replay_matches()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("later_explore_mod", None)
    # still missing when the first fork needs it: the same one-line error
    s = Script(PBT(4, 2, 0.25, 0.0, explore="later_explore_mod:halve"), max_step=8,
               space=SPACE, budget=Budget(max_steps=100))
    s.capacity(4)
    _population(s, 2, [0.1, 0.3, 0.4])
    with pytest.raises(ConfigError) as e:
        s.report(3, 2, 0.8)
    assert (e.value.key, e.value.message) == (
        "scheduler.params.explore", "cannot import 'later_explore_mod:halve' "
        "(ModuleNotFoundError: No module named 'later_explore_mod'); import or define it "
        "before loading the study")
