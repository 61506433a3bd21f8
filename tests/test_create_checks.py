"""``Study.create`` checks against what is stored and what the stop rule can do: a
``load_if_exists=True`` with other settings than the stored study's names the first that
differs (they were silently ignored: new prices, budgets, resources), and a stop rule on a
study of several objectives is refused at creation (it would stop a Pareto search because its
first objective converged)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rung import Budget, ConfigError, Float, Objective, Study


def create(db: Path, **kw: object) -> Study:
    args: dict[str, object] = {"searcher": "random", "scheduler": "fifo",
                               "budget": Budget(n_trials=4), "storage": db}
    args.update(kw)
    return Study.create("s", {"x": Float(0.0, 1.0)}, "loss", **args)  # type: ignore[arg-type]


def test_load_if_exists_with_the_same_settings_loads(tmp_path: Path) -> None:
    create(tmp_path / "j.db").close()
    again = create(tmp_path / "j.db", load_if_exists=True)
    assert again.spec.budget.n_trials == 4
    again.close()


def test_load_if_exists_with_auto_components_takes_the_stored_ones(tmp_path: Path) -> None:
    create(tmp_path / "j.db").close()
    again = create(tmp_path / "j.db", searcher="auto", scheduler="auto", load_if_exists=True)
    assert (again.spec.searcher.name, again.spec.scheduler.name) == ("random", "fifo")
    again.close()


@pytest.mark.parametrize(("kw", "key", "message"), [
    ({"budget": Budget(n_trials=8)}, "budget",
     "study 's' exists with budget {'n_trials': 4, 'max_time': None, 'max_steps': None}, not "
     "{'n_trials': 8, 'max_time': None, 'max_steps': None}: Study.load continues it with the "
     "budget it has, and its set_budget(...) gives it another, or create it under another "
     "name"),
    ({"prices": {"cpu": 0.5}}, "prices", None),
    ({"scheduler": "asha"}, "scheduler", None),
    ({"seed": 3}, "seed", None),
])
def test_load_if_exists_with_other_settings_names_the_first(
    tmp_path: Path, kw: dict[str, object], key: str, message: str | None
) -> None:
    create(tmp_path / "j.db").close()
    with pytest.raises(ConfigError) as e:
        create(tmp_path / "j.db", load_if_exists=True, **kw)
    assert e.value.key == key
    if message is not None:
        assert str(e.value) == f"{key}: {message}"
    stored = Study.load("s", tmp_path / "j.db")  # unchanged
    assert stored.spec.budget.n_trials == 4 and stored.spec.seed == 0
    stored.close()


_LOADS_AS_STORED = ("Study.load continues it as stored (its settings are fixed when it is "
                    "created), or create it under another name")


@pytest.mark.parametrize(("stored", "given", "key", "said"), [
    ({"objective": ["a", "b"], "mode": ["min", "max"]}, {"objective": "a"}, "objectives",
     "exists with objectives 'a' (min), 'b' (max), not with objective 'a' (min)"),
    ({"constraints": ["c <= 1"]}, {}, "constraints",
     "exists with constraints 'c <= 1', not without constraints"),
    ({}, {"constraints": ["c <= 1"]}, "constraints",
     "exists without constraints, not with constraints 'c <= 1'"),
    ({}, {"objective": ["a", "b"]}, "objectives",
     "exists with objective 'a' (min), not with objectives 'a' (min), 'b' (min)"),
])
def test_load_if_exists_compares_what_is_stored_but_left_at_its_default(
    tmp_path: Path, stored: dict[str, object], given: dict[str, object], key: str, said: str
) -> None:
    """A stored study of two objectives (or with constraints) loaded silently as the one
    objective (no constraints) given: only the given keys were compared; and the other way
    round the message said 'exists with objectives None'."""
    def study(**kw: object) -> Study:
        args: dict[str, object] = {"objective": "a", "budget": {"n_trials": 3},
                                   "storage": tmp_path / "l.db", **kw}
        return Study.create("s", {"x": Float(0.0, 1.0)}, **args)  # type: ignore[arg-type]

    study(**stored).close()
    with pytest.raises(ConfigError) as e:
        study(load_if_exists=True, **given)
    assert e.value.key == key
    assert str(e.value) == f"{key}: study 's' {said}: {_LOADS_AS_STORED}"
    study(load_if_exists=True, **stored).close()  # the same settings load


def test_load_if_exists_reads_an_older_spec_as_this_rung_writes_it() -> None:
    """A spec stored before the objectives' ``nan`` policy (and with keys of other parties,
    ``auto``) is the same study as the one given with the default policy."""
    from rung.storage.memory import MemoryJournal

    journal = MemoryJournal()
    args: dict[str, object] = {"objective": ["a", "b"], "searcher": "random",
                               "scheduler": "fifo", "budget": {"n_trials": 3},
                               "storage": journal}
    Study.create("new", {"x": Float(0.0, 1.0)}, **args).close()  # type: ignore[arg-type]
    old = journal.load_study("new")
    for o in (old["objective"], *old["objectives"]):
        del o["nan"]
    journal.create_study("old", {**old, "name": "old", "auto": "why it was chosen"})
    again = Study.create("old", {"x": Float(0.0, 1.0)}, load_if_exists=True,
                         **args)  # type: ignore[arg-type]
    assert [o.metric for o in again.spec.objectives] == ["a", "b"]


def test_a_stop_rule_on_several_objectives_is_refused_at_creation(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        Study.create("m", {"x": Float(0.0, 1.0)}, [Objective("a"), Objective("b", "max")],
                     budget=Budget(n_trials=10, stop="auto"), storage=tmp_path / "j.db")
    assert e.value.key == "budget.stop"
    assert "this study has 2 (a, b)" in str(e.value)
    assert not (tmp_path / "j.db").exists()  # nothing written


@pytest.mark.parametrize("scheduler", ["asha", "mo_asha", "curve"])
def test_a_first_rung_above_max_step_is_refused(tmp_path: Path, scheduler: str) -> None:
    """ASHA(min_step=50) with max_step 27 ran as FIFO, silently."""
    from rung.core.components import ComponentSpec

    with pytest.raises(ConfigError) as e:
        Study.create("r", {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                     scheduler=ComponentSpec(scheduler, {"min_step": 50}), max_step=27,
                     budget=Budget(n_trials=4), storage=tmp_path / "j.db")
    assert str(e.value) == ("scheduler.params.min_step: 50 is above max_step (27): no rung "
                            "would ever decide")
    assert not (tmp_path / "j.db").exists()


def test_a_median_min_step_above_max_step_is_refused(tmp_path: Path) -> None:
    """MedianStoppingRule(min_step=100) with max_step 9 ran as FIFO, silently."""
    from rung.schedulers import MedianStoppingRule

    with pytest.raises(ConfigError) as e:
        Study.create("r", {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                     scheduler=MedianStoppingRule(min_step=100), max_step=9,
                     budget=Budget(n_trials=4), storage=tmp_path / "j.db")
    assert str(e.value) == ("scheduler.params.min_step: 100 is above max_step (9): the "
                            "rule would never stop a trial")
    assert not (tmp_path / "j.db").exists()
    # one step before max_step it may still stop a trial there: allowed (at max_step a trial
    # ends and no decision is made: refused, tests/test_first_decision_step.py)
    Study.create("ok", {"x": Float(0.0, 1.0)}, "loss", searcher="random",
                 scheduler=MedianStoppingRule(min_step=8), max_step=9,
                 budget=Budget(n_trials=4))


@pytest.mark.parametrize(("params", "key"), [
    ("{name: asha, params: {min_step: 20}}", "min_step"),
    ("{name: median, params: {min_step: 100}}", "min_step"),
])
def test_the_spec_names_the_key_under_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str],
                                           params: str, key: str) -> None:
    from rung.cli.main import main

    monkeypatch.chdir(tmp_path)
    isolated = tmp_path
    (isolated / "s.yaml").write_text("name: m\nexecutor: simulated\nbenchmark: {name: mf-branin}"
                                     f"\nmax_step: 9\nscheduler: {params}\n"
                                     "budget: {n_trials: 5}\n")
    assert main(["run", "s.yaml", "--no-live"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"rung: error: spec.scheduler.params.{key}: ")
    assert len(err.splitlines()) == 1
    assert sorted(p.name for p in isolated.iterdir()) == ["s.yaml"]
