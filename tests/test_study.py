from __future__ import annotations

import math
import pathlib

import pytest

import rung
from rung import ASHA, Budget, ConfigError, Float, Objective, SpaceError, Study, TrialStatus
from rung.errors import JournalError, RungError


def space() -> dict:
    return {"x": Float(0.0, 1.0), "opt": ["a", "b"]}


def test_ask_report_tell_with_asha() -> None:
    s = Study.create(
        "at",
        space(),
        Objective("loss", "min"),
        scheduler=ASHA(3),
        max_step=9,
        budget=Budget(n_trials=4),
    )
    t0, t1, t2 = s.ask(), s.ask(), s.ask()
    assert t0 is not None and t1 is not None and t2 is not None
    assert {t0.id, t1.id, t2.id} == {0, 1, 2}
    assert s.trial(0).status is TrialStatus.RUNNING
    d = s.report(t0.id, 1, {"loss": 0.5})
    assert d.action is rung.Action.CONTINUE and d.until_step == 3
    d = s.report(t1.id, 1, {"loss": 0.9})
    assert d.action is rung.Action.STOP
    assert s.report(t1.id, 2, {"loss": 0.8}).action is rung.Action.STOP  # sticky
    s.tell(t1.id, "stopped")
    assert s.trial(1).status is TrialStatus.STOPPED
    t3 = s.ask()
    assert t3 is not None and t3.id == 3
    assert s.ask() is None  # budget of 4 trials used
    s.tell(t0.id, "completed", {"loss": 0.1})
    assert s.trial(0).last_step == 9
    assert s.best_trial is not None and s.best_trial.id == 0
    assert s.best_value() == pytest.approx(0.1)
    with pytest.raises(RungError, match="trial 0 is completed"):
        s.report(0, 3, {"loss": 1.0})
    with pytest.raises(RungError, match="does not exist"):
        s.tell(99)
    with pytest.raises(ConfigError, match="status: 'exploded' is not one of"):
        s.tell(t2.id, "exploded")
    with pytest.raises(ConfigError, match=r"status: \['stopped'\] is not one of"):
        s.tell(t2.id, ["stopped"])  # type: ignore[arg-type]
    assert s.tell(t2.id, TrialStatus.STOPPED.value).status is TrialStatus.STOPPED


def test_best_trial_prefers_trials_that_reached_max_step() -> None:
    s = Study.create("b", space(), "acc", mode="max", max_step=5, budget=Budget(n_trials=3))
    a, b = s.ask(), s.ask()
    assert a is not None and b is not None
    s.report(a.id, 2, {"acc": 0.99})  # great early, never finished
    s.tell(a.id, "stopped")
    assert s.best_trial is not None and s.best_trial.id == a.id  # best at the highest step
    s.tell(b.id, "completed", {"acc": 0.7})
    assert s.best_trial is not None and s.best_trial.id == b.id
    assert s.best_value() == pytest.approx(0.7)
    summ = s.summary()
    assert summ["by_status"] == {"stopped": 1, "completed": 1}
    assert summ["steps_consumed"] == 2 + 5
    assert summ["best_value"] == pytest.approx(0.7)


def test_nan_and_infinite_metrics_score_worst_and_a_missing_one_is_refused() -> None:
    s = Study.create("n", space(), "loss", budget=Budget(n_trials=3))
    for metrics in ({"loss": float("nan")}, {"loss": math.inf}, {"loss": 2.0}):
        t = s.ask()
        assert t is not None
        if t.id == 1:  # a result without the objective's metric: refused, nothing written
            n = len(s.journal.read("n"))
            with pytest.raises(ConfigError, match=r"^metrics: no 'loss' \(the objective's "
                                                  r"metric\): got 'other'$"):
                s.tell(t.id, "completed", {"other": 1.0})
            assert len(s.journal.read("n")) == n and s.trial(1).status is TrialStatus.RUNNING
        s.tell(t.id, "completed", metrics)
    assert math.isinf(s.trial(0).score) and math.isinf(s.trial(1).score)
    assert s.best_trial is not None and s.best_trial.id == 2
    assert math.isnan(s.trial(0).metrics["loss"])


