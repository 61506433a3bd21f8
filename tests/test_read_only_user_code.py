"""A study whose components name the user's code defined in the creating script's ``__main__``
(a PBT ``explore=`` function, an ``OptunaSearcher``'s own sampler class): reading it
(``Study.load(readonly=True)``, ``rung show`` / ``ls`` / ``export``) needs none of that code,
since replay takes every launched trial's params and every reason from the journal; a
``Study.load`` that may run it on, from another script, refuses in one line saying where the
code is and what to do. Before, every read-only command exited 2 ("cannot import
'__main__:my_explore'"), and the sampler's message said "'__main__.MySampler' is not an
Optuna sampler class"."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rung import Budget, ConfigError, Float, SearchSpace, Study
from rung.benchmarks import get_benchmark
from rung.cli.main import main
from rung.schedulers import PBT
from rung.schedulers.pbt_explore import load_explore
from rung.study_resume import reading_journal

MAIN = sys.modules["__main__"]


def my_explore(params: dict[str, Any]) -> dict[str, Any]:
    return {**params, "x1": min(params["x1"] * 1.01, 10.0)}


@pytest.fixture
def script_explore() -> Iterator[Any]:
    """``my_explore`` as a function defined in the running script (``__main__``)."""
    fn = my_explore
    saved = fn.__module__
    fn.__module__ = "__main__"
    setattr(MAIN, "my_explore", fn)  # noqa: B010
    yield fn
    fn.__module__ = saved
    if hasattr(MAIN, "my_explore"):
        delattr(MAIN, "my_explore")


def _pbt_study(db: Path, explore: Any) -> Study:
    bench = get_benchmark("mf-branin")
    study = Study.create("p", bench.space, objective=bench.metric, mode=bench.mode,
                         scheduler=PBT(4, 3, explore=explore), max_step=bench.max_step,
                         budget=Budget(n_trials=4, max_steps=200), seed=1, storage=db)
    study.simulate(bench, n_workers=2)
    return study


def test_a_pbt_study_with_a_scripts_explore_is_read_without_it(
        tmp_path: Path, script_explore: Any, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "p.db"
    study = _pbt_study(db, script_explore)
    assert study.spec.scheduler.params["explore"] == "__main__:my_explore"
    forks = [t for t in study.trials() if t.parent_id is not None]
    assert forks
    ran = [(t.id, t.status, t.params) for t in study.trials()]
    study.close()
    again = Study.load("p", storage=db)  # the creating script: my_explore is in its __main__
    assert getattr(again.engine.scheduler, "_custom") is script_explore  # noqa: B009
    again.close()
    delattr(MAIN, "my_explore")  # another script: no my_explore here

    read = Study.load("p", storage=db, readonly=True)
    assert [(t.id, t.status, t.params) for t in read.trials()] == ran
    read.close()
    capsys.readouterr()
    for argv in (["show", "p"], ["export", "p"], ["ls"]):
        assert main([*argv, "--storage", str(db)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "unreadable" not in out
    with pytest.raises(ConfigError) as e:
        Study.load("p", storage=db)
    assert str(e.value) == (
        "scheduler.params.explore: '__main__:my_explore' is defined in the script that "
        "created the study (__main__), not in this one: run Study.load from that script, or "
        "move my_explore into a module (its 'module:function' name is then stored)")


def test_the_stand_in_explore_refuses_to_explore_outside_a_read() -> None:
    """While a journal is read, an explore that cannot be imported is a stand-in that returns
    its argument (replay uses the journaled params); called otherwise, it raises the load
    error, so a fork is never made without the user's function."""
    with reading_journal():
        fn = load_explore("__main__:not_in_this_script")
        assert fn({"x": 1.0}) == {"x": 1.0}
    with pytest.raises(ConfigError) as e:
        fn({"x": 1.0})
    assert e.value.key == "scheduler.params.explore"
    assert e.value.message.startswith("'__main__:not_in_this_script' is defined in the script")
    with pytest.raises(ConfigError):  # outside a read, the import error at once
        load_explore("__main__:not_in_this_script")


def test_an_optuna_searcher_with_a_scripts_sampler_class_is_read_without_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    optuna = pytest.importorskip("optuna")
    from rung.integrations.optuna import OptunaSearcher

    cls = type("MySampler", (optuna.samplers.RandomSampler,), {"__module__": "__main__"})
    setattr(MAIN, "MySampler", cls)  # noqa: B010
    db = tmp_path / "o.db"
    try:
        study = Study.create("o", SearchSpace({"x": Float(0.0, 1.0)}), objective="loss",
                             searcher=OptunaSearcher(cls), budget=Budget(n_trials=4),
                             storage=db)
        for _ in range(4):
            t = study.ask()
            assert t is not None
            study.tell(t.id, "completed", {"loss": (t.params["x"] - 0.3) ** 2})
        assert study.spec.searcher.params["sampler"] == "__main__.MySampler"
        ran = [t.params for t in study.trials()]
        study.close()
    finally:
        delattr(MAIN, "MySampler")
    read = Study.load("o", storage=db, readonly=True)
    assert [t.params for t in read.trials()] == ran
    read.close()
    capsys.readouterr()
    for argv in (["show", "o"], ["export", "o"], ["ls"]):
        assert main([*argv, "--storage", str(db)]) == 0, capsys.readouterr().err
    with pytest.raises(ConfigError) as e:
        Study.load("o", storage=db)
    assert str(e.value) == (
        "searcher.params.sampler: '__main__.MySampler' is defined in the script that created "
        "the study (__main__), not in this one: run Study.load from that script, or move "
        "MySampler into a module (its import path is then stored)")


def test_the_dashboard_reads_a_study_whose_explore_is_in_another_script(
        tmp_path: Path, script_explore: Any) -> None:
    """The dashboard builds and replays its own engines: they read the journal only, so a
    PBT study whose ``explore=`` is in the creating script's ``__main__`` shows its trials."""
    from rung.dashboard.data import Catalog

    db = tmp_path / "p.db"
    study = _pbt_study(db, script_explore)
    ran = [(t.id, t.status) for t in study.trials()]
    study.close()
    delattr(MAIN, "my_explore")  # the dashboard's process: no my_explore here
    snap = Catalog(db).snapshot("p")
    assert [(t.id, t.status) for t in snap.engine.history.trials()] == ran
