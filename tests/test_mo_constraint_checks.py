"""What a multi-objective or constrained study is told at create and at the end.

Before: a scalar scheduler ranked a multi-objective study by its first objective silently;
the median rule, the curve scheduler, PBT and synchronous halving ignored constraints
silently; ``mode=['max']`` for two objectives read as if it should be accepted; ``tell(id)``
after reports without a constraint's metric was accepted (the trial silently infeasible)
while ``tell(id, 'completed', metrics)`` without it was refused; ``rung show`` said "no
feasible trial yet" about a finished study; ``rung.MOASHA`` did not exist; a hypervolume
reference on the wrong side of the front silently gave 0."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

import rung
from rung.cli.report import no_best, pareto_line
from rung.core.records import Objective
from rung.errors import ConfigError
from rung.schedulers.mo_asha import MOASHA
from rung.storage import MemoryJournal

SPACE = {"x": rung.Float(0.0, 1.0)}
TWO = [rung.Objective("acc", "max"), rung.Objective("size", "min")]


def _warnings(caplog: pytest.LogCaptureFixture, **kw: object) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rung.study"):
        rung.Study.create("w", SPACE, searcher="random", max_step=9, budget={"n_trials": 3},
                          storage=MemoryJournal(), **kw)  # type: ignore[arg-type]
    return [r.getMessage() for r in caplog.records if r.name == "rung.study"]


def test_a_scalar_scheduler_of_several_objectives_is_warned_about(
        caplog: pytest.LogCaptureFixture) -> None:
    assert _warnings(caplog, objective=TWO, scheduler="asha") == [
        "study w: scheduler 'asha' ranks trials by the first objective 'acc' only, not by "
        "'size': scheduler='mo_asha' ranks by every objective"]
    assert _warnings(caplog, objective=TWO, scheduler="mo_asha") == []
    assert _warnings(caplog, objective=TWO, scheduler="fifo") == []
    assert _warnings(caplog, objective="loss", scheduler="asha") == []


def test_a_scheduler_that_ignores_constraints_is_warned_about(
        caplog: pytest.LogCaptureFixture) -> None:
    assert _warnings(caplog, objective="loss", scheduler="median",
                     constraints=["lat <= 1"]) == [
        "study w: scheduler 'median' ignores the constraints: it decides by 'loss' alone, so "
        "an infeasible trial with a better value goes on; scheduler='asha' (or 'mo_asha') "
        "ranks feasible results first"]
    assert _warnings(caplog, objective="loss", scheduler="asha", constraints=["lat <= 1"]) == []
    assert len(_warnings(caplog, objective=TWO, scheduler="curve",
                         constraints=["lat <= 1"])) == 2


def test_rung_run_warns_once_in_its_own_format(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """rung run printed the warning twice (checking the spec, then creating the study), bare,
    through logging's last-resort handler."""
    from rung.cli.main import main

    monkeypatch.chdir(tmp_path)
    Path("s.yaml").write_text("name: m\nexecutor: simulated\nbenchmark: {name: mf-branin}\n"
                              "max_step: 3\nsearcher: random\nscheduler: median\n"
                              "constraints: [loss <= 100]\nbudget: {n_trials: 2}\n")
    assert main(["run", "s.yaml", "--no-live"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "ignores the constraints" in line] == [
        "rung: warning: study m: scheduler 'median' ignores the constraints: it decides by "
        "'loss' alone, so an infeasible trial with a better value goes on; scheduler='asha' "
        "(or 'mo_asha') ranks feasible results first"]
    assert not logging.getLogger("rung.study").handlers  # put back as it was
    assert logging.getLogger("rung.study").propagate


def test_one_mode_for_two_objectives_is_refused_saying_what_is_accepted() -> None:
    with pytest.raises(ConfigError) as e:
        rung.Study.create("m", SPACE, objective=["a", "b"], mode=["max"])
    assert str(e.value) == ("mode: a list of modes needs one per objective (2), got 1: "
                            "['max']; or give one string, 'min' or 'max', for all of them")
    with pytest.raises(ConfigError) as e:
        rung.Study.create("m", SPACE, objective=["a", "b"], mode=3)  # type: ignore[arg-type]
    assert str(e.value) == ("mode: one string, 'min' or 'max', for all objectives, or a list "
                            "of one per objective (2); got 3")


def test_a_count_of_one_mode_or_metric_is_singular() -> None:
    """Before: 'spec.mode: 2 modes for 1 metrics'."""
    from rung.core.records import objectives_from

    for metric, mode, said in (("loss", ["min", "max"], "2 modes for 1 metric ['loss']"),
                               (["a", "b"], ["min"], "1 mode for 2 metrics ['a', 'b']")):
        with pytest.raises(ConfigError) as e:
            objectives_from(metric, mode)
        assert str(e.value) == f"mode: {said} (give one mode, or one per metric)"


def test_moasha_is_exported_at_the_top() -> None:
    assert rung.MOASHA is MOASHA and "MOASHA" in rung.__all__


def test_tell_completed_needs_a_constraint_metric_with_or_without_metrics() -> None:
    s = rung.Study.create("t", SPACE, objective="loss", constraints=["lat <= 1"],
                          searcher="random", scheduler="fifo", max_step=2,
                          budget={"n_trials": 4})
    t = s.ask()
    assert t is not None
    s.report(t.id, 1, {"loss": 0.5})
    with pytest.raises(ConfigError) as e:
        s.tell(t.id, "completed")
    assert str(e.value) == (
        f"metrics: no 'lat' (the metric of constraint 'lat <= 1'): trial {t.id} never "
        "reported it, so it would end infeasible; tell it with metrics holding 'lat', or "
        "tell 'failed'")
    with pytest.raises(ConfigError) as e:
        s.tell(t.id, "completed", {"loss": 0.4})
    assert str(e.value) == "metrics: no 'lat' (the metric of constraint 'lat <= 1'): got 'loss'"
    assert s.trial(t.id).status is rung.TrialStatus.RUNNING  # nothing recorded
    # reported once, it holds: both forms are accepted
    s.report(t.id, 2, {"loss": 0.4, "lat": 0.5})
    assert s.tell(t.id, "completed").status is rung.TrialStatus.COMPLETED
    u = s.ask()
    assert u is not None
    s.report(u.id, 1, {"loss": 0.3, "lat": 0.2})
    assert s.tell(u.id, "completed", {"loss": 0.2}).status is rung.TrialStatus.COMPLETED
    assert s.feasible(u.id) and s.best_trial is not None and s.best_trial.id == u.id


def test_a_finished_study_with_no_feasible_trial_says_so_without_yet() -> None:
    s = rung.Study.create("n", SPACE, objective=TWO, constraints=["lat <= 10", "size <= 0.5"],
                          searcher="random", scheduler="fifo", budget={"n_trials": 2})
    t = s.ask()
    assert t is not None
    s.tell(t.id, "completed", {"acc": 0.5, "size": 1.0, "lat": 5.0})
    assert no_best(s) == "best: no feasible trial yet"
    assert pareto_line(s) == "pareto front  none yet (no feasible trial)"
    t = s.ask()
    assert t is not None
    s.tell(t.id, "completed", {"acc": 0.6, "size": 1.0, "lat": 25.0})
    assert s.ask() is None  # the budget is spent: the search is over
    assert no_best(s) == "best: no feasible trial"
    assert pareto_line(s) == "pareto front  none (no feasible trial)"


def test_a_hypervolume_reference_must_be_dominated_by_the_front() -> None:
    from rung.multiobjective import front_hypervolume

    objs = [Objective("acc", "max"), Objective("lat", "min")]
    Y = np.array([[-0.9, 30.0], [-0.8, 10.0], [-0.95, 50.0]])  # lower-is-better scores
    assert front_hypervolume(Y, np.array([-0.5, 100.0]), objs) == pytest.approx(36.5)
    # bounding part of the front: the points outside add nothing (acc 0.95 needs lat < 40)
    assert front_hypervolume(Y, np.array([-0.85, 40.0]), objs) == pytest.approx(0.5)
    with pytest.raises(ConfigError) as e:  # acc 1.0 is better than every point: wrong side
        front_hypervolume(Y, np.array([-1.0, 100.0]), objs)
    assert str(e.value) == (
        "reference: no point of the Pareto front dominates [1.0, 100.0]: a reference must be "
        "worse than the front in each objective's own direction; one with acc (max) below "
        "0.8 and lat (min) above 50 counts every point")
    assert front_hypervolume(np.empty((0, 2)), np.array([-1.0, 100.0]), objs) == 0.0
    assert front_hypervolume(Y, None, objs) > 0.0


def _reports_memory_as_text(ctx: rung.TrialContext) -> None:
    for step in (1, 2):
        ctx.report(step, acc=ctx.params["x"], mem="3MB")


def test_a_constraint_metric_that_is_not_a_number_fails_the_trial_naming_it() -> None:
    """A worker's report whose constraint metric is not a number (``mem="3MB"``) fails the
    trial, naming the metric and its constraint, as ``tell`` refuses it: it was scored
    infeasible silently, every trial of the study with it."""
    study = rung.Study.create("c", SPACE, objective="acc", mode="max", max_step=2,
                              constraints=["mem <= 10"], budget={"n_trials": 2},
                              storage=MemoryJournal())
    with pytest.raises(rung.RunFailed, match="all 2 trials failed"):
        study.run(_reports_memory_as_text, n_workers=1, start_method="fork", progress=False)
    assert [(t.status, t.error) for t in study.trials()] == [
        (rung.TrialStatus.FAILED, "metric 'mem' is not a number: '3MB' (str), the metric of "
         "constraint 'mem <= 10', at step 1")] * 2


def test_blank_metric_names_are_refused_and_a_constraint_may_name_a_slashed_metric() -> None:
    with pytest.raises(ConfigError, match=r"^objective.metric: must be a non-empty string, "
                                          r"got ' '$"):
        rung.Objective(" ")
    with pytest.raises(ConfigError, match=r"^constraints.metric: must be a non-empty string"):
        rung.Constraint("  ", "<=", 1.0)
    study = rung.Study.create("s", SPACE, objective="val/acc", mode="max", max_step=2,
                              constraints=["val/latency_ms <= 100"], budget={"n_trials": 1},
                              storage=MemoryJournal())
    assert study.spec.constraints == (rung.Constraint("val/latency_ms", "<=", 100.0),)


def test_an_unknown_trial_id_is_one_line_naming_the_ids_there_are() -> None:
    study = rung.Study.create("k", SPACE, objective=TWO, max_step=2, budget={"n_trials": 2},
                              storage=MemoryJournal())
    for call in (study.trial, study.feasible):
        with pytest.raises(KeyError, match=r"no trial 0 in study 'k' \(its trials: none yet\)"):
            call(0)
    t = study.ask()
    assert t is not None and study.trial(0).id == 0
    with pytest.raises(KeyError, match=r"no trial -1 in study 'k' \(its trials: 0\)"):
        study.feasible(-1)


def test_feasibility_is_unknown_until_a_stopped_trial_reports_the_metric_and_for_failures(
        tmp_path: Path) -> None:
    """A constraint's metric reported only at the end (allowed: it holds until reported) is
    not known of a trial stopped before it: readers said such a trial, and a failed one, was
    "infeasible" / "feasible"; now unknown (``History.feasibility``: ``None``, NA in
    ``trials_dataframe``, "unknown" in ``rung show``). The best trial and the front go by the
    strict rule as before."""
    db = tmp_path / "f.db"
    s = rung.Study.create("f", SPACE, objective="acc", mode="max", max_step=3,
                          constraints=["mem <= 10"], budget={"n_trials": 5}, storage=db)
    ids = [t.id for t in (s.ask() for _ in range(5)) if t is not None]
    s.report(ids[0], 1, {"acc": 0.9})
    s.tell(ids[0], "stopped")  # before the end: mem never reported
    s.tell(ids[1], "completed", {"acc": 0.5, "mem": 5.0}, step=3)
    s.tell(ids[2], "completed", {"acc": 0.7, "mem": 50.0}, step=3)
    s.report(ids[3], 1, {"acc": 0.6, "mem": 1.0})
    s.tell(ids[3], "failed", error="boom")
    s.report(ids[4], 1, {"acc": 0.8, "mem": 99.0})
    s.tell(ids[4], "stopped")  # a value reported and broken: infeasible, stopped or not
    h = s.history
    assert [h.feasibility(t) for t in ids] == [None, True, False, None, False]
    assert s.best_trial is not None and s.best_trial.id == ids[1]
    df = s.trials_dataframe()
    assert str(df["feasible"].dtype) == "boolean"
    assert df["feasible"].tolist()[1:3] == [True, False] and df["feasible"].isna().tolist() == [
        True, False, False, True, False]
    s.close()
    import contextlib
    import io

    from rung.cli.main import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["show", "f", "--storage", str(db)]) == 0
    rows = {w[0]: w[2] for w in map(str.split, out.getvalue().splitlines())
            if len(w) > 2 and w[1] in ("completed", "stopped", "failed")}
    assert [rows[str(t)] for t in ids] == ["unknown", "yes", "no", "unknown", "no"]