def test_failed_trial_keeps_its_error() -> None:
    s = Study.create("f", space(), "loss", budget=Budget(n_trials=2))
    t = s.ask()
    assert t is not None
    s.tell(t.id, "failed", error="Traceback...\nValueError: boom")
    assert s.trial(t.id).status is TrialStatus.FAILED
    assert "boom" in (s.trial(t.id).error or "")


def test_invalid_spec_never_writes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "x.db"
    cases = [
        (dict(space={"x": Float(1.0, 0.0)}), SpaceError, "'x'"),
        (dict(space=space(), scheduler="nope"), ConfigError, "nope"),
        (
            dict(space=space(), scheduler={"name": "asha", "params": {"eta": 2}}),
            ConfigError,
            "scheduler.params.eta",
        ),
        (dict(space=space(), max_step=0), ConfigError, "max_step"),
        (dict(space=space(), budget={"n_trial": 3}), ConfigError, "budget.n_trial"),
        (dict(space=space(), budget={"n_trials": -1}), ConfigError, "budget.n_trials"),
        (dict(space=space(), objective="loss", mode="minimize"), ConfigError, "^mode: "),
    ]
    for kwargs, exc, key in cases:
        with pytest.raises(exc, match=key):
            Study.create("bad", storage=str(db), **kwargs)  # type: ignore[arg-type]
        assert not db.exists()


def test_run_requires_a_budget() -> None:
    from rung.testing import ToyBenchmark

    s = Study.create("u", space(), "loss")
    with pytest.raises(ConfigError, match="budget"):
        s.simulate(ToyBenchmark(1, rung.SearchSpace(space())), n_workers=2)


