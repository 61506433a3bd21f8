"""Read-only commands (``rung show``, ``export``, ``ledger``, ``plot``) load a study by
replaying its decisions, so a PBT ``explore`` named ``"module:function"`` must import there as
it does under ``rung run`` and ``rung resume``: the spec's ``path`` directories that ``rung
run`` recorded are put on ``sys.path`` before the load."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from clihelp import write_spec

from rung.cli.main import main

SPEC = """name: pbt-explore
executor: simulated
benchmark: mf-branin
n_workers: 2
max_step: 8
scheduler: {name: pbt, params: {population_size: 4, perturbation_interval: 2,
                                explore: "nudge_explore_mod:keep"}}
budget: {n_trials: 4, max_steps: 80}
seed: 1
storage: run.db
"""


def test_show_imports_the_explore_from_the_specs_path(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = isolated / "project"
    project.mkdir()
    (project / "nudge_explore_mod.py").write_text(
        "def keep(params):\n    return dict(params)\n")
    write_spec(project, SPEC)
    assert main(["run", str(project / "spec.yaml"), "--no-live"]) == 0
    # a new process: neither the spec's directory on sys.path nor the module imported
    sys.path[:] = [p for p in sys.path if p != str(project)]
    sys.modules.pop("nudge_explore_mod", None)
    capsys.readouterr()
    try:
        for command in (["show", "pbt-explore"], ["export", "pbt-explore", "-o", "t.csv"]):
            assert main([*command, "--storage", "run.db"]) == 0, capsys.readouterr().err
            assert "error" not in capsys.readouterr().err
            assert str(project) in sys.path
            sys.path.remove(str(project))
            sys.modules.pop("nudge_explore_mod", None)
        assert "parent" in (isolated / "t.csv").read_text().splitlines()[0]
    finally:
        sys.modules.pop("nudge_explore_mod", None)


def test_a_simulated_spec_takes_a_path(isolated: Path) -> None:
    """``path`` is where a simulated spec's ``module:function`` names import from (it was
    refused: ``spec.path: not used by the simulated executor``)."""
    from rung.cli.spec import parse_spec

    (isolated / "mods").mkdir()
    spec = parse_spec({"name": "s", "executor": "simulated", "benchmark": "mf-branin",
                       "path": "mods", "budget": {"n_trials": 2}}, base_dir=isolated)
    assert spec.path == (str(isolated / "mods"),)
    default = parse_spec({"name": "s", "executor": "simulated", "benchmark": "mf-branin",
                          "budget": {"n_trials": 2}}, base_dir=isolated)
    assert default.path == (str(isolated),)