def test_metric_names_with_spaces_around_and_ids_that_are_not_ints_are_refused() -> None:
    for make, key in ((lambda: rung.Objective(" loss"), "objective.metric"),
                      (lambda: rung.Constraint("mem ", "<=", 1.0), "constraints.metric")):
        with pytest.raises(ConfigError, match=rf"^{key}: must not start or end with a space"):
            make()
    study = rung.Study.create("i", SPACE, objective="acc", max_step=2, budget={"n_trials": 1},
                              storage=MemoryJournal())
    for call, name in ((study.trial, "trial"), (study.feasible, "feasible")):
        for bad in ("0", True):
            with pytest.raises(TypeError, match=rf"^{name}\(trial_id\): expected a trial's id"):
                call(bad)  # type: ignore[arg-type]


def _memory_measured_at_the_end(ctx: rung.TrialContext) -> None:
    ctx.report(1, acc=ctx.params["x"], mem=None)  # not measured yet
    ctx.report(2, acc=ctx.params["x"], mem=5.0)


def test_a_constraint_metric_reported_as_none_reads_as_not_reported() -> None:
    study = rung.Study.create("n", SPACE, objective="acc", mode="max", max_step=2,
                              constraints=["mem <= 10"], budget={"n_trials": 2},
                              storage=MemoryJournal())
    study.run(_memory_measured_at_the_end, n_workers=1, start_method="fork", progress=False)
    assert [t.status for t in study.trials()] == [rung.TrialStatus.COMPLETED] * 2
    assert all(study.feasible(t) for t in study.trials())


