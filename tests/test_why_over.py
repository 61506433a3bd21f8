"""A search that ends with budget left because its searcher ran out of configurations says
so, in the searcher's words: after the session, in ``summary()["why_exhausted"]``, and when a
finished study is run again. Before, the user saw only ``3 trials: 3 completed`` after asking
for 10, and ``the scheduler has nothing left to run`` on a second run."""

from __future__ import annotations

from pathlib import Path

import rung
from rung import PBT, Budget, Categorical, Reporter, SearchSpace
from rung.benchmarks import MFBranin
from rung.testing import ToyBenchmark

GRID = "the grid searcher proposed every one of its 3 points"


def _objective(ctx: rung.TrialContext) -> None:  # never called: a finished study runs nothing
    raise AssertionError("no trial should run")


def _grid(n_trials: int, tmp_path: Path) -> rung.Study:
    space = SearchSpace({"x": Categorical([1, 2, 3])})
    return rung.Study.create("g", space, "loss", searcher="grid", scheduler="fifo",
                             max_step=1, budget=Budget(n_trials=n_trials), seed=0,
                             storage=tmp_path / "g.db")


def test_an_exhausted_grid_says_why_the_search_ended(tmp_path: Path) -> None:
    study = _grid(10, tmp_path)
    rep = Reporter()
    study.simulate(ToyBenchmark(1, study.spec.space), n_workers=2, reporter=rep)
    assert len(study.trials()) == 3
    assert rep.lines == ["study g: 3 trials: 3 completed",
                         f"study g: the search ended before its budget: {GRID}"]
    s = study.summary()
    assert (s["exhausted"], s["why_exhausted"]) == (True, GRID)
    assert study._why_over() == GRID
    study.close()

    again = rung.Study.load("g", storage=tmp_path / "g.db")
    assert again.summary()["why_exhausted"] == GRID
    rep = Reporter()
    again.run(_objective, reporter=rep)  # nothing to run: no worker starts
    assert rep.lines == [f"study g: nothing to run: {GRID}", "study g: 3 trials: 3 completed"]
    again.close()


def test_a_spent_budget_is_not_called_exhausted(tmp_path: Path) -> None:
    study = _grid(3, tmp_path)
    rep = Reporter()
    study.simulate(ToyBenchmark(1, study.spec.space), n_workers=2, reporter=rep)
    assert rep.lines == ["study g: 3 trials: 3 completed"]
    assert study.summary()["why_exhausted"] is None
    assert study._why_over() == "the budget is spent"
    study.close()


def test_a_finished_population_keeps_the_scheduler_s_reason() -> None:
    b = MFBranin()
    study = rung.Study.create("p", b.space, "loss", searcher="random",
                              scheduler=PBT(population_size=4, perturbation_interval=3),
                              max_step=9, budget=Budget(n_trials=50), seed=0)
    rep = Reporter()
    study.simulate(b, n_workers=2, reporter=rep)
    s = study.summary()
    assert (s["exhausted"], s["why_exhausted"]) == (True, None)
    assert study._why_over() == "the scheduler has nothing left to run (the search is over)"
    assert not any("ended before its budget" in line for line in rep.lines)


def test_a_run_on_worker_processes_says_it_too(tmp_path: Path) -> None:
    import lazy_objectives

    study = _grid(10, tmp_path)
    rep = Reporter()
    study.run(lazy_objectives.reports_heavy_imports, n_workers=1, reporter=rep)
    assert sorted(t.params["x"] for t in study.trials()) == [1, 2, 3]
    assert rep.lines == ["study g: 3 trials: 3 completed",
                         f"study g: the search ended before its budget: {GRID}"]
    study.close()


def test_simulating_a_finished_study_says_so_and_writes_nothing(tmp_path: Path) -> None:
    """Study.simulate of a study that is over started the driver again (no "nothing to run"
    line, as Study.run has); now it simulates nothing and journals nothing."""
    study = _grid(10, tmp_path)
    study.simulate(ToyBenchmark(1, study.spec.space), n_workers=2, reporter=Reporter())
    assert study.last_executor is not None
    n = len(study.journal.read("g"))
    rep = Reporter()
    study.simulate(ToyBenchmark(1, study.spec.space), n_workers=2, reporter=rep)
    assert rep.lines == [f"study g: nothing to run: {GRID}", "study g: 3 trials: 3 completed"]
    assert study.last_executor is None
    assert len(study.journal.read("g")) == n
    study.close()
