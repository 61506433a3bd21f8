"""``rung show`` writes a study's searcher and scheduler as the dashboard's overview does: the
name, then the parameters that are not ``None`` or their default as ``name: value`` pairs
(``rung.cli.component_settings``), not the stored JSON."""

from __future__ import annotations

from pathlib import Path

import rung
from rung.cli.report import show_text


def _lines(tmp_path: Path, **kw: object) -> list[str]:
    study = rung.Study.create("c", {"x": rung.Float(0.0, 1.0)}, "loss", max_step=9,
                              storage=tmp_path / "c.db", **kw)  # type: ignore[arg-type]
    try:
        return show_text(study, "c.db").splitlines()
    finally:
        study.close()


def test_an_instance_s_defaults_and_nones_are_left_out(tmp_path: Path) -> None:
    lines = _lines(tmp_path, searcher=rung.TPESearcher(),
                   scheduler=rung.ASHA(reduction_factor=4, variant="promotion"))
    assert lines[2] == "  searcher   tpe"
    assert lines[3] == "  scheduler  asha (reduction_factor: 4, variant: promotion)"


def test_parameters_given_by_name_are_written_as_words(tmp_path: Path) -> None:
    lines = _lines(tmp_path, searcher={"name": "random", "params": {}},
                   scheduler={"name": "median", "params": {"min_step": 3, "min_trials": 3,
                                                            "rule": "optuna"}})
    assert lines[2] == "  searcher   random"
    assert lines[3] == "  scheduler  median (min_step: 3, rule: optuna)"  # min_trials: default
