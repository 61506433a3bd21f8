"""Bad or surprising spec input found by an audit, each refused with one line naming the key
(exit code 2, nothing written): URLs and ~user paths, empty keys, a space with one
configuration, a worker count no machine runs, names of the wrong type."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from clihelp import HERE, files_under

import rung
from rung.cli.main import main
from rung.cli.spec import SpecError, parse_spec
from rung.cli.spec_yaml import parse_yaml
from rung.errors import ConfigError, SpaceError
from rung.executors.local import usable_cpus
from rung.executors.processes import LOCAL_WORKERS_PER_CPU


def local(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "au", "objective": "cli_objectives:train", "path": str(HERE), "metric": "loss",
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}}, "max_step": 3,
        "searcher": "random", "scheduler": "fifo", "budget": {"n_trials": 2},
    }
    return {**spec, **changes}


def refused(spec: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as e:
        parse_spec(spec)
    return str(e.value)


def test_storage_urls_are_refused(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a URL was a relative path: 'postgres://h/db' created the directories postgres:/h
    assert refused(local(storage="postgres://h/db")) == (
        "spec.storage: 'postgres://h/db' is a URL rung cannot open: give the path of an SQLite "
        "file")
    assert refused(local(storage="sqlite://x.db")) == (
        "spec.storage: 'sqlite://x.db' is a URL rung cannot open: give the path of an SQLite "
        "file, or sqlite:/// and the path (three slashes)")
    assert parse_spec(local(storage="sqlite:///x.db")).storage == Path("x.db")
    # the scheme in any case, as the library reads it (SQLITE:/// made a directory 'SQLITE:')
    assert parse_spec(local(storage="SQLite:///x.db")).storage == Path("x.db")
    (isolated / "spec.yaml").write_text(
        f"name: au\nobjective: cli_objectives:train\npath: {HERE}\nmetric: loss\n"
        "space: {x: [1, 2]}\nbudget: {n_trials: 1}\nstorage: postgres://h/db\n")
    before = files_under(isolated)
    assert main(["run", "spec.yaml", "--no-live"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("rung: error: spec.storage: ") and err.count("\n") == 1
    assert files_under(isolated) == before


@pytest.mark.parametrize("key", ["storage", "path"])
def test_home_of_no_such_user(key: str) -> None:
    # Path.expanduser raised RuntimeError('Could not determine home directory.')
    value = "~no_such_user_rung/x.db" if key == "storage" else "~no_such_user_rung/src"
    assert refused(local(**{key: value})) == (
        f"spec.{key}: cannot expand '~no_such_user_rung': no such user's home directory")


def test_a_number_as_name_says_to_quote_it() -> None:
    assert refused(parse_yaml("name: 123\n")) == (
        "spec.name: must be a string, got an integer (quote it: name: '123')")


@pytest.mark.parametrize(("text", "line"), [
    ('"": 1\nname: a\n', "spec: an empty key: every key needs a name (line 1)"),
    ("name: a\nprices: {~: 1}\n", "spec.prices: an empty key: every key needs a name (line 2)"),
    ("space:\n  x: [1, 2]\n  '': 3\n", "spec.space: an empty key: every key needs a name "
     "(line 3)"),
    ("budget: {1: 2, a: 3}\n", "spec.budget: key 1 is an integer, not a name (quote it: '1') "
     "(line 1)"),
    ("space:\n  x: {type: float, low: 0, high: 1, when: {1.5: 1}}\n", "spec.space.x.when: key "
     "1.5 is a number, not a name (quote it: '1.5') (line 2)"),
])
def test_keys_that_are_no_names_are_refused(text: str, line: str) -> None:
    # they read as 'spec.: unknown key', 'spec.prices.None: unknown device', or raised
    # TypeError sorting the unknown keys of budget, benchmark and fidelity (1 < 'a')
    with pytest.raises(SpecError) as e:
        parse_yaml(text)
    assert str(e.value) == line


@pytest.mark.parametrize(("data", "line"), [
    ({"name": "a", "budget": {1: 2, "a": 3}}, "spec.budget: key 1 is an integer, not a name "
     "(quote it: '1')"),
    ({"name": "a", "fidelity": {"name": "s", "values": [1], 1: 2, "a": 3}}, "spec.fidelity: key "
     "1 is an integer, not a name (quote it: '1')"),
    ({"name": "a", "space": {"x": [1, 2], "": 3}}, "spec.space: an empty key: every key needs a "
     "name"),
])
def test_keys_of_a_spec_given_as_data(data: dict[Any, Any], line: str) -> None:
    assert refused(data) == line


NOTHING = ("spec.space: nothing to search: every parameter has one value, so every trial would "
           "run the same configuration (give a range, or a list of two or more choices)")


@pytest.mark.parametrize("space", [
    {"a": 1, "b": "x"},
    {"a": {"type": "float", "low": 0.5, "high": 0.5}, "b": ["only"]},
    {"a": ["p"], "b": {"type": "int", "low": 3, "high": 3, "when": {"a": "p"}}},
])
def test_a_space_with_one_configuration_is_refused(space: dict[str, Any]) -> None:
    # it ran n_trials identical trials
    assert refused(local(space=space)) == NOTHING


def test_a_space_with_two_configurations_is_accepted() -> None:
    spec = parse_spec(local(space={"a": 1, "b": [True, False]}))
    assert spec.study.space.size() == 2


def test_local_workers_are_bounded_by_the_cpus() -> None:
    cpus = usable_cpus()
    cap = LOCAL_WORKERS_PER_CPU * cpus
    assert parse_spec(local(n_workers=cap)).n_workers == cap
    assert refused(local(n_workers=10**6)) == (
        f"spec.n_workers: 1,000,000 worker processes on {cpus} CPUs: the local executor starts "
        f"at most {cap:,} ({LOCAL_WORKERS_PER_CPU} per CPU); use executor: ray for more")
    sim = {"name": "s", "executor": "simulated", "benchmark": "mf-branin",
           "budget": {"n_trials": 2}, "n_workers": 10**4}
    assert parse_spec(sim).n_workers == 10**4  # MAX_SIMULATED_WORKERS: test_simulated_workers


@pytest.mark.parametrize(("changes", "line"), [
    ({"prices": [1]}, "spec.prices: must be a mapping of device to number (cpu, gpu, "
     "gpu:<TYPE>), got a list"),
    ({"tracking": 3}, "spec.tracking: must be a mapping of trackers (mlflow, tensorboard, "
     "wandb) to their options, got an integer"),
    ({"tracking": {"mlflow": 3}}, "spec.tracking.mlflow: must be true, false or a mapping of "
     "options, got an integer"),
])
def test_kinds_in_the_specs_words(changes: dict[str, Any], line: str) -> None:
    assert refused(local(**changes)) == line  # was 'got list', 'got int'


def test_a_component_name_that_is_not_text() -> None:
    # was "unknown searcher 'None'", as if the name were the text None
    assert refused(local(searcher={"name": None})) == (
        "spec.searcher.name: must be a searcher's name, got None (known: auto, bohb, gp, grid, "
        "optuna, random, sobol, tpe)")


def test_a_part_of_a_long_parameter_name_is_suggested() -> None:
    import inspect

    from rung.core.registry import lookup

    line = refused(local(scheduler={"name": "pbt", "params": {"interval": 2}}))
    accepted = sorted(p for p in inspect.signature(lookup("scheduler", "pbt").__init__).parameters
                      if p != "self")
    assert "perturbation_interval" in accepted
    assert line == ("spec.scheduler.params.interval: 'pbt' takes no parameter 'interval' (did "
                    f"you mean 'perturbation_interval'?) (accepted: {', '.join(accepted)})")


def test_a_non_finite_value_says_so() -> None:
    space = rung.SearchSpace({"x": rung.Float(0.0, 1.0)})
    with pytest.raises(SpaceError) as e:
        space.validate({"x": float("nan")})
    assert str(e.value) == "'x': expected a finite number, got nan"  # was 'nan is outside [0, 1]'


@pytest.mark.parametrize(("name", "key"), [(None, None), ("", None), (1, "1")])
def test_a_parameter_name_that_is_no_text(name: Any, key: str | None) -> None:
    with pytest.raises(ConfigError) as e:
        rung.SearchSpace({name: [1, 2]})
    assert e.value.key == key  # None was keyed 'None', as if named so
    assert str(e.value).endswith(f"must be non-empty strings, got {name!r}")


def test_a_typo_of_the_objective_function_names_the_close_one() -> None:
    from rung.cli.spec_objective import resolve_objective

    spec = parse_spec(local(objective="cli_objectives:trian"))
    with pytest.raises(SpecError) as e:
        resolve_objective(spec)
    assert str(e.value) == ("spec.objective: module 'cli_objectives' has no attribute 'trian' "
                            "(did you mean 'train'?)")


def test_one_name_in_two_unicode_spellings_is_given_twice() -> None:
    # 'é' as one character and as e + combining accent: two parameters that print alike
    with pytest.raises(SpecError) as e:
        parse_yaml("space:\n  \u00e9: [1, 2]\n  e\u0301: [3, 4]\n")
    assert e.value.key == "spec.space.e\u0301"
    assert e.value.message == ("given twice in one mapping (lines 2 and 3, spelled '\\xe9' and "
                               "'e\\u0301' in Unicode); keep one")
