"""The CLI says why a search ended with budget left when its searcher ran out of
configurations (a grid tried in full): ``rung run``'s last line and ``rung show``'s budget line
give the searcher's reason, not the generic "nothing left to run". Also: ``rung.optimize``
suggests ``auto`` for a typo of it and reads ``storage`` as ``Study.create`` does."""

from __future__ import annotations

from pathlib import Path

import pytest

import rung
from rung import Budget, Categorical, SearchSpace
from rung.cli.main import main
from rung.cli.report import ended
from rung.errors import ConfigError
from rung.testing import ToyBenchmark

GRID = "the grid searcher proposed every one of its 3 points"


def _grid(n_trials: int) -> None:
    study = rung.Study.create("g", SearchSpace({"x": Categorical([1, 2, 3])}), "loss",
                              searcher="grid", scheduler="fifo", max_step=1,
                              budget=Budget(n_trials=n_trials), seed=0, storage="g.db")
    study.simulate(ToyBenchmark(1, study.spec.space), n_workers=2)
    study.close()


def test_an_exhausted_grid_ends_done_with_the_reason(isolated: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    _grid(10)
    study = rung.Study.load("g", storage="g.db")
    assert ended(study) == f"done ({GRID})"
    study.close()
    assert main(["show", "g", "--storage", "g.db"]) == 0
    out = capsys.readouterr().out
    assert f"not spent: {GRID}" in out
    assert "nothing left to run" not in out


def test_a_spent_budget_ends_plainly_done(isolated: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    _grid(3)
    study = rung.Study.load("g", storage="g.db")
    assert ended(study) == "done"
    study.close()
    assert main(["show", "g", "--storage", "g.db"]) == 0
    assert "not spent" not in capsys.readouterr().out


def _objective(trial: rung.dbr.Trial) -> float:
    return trial.suggest_float("x", 0.0, 1.0)


def test_optimize_suggests_auto_for_a_typo() -> None:
    with pytest.raises(ConfigError, match=r"^searcher: unknown searcher 'aut' \(did you mean "
                                          r"'auto'\?\) \(known: auto, "):
        rung.optimize(_objective, n_trials=2, searcher="aut", progress=False)


def _square(ctx: rung.TrialContext) -> float:
    return float(ctx.params["x"]) ** 2


def test_run_and_optimize_read_storage_as_study_create_does(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rung.run``'s check for an existing study read ``~/x.db`` literally (no study there),
    then ``Study.create`` expanded it and failed with advice for ``Study.create``."""
    monkeypatch.setenv("HOME", str(isolated / "home"))
    (isolated / "home").mkdir()
    space = {"x": rung.Float(-1.0, 1.0)}
    rung.run(_square, space, n_trials=2, name="s", storage="~/x.db", n_workers=1,
             start_method="fork", progress=False)
    assert (isolated / "home" / "x.db").is_file() and not (isolated / "~").exists()
    with pytest.raises(ConfigError, match=r"^name: study 's' already exists in ~/x.db: "
                                          r"continue it with rung.Study.load\("):
        rung.run(_square, space, n_trials=2, name="s", storage="~/x.db", progress=False)
    url = r"^storage: 'postgres://u@h/db' is a URL rung cannot open"
    with pytest.raises(ConfigError, match=url):
        rung.run(_square, space, n_trials=2, storage="postgres://u@h/db", progress=False)
    with pytest.raises(ConfigError, match=url):
        rung.optimize(_objective, n_trials=2, storage="postgres://u@h/db", progress=False)
    assert sorted(p.name for p in isolated.iterdir()) == ["home"]


def test_best_params_stay_on_one_line() -> None:
    """A categorical value holding a line break split `rung: best params:` in two."""
    from rung.cli.report import fmt_params

    assert fmt_params({"note": "a\nb", "lr": 0.5, "eol": "x\r\n"}) == (
        "note=a\\nb lr=0.5 eol=x\\r\\n")
