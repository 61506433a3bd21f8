"""PB2 (population-based bandits): PBT's exploit with forks' numbers chosen by a time-varying
GP-UCB; deterministic given the seed, valid in the space, batch-aware, better placed than a
random explore, and replayed exactly by ``Study.load``."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sched_script import Script

import rung
from rung import Action, Budget, Categorical, Float, Int, SearchSpace, Study
from rung.schedulers import PB2, PBT
from rung.schedulers.pb2 import TimeVaryingGP
from rung.storage.memory import MemoryJournal
from rung.testing.population import run_population

LR = SearchSpace({"lr": Float(1e-4, 1.0, log=True)})
#: the best lr (log10): a member improves most per step there
BEST = -2.0


def improvement(params: dict[str, Any]) -> float:
    """Loss drop per step: a bump in log10(lr) centred on BEST (known to the test, not to PB2)."""
    return math.exp(-0.5 * ((math.log10(params["lr"]) - BEST) / 0.5) ** 2)


def drive(study: Study, improve: Callable[[dict[str, Any]], float], workers: int) -> None:
    """An in-process population (``rung.testing.run_population``): the least advanced running
    trial trains one step; the state, and a checkpoint, is the loss."""

    def train(loss: float, tid: int, params: Mapping[str, Any],
              step: int) -> tuple[float, dict[str, float]]:
        loss -= improve(dict(params))
        return loss, {"loss": loss}

    run_population(study, workers, lambda tid, params: 10.0, train, copy=lambda loss: loss)


def run(scheduler: Any, seed: int, space: SearchSpace = LR, storage: Any = None,
        improve: Callable[[dict[str, Any]], float] = improvement) -> Study:
    study = Study.create("pb2", space, "loss", searcher="random", scheduler=scheduler,
                         max_step=24, budget=Budget(n_trials=4, max_steps=4 * 24), seed=seed,
                         storage=storage if storage is not None else MemoryJournal())
    drive(study, improve, 4)
    return study


def count_fits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one at each GP fit PB2 makes from now on."""
    fits: list[int] = []
    built = TimeVaryingGP.__init__

    def counted(self: TimeVaryingGP, *args: Any) -> None:
        fits.append(1)
        built(self, *args)

    monkeypatch.setattr(TimeVaryingGP, "__init__", counted)
    return fits


def forks(study: Study) -> list[rung.Trial]:
    return [t for t in study.trials() if t.parent_id is not None]


def test_exported_and_registered() -> None:
    assert rung.PB2 is PB2
    assert issubclass(PB2, PBT) and PB2.name == "pb2" and PB2.version == 5
    study = Study.create("s", LR, "loss", scheduler={"name": "pb2", "params": {
        "population_size": 4, "perturbation_interval": 2}}, max_step=8,
        budget=Budget(max_steps=40))
    assert isinstance(study.engine.scheduler, PB2)
    assert PB2(4, 2).to_spec().to_json() == {"name": "pb2", "params": {
        "population_size": 4, "perturbation_interval": 2, "quantile_fraction": 0.25,
        "resample_probability": 0.25, "hyperparams": None}}


def test_deterministic_given_the_seed() -> None:
    a, b, c = (run(PB2(4, 2), seed) for seed in (3, 3, 4))
    params = [[t.params for t in s.trials()] for s in (a, b, c)]
    assert forks(a) and params[0] == params[1] and params[0] != params[2]
    assert a.engine.scheduler.state() == b.engine.scheduler.state()


def test_forks_are_not_a_perturbation_of_their_donor() -> None:
    """PB2's choice is the UCB's maximizer, not the donor's value times 0.8 or 1.2."""
    study = run(PB2(4, 2, resample_probability=0.0), 0)
    ratios = [t.params["lr"] / study.trial(t.parent_id).params["lr"] for t in forks(study)
              if t.parent_id is not None]
    assert ratios and not all(r == pytest.approx(1.2) or r == pytest.approx(0.8)
                              for r in ratios)
    fit = study.engine.scheduler.state()["pb2"]
    assert fit["observations"] > 10 and 0 < fit["eps"] <= 0.5 and fit["beta"] > 0