def test_ask_tell_reads_a_constraint_metric_of_none_as_not_reported_too() -> None:
    """As a worker's report does: ``None`` is "not measured yet" (it was refused as not a
    number); a completed trial still needs a value by its end."""
    study = rung.Study.create("n", SPACE, objective="acc", mode="max", max_step=2,
                              constraints=["mem <= 10"], budget={"n_trials": 2},
                              storage=MemoryJournal())
    t = study.ask()
    assert t is not None
    study.report(t.id, 1, {"acc": 0.5, "mem": None})
    with pytest.raises(ConfigError, match=r"^metrics: no 'mem' \(the metric of constraint 'mem "
                                          r"<= 10'\): got 'acc', 'mem' \('mem' is None: not "
                                          r"measured\)$"):
        study.tell(t.id, "completed", {"acc": 0.6, "mem": None}, step=2)
    study.tell(t.id, "completed", {"acc": 0.6, "mem": 3.0}, step=2)
    assert study.feasible(t.id)


def test_rung_show_shows_a_value_that_scores_worst_as_it_was_reported(tmp_path: Path) -> None:
    """A NaN reported by a failed trial read ``inf`` (its score) in ``rung show``'s table."""
    import contextlib
    import io

    from rung.cli.main import main

    db = tmp_path / "s.db"
    s = rung.Study.create("s", SPACE, objective=TWO, max_step=1, budget={"n_trials": 2},
                          storage=db)
    a, b = s.ask(), s.ask()
    assert a is not None and b is not None
    s.tell(a.id, "completed", {"acc": 0.9, "size": 3.0})
    s.tell(b.id, "completed", {"acc": 0.8, "size": float("nan")})  # fails it (nan="fail")
    s.close()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["show", "s", "--storage", str(db)]) == 0
    rows = [w for w in map(str.split, out.getvalue().splitlines())
            if len(w) > 3 and w[1] in ("completed", "failed")]
    assert [w[:4] for w in rows] == [["0", "completed", "1", "0.9"], ["1", "failed", "1", "0.8"]]
    assert rows[1][4] == "nan"
