"""Parameters named with rung's word for their concept (DESIGN, section 3), their old names kept
as deprecated aliases (``rung._renamed``): ``MedianStoppingRule(grace_period=)`` is
``min_step``, ``BOHBSearcher(num_samples=)`` is ``n_candidates``, ``Fidelity(eta=)`` is
``reduction_factor``. The alias warns (``DeprecationWarning`` naming rung's name) and decides
exactly as rung's name does; both at once are a one-line error naming both; a spec takes
either key; a journal stored with the alias loads, replays and compares as one stored with
rung's name, silently."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import rung
from rung import Budget, Fidelity, Study
from rung.cli.main import main
from rung.errors import ConfigError
from rung.schedulers import MedianStoppingRule
from rung.searchers import BOHBSearcher
from rung.storage import MemoryJournal
from rung.storage.codec import from_body, to_body
from rung.testing.conformance import ToyBenchmark, default_space

SPACE = default_space()
FRACTION = {"name": "fraction", "low": 0.1, "high": 1.0}


def _no_warning(make: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return make()


def _deprecated(make: Callable[[], Any], old: str, new: str) -> Any:
    with pytest.warns(DeprecationWarning) as caught:
        value = make()
    assert len(caught) == 1
    text = str(caught[0].message)
    assert f"{old!r} is deprecated, use {new!r}" in text
    assert caught[0].filename == __file__  # it points at the caller
    return value


# --- the three renames, one row each: (constructor with rung's name, with the alias, ...) ------
def _median(**kw: Any) -> Study:
    return Study.create("m", SPACE, "loss", searcher="random",
                        scheduler={"name": "median", "params": kw}, max_step=9,
                        budget=Budget(n_trials=16), seed=3)


def _bohb(**kw: Any) -> Study:
    return Study.create("b", SPACE, "loss", searcher={"name": "bohb", "params": kw},
                        scheduler=rung.ASHA(reduction_factor=3), max_step=9,
                        budget=Budget(n_trials=20), seed=3)


def _fidelity(**kw: Any) -> Study:
    return Study.create("f", SPACE, "loss", searcher="random",
                        scheduler=rung.ASHA(reduction_factor=3),
                        fidelity={**FRACTION, **kw}, budget=Budget(n_trials=12), seed=3)


STUDIES = {  # study maker, alias, rung's name, value, where the spec stores the key
    "median": (_median, "grace_period", "min_step", 2, ("scheduler", "params")),
    "bohb": (_bohb, "num_samples", "n_candidates", 8, ("searcher", "params")),
    "fidelity": (_fidelity, "eta", "reduction_factor", 2, ("fidelity",)),
}


def _records(study: Study) -> list[list[Any]]:
    return [list(to_body(r)) for r in study.journal.read(study.name)]


def _stored(study: Study) -> dict[str, Any]:
    return study.journal.load_study(study.name)


def _at(spec: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    for key in path:
        spec = spec[key]
    return spec


# --- the Python API ----------------------------------------------------------------------------
def test_rung_names_take_no_warning_and_are_what_get_params_and_to_json_give() -> None:
    rule = _no_warning(lambda: MedianStoppingRule(min_step=2))
    assert rule.get_params() == {"min_step": 2, "min_trials": 3}
    searcher = _no_warning(lambda: BOHBSearcher(n_candidates=8))
    assert searcher.get_params()["n_candidates"] == 8 and "num_samples" not in \
        searcher.get_params()
    f = _no_warning(lambda: Fidelity("fraction", low=0.1, high=1.0, reduction_factor=2))
    assert f.to_json() == {**FRACTION, "reduction_factor": 2}
    assert repr(f) == "Fidelity('fraction', low=0.1, high=1.0, reduction_factor=2)"


def test_the_aliases_warn_naming_rungs_name_and_build_the_same_component() -> None:
    rule = _deprecated(lambda: MedianStoppingRule(grace_period=2), "grace_period", "min_step")
    assert rule.get_params() == MedianStoppingRule(min_step=2).get_params()
    searcher = _deprecated(lambda: BOHBSearcher(num_samples=8), "num_samples", "n_candidates")
    assert searcher.get_params() == BOHBSearcher(n_candidates=8).get_params()
    f = _deprecated(lambda: Fidelity("fraction", low=0.1, high=1.0, eta=2), "eta",
                    "reduction_factor")
    assert f == Fidelity("fraction", low=0.1, high=1.0, reduction_factor=2)
    assert f.values == (0.1, 0.2, 0.4, 0.8, 1.0)
    assert _deprecated(lambda: f.eta, "eta", "reduction_factor") == 2
    assert _deprecated(lambda: Fidelity.from_json({**FRACTION, "eta": 2}), "eta",
                       "reduction_factor") == f


def test_the_deprecated_keyword_is_no_parameter_of_its_own() -> None:
    import inspect

    assert "grace_period" not in inspect.signature(MedianStoppingRule).parameters
    assert "num_samples" not in inspect.signature(BOHBSearcher).parameters
    assert "eta" not in inspect.signature(Fidelity).parameters
    with pytest.raises(TypeError, match="unexpected keyword argument 'grace_perio'"):
        MedianStoppingRule(grace_perio=2)  # type: ignore[call-arg]


@pytest.mark.parametrize(("make", "message"), [
    (lambda: MedianStoppingRule(min_step=2, grace_period=2),
     "scheduler.params.grace_period: deprecated name of 'min_step', which is given too: give "
     "'min_step' only"),
    (lambda: MedianStoppingRule(2, grace_period=2),  # rung's name by position
     "scheduler.params.grace_period: deprecated name of 'min_step', which is given too: give "
     "'min_step' only"),
    (lambda: BOHBSearcher(n_candidates=8, num_samples=8),
     "searcher.params.num_samples: deprecated name of 'n_candidates', which is given too: give "
     "'n_candidates' only"),
    (lambda: Fidelity("f", low=0.1, high=1.0, reduction_factor=3, eta=3),
     "fidelity.eta: deprecated name of 'reduction_factor', which is given too: give "
     "'reduction_factor' only"),
    (lambda: Fidelity.from_json({**FRACTION, "reduction_factor": 3, "eta": 3}),
     "fidelity.eta: deprecated name of 'reduction_factor', which is given too: give "
     "'reduction_factor' only"),
    (lambda: _median(min_step=2, grace_period=2),
     "scheduler.params.grace_period: deprecated name of 'min_step', which is given too: give "
     "'min_step' only"),
    (lambda: _bohb(n_candidates=8, num_samples=8),
     "searcher.params.num_samples: deprecated name of 'n_candidates', which is given too: give "
     "'n_candidates' only"),
    (lambda: _fidelity(reduction_factor=2, eta=2),
     "fidelity.eta: deprecated name of 'reduction_factor', which is given too: give "
     "'reduction_factor' only"),
])
def test_both_names_are_one_line_error_naming_both(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(ConfigError) as e:
        make()
    assert str(e.value) == message


def test_bad_values_under_the_alias_are_named_by_rungs_key() -> None:
    with pytest.raises(ConfigError) as e, pytest.warns(DeprecationWarning):
        _median(grace_period=0)
    assert str(e.value).startswith("scheduler.params.min_step: ")
    with pytest.raises(ConfigError) as e, pytest.warns(DeprecationWarning):
        _bohb(num_samples=10**9)
    assert str(e.value) == ("searcher.params.n_candidates: must be an integer in [1, 10000], "
                            "got 1000000000")
    with pytest.raises(ConfigError) as e, pytest.warns(DeprecationWarning):
        Fidelity("f", low=0.1, high=1.0, eta=1)
    assert str(e.value) == "fidelity.reduction_factor: must be a finite number > 1, got 1"
    with pytest.raises(ConfigError) as e, pytest.warns(DeprecationWarning):
        _median(grace_period=100)
    assert str(e.value) == ("scheduler.params.min_step: 100 is above max_step (9): the rule "
                            "would never stop a trial")


# --- identical decisions, and the stored spec ---------------------------------------------------
@pytest.mark.parametrize("which", STUDIES)
def test_the_alias_gives_the_same_study_and_the_spec_stores_rungs_name(which: str) -> None:
    make, old, new, value, path = STUDIES[which]
    ours = _no_warning(lambda: make(**{new: value}))
    ours.simulate(ToyBenchmark(ours.spec.max_step), n_workers=3)
    with pytest.warns(DeprecationWarning, match=f"'{old}' is deprecated, use '{new}'"):
        aliased = make(**{old: value})
    aliased.simulate(ToyBenchmark(aliased.spec.max_step), n_workers=3)
    records = _records(ours)
    assert records == _records(aliased)  # every launch and every decision, reasons included
    assert sum(kind == "Reply" for kind, _ in records) > 10
    if which == "median":
        assert any(b["decision"]["action"] == "stop" for k, b in records if k == "Reply")
    for study in (ours, aliased):
        stored = _at(_stored(study), path)
        assert stored[new] == value and old not in stored
    assert _stored(ours) == _stored(aliased)
    assert ours.spec.versions() == aliased.spec.versions()  # a rename bumps no version


def _with_alias(study: Study, which: str) -> dict[str, Any]:
    """``study``'s stored spec as a rung that wrote the alias stored it."""
    _, old, new, _, path = STUDIES[which]
    spec = copy.deepcopy(_stored(study))
    at = _at(spec, path)
    renamed = {old if k == new else k: v for k, v in at.items()}
    at.clear()
    at.update(renamed)
    return spec


