"""The size parameters of the model-based searchers are bounded, as the stop rule's are: a
suggestion scores that many candidates (``gp`` ``n_candidates=10**9`` asked for 16 GiB, ``tpe``
and ``bohb`` ``n_candidates`` for 7.5 GiB per parameter) and a GP fit is cubic
in ``max_points`` (plus ``max_fantasies``). Past a bound: ``ConfigError`` naming the key and
the range, when the study is created; in a spec, one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung.cli.main import main
from rung.errors import ConfigError
from rung.searchers import bohb, gp, tpe

SPACE = {"x": rung.Float(0.0, 1.0), "y": rung.Float(0.0, 1.0)}


@pytest.mark.parametrize(("name", "key", "high"), [
    ("gp", "n_candidates", 10_000), ("gp", "max_points", 1_000),
    ("gp", "max_fantasies", 1_000), ("tpe", "n_candidates", 10_000),
    ("bohb", "n_candidates", 10_000),
])
def test_past_the_bound_is_refused_naming_the_key_and_range(
    name: str, key: str, high: int
) -> None:
    low = {"max_points": 4, "max_fantasies": 0}.get(key, 1)
    rung.Study.create("ok", SPACE, "loss", searcher={"name": name, "params": {key: high}},
                      budget=rung.Budget(n_trials=10), max_step=1)
    with pytest.raises(ConfigError) as e:
        rung.Study.create("s", SPACE, "loss", searcher={"name": name, "params": {key: 10**9}},
                          budget=rung.Budget(n_trials=10), max_step=1)
    assert (e.value.key, e.value.message) == (
        f"searcher.params.{key}", f"must be an integer in [{low}, {high}], got 1000000000")


def test_the_bounds_are_the_documented_ones() -> None:
    assert (gp.MAX_CANDIDATES, gp.MAX_POINTS, gp.MAX_FANTASIES) == (10_000, 1_000, 1_000)
    assert (tpe.MAX_CANDIDATES, bohb.MAX_CANDIDATES) == (10_000, 10_000)


def test_a_spec_says_it_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(
        "name: big\nexecutor: simulated\nbenchmark: mf-branin\nbudget: {n_trials: 10}\n"
        "searcher: {name: gp, params: {n_candidates: 1000000000}}\n")
    assert main(["run", "spec.yaml", "--no-live"]) == 2
    assert capsys.readouterr() == ("", "rung: error: spec.searcher.params.n_candidates: must be "
                                   "an integer in [1, 10000], got 1000000000\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]