def test_grid_search_ends_by_itself_and_load_if_exists(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from rung.testing import ToyBenchmark

    sp = rung.SearchSpace(space())
    db = str(tmp_path / "g.db")
    s = Study.create(
        "g", sp, "loss", searcher={"name": "grid", "params": {"points": 3}}, storage=db
    )
    s.simulate(ToyBenchmark(1, sp), n_workers=2)
    assert len(s.trials()) == 6 and s.engine.exhausted
    s.close()
    with pytest.raises(JournalError, match="already exists"):
        Study.create("g", sp, "loss", storage=db)
    again = Study.create("g", sp, "loss", storage=db, load_if_exists=True)
    assert len(again.trials()) == 6


def test_keep_checkpoints_is_part_of_the_spec(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "k.db")
    Study.create("k", space(), "loss", budget=Budget(n_trials=1), keep_checkpoints=3, storage=db)
    assert Study.load("k", db, readonly=True).spec.keep_checkpoints == 3
    with pytest.raises(ConfigError, match="keep_checkpoints"):
        Study.create("k2", space(), "loss", keep_checkpoints=-1)


def test_ask_and_tell_return_snapshots_without_keeping_them() -> None:
    """The Trial handed back by ask/tell is a fresh snapshot; the history does not keep one
    alive per trial (a 10^5-trial study would otherwise hold 10^5 of them)."""
    s = Study.create("snap", space(), "loss", max_step=3, budget=Budget(n_trials=2))
    t = s.ask()
    assert t is not None and s.engine.history._trials[t.id].snapshot is None
    s.report(t.id, 1, {"loss": 0.5})
    ended = s.tell(t.id, "completed", {"loss": 0.25})
    assert s.engine.history._trials[t.id].snapshot is None
    assert ended == s.trial(t.id)  # the cached read gives the same record
    assert ended.status is TrialStatus.COMPLETED and ended.score == 0.25


def test_a_huge_max_step_is_refused_naming_the_key() -> None:
    with pytest.raises(rung.ConfigError, match=r"^max_step: must be an integer in \[1, 1000000\]"):
        rung.Study.create("huge", {"a": rung.Float(0, 1)}, max_step=10**26,
                          budget={"n_trials": 1})


def test_a_constraint_on_a_metric_never_reported_fails_the_run() -> None:
    from rung.benchmarks import get_benchmark

    bench = get_benchmark("mf-branin")
    study = Study.create("c", bench.space, Objective("loss"), searcher="random",
                         scheduler="fifo", max_step=bench.max_step, budget={"n_trials": 2},
                         constraints=[rung.Constraint("latency", "<=", 1.0)])
    with pytest.raises(rung.RunFailed, match=r"constraints\[0\]: no trial reported the metric "
                                             r"'latency'"):
        study.simulate(bench, n_workers=2)  # found at the end: fewer than 3 completed
    early = Study.create("e", bench.space, Objective("loss"), searcher="random",
                         scheduler="fifo", max_step=bench.max_step, budget={"n_trials": 40},
                         constraints=[rung.Constraint("latency", "<=", 1.0)])
    with pytest.raises(rung.RunFailed, match=r"^constraints\[0\]: 3 trials completed in this "
                                             r"run and none reported the metric 'latency', so "
                                             r"every trial is infeasible \(check the metric's "
                                             r"name\): the run was stopped early$"):
        early.simulate(bench, n_workers=1)
    assert len(early.trials("completed")) == 3 and len(early.trials()) == 4  # of 40
    ok = Study.create("d", bench.space, Objective("loss"), searcher="random", scheduler="fifo",
                      max_step=bench.max_step, budget={"n_trials": 4},
                      constraints=[rung.Constraint("loss", "<=", 1e9)])
    ok.simulate(bench, n_workers=2)  # reported: no error
    assert len(ok.trials("completed")) == 4


@pytest.mark.parametrize("name", [".", "..", "a\x00b", "tab\there", "line\n"])
def test_a_name_no_page_or_file_can_hold_is_refused(name: str) -> None:
    from rung.storage import MemoryJournal

    journal = MemoryJournal()
    with pytest.raises(rung.ConfigError) as err:
        rung.Study.create(name, {"x": rung.Float(0, 1)}, "loss",
                          budget=rung.Budget(n_trials=1), storage=journal)
    assert str(err.value).startswith("name: must not be '.' or '..' nor hold a control")
    assert journal.list_studies() == []


def test_simulate_refuses_a_benchmark_whose_parameters_the_space_lacks(tmp_path: pathlib.Path) -> None:
    """Before anything is written (it raised SpaceError at the first evaluation, with the
    first trial in the journal)."""
    from rung.benchmarks import get_benchmark

    path = tmp_path / "s.db"
    space = rung.SearchSpace({"x1": Float(0.0, 1.0), "z": rung.Categorical([1, 2])})
    s = Study.create("x", space,
                     Objective("loss", "min"), max_step=3, budget=Budget(n_trials=3),
                     searcher="random", scheduler="fifo", storage=str(path))
    records = len(list(s.journal.read("x")))
    with pytest.raises(ConfigError) as e:
        s.simulate(get_benchmark("mf-branin", max_step=3))
    assert str(e.value) == "space: the benchmark mf-branin takes x1, x2 (missing x2)"
    assert len(list(s.journal.read("x"))) == records
    assert s.trials() == []


@pytest.mark.parametrize("where", ["zz/deep/new.db", "zz", "sqlite:///zz/x.db"])
def test_load_from_a_mistyped_path_creates_nothing(  # type: ignore[no-untyped-def]
        tmp_path, monkeypatch, where: str) -> None:
    # before: the journal (and its directories) were created, then "no study named 'x' in
    # zz/deep/new.db (studies: none)", or "cannot create a journal at zz" for a load
    monkeypatch.chdir(tmp_path)
    with pytest.raises(JournalError, match=r"^no journal at zz"):
        Study.load("x", where)
    with pytest.raises(JournalError, match=r"^no journal at zz"):
        Study.load("x", where, readonly=True)
    assert list(tmp_path.iterdir()) == []


def test_the_constraint_watch_counts_this_runs_completions() -> None:
    from rung.core import TrialEnded
    from rung.core.records import Outcome
    from rung.run_failures import ConstraintWatch

    s = Study.create("w", {"x": Float(0.0, 1.0)}, "loss", searcher="random", scheduler="fifo",
                     max_step=2, budget={"n_trials": 20},
                     constraints=["mem <= 1", "latency <= 5"])

    def complete(metrics: dict[str, float]) -> None:
        t = s.ask()
        assert t is not None
        s.report(t.id, 2, metrics)
        # ended completed as Study.run ends it (tell refuses a completed trial that never
        # reported a constraint's metric)
        s.engine.handle(TrialEnded(t.id, Outcome.COMPLETED, 0.0))

    watch = ConstraintWatch(s.engine)
    assert watch.missing == ["mem", "latency"]
    for _ in range(2):
        complete({"loss": 0.5, "mem": 0.1})
    assert watch.check(s.engine, []) is None  # mem seen in no event yet, but 2 < 3
    complete({"loss": 0.5})
    assert watch.check(s.engine, []) == (
        "constraints[0]: 3 trials completed in this run and none reported the metric 'mem', "
        "so every trial is infeasible (check the metric's name): the run was stopped early")
    # a new run (a resume, its objective fixed) reads what was reported and counts afresh
    again = ConstraintWatch(s.engine)
    assert again.missing == ["latency"] and again.check(s.engine, []) is None
    for _ in range(3):
        complete({"loss": 0.5, "mem": 0.1})
    assert (again.check(s.engine, []) or "").startswith(
        "constraints[1]: 3 trials completed in this run and none reported the metric 'latency'")
    fixed = ConstraintWatch(s.engine)
    from rung.core import ResultReported

    assert fixed.check(s.engine, [ResultReported(9, 1, {"latency": 1.0}, 0.0)]) is None
    assert fixed.missing == []


def test_the_objective_watch_stops_a_run_whose_trials_all_miss_an_objective_metric() -> None:
    """A typo in an objective's metric failed every trial of the budget ("metric 'latncy_ms'
    was not reported"); the watch stops the run once 3 trials that reported results failed
    and none reported it. Trials that failed before reporting do not count; an objective
    whose missing values score worst is not watched; a run that saw the metric never stops."""
    from rung.core import ResultReported, TrialEnded
    from rung.core.records import Objective, Outcome
    from rung.run_failures import ObjectiveWatch

    s = Study.create("o", {"x": Float(0.0, 1.0)}, [Objective("acc", "max"),
                                                   Objective("latncy_ms", "min")],
                     searcher="random", scheduler="fifo", max_step=2, budget={"n_trials": 20})
    watch = ObjectiveWatch(s.engine)
    assert watch.missing == ["acc", "latncy_ms"]
    events = []
    for k in range(4):
        t = s.ask()
        assert t is not None
        if k > 0:  # the first fails before it reports anything
            ev = ResultReported(t.id, 1, {"acc": 0.5, "latency_ms": 3.0}, 0.0)
            s.engine.handle(ev)
            events.append(ev)
        s.engine.handle(TrialEnded(t.id, Outcome.FAILED, 0.0, "a failure"))
        if k == 2:
            assert watch.check(s.engine, events) is None  # 2 reporters failed: < 3
            events = []
    assert watch.check(s.engine, events) == (
        "metric[1]: 3 trials reported results in this run and failed, none with the metric "
        "'latncy_ms' (reported: 'acc', 'latency_ms'), so every trial fails (check the metric's "
        "name): the run was stopped early")
    seen = ObjectiveWatch(s.engine)
    assert seen.missing == ["latncy_ms"]
    assert seen.check(s.engine, [ResultReported(9, 1, {"latncy_ms": 1.0}, 0.0)]) is None
    assert seen.missing == []
    worst = Study.create("w", {"x": Float(0.0, 1.0)}, Objective("loss", nan="worst"),
                        searcher="random", scheduler="fifo", max_step=2,
                        budget={"n_trials": 20})
    assert ObjectiveWatch(worst.engine).missing == []