@pytest.mark.parametrize("which", STUDIES)
def test_a_journal_stored_with_the_alias_loads_and_replays_silently(which: str) -> None:
    make, old, new, value, path = STUDIES[which]
    study = make(**{new: value})
    study.simulate(ToyBenchmark(study.spec.max_step), n_workers=3)
    journal = MemoryJournal()
    journal.create_study(study.name, _with_alias(study, which))
    journal.append(study.name, [from_body(k, b) for k, b in _records(study)])
    assert old in _at(journal.load_study(study.name), path)
    loaded = _no_warning(lambda: Study.load(study.name, journal))  # replays: no divergence
    assert loaded.spec == study.spec  # read under rung's name
    stored = loaded.spec.to_json()
    assert _at(stored, path)[new] == value and old not in _at(stored, path)
    assert loaded.trials() == study.trials()
    assert loaded.engine.tail == []
    # the same settings under rung's name continue it (load_if_exists compares them as equal)
    again = _no_warning(lambda: Study.create(
        study.name, study.spec.space, study.spec.objective, searcher=study.spec.searcher,
        scheduler=study.spec.scheduler, max_step=study.spec.max_step, budget=study.spec.budget,
        seed=study.spec.seed, fidelity=study.spec.fidelity, storage=journal,
        load_if_exists=True))
    assert len(again.trials()) == len(study.trials())


