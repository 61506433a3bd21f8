"""A PBT ``explore`` the spec names by ``"module:function"`` is imported before anything is
written (a module not on ``sys.path`` yet was left to the first exploit, which ended the run
mid-way with exit code 2, the journal written); one that fails once the run is under way (it
returns an invalid configuration) ends the run with exit code 1 and the resume line, as a
failed run does, not with the bad-input code 2 that promises nothing was written. Found by an
audit."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from clihelp import write_spec

from rung.cli.main import main

SPEC = """name: pbt-x
executor: simulated
benchmark: mf-branin
n_workers: 2
max_step: 8
scheduler: {{name: pbt, params: {{population_size: 4, perturbation_interval: 2,
                                explore: "{explore}"}}}}
budget: {{n_trials: 4, max_steps: 80}}
seed: 1
storage: run.db
"""


@pytest.fixture
def project(isolated: Path) -> Iterator[Path]:
    p = isolated / "project"
    p.mkdir()
    (p / "explore_checks_mod.py").write_text(
        "def keep(params):\n    return dict(params)\n\n"
        "def bad(params):\n    return {**params, 'x1': 99.0}\n")
    yield p
    sys.modules.pop("explore_checks_mod", None)
    while str(p) in sys.path:
        sys.path.remove(str(p))


@pytest.mark.parametrize(("explore", "message"), [
    ("no_such_explore_mod:fn", "cannot import 'no_such_explore_mod:fn' (ModuleNotFoundError: "
                               "No module named 'no_such_explore_mod') (looked in {path})"),
    ("explore_checks_mod:nope", "cannot import 'explore_checks_mod:nope' (AttributeError: "
                                "module 'explore_checks_mod' has no attribute 'nope') "
                                "(looked in {path})"),
])
def test_an_explore_that_does_not_import_is_refused_before_anything_is_written(
    project: Path, isolated: Path, capsys: pytest.CaptureFixture[str], explore: str,
    message: str,
) -> None:
    write_spec(project, SPEC.format(explore=explore))
    assert main(["run", str(project / "spec.yaml"), "--no-live"]) == 2
    err = capsys.readouterr().err
    assert err == (f"rung: error: spec.scheduler.params.explore: "
                   f"{message.format(path=project)}\n")
    assert not (project / "run.db").exists() and not (isolated / "run.db").exists()


def test_an_explore_that_fails_mid_run_is_a_failed_run_with_its_resume_line(
    project: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(project, SPEC.format(explore="explore_checks_mod:bad"))
    assert main(["run", str(project / "spec.yaml"), "--no-live"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-2] == ("rung: error: spec.scheduler.params.explore: explore_checks_mod:bad "
                       "returned an invalid configuration: 'x1': 99.0 is outside [-5.0, 10.0]")
    assert err[-1].startswith("(the run stopped; the journal is intact; resume with: "
                              "rung resume pbt-x --storage ")
    assert (isolated / "run.db").exists()


def test_resume_refuses_an_explore_that_no_longer_imports(
    project: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_spec(project, SPEC.format(explore="explore_checks_mod:keep").replace(
        "max_steps: 80", "max_steps: 20"))
    assert main(["run", str(project / "spec.yaml"), "--no-live"]) == 0
    (project / "explore_checks_mod.py").write_text("x = 1\n")
    sys.modules.pop("explore_checks_mod", None)
    capsys.readouterr()
    assert main(["resume", "pbt-x", "--storage", str(isolated / "run.db"), "--no-live"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rung: error: study 'pbt-x': its scheduler's explore (recorded when "
                          "it was created): cannot import 'explore_checks_mod:keep' "
                          "(AttributeError: "), err