@pytest.mark.parametrize("seed", [0, 1])
def test_chosen_values_lie_in_the_space(seed: int) -> None:
    space = SearchSpace({
        "lr": Float(1e-4, 1.0, log=True), "width": Int(8, 256, log=True),
        "drop": Float(0.0, 0.5, step=0.1), "layers": Int(1, 4),
        "opt": Categorical(["adam", "sgd"]),
    })

    def improve(p: dict[str, Any]) -> float:
        return improvement(p) * (1 + p["drop"]) * (1.1 if p["opt"] == "adam" else 1.0)

    study = run(PB2(4, 2, resample_probability=0.5), seed, space, improve=improve)
    assert len(forks(study)) >= 5
    for t in forks(study):
        assert space.validate(t.params) == t.params
        assert isinstance(t.params["width"], int) and 8 <= t.params["width"] <= 256
        assert round(t.params["drop"] * 10) == pytest.approx(t.params["drop"] * 10)


def test_pb2_places_forks_nearer_the_best_region_than_a_random_explore() -> None:
    """Over 6 seeds, the forks' mean distance to the best lr (in log10) is well below that
    of PBT resampling every fork (the random explore: about 1.0 for log10(lr) uniform on
    [-4, 0]), and below PBT's perturbation too."""

    def distance(scheduler: Callable[[], Any]) -> float:
        d = [abs(math.log10(t.params["lr"]) - BEST)
             for seed in range(6) for t in forks(run(scheduler(), seed))]
        return float(np.mean(d))

    random_explore = distance(lambda: PBT(4, 2, resample_probability=1.0))
    pbt = distance(lambda: PBT(4, 2))
    pb2 = distance(lambda: PB2(4, 2))
    assert random_explore > 0.8
    assert pb2 < 0.5 * random_explore and pb2 < pbt


def test_the_first_exploit_without_observations_explores_as_pbt() -> None:
    """Members that report only at interval steps give no observation before their second
    interval: the first forks are perturbed as PBT does."""
    s = Script(PB2(2, 2, 0.5, 0.0), max_step=8, space=LR, budget=Budget(max_steps=100))
    s.capacity(2)
    s.report(0, 2, 0.1)
    s.checkpoint(0, 2)
    d = s.report(1, 2, 0.9)
    assert d is not None and d.action is Action.STOP
    assert s.scheduler.state()["pb2"] == {"observations": 0, "fallback": "pbt"}
    s.end(1, "stopped")
    h = s.engine.history
    ratio = h.params(2)["lr"] / h.params(0)["lr"]
    assert ratio == pytest.approx(1.2) or ratio == pytest.approx(0.8)
    s.assert_replay_matches()


def test_a_batch_accounts_for_its_pending_members() -> None:
    """A time-shared generation judged at once, two members exploited: the second choice sees
    the first as pending (in the GP's variance), and the two forks differ."""
    s = Script(PB2(4, 2, 0.5, 0.0), max_step=12, space=LR, budget=Budget(max_steps=200))
    s.capacity(2)
    for tid, loss in enumerate([9.0, 9.2, 9.5]):
        s.report(tid, 1, 10.0)
        d = s.report(tid, 2, loss)
        assert d is not None and d.action is Action.PAUSE
        s.pause(tid, 2)
    s.report(3, 1, 10.0)
    d = s.report(3, 2, 9.9)  # the generation's last member: judged, 2 and 3 exploited
    assert d is not None and d.action is Action.STOP
    launched = s.end(3, "stopped")
    assert [(c.trial_id, c.checkpoint) for c in launched] == [(4, "c/0/2"), (5, "c/0/2")]
    state = s.scheduler.state()
    assert state["recent_forks"] == [{"replaces": 2, "parent": 0, "step": 2, "at": 2},
                                     {"replaces": 3, "parent": 0, "step": 2, "at": 2}]
    assert (state["pb2"]["observations"], state["pb2"]["pending"]) == (4, 1)
    assert launched[0].params["lr"] != launched[1].params["lr"]
    s.assert_replay_matches()


