"""A study's budget raised after it was spent (``Study.set_budget``, ``rung resume --n-trials``):
journaled as a ``BudgetChanged`` event, so the study goes on, replays, and every reader sees the
new budget; refusals name the key and journal nothing."""

from __future__ import annotations

import io
import math
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

import rung
from rung.benchmarks import get_benchmark
from rung.cli.main import main
from rung.core.events import BudgetChanged
from rung.errors import ConfigError
from rung.storage import MemoryJournal

BENCH = get_benchmark("mf-branin", max_step=9)


def _study(storage: Any, **budget: Any) -> rung.Study:
    return rung.Study.create("b", BENCH.space, max_step=9, searcher="tpe", scheduler="asha",
                             budget=rung.Budget(**budget), storage=storage, seed=3)


def test_a_spent_study_goes_on_with_more_trials_and_replays_as_run(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    s = _study(db, n_trials=6)
    s.simulate(BENCH, n_workers=2)
    assert len(s.trials()) == 6 and s.engine.over
    n = len(s.journal.read("b"))
    s.set_budget(rung.Budget(n_trials=15))  # 9 more
    records = s.journal.read("b")
    assert records[n:] == [BudgetChanged({"n_trials": 15, "max_time": None, "max_steps": None},
                                         s.engine.now)]
    assert s.spec.budget.n_trials == 15 and not s.engine.over
    s.simulate(BENCH, n_workers=2)
    assert len(s.trials()) == 15 and s.engine.over
    trials = s.trials()
    s.close()
    for readonly in (False, True):  # the journal replays into the same study, new budget in
        again = rung.Study.load("b", storage=db, readonly=readonly)
        assert again.trials() == trials and again.spec.budget.n_trials == 15
        assert again.engine.scheduler.state() == s.engine.scheduler.state()
        again.close()
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["show", "b", "--storage", str(db)]) == 0
    assert ("  budget     n_trials=15   (spent: n_trials reached; created with n_trials=6, "
            "changed by set_budget)") in out.getvalue()


def test_ask_tell_hands_out_trials_again_after_a_raise() -> None:
    s = rung.Study.create("a", {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=2))
    while (t := s.ask()) is not None:
        s.tell(t.id, "completed", {"loss": t.params["x"]})
    assert len(s.trials()) == 2
    s.set_budget({"n_trials": 3})  # a mapping, as Study.create takes
    t = s.ask()
    assert t is not None and t.id == 2
    s.tell(t.id, "completed", {"loss": 0.5})
    assert s.ask() is None and len(s.trials()) == 3


def test_max_steps_counts_what_was_spent_and_a_lower_budget_ends_the_search() -> None:
    s = _study(MemoryJournal(), max_steps=40)
    s.simulate(BENCH, n_workers=2)
    spent = s.history.steps_consumed
    assert spent >= 40 and s.engine.over
    s.set_budget(rung.Budget(max_steps=spent + 30))
    s.simulate(BENCH, n_workers=2)
    assert spent + 30 <= s.history.steps_consumed < spent + 30 + 2 * 9  # one step per worker
    s.set_budget(rung.Budget(max_steps=10))  # below what is spent: over at once
    assert s.engine.over


@pytest.mark.parametrize("budget, key, says", [
    (rung.Budget(), "budget", "a run needs a limit"),
    ({"n_trials": 0}, "budget.n_trials", "must be an integer >= 1"),
    ({"n_trails": 9}, "budget.n_trails", "n_trials"),
    (rung.Budget(n_trials=9, max_cost=5.0), "budget.max_cost", "needs prices"),
    (rung.Budget(n_trials=9, stop="auto"), "budget.stop", "stays so"),
])
def test_a_bad_budget_is_refused_naming_its_key_and_nothing_is_journaled(
        budget: Any, key: str, says: str) -> None:
    s = _study(MemoryJournal(), n_trials=2)
    s.simulate(BENCH, n_workers=1)
    n = len(s.journal.read("b"))
    with pytest.raises(ConfigError, match=says) as e:
        s.set_budget(budget)
    assert str(e.value).startswith(key) and len(s.journal.read("b")) == n
    assert s.spec.budget == rung.Budget(n_trials=2) and s.engine.over


def test_the_stop_rule_is_kept_and_a_search_it_ended_is_not_reopened() -> None:
    s = rung.Study.create("s", {"x": rung.Float(0, 1)}, searcher="random", scheduler="fifo",
                          budget=rung.Budget(n_trials=200, stop=rung.StopRule()))
    i = 0
    while (t := s.ask()) is not None:  # a flat objective: the rule stops the search
        s.tell(t.id, "completed", {"loss": 1.0 + 0.01 * math.sin(12.9898 * i * 78.233)})
        i += 1
    assert s.engine.stopped is not None and len(s.trials()) < 200
    with pytest.raises(ConfigError, match="the stop rule ended this search .*does not re-open"):
        s.set_budget(rung.Budget(n_trials=400))
    kept = rung.Study.create("k", {"x": rung.Float(0, 1)}, searcher="random",
                             budget=rung.Budget(n_trials=2, stop="auto"))
    kept.set_budget(rung.Budget(n_trials=5))  # stop left out: the study's own stays
    assert kept.spec.budget.stop == rung.Budget(stop="auto").stop
    assert kept.spec.budget.n_trials == 5


