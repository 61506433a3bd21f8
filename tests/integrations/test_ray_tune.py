"""rung inside Ray Tune: ``RungScheduler`` and ``RungSearcher`` against the real ``ray.tune``.

The first tests call the Tune interfaces directly (no cluster); the last one runs
``tune.Tuner`` on a local Ray (``ray.init(num_cpus=2)``, marked ``ray``) and checks from the
rung journals that rung's scheduler made every stop and rung's searcher every configuration.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("ray.tune")

from rung import ASHA, Action, ConfigError, Float, SearchSpace, Study
from rung.core.records import TrialStatus
from rung.integrations.ray_tune import RungScheduler, RungSearcher


def _fake(i: int) -> Any:
    return SimpleNamespace(trial_id=f"t{i:05d}")


def test_scheduler_decides_as_rungs_asha_with_ties() -> None:
    """Results fed one by one: the STOPs are ASHA's (eta 3, rungs at steps 1 and 3; ties at a
    rung fill the max(1, floor(n/3)) quota), and a trial reaching max_step is stopped there."""
    from ray.tune.schedulers import TrialScheduler

    sched = RungScheduler(ASHA(reduction_factor=3), max_step=9, metric="loss", mode="min")
    losses = [0.5, 0.5, 0.5, 0.4, 0.6, 0.5, 0.3]  # at step 1
    actions = []
    for i, loss in enumerate(losses):
        t = _fake(i)
        sched.on_trial_add(None, t)
        actions.append(sched.on_trial_result(None, t, {"training_iteration": 1, "loss": loss}))
    C, S = TrialScheduler.CONTINUE, TrialScheduler.STOP
    # n=1: 0.5 passes; n=2,3: quota 1, taken by the first 0.5; n=4: 0.4 is best; n=5: quota 1;
    # n=6: quota 2, one 0.5 passed, one better (0.4): no place left; n=7: 0.3 best
    assert actions == [C, S, S, C, S, S, C]
    # trial 0 goes on: at step 3 it is alone (passes), and at max_step it is stopped (done)
    t0 = _fake(0)
    for step in (2, 3):
        assert sched.on_trial_result(None, t0, {"training_iteration": step, "loss": 0.2}) == C
    assert sched.on_trial_result(None, t0, {"training_iteration": 9, "loss": 0.1}) == S
    # a stopped trial that reports again (Tune delivers a late result) is still stopped
    assert sched.on_trial_result(None, _fake(1), {"training_iteration": 2, "loss": 0.0}) == S
    emb = sched.embedded
    assert emb.status("t00000") is TrialStatus.COMPLETED
    assert emb.status("t00001") is TrialStatus.STOPPED
    assert sched.n_stopped == 4
    reasons = [d.reason for d in emb.decided.values() if d.action is Action.STOP]
    assert all("not in the top 1/3" in r for r in reasons)


@pytest.mark.parametrize("scheduler", ["hyperband", "pbt", "curve", ASHA(variant="promotion")])
def test_scheduler_refuses_schedulers_that_pause(scheduler: Any) -> None:
    with pytest.raises(ConfigError) as e:
        RungScheduler(scheduler, max_step=9)
    assert e.value.key == "scheduler"


def test_searcher_needs_metric_and_mode() -> None:
    s = RungSearcher(SearchSpace({"x": Float(0.0, 1.0)}))
    with pytest.raises(ConfigError) as e:
        s.suggest("a")
    # where to give them: TuneConfig's reach a searcher only with a param_space (the message
    # said "here or in tune.TuneConfig", and the latter did not work without one)
    assert str(e.value) == (
        "metric: give metric and mode ('min' or 'max'), got metric=None, mode=None: "
        "RungSearcher(metric=..., mode=...) (Tune hands tune.TuneConfig's on to a searcher "
        "only when the Tuner has a param_space)")
    assert s.set_search_properties("loss", "min", {}) is True
    assert "x" in (s.suggest("a") or {})


def test_searcher_learns_and_is_deterministic() -> None:
    """Tune's calls made by hand: ``suggest`` then ``on_trial_complete`` with the loss. TPE
    finds the minimum of a quadratic; the same seed gives the same configurations."""
    space = SearchSpace({"x": Float(-2.0, 2.0), "y": Float(-2.0, 2.0)})
    runs = []
    for _ in range(2):
        s = RungSearcher(space, "tpe", metric="loss", mode="min", seed=4)
        configs = []
        for i in range(40):
            cfg = s.suggest(f"t{i}")
            assert cfg is not None
            configs.append(cfg)
            loss = (cfg["x"] - 0.7) ** 2 + (cfg["y"] + 0.4) ** 2
            s.on_trial_complete(f"t{i}", {"loss": loss, "training_iteration": 1})
        runs.append(configs)
    assert runs[0] == runs[1]
    best = min((c["x"] - 0.7) ** 2 + (c["y"] + 0.4) ** 2 for c in runs[0])
    assert best < 0.05
    s.on_trial_complete("t39", None, error=True)  # already ended: nothing happens


def test_grid_searcher_finishes() -> None:
    from ray.tune.search import Searcher

    s = RungSearcher(SearchSpace({"x": [1, 2]}), {"name": "grid", "params": {}},
                     metric="loss", mode="min")
    assert [s.suggest("a"), s.suggest("b")] == [{"x": 1}, {"x": 2}]
    assert s.suggest("c") == Searcher.FINISHED


def _train(config: dict[str, Any]) -> None:
    from ray import tune

    for i in range(1, 10):
        tune.report({"loss": (config["x"] - 0.3) ** 2 + 1.0 / i})


@pytest.mark.ray
@pytest.mark.slow  # a real tune.Tuner on ray.init(num_cpus=2): ~110 s on a loaded 2-core machine
def test_tuner_runs_rungs_scheduler_and_searcher(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    import sys

    from ray import tune

    sched_db, search_db = str(tmp_path / "sched.db"), str(tmp_path / "search.db")
    # the trainable is defined here: workers get it by value (this module is not on their path)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    # address="local": a new local instance even if another Ray cluster runs on this machine
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        tuner = tune.Tuner(
            _train,
            tune_config=tune.TuneConfig(
                metric="loss", mode="min", num_samples=12, max_concurrent_trials=2,
                scheduler=RungScheduler(ASHA(reduction_factor=3), max_step=9,
                                        storage=sched_db),
                # Tune passes metric and mode to a searcher only with a param_space
                search_alg=RungSearcher(SearchSpace({"x": Float(0.0, 1.0)}), "random",
                                        metric="loss", mode="min", seed=7, storage=search_db),
            ),
            run_config=tune.RunConfig(storage_path=str(tmp_path / "ray"), verbose=0),
        )
        grid = tuner.fit()
    finally:
        ray.shutdown()
    by_x = {r.config["x"]: (r.metrics["training_iteration"], r.metrics["loss"]) for r in grid}
    assert len(by_x) == 12
    # the searcher's journal: every configuration came from rung, every final loss went back;
    # its trial i is Tune's i-th trial, which is also the scheduler's trial i
    search = Study.load("ray-tune-search", storage=search_db, readonly=True)
    xs = [t.params["x"] for t in search.trials()]
    assert sorted(xs) == sorted(by_x)
    for t in search.trials():
        assert t.value == pytest.approx(by_x[t.params["x"]][1])
    # the scheduler's journal (replayed by Study.load: the decisions are rung's ASHA's)
    sched = Study.load("ray-tune", storage=sched_db, readonly=True)
    trials = sched.trials()
    assert len(trials) == 12
    stopped = 0
    for t, x in zip(trials, xs, strict=True):
        last = by_x[x][0]
        if t.status is TrialStatus.STOPPED:
            stopped += 1
            assert last == t.last_step and last in (1, 3)  # stopped at a rung, by rung
        else:
            assert t.status is TrialStatus.COMPLETED and last == 9
    assert stopped >= 4


def test_searcher_refuses_tune_distributions_in_param_space() -> None:
    """Tune leaves param_space's distributions to the searcher: the trainable got the
    ``tune.choice`` object itself as config["batch"] (Tune raised nothing). Constants pass."""
    from ray import tune

    s = RungSearcher(SearchSpace({"x": Float(0.0, 1.0)}))
    assert s.set_search_properties("loss", "min", {"fixed": 3, "nested": {"k": "v"}}) is True
    cases = [
        ({"batch": tune.choice([16, 32]), "fixed": 3}, "param_space.batch: a Tune distribution "
         "(Categorical), which RungSearcher does not sample: declare it in RungSearcher's "
         "SearchSpace (rung.Float, rung.Int, rung.Categorical); param_space may hold constants "
         "only"),
        ({"opt": {"lr": tune.loguniform(1e-4, 1e-1)}}, "param_space.opt.lr: a Tune distribution "
         "(Float), which RungSearcher does not sample: declare it in RungSearcher's "
         "SearchSpace (rung.Float, rung.Int, rung.Categorical); param_space may hold constants "
         "only"),
        ({"x": tune.grid_search([0.1, 0.2])}, "param_space.x: a Tune grid_search, which "
         "RungSearcher does not sample: it is in RungSearcher's space too: define it once, "
         "there"),
    ]
    for config, message in cases:
        with pytest.raises(ConfigError) as e:
            RungSearcher(SearchSpace({"x": Float(0.0, 1.0)})).set_search_properties(
                "loss", "min", config)
        assert str(e.value) == message


def test_scheduler_with_a_time_attr_in_seconds() -> None:
    """``time_attr="time_total_s"`` (Ray's schedulers take it): a result before 1 s raised
    ConfigError('step: must be an integer >= 1, got 0') out of Tune's controller, and two
    results within one second were both reported at the same step. Now the first result at or
    past each step is reported, the others continue."""

    class T:
        trial_id = "a"

    s = RungScheduler(ASHA(reduction_factor=3), max_step=10, metric="loss", mode="min",
                      time_attr="time_total_s")
    s.on_trial_add(None, T())
    got = [s.on_trial_result(None, T(), {"time_total_s": t, "loss": 1.0 / (t + 1)})
           for t in (0.3, 0.7, 1.2, 1.9, 3.5, 3.6, 10.2)]
    assert got == ["CONTINUE"] * 6 + ["STOP"]
    (trial,) = s.embedded.study.trials()
    assert [(r.step, r.metrics["loss"]) for r in trial.results] == [
        (1, 1.0 / 2.2), (3, 1.0 / 4.5), (10, 1.0 / 11.2)]
    assert trial.status.value == "completed"
    searcher = RungSearcher(SearchSpace({"x": Float(0.0, 1.0)}), "random", metric="loss",
                            mode="min", max_step=10, time_attr="time_total_s")
    assert searcher.suggest("b") is not None
    for t in (0.3, 1.2, 1.9, 3.5):
        searcher.on_trial_result("b", {"time_total_s": t, "loss": t})
    searcher.on_trial_complete("b", {"time_total_s": 3.6, "loss": 3.6})
    (strial,) = searcher.embedded.study.trials()
    assert [(r.step, r.metrics["loss"]) for r in strial.results] == [(1, 1.2), (3, 3.6)]


def test_a_second_run_on_the_same_storage_is_told_to_name_its_study(tmp_path: Path) -> None:
    """Two Tune runs journaling to one file: the second failed with "study 'ray-tune' already
    exists (use Study.load or load_if_exists=True)", advice for Study.create, not for the
    adapter, whose name= is what to change."""

    class T:
        trial_id = "a"

    db = str(tmp_path / "rung.db")
    RungScheduler(ASHA(), max_step=9, metric="loss", mode="min", storage=db).on_trial_add(
        None, T())
    with pytest.raises(ConfigError) as e:
        RungScheduler(ASHA(), max_step=9, metric="loss", mode="min", storage=db).on_trial_add(
            None, T())
    assert str(e.value) == (
        f"name: 'ray-tune' is already a study in {db}: each run journals a study of its own; "
        "give the adapter another name= (or storage=)")
    RungScheduler(ASHA(), max_step=9, metric="loss", mode="min", storage=db,
                  name="second").on_trial_add(None, T())
    # Tune configures the trials: the journal holds Tune's id (and config: none here)
    assert Study.load("second", storage=db, readonly=True).history.params(0) == {
        "tune.trial_id": "a"}


def test_scheduler_journals_each_tune_trials_id_and_config(tmp_path: Path) -> None:
    """The rung study behind RungScheduler(storage=...) journaled every trial with the params
    {"_": 0}: `rung show` said "best params _=0", nothing said which configuration a decision
    was about. Each trial's params are now Tune's trial id and its config, flattened as Tune
    flattens it; and `rung show` does not suggest a `rung resume` that cannot work."""
    from rung.cli.report import show_study

    db = str(tmp_path / "rung.db")
    sched = RungScheduler(ASHA(reduction_factor=3), max_step=9, metric="loss", mode="min",
                          storage=db)
    configs = [{"lr": 0.01, "model": {"depth": 3, "sizes": [64, 64]}, "opt": "adam"},
               {"lr": 0.1, "model": {"depth": 2, "sizes": [32]}, "opt": "sgd"}]
    for i, config in enumerate(configs):
        t = SimpleNamespace(trial_id=f"t{i:05d}", config=config)
        sched.on_trial_add(None, t)
        sched.on_trial_result(None, t, {"training_iteration": 1, "loss": 1.0 - i / 10})
    study = Study.load("ray-tune", storage=db, readonly=True)
    assert [dict(t.params) for t in study.trials()] == [
        {"tune.trial_id": "t00000", "lr": 0.01, "model/depth": 3, "model/sizes": "[64, 64]",
         "opt": "adam"},
        {"tune.trial_id": "t00001", "lr": 0.1, "model/depth": 2, "model/sizes": "[32]",
         "opt": "sgd"}]
    study.close()
    text = show_study("ray-tune", db)
    assert "  best params  tune.trial_id=t00001 lr=0.1 model/depth=2 model/sizes=[32] " \
           "opt=sgd" in text.splitlines()
    sched.embedded.study.close()  # the Tune driver died with its trials running
    notes = [line for line in show_study("ray-tune", db).splitlines() if "note:" in line]
    assert notes == ["  note: 2 trial(s) were running when the driver stopped; Ray Tune "
                     "(RungScheduler) drove this study and ran its trials: rung cannot resume "
                     "them (a new run of the tool journals a new study)"]


def _tt(trial_id: str) -> Any:  # a stand-in for a Tune Trial
    return SimpleNamespace(trial_id=trial_id)


def test_scheduler_follows_rungs_one_rule_for_steps() -> None:
    """rung's rule (``rung._steps``): the same step again is reported (its result replaces the
    earlier one), a step below the last is refused with one line naming the order. The adapter
    skipped both without a word (the step-1 result stayed 0.5, the step-back CONTINUEd)."""
    s = RungScheduler("fifo", max_step=9, metric="loss", mode="min", time_attr="epoch")
    s.on_trial_add(None, _tt("a"))
    for epoch, loss in [(1, 0.5), (1, 0.9), (2, 0.4), (2, 0.3)]:
        assert s.on_trial_result(None, _tt("a"), {"epoch": epoch, "loss": loss}) == "CONTINUE"
    with pytest.raises(ConfigError) as e:
        s.on_trial_result(None, _tt("a"), {"epoch": 1, "loss": 0.1})
    assert str(e.value) == (
        "epoch: Tune trial a: report(step=1) after report(step=2): steps never go backwards "
        "(report them in increasing order; the same step again replaces its result)")
    (trial,) = s.embedded.study.trials()
    assert [(r.step, r.metrics["loss"]) for r in trial.results] == [(1, 0.9), (2, 0.3)]


def test_searcher_follows_rungs_one_rule_and_skips_what_a_restored_trial_redoes() -> None:
    """RungSearcher's per-step reports follow the same rule. Tune does not tell a searcher that
    it restored a trial (FailureConfig), whose steps then start again from its checkpoint:
    ``iterations_since_restore`` starting again says so, and the steps already reported are
    not reported again (the first result stands; no refusal)."""
    s = RungSearcher(SearchSpace({"x": Float(0.0, 1.0)}), "random", metric="loss",
                     mode="min", max_step=9)
    assert s.suggest("a") is not None
    for it, loss in [(1, 0.5), (1, 0.6), (2, 0.4)]:
        s.on_trial_result("a", {"training_iteration": it, "loss": loss})
    with pytest.raises(ConfigError) as e:
        s.on_trial_result("a", {"training_iteration": 1, "loss": 0.1})
    assert str(e.value) == (
        "training_iteration: Tune trial a: report(step=1) after report(step=2): steps never go "
        "backwards (report them in increasing order; the same step again replaces its result)")
    s = RungSearcher(SearchSpace({"x": Float(0.0, 1.0)}), "random", metric="loss",
                     mode="min", max_step=9)
    assert s.suggest("b") is not None
    for it in (1, 2, 3):
        s.on_trial_result("b", {"training_iteration": it, "iterations_since_restore": it,
                                "loss": 1.0 / it})
    # restored from its checkpoint at step 1: steps 2 and 3 again, then 4
    for n, it in enumerate((2, 3, 4), start=1):
        s.on_trial_result("b", {"training_iteration": it, "iterations_since_restore": n,
                                "loss": 0.1 * it})
    s.on_trial_complete("b", {"training_iteration": 4, "loss": 0.4})
    (trial,) = s.embedded.study.trials()
    assert [(r.step, r.metrics["loss"]) for r in trial.results] == [
        (1, 1.0), (2, 0.5), (3, 1.0 / 3), (4, 0.4)]
    assert trial.status is TrialStatus.COMPLETED


def test_tuner_restore_journals_a_new_study_beside_the_run_before(tmp_path: Path) -> None:
    """``Tuner.restore`` re-creates the adapters as they were pickled before the first
    trial. RungSearcher had no Tune checkpoint ("save not implemented"), so the restore
    failed ("Searcher unable to find checkpoint") and Tune restarted the experiment from
    scratch; with ``storage=``, RungScheduler refused the restored run (its study name is
    taken, and Tuner.restore cannot change the adapter's name=). Now the restored run
    journals ``name-2``, and the trials that had ended are not rung trials of it."""
    db = str(tmp_path / "rung.db")
    space = SearchSpace({"x": Float(0.0, 1.0)})
    before = RungSearcher(space, "random", metric="loss", mode="min", storage=db)
    assert before.suggest("a") is not None
    ckpt = tmp_path / "exp"
    ckpt.mkdir()
    before.save_to_dir(str(ckpt), "s1")
    after = RungSearcher(space, "random", metric=None, mode=None, storage=db)
    assert (ckpt / "searcher-state-s1.pkl").exists()
    after.restore_from_dir(str(ckpt))
    assert after.suggest("b") is not None
    assert after.embedded.study.name == "ray-tune-search-2"
    RungScheduler(ASHA(), max_step=9, metric="loss", mode="min", storage=db).on_trial_add(
        None, _tt("a"))
    sched = RungScheduler(ASHA(), max_step=9, metric="loss", mode="min", storage=db)
    done = SimpleNamespace(trial_id="a", status="TERMINATED", last_result={"loss": 1.0})
    cut = SimpleNamespace(trial_id="b", status="PENDING",
                          last_result={"training_iteration": 2, "loss": 0.5})
    for trial in (done, cut):
        sched.on_trial_add(None, trial)
    assert sched.embedded.study.name == "ray-tune-2"
    assert len(sched.embedded.study.trials()) == 1  # only the trial that runs on
    assert sched.on_trial_result(None, cut, {"training_iteration": 3, "loss": 0.4}) == "CONTINUE"
    # a fresh experiment (no trial reported before) keeps refusing a taken name
    with pytest.raises(ConfigError):
        RungScheduler(ASHA(), max_step=9, metric="loss", mode="min", storage=db).on_trial_add(
            None, SimpleNamespace(trial_id="c", status="PENDING", last_result={}))


def test_scheduler_refuses_an_integer_step_counted_from_0() -> None:
    """``time_attr="epoch"`` from a loop over ``range(n)``: epoch 0 was skipped without a word
    and every rung came one epoch late (as define-by-run's ``trial.report`` refuses it)."""
    import numpy as np

    s = RungScheduler("fifo", max_step=9, metric="loss", mode="min", time_attr="epoch")
    s.on_trial_add(None, _tt("a"))
    for epoch in (0, np.int64(0), -1):
        with pytest.raises(ConfigError) as e:
            s.on_trial_result(None, _tt("a"), {"epoch": epoch, "loss": 0.5})
        assert str(e.value) == (
            f"epoch: Tune trial a: must be >= 1 (rung counts steps from 1: in a loop over "
            f"range(n), report epoch + 1), got {epoch!r}")
    # a time in seconds before 1 s continues (no step reached yet)
    t = RungScheduler("fifo", max_step=9, metric="loss", mode="min", time_attr="time_total_s")
    t.on_trial_add(None, _tt("b"))
    assert t.on_trial_result(None, _tt("b"), {"time_total_s": 0.4, "loss": 0.5}) == "CONTINUE"
    assert t.embedded.study.trials()[0].results == ()
