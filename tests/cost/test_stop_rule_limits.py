"""The stop rule's size parameters are bounded: ``n_candidates`` (points where the lower bound
is minimized) and ``max_points`` (observations in each GP fit). ``n_candidates=10**9`` was
accepted and asked for 15 GB at the rule's first check."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from clihelp import files_under, sim_spec, write_spec

import rung
from rung.cli.main import main
from rung.cost.stop_rule import MAX_CANDIDATES, MAX_POINTS, assess
from rung.errors import ConfigError

KEY = "budget.stop.params."


def create(**params: int) -> rung.Study:
    return rung.Study.create("a", {"x": rung.Float(0.0, 1.0)}, "loss", searcher="random",
                             scheduler="fifo",
                             budget=rung.Budget(n_trials=30, stop=rung.StopRule(**params)))


@pytest.mark.parametrize(("name", "value", "message"), [
    ("n_candidates", 10**9, "must be an integer in [1, 10000], got 1000000000"),
    ("n_candidates", MAX_CANDIDATES + 1, "must be an integer in [1, 10000], got 10001"),
    ("max_points", 10**9, "must be an integer in [4, 1000], got 1000000000"),
    ("max_points", MAX_POINTS + 1, "must be an integer in [4, 1000], got 1001"),
])
def test_a_size_past_its_limit_is_refused_when_the_study_is_created(
    name: str, value: int, message: str
) -> None:
    with pytest.raises(ConfigError) as e:
        create(**{name: value})
    assert (e.value.key, str(e.value)) == (KEY + name, f"{KEY}{name}: {message}")
    with pytest.raises(ConfigError) as e:  # the same for assess
        assess(create(), **{name: value})
    assert str(e.value) == f"{KEY}{name}: {message}"


def test_the_limits_themselves_are_accepted_and_the_rule_checks_in_bounded_memory() -> None:
    study = create(n_candidates=MAX_CANDIDATES, max_points=MAX_POINTS, min_trials=5)
    while (t := study.ask()) is not None and t.id < 8:
        study.tell(t.id, "completed", {"loss": (t.params["x"] - 0.3) ** 2 + 0.01 * t.id})
    ev = assess(study, n_candidates=MAX_CANDIDATES, max_points=MAX_POINTS, min_trials=5)
    assert ev is not None and ev["trials"] == 8.0 and ev["regret_bound"] >= 0.0


def test_a_spec_past_the_limit_is_one_line_exit_2_nothing_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    isolated = tmp_path
    write_spec(isolated, sim_spec().replace(
        "budget: {n_trials: 30}",
        "budget: {n_trials: 30, stop: {name: auto, params: {n_candidates: 1000000000}}}"))
    assert main(["run", "spec.yaml", "--no-live"]) == 2
    assert capsys.readouterr() == ("", f"rung: error: spec.{KEY}n_candidates: must be an "
                                       "integer in [1, 10000], got 1000000000\n")
    assert files_under(isolated) == {"spec.yaml"}
