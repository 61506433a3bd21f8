"""Population-based training: exploit from the donor's checkpoint, explore, lineage, and the
checkpoint lifecycle seen from the scheduler."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sched_script import Script, summary

from rung import (
    Action,
    Budget,
    Categorical,
    ConfigError,
    Decision,
    Float,
    Int,
    Objective,
    SearchSpace,
    Study,
)
from rung.core import DeleteCheckpoint
from rung.core.rng import derive_rng
from rung.schedulers import PBT
from rung.schedulers.pbt import explore, perturb

SPACE = SearchSpace({"lr": Float(0.001, 1.0, log=True), "width": Int(1, 64)})


def _start(s: Script) -> None:
    """Population of 4 at step 2: trial 0 best, 1 and 2 in the middle, 3 worst."""
    assert [c.until_step for c in s.capacity(4)] == [2, 2, 2, 2]  # wait at the interval
    assert s.engine.history.tags(0) == {"pbt": "member"}
    assert s.report(0, 1, 0.9) is None
    assert s.report(0, 2, 0.1) == Decision(Action.CONTINUE, 4, True, "rank 1/1 at step 2")
    s.checkpoint(0, 2)  # the worker saves, as asked
    # trial 2 is worse than the others, but trial 3 has not reported: no exploit yet
    for tid, loss in [(1, 0.3), (2, 0.4)]:
        s.report(tid, 1, 0.9)
        d = s.report(tid, 2, loss)
        assert d == Decision(Action.CONTINUE, 4, True, f"rank {tid + 1}/{tid + 1} at step 2")
        s.checkpoint(tid, 2)


def test_exploit_stops_the_bottom_and_forks_the_top_from_its_checkpoint() -> None:
    s = Script(PBT(4, 2, 0.25, 0.0), max_step=6, space=SPACE, budget=Budget(max_steps=100))
    _start(s)
    s.report(3, 1, 0.9)
    assert s.report(3, 2, 0.8) == Decision.stop(
        "exploit: loss=0.8 at step 2 ranks 4/4, in the bottom 1; replaced by a fork of trial 0 "
        "(loss=0.1 at step 2): lr 0.444158 -> 0.355326, width 3 -> 4"
    )
    # the slot is refilled by a fork of trial 0 (the top 1 of 4), from ITS checkpoint
    (launch,) = s.end(3, "stopped")
    assert summary([launch]) == [(4, 3, 4, "c/0/2")]
    h = s.engine.history
    assert h.parent_id(4) == 0
    assert h.tags(4) == {"pbt": "fork", "replaces": 3, "from_step": 2}
    ckpt = h.checkpoint(4)
    assert ckpt is not None and ckpt.path == "c/0/2"
    # explore: x0.8 or x1.2 of the donor's values (resample_probability = 0)
    donor, child = h.params(0), h.params(4)
    assert child["lr"] == pytest.approx(donor["lr"] * 0.8) or child["lr"] == pytest.approx(
        min(donor["lr"] * 1.2, 1.0)
    )
    assert abs(child["width"] - donor["width"]) >= 1 or donor["width"] in (1, 64)
    # forks do not count toward n_trials
    assert h.n_suggested == 4 and len(h) == 5
    st = s.scheduler.state()
    assert st["population"] == [0, 1, 2, 4] and st["exploits"] == 1
    assert st["recent_forks"] == [{"replaces": 3, "parent": 0, "step": 2, "at": 2}]
    s.assert_replay_matches()


def test_the_donor_checkpoint_survives_while_the_fork_needs_it() -> None:
    s = Script(PBT(4, 2, 0.25, 0.0), max_step=6, space=SPACE, budget=Budget(max_steps=100))
    _start(s)
    s.report(3, 1, 0.9)
    s.report(3, 2, 0.8)
    s.end(3, "stopped")  # fork 4 starts from c/0/2
    # the donor moves on and saves a newer checkpoint: c/0/2 must survive (the fork uses it)
    s.report(0, 3, 0.1)
    s.report(0, 4, 0.05)
    cmds = s.checkpoint(0, 4)
    assert not [c for c in cmds if isinstance(c, DeleteCheckpoint)]
    assert s.engine.summary()["checkpoint_bytes"] == 40  # c/0/2, c/0/4, c/1/2, c/2/2
    # once the fork has its own checkpoint, nobody needs c/0/2
    s.start(4)
    s.report(4, 3, 0.2)
    s.report(4, 4, 0.15)
    cmds = s.checkpoint(4, 4)
    assert [c.path for c in cmds if isinstance(c, DeleteCheckpoint)] == ["c/0/2"]


def test_no_exploit_without_a_donor_checkpoint() -> None:
    s = Script(PBT(2, 2, 0.5, 0.0), max_step=6, space=SPACE, budget=Budget(max_steps=100))
    s.capacity(2)
    s.report(0, 2, 0.1)  # asked to checkpoint, but the save has not arrived yet
    d = s.report(1, 2, 0.9)
    assert d == Decision(Action.CONTINUE, 4, True, "rank 2/2 at step 2")


def test_a_paused_trial_keeps_its_checkpoint() -> None:
    from rung import ASHA

    s = Script(ASHA(3, variant="promotion"), max_step=9)
    s.capacity(1)
    d = s.report(0, 1, 0.5)
    assert d is not None and d.action is Action.PAUSE and d.checkpoint
    s.pause(0, 1)  # saves c/0/1, ends paused; the freed slot starts trial 1
    s.report(1, 1, 0.9)
    s.pause(1, 1)
    assert not [c for c in s.commands if isinstance(c, DeleteCheckpoint)]
    ckpt = s.engine.history.checkpoint(0)
    assert ckpt is not None and ckpt.path == "c/0/1"
    assert s.engine.summary()["checkpoint_bytes"] == 20
    # when trial 0 is resumed and saves a newer checkpoint, the old one goes
    s.report(2, 1, 0.7)  # rung 0 now holds 3 results: trial 0 (best) is promotable
    (resumed,) = s.pause(2, 1)
    assert (resumed.trial_id, resumed.checkpoint) == (0, "c/0/1")
    s.report(0, 2, 0.4)
    s.report(0, 3, 0.3)
    cmds = s.checkpoint(0, 3)
    assert [c.path for c in cmds if isinstance(c, DeleteCheckpoint)] == ["c/0/1"]


def test_perturb_rules() -> None:
    space = SearchSpace({
        "f": Float(0.0, 1.0),
        "q": Float(0.0, 1.0, step=0.25),
        "i": Int(1, 10),
        "big": Int(0, 100, step=5),
        "o": Categorical(["s", "m", "l"], ordered=True),
        "u": Categorical(["a", "b"]),
    })
    p = space.params
    assert perturb(p["f"], 0.5, True) == pytest.approx(0.6)
    assert perturb(p["f"], 0.5, False) == pytest.approx(0.4)
    assert perturb(p["f"], 0.9, True) == 1.0  # clipped
    assert perturb(p["q"], 0.5, True) == 0.75  # 0.6 is nearest 0.5 itself: one grid step up
    assert perturb(p["q"], 0.75, True) == 1.0  # 0.9 -> 1.0
    assert perturb(p["i"], 2, True) == 3  # 2.4 would round back to 2: moves one step
    assert perturb(p["i"], 1, False) == 1  # clipped at the bottom
    assert perturb(p["big"], 50, True) == 60
    assert perturb(p["o"], "m", True) == "l" and perturb(p["o"], "s", False) == "s"
    assert perturb(p["u"], "a", True) == "a"  # unordered: only resampling changes it


def test_explore_keeps_configurations_valid_under_conditions() -> None:
    space = SearchSpace({
        "opt": Categorical(["adam", "sgd"]),
        "momentum": Float(0.0, 0.99, when={"opt": "sgd"}),
        "lr": Float(1e-4, 1.0, log=True),
    })
    for i in range(200):
        rng = derive_rng(0, "t", i)
        start = space.sample(rng)
        out = explore(space, start, space.dims, 0.5, rng)
        assert space.validate(out) == out
        assert ("momentum" in out) == (out["opt"] == "sgd")
    # only the named hyperparameters change
    rng = derive_rng(1, "t")
    out = explore(space, {"opt": "adam", "lr": 0.01}, ["lr"], 0.0, rng)
    assert out["opt"] == "adam" and out["lr"] in (pytest.approx(0.008), pytest.approx(0.012))


def test_explore_is_deterministic_per_key() -> None:
    a = explore(SPACE, {"lr": 0.1, "width": 8}, SPACE.dims, 0.25, derive_rng(3, "pbt", 1, 2))
    b = explore(SPACE, {"lr": 0.1, "width": 8}, SPACE.dims, 0.25, derive_rng(3, "pbt", 1, 2))
    assert a == b
    assert isinstance(np.float64(a["lr"]), np.float64)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"population_size": 1}, "population_size"),
        ({"perturbation_interval": 0}, "perturbation_interval"),
        ({"perturbation_interval": 9}, "perturbation_interval"),
        ({"quantile_fraction": 0.6}, "quantile_fraction"),
        ({"quantile_fraction": 0}, "quantile_fraction"),
        ({"resample_probability": 1.5}, "resample_probability"),
        ({"hyperparams": ["nope"]}, "hyperparams"),
        ({"hyperparams": "lr"}, "hyperparams"),
    ],
)
def test_bad_params(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=rf"scheduler\.params\.{key}"):
        Script(PBT(**kwargs), max_step=9, space=SPACE)


# --- time-sharing: a population larger than the worker slots ------------------------------


class _Drift:
    """A tiny benchmark: the best ``lr`` drifts with the step, so members rank differently at
    different intervals (stateless: the simulated executor evaluates ``(params, step)``)."""

    name = "drift"
    space = SearchSpace({"lr": Float(1e-4, 1e-1, log=True)})
    max_step = 20
    metric = "acc"
    mode = "max"
    optimum = None

    def evaluate(self, params: dict[str, Any], step: int) -> tuple[dict[str, float], float]:
        best = -3.5 + step / 10
        acc = step * (1.0 - 0.1 * (np.log10(params["lr"]) - best) ** 2)
        return {"acc": float(acc)}, 1.0


def _timeshared(n_workers: int, seed: int = 0) -> Study:
    bench = _Drift()
    study = Study.create(
        "ts", bench.space, objective=Objective("acc", "max"), searcher="random",
        scheduler=PBT(8, 4, 0.25, 0.25), max_step=bench.max_step,
        budget=Budget(max_steps=8 * bench.max_step), seed=seed,
    )
    return study.simulate(bench, n_workers=n_workers)


@pytest.mark.parametrize("n_workers", [1, 2, 3])
def test_a_population_larger_than_the_workers_time_shares_and_exploits(n_workers: int) -> None:
    study = _timeshared(n_workers)
    # every generation (steps 4, 8, 12, 16) is judged: 2 of 8 exploited each time
    assert study.engine.scheduler.state()["exploits"] == 4 * 2
    h = study.engine.history
    # the population advances in step: nobody trains past interval step s before every
    # member has reached it (virtual times of the results)
    for s in (4, 8, 12, 16):
        reached = [r.time for t in h for r in h.results(t) if r.step == s]
        beyond = [r.time for t in h for r in h.results(t) if r.step == s + 1]
        assert len(reached) == 8 and len(beyond) == 8
        assert max(reached) <= min(beyond)
    forks = [t for t in h if h.parent_id(t) is not None]
    assert len(forks) == 8
    for t in forks:  # a fork starts from its donor's checkpoint at a generation's step
        assert h.tags(t)["pbt"] == "fork"
        assert min(h.scores(t)) % 4 == 1
    # the final population reaches max_step together, and the best member is the best trial
    final = [t for t in h if h.last_step(t) == bench_max]
    assert len(final) == 8
    best = min(final, key=lambda t: (h.score(t), t))
    assert study.best_trial is not None and study.best_trial.id == best


bench_max = _Drift.max_step


def test_time_sharing_is_deterministic_and_replays() -> None:
    a, b = _timeshared(2, seed=5), _timeshared(2, seed=5)
    ha, hb = a.engine.history, b.engine.history
    assert [ha.params(t) for t in ha] == [hb.params(t) for t in hb]
    assert [ha.parent_id(t) for t in ha] == [hb.parent_id(t) for t in hb]


def test_the_pbt_toy_exploits_and_best_trial_is_the_best_member() -> None:
    """The Ray Tune ``pbt_function``-style toy (``examples/ports/ray_tune_pbt.py``) on the
    local executor, 8 members on 2 workers: members that meet the goal end early, and one of
    them is the best trial."""
    ports = str(Path(__file__).resolve().parents[2] / "examples" / "ports")
    if ports not in sys.path:  # spawned workers get the parent's sys.path
        sys.path.insert(0, ports)
    import ray_tune_pbt as pbt_toy

    study = Study.create(
        "toy", SearchSpace({"lr": Float(1e-4, 1e-1, log=True)}),
        objective=Objective("acc", "max"), searcher="random",
        scheduler=PBT(8, 4, 0.25, 0.25), max_step=40, budget=Budget(max_steps=8 * 40), seed=0,
    )
    study.run(pbt_toy.train, executor="local", n_workers=2)
    h = study.engine.history
    assert study.engine.scheduler.state()["exploits"] >= 2 * 8  # 2 per generation, 9 of them
    finals = {t: h.score(t) for t in h if h.status(t).value == "completed"}
    best = study.best_trial
    assert best is not None and best.id == min(finals, key=lambda t: (finals[t], t))
    assert study.best_value() > pbt_toy.GOAL  # a member met the goal (a fixed lr cannot)
    assert h.last_step(best.id) < 40  # ... and completed early: that final value counts


def test_best_trial_counts_a_trial_that_completed_early() -> None:
    study = Study.create("b", SPACE, objective=Objective("acc", "max"), max_step=10, seed=0)
    early, late = study.ask(), study.ask()
    assert early is not None and late is not None
    study.report(early.id, 3, {"acc": 9.0})
    study.tell(early.id, "completed", {"acc": 9.0}, step=3)  # the objective returned early
    study.tell(late.id, "completed", {"acc": 5.0})  # at max_step
    assert study.best_trial is not None and study.best_trial.id == early.id