def _cli(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as e:  # (argparse's refusals)
            code = int(e.code or 0)
    return code, err.getvalue()


def test_rung_resume_raises_the_budget_of_a_finished_study(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: sb\nexecutor: simulated\nbenchmark: {name: mf-branin}\n"
                    "searcher: random\nscheduler: asha\nmax_step: 9\nbudget: {n_trials: 6}\n"
                    "space:\n  x1: {type: float, low: -5, high: 10}\n"
                    "  x2: {type: float, low: 0, high: 15}\n"
                    f"storage: {tmp_path / 'sb.db'}\n")
    db = str(tmp_path / "sb.db")
    assert _cli("run", str(spec), "--no-live")[0] == 0
    code, err = _cli("resume", "sb", "--storage", db, "--no-live")
    assert code == 0 and "nothing to run: the budget is spent (raise it: " in err
    n = len(rung.Study.load("sb", storage=db, readonly=True).journal.read("sb"))
    code, err = _cli("resume", "sb", "--storage", db, "--max-steps", "-3")
    assert code == 2 and "--max-steps: must be >= 1, got -3" in err
    assert len(rung.Study.load("sb", storage=db, readonly=True).journal.read("sb")) == n
    code, err = _cli("resume", "sb", "--storage", db, "--n-trials", "10", "--no-live")
    assert code == 0 and "nothing to run" not in err
    s = rung.Study.load("sb", storage=db, readonly=True)
    assert len(s.trials()) == 10 and s.spec.budget.n_trials == 10
    # the spec edited to a larger budget: rung run says how to give the study that budget
    spec.write_text(spec.read_text().replace("n_trials: 6", "n_trials: 20"))
    code, err = _cli("run", str(spec), "--no-live")
    assert code == 2 and err.endswith(
        f"with another budget than this spec's; give it this spec's with: rung resume sb "
        f"--storage {db} --n-trials 20, or give this spec another name\n")


def test_a_raised_money_budget_is_the_ledgers_and_the_study_replays_from_its_creation() -> None:
    """The ledger reads the budget journaled last; a replay (ask/tell's reload, conformance)
    starts from the budget the study was created with and meets the change where it was."""
    from rung.core.engine import Engine

    s = rung.Study.create("m", BENCH.space, max_step=9, searcher="random", scheduler="fifo",
                          budget=rung.Budget(max_cost=30.0), prices={"cpu": 3600.0}, seed=1)
    s.simulate(BENCH, n_workers=2)
    first = s.engine.meter.cost
    assert first >= 30.0 and s.engine.over and s.ledger().budget["max_cost"] == 30.0
    s.set_budget(rung.Budget(max_cost=first + 40.0))
    s.simulate(BENCH, n_workers=2)
    assert s.engine.meter.cost >= first + 40.0 and s.ledger().budget["max_cost"] == first + 40.0
    replayed = Engine.replay(s.engine.created_spec, s.journal.read("m"))
    assert replayed.spec.budget == s.spec.budget and replayed.created_spec.budget.max_cost == 30
    assert [t.status for t in replayed.history.trials()] == [t.status for t in s.trials()]


def test_limits_change_only_themselves_and_an_equal_budget_journals_nothing() -> None:
    s = _study(MemoryJournal(), n_trials=4, max_time=3600.0)
    s.simulate(BENCH, n_workers=2)
    n = len(s.journal.read("b"))
    s.set_budget(n_trials=4, max_time=3600.0)  # the same: nothing journaled
    s.set_budget(rung.Budget(n_trials=4, max_time=3600.0))
    assert len(s.journal.read("b")) == n
    s.set_budget(n_trials=6)  # max_time kept
    assert s.spec.budget == rung.Budget(n_trials=6, max_time=3600.0)
    assert len(s.journal.read("b")) == n + 1
    for args, kwargs in [((None,), {}), ((), {}), ((rung.Budget(n_trials=9),), {"n_trials": 9})]:
        with pytest.raises(ConfigError, match="give a budget .* or the limits to change"):
            s.set_budget(*args, **kwargs)
    with pytest.raises(ConfigError, match=r"n_trails.*n_trials"):
        s.set_budget(n_trails=9)
    assert len(s.journal.read("b")) == n + 1


def test_a_lower_n_trials_leaves_a_spent_study_over_and_its_next_session_writes_nothing() -> None:
    s = _study(MemoryJournal(), n_trials=6)
    s.simulate(BENCH, n_workers=2)
    s.set_budget(n_trials=3)
    assert s.engine.over
    n = len(s.journal.read("b"))
    s.simulate(BENCH, n_workers=2)
    assert len(s.journal.read("b")) == n and len(s.trials()) == 6


@pytest.mark.parametrize("scheduler", ["successive_halving", "hyperband",
                                       {"name": "asha", "params": {"variant": "promotion"}}])
def test_schedulers_that_closed_their_work_open_new_work_after_a_raise(scheduler: Any) -> None:
    """Synchronous successive halving and Hyperband closed every bracket when the engine
    refused a trial, ASHA's promotion variant made its rungs final: a raised n_trials ran
    nothing (before ``Scheduler.on_budget_raised``)."""
    journal = MemoryJournal()
    s = rung.Study.create("h", BENCH.space, max_step=9, searcher="random",
                          scheduler=scheduler, budget=rung.Budget(n_trials=9), storage=journal)
    s.simulate(BENCH, n_workers=3)
    assert len(s.trials()) == 9 and s.engine.over
    s.set_budget(n_trials=18)
    s.simulate(BENCH, n_workers=3)
    assert len(s.trials()) == 18 and s.engine.over
    again = rung.Study.load("h", journal)
    assert again.trials() == s.trials()
    assert again.engine.scheduler.state() == s.engine.scheduler.state()


def test_a_search_no_budget_reopens_is_refused() -> None:
    grid = rung.Study.create("g", {"x": rung.Categorical([1, 2])}, searcher="grid",
                             scheduler="fifo", budget=rung.Budget(n_trials=5))
    while (t := grid.ask()) is not None:
        grid.tell(t.id, "completed", {"loss": float(t.params["x"])})
    with pytest.raises(ConfigError, match=r"^budget: .*grid.*: a new budget runs nothing more"):
        grid.set_budget(n_trials=10)
    pbt = rung.Study.create("p", BENCH.space, max_step=9, searcher="random",
                            scheduler=rung.PBT(population_size=4, perturbation_interval=3),
                            budget=rung.Budget(n_trials=4))
    pbt.simulate(BENCH, n_workers=2)
    assert pbt.engine.over
    with pytest.raises(ConfigError, match=r"^budget.n_trials: pbt starts no new trial once"):
        pbt.set_budget(n_trials=8)
    pbt.set_budget(n_trials=4, max_steps=10_000)  # a limit other than n_trials: taken


def test_a_refused_write_leaves_the_study_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    _study(db, n_trials=3).simulate(BENCH, n_workers=1).close()
    ro = rung.Study.load("b", storage=db, readonly=True)
    before = (ro.spec.budget, ro.engine.spec.budget, ro.engine.over, ro.engine.handled)
    with pytest.raises(rung.JournalError):
        ro.set_budget(n_trials=6)
    assert (ro.spec.budget, ro.engine.spec.budget, ro.engine.over, ro.engine.handled) == before


def test_load_if_exists_compares_the_budget_the_study_has_now(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    s = _study(db, n_trials=3)
    s.simulate(BENCH, n_workers=1)
    s.set_budget(n_trials=5)
    s.close()
    again = rung.Study.create(
        "b", BENCH.space, max_step=9, searcher="tpe", scheduler="asha",
        budget=rung.Budget(n_trials=5), storage=db, seed=3, load_if_exists=True)
    assert again.spec.budget.n_trials == 5
    again.close()
    with pytest.raises(ConfigError, match=r"exists with budget \{'n_trials': 5.*set_budget"):
        rung.Study.create("b", BENCH.space, max_step=9, searcher="tpe", scheduler="asha",
                          budget=rung.Budget(n_trials=3), storage=db, seed=3,
                          load_if_exists=True)


def test_a_write_outside_a_session_gives_back_the_writer_lock(tmp_path: Path) -> None:
    """``set_budget`` and ``enqueue`` take the study's writer lock to write and give it back
    (they held it until close: a second ``Study`` object or process could never run the study
    again, and ``rung.optimize`` called a third time raised ``StudyBusyError``); inside an
    ask/tell session, which holds the lock, it stays held."""
    db = tmp_path / "b.db"
    s = _study(db, n_trials=3)
    s.simulate(BENCH)
    s.set_budget(n_trials=5)
    assert not s.journal.holds("b")
    s.enqueue({"x1": 1.0, "x2": 2.0})
    assert not s.journal.holds("b")
    other = rung.Study.load("b", storage=db)  # another driver may write and run it now
    other.set_budget(n_trials=6)
    other.simulate(BENCH)
    assert len(other.trials()) == 6 and not other.journal.holds("b")
    other.close()
    s.close()
    asked = rung.Study.load("b", storage=db)
    asked.set_budget(n_trials=8)
    assert asked.ask() is not None  # an ask/tell session: it holds the lock from its ask on
    asked.set_budget(n_trials=9)
    assert asked.journal.holds("b")
    asked.close()


def square(trial: rung.Trial) -> float:
    return (trial.suggest_float("x", -1.0, 1.0)) ** 2


def test_rung_optimize_runs_more_trials_each_time_it_is_called(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    for n in (2, 3, 5):  # Optuna's optimize(n_trials=...) called again, with the whole count
        study = rung.optimize(square, n_trials=n, storage=db, name="o", n_workers=1,
                              searcher="random", scheduler="fifo")
        assert len(study.trials()) == n