def test_pending_points_lower_the_variance_they_sit_on() -> None:
    """GP-BUCB: a flat mean, so the UCB follows the variance; a pending point at the first
    choice moves the next choice away from it."""
    X = np.array([[0.1], [0.2], [0.9]])
    gp = TimeVaryingGP(X, np.zeros(3), np.zeros(3))
    u1, _ = gp.ucb_argmax(1.0, np.empty((0, 2)), X[0], np.random.default_rng(0))
    u2, _ = gp.ucb_argmax(1.0, np.array([[1.0, u1[0]]]), X[0], np.random.default_rng(0))
    assert abs(u2[0] - u1[0]) > 0.2


def test_study_load_replays_every_decision(tmp_path: Path) -> None:
    db = tmp_path / "pb2.db"
    study = run(PB2(4, 2), 5, storage=db)
    assert forks(study)
    again = Study.load("pb2", storage=db)
    assert [t.params for t in again.trials()] == [t.params for t in study.trials()]
    assert again.engine.scheduler.state() == study.engine.scheduler.state()


def test_a_read_only_load_fits_once_and_shows_the_same_state(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader's replay (``rung show``, ``readonly=True``) takes every fork's params and reason
    from the journal, so it fits no GP while replaying; the last fit, shown by ``state()``, is
    made once when asked, on that fork's data, and equals the live run's."""
    db = tmp_path / "pb2.db"
    study = run(PB2(4, 2), 5, storage=db)
    live = study.engine.scheduler.state()
    assert "lengthscale" in live["pb2"]
    fits = count_fits(monkeypatch)
    reader = Study.load("pb2", storage=db, readonly=True)
    assert fits == [] and [t.params for t in reader.trials()] == [
        t.params for t in study.trials()]
    cols = ["trial_id", "step", "decision", "reason"]
    assert reader.results_dataframe()[cols].equals(study.results_dataframe()[cols])
    assert any("PB2: GP-UCB" in r for r in reader.results_dataframe()["reason"].dropna())
    assert reader.engine.scheduler.state() == live and len(fits) == 1
    assert reader.engine.scheduler.state() == live and len(fits) == 1  # kept, not refitted
    writer = Study.load("pb2", storage=db)  # may run on, but nothing is left to launch
    assert len(fits) == 1 and writer.engine.scheduler.state() == live and len(fits) == 2


@pytest.mark.parametrize("explore_fn, space", [
    (None, LR),
    ("test_pb2:round_lr", SearchSpace({"lr": Float(1e-4, 1.0, log=True),
                                       "opt": Categorical(["sgd", "adam", "rms"])})),
])
def test_a_replay_fits_only_the_forks_left_to_launch_as_the_live_run_did(
        monkeypatch: pytest.MonkeyPatch, explore_fn: str | None, space: SearchSpace) -> None:
    """A replay that may run on (``Study.load``, ask/tell's reload) takes every launched fork's
    params from the journal too, so it fits no GP before the journal's last event; forks
    planned and not yet launched when it ends are fitted when the study goes on, each on the
    data it was planned with: their params (categorical ones and a user's ``explore=`` included)
    and their reasons are those the uninterrupted run planned. Checked at journal cuts against a replay that fits at every fork (as the live run
    does)."""
    from rung.core.engine import Engine
    from rung.core.events import is_event

    journal = MemoryJournal()
    study = run(PB2(4, 2, explore=explore_fn), 3, space=space, storage=journal)
    spec, records = study.spec, journal.read("pb2")
    fits = count_fits(monkeypatch)
    full = Engine.replay(spec, records)
    assert fits == []  # the last event launches nothing: no fit at all
    assert [full.history.params(t) for t in range(len(full.history))] == [
        t.params for t in study.trials()]
    events = [i for i, r in enumerate(records) if is_event(r)]
    open_plans = 0
    for cut in events:
        fits.clear()
        deferred = Engine.replay(spec, records[:cut]).scheduler
        skipped = len(fits)  # fits made by a replay that defers
        with monkeypatch.context() as m:
            m.setattr(PB2, "replaying", property(lambda _: False, lambda _, __: None,
                                                     lambda _: None))
            eager = Engine.replay(spec, records[:cut]).scheduler
        eager_fits = len(fits) - skipped
        assert skipped <= min(1, eager_fits)  # the last event's fork at most
        left = [r for r in deferred._deferred if r in deferred._plan]
        open_plans += len(left)
        fits.clear()
        deferred._fit_deferred()
        assert len(fits) == len(left) and not deferred._deferred
        assert deferred._plan == eager._plan
        assert {r: deferred._notes[r] for r in left} == {r: eager._notes[r] for r in left}
    assert open_plans >= 3  # the cuts did leave forks to launch


def test_a_users_explore_applies_after_pb2s_choice() -> None:
    study = run(PB2(4, 2, explore="test_pb2:round_lr"), 0)
    assert forks(study)
    assert all(t.params["lr"] == round_lr(t.params)["lr"] for t in forks(study))


def round_lr(params: dict[str, Any]) -> dict[str, Any]:
    return {**params, "lr": float(f"{params['lr']:.1g}")}


def test_an_exploits_reason_says_what_chose_the_forks_numbers() -> None:
    """Each exploit's reason ends with PB2's evidence: the GP-UCB's data and its prediction at
    the chosen point (objective units), or that it explored as PBT for want of data."""
    import re

    from rung.benchmarks import get_benchmark

    b = get_benchmark("mf-branin", max_step=16)
    study = Study.create("r", b.space, objective="loss",
                         scheduler=PB2(population_size=6, perturbation_interval=4),
                         max_step=16, budget=Budget(n_trials=6, max_steps=400), seed=0)
    study.simulate(b, n_workers=3, progress=False)
    reasons = [r for r in study.trials_dataframe().reason
               if isinstance(r, str) and r.startswith("exploit:")]
    note = re.compile(
        r" \(PB2: (GP-UCB over (\d+) interval changes( \(\d+ pending\))?: predicted improvement "
        r"per interval (\S+) \+- (\S+)|explored as PBT, \d+ interval change\(s\) observed \(the "
        r"bandit needs 2\))\)$")
    matches = [note.search(r) for r in reasons]
    assert reasons and all(matches), reasons
    by_gp = [m for m in matches if m is not None and m.group(2)]
    assert by_gp
    for m in by_gp:
        assert int(m.group(2)) >= 2 and math.isfinite(float(m.group(4)))
        assert float(m.group(5)) >= 0


def test_a_reader_without_the_users_explore_still_shows_the_last_fit(tmp_path: Path) -> None:
    """``rung show`` in a process that cannot import the study's ``explore=`` function: the
    last fork's fit counts the forks planned with it at the values drawn before the user's
    function (their fits were skipped too; it raised the import's ConfigError)."""
    import sys
    import types

    from rung.benchmarks import get_benchmark

    mod = types.ModuleType("gone_pb2_explore")

    def keep(params: dict[str, Any]) -> dict[str, Any]:
        return dict(params)

    keep.__module__, keep.__qualname__ = "gone_pb2_explore", "keep"
    mod.keep = keep  # type: ignore[attr-defined]

    class StopAt(rung.Callback):
        def on_start(self, study: Study) -> None:
            self.study = study

        def on_turn(self, events: Any, commands: Any, history: Any) -> None:
            if len(history) >= 12:
                self.study.stop()

    bench = get_benchmark("mf-hartmann3", max_step=24)
    db = tmp_path / "pb2.db"
    sys.modules["gone_pb2_explore"] = mod
    try:
        study = Study.create("pb2", bench.space, max_step=24, searcher="random",
                             scheduler=PB2(6, 3, explore=keep), seed=2, storage=db,
                             budget=Budget(max_steps=6 * 24))
        study.simulate(bench, n_workers=3, callbacks=[StopAt()])
        live = study.engine.scheduler.state()
        study.close()
    finally:
        del sys.modules["gone_pb2_explore"]
    reader = Study.load("pb2", storage=db, readonly=True)
    state = reader.engine.scheduler.state()
    assert "lengthscale" in state["pb2"]
    assert state["pb2"]["observations"] == live["pb2"]["observations"]