def test_the_old_fixture_journal_with_grace_period_reads_as_min_step() -> None:
    import json

    fixture = json.loads((Path(__file__).parent / "core" / "journal_old_reasons.json")
                         .read_text())["median"]
    assert fixture["spec"]["scheduler"]["params"] == {"grace_period": 1, "min_trials": 2}
    journal = MemoryJournal()
    journal.create_study("median", fixture["spec"])
    journal.append("median", [from_body(k, b) for k, b in fixture["records"]])
    study = _no_warning(lambda: Study.load("median", journal))
    assert study.spec.scheduler.params == {"min_step": 1, "min_trials": 2}
    assert study.engine.scheduler.get_params() == {"min_step": 1, "min_trials": 2}


# --- YAML specs ----------------------------------------------------------------------------------
SPEC = "name: s\nexecutor: simulated\nbenchmark: {name: mf-branin}\nbudget: {n_trials: 6}\n"


@pytest.mark.parametrize(("lines", "old", "new", "where"), [
    ("max_step: 9\nscheduler: {name: median, params: {KEY: 2}}\n", "grace_period", "min_step",
     "scheduler.params"),
    ("max_step: 9\nsearcher: {name: bohb, params: {KEY: 8}}\n", "num_samples", "n_candidates",
     "searcher.params"),
    ("fidelity: {name: fraction, low: 0.1, high: 1.0, KEY: 2}\n", "eta", "reduction_factor",
     "fidelity"),
])
def test_a_spec_takes_either_key_and_says_the_old_one_is_deprecated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    lines: str, old: str, new: str, where: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    runs = {}
    for key in (new, old):
        (tmp_path / f"{key}.yaml").write_text(
            SPEC.replace("name: s", f"name: {key}\nstorage: j.db") + lines.replace("KEY", key))
        assert main(["run", f"{key}.yaml", "--no-live"]) == 0, capsys.readouterr()
        runs[key] = "".join(line for line in capsys.readouterr().err.splitlines(True)
                            if line.startswith("rung: warning: "))
        study = Study.load(key, tmp_path / "j.db")
        section = _at(study.journal.load_study(key), tuple(where.split(".")))
        assert new in section and old not in section
        runs[key + " records"] = _records(study)  # type: ignore[assignment]
    assert runs[new] == ""
    assert runs[old] == (f"rung: warning: spec.{where}: {old!r} is deprecated, use {new!r} "
                         "(the same parameter)\n")
    assert runs[new + " records"] == runs[old + " records"]


@pytest.mark.parametrize(("lines", "message"), [
    ("max_step: 9\nscheduler: {name: median, params: {min_step: 2, grace_period: 2}}\n",
     "spec.scheduler.params.grace_period: deprecated name of 'min_step', which is given too: "
     "give 'min_step' only"),
    ("max_step: 9\nscheduler: {name: median, params: {grace_period: 100}}\n",
     "spec.scheduler.params.min_step: 100 is above max_step (9): the rule would never stop a "
     "trial"),
    ("max_step: 9\nsearcher: {name: bohb, params: {num_samples: 0}}\n",
     "spec.searcher.params.n_candidates: must be an integer in [1, 10000], got 0"),
    ("fidelity: {name: fraction, low: 0.1, high: 1.0, eta: 2, reduction_factor: 2}\n",
     "spec.fidelity.eta: deprecated name of 'reduction_factor', which is given too: give "
     "'reduction_factor' only"),
    ("fidelity: {name: fraction, low: 0.1, high: 1.0, eta: 1}\n",
     "spec.fidelity.reduction_factor: must be a finite number > 1, got 1"),
])
def test_a_bad_spec_is_one_error_line_naming_rungs_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    lines: str, message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(SPEC + lines)
    assert main(["run", "s.yaml", "--no-live"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1] == f"rung: error: {message}"
    assert all(line.startswith("rung: warning: ") for line in err.splitlines()[:-1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]
