"""What `rung run` and `rung demo` print about a study: the study's name never reads as a
second ``rung:`` prefix, and the best configuration is printed once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from clihelp import write_spec

from rung.cli.main import main


def test_a_study_named_rung_reads_as_a_study_on_every_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # rung.run's default name: `rung: rung: auto: ...` and `rung: rung done: ...` before
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, "name: rung\nexecutor: simulated\nbenchmark: {name: mf-branin}\n"
                         "budget: {n_trials: 12}\nn_workers: 2\nseed: 1\n")
    assert main(["run", "spec.yaml", "--no-live", "--log-every", "0.001"]) == 0
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert out[0].startswith("rung: study rung: auto: searcher gp (2 dimensions")
    views = [ln for ln in out if ln.startswith("rung: [")]
    assert views and all(re.match(r"rung: \[ *[0-9.]+s\] study rung: trials \d+/12 \| ", ln)
                         for ln in views)
    assert re.fullmatch(r"rung: study rung done: best loss=[0-9.]+ \(trial #\d+, step 27\)",
                        out[-3])
    assert out[-2].startswith("rung: best params: x1=")
    assert out[-1] == "rung: inspect it with: rung show rung"
    assert captured.err.startswith("rung: study rung: 12 trials: ")
    assert not any(ln.startswith("rung: rung") or "] rung:" in ln
                   for ln in [*out, *captured.err.splitlines()])


def failing_study(tmp_path: Path, name: str, n_trials: int) -> None:
    """In ``tmp_path``: ``obj.py`` whose ``f`` raises, and a spec running it one trial at a time
    with ``max_failures: 1`` (spawned workers: ``obj.py`` is read anew by each)."""
    (tmp_path / "obj.py").write_text("def f(ctx):\n    raise ValueError('boom')\n")
    write_spec(tmp_path, f"name: {name}\nobjective: obj:f\npath: .\nspace:\n"
                         "  x: {type: float, low: 0, high: 1}\nmetric: loss\n"
                         f"searcher: random\nscheduler: fifo\nbudget: {{n_trials: {n_trials}}}\n"
                         "n_workers: 1\nmax_failures: 1\n")


def test_a_run_that_fails_names_the_study_as_a_study(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    failing_study(tmp_path, "rung", 4)
    assert main(["run", "spec.yaml", "--no-live"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith(
        "rung: error: study rung: 1 trial failed in this run (max_failures=1)")


def test_rung_resume_continues_a_study_max_failures_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # as `rung show` and spec.md's exit codes say: fix the objective, `rung resume NAME`
    monkeypatch.chdir(tmp_path)
    failing_study(tmp_path, "s", 6)
    assert main(["run", "spec.yaml", "--no-live"]) == 1
    assert main(["resume", "s", "--no-live"]) == 1  # still broken: one new failure stops it
    err = capsys.readouterr().err
    assert err.count("1 trial failed in this run (max_failures=1)") == 2
    (tmp_path / "obj.py").write_text("def f(ctx):\n    ctx.report(1, loss=ctx.params['x'])\n")
    assert main(["resume", "s", "--no-live"]) == 0
    from rung import Study, TrialStatus

    h = Study.load("s", tmp_path / "runs" / "s.db").history
    assert len(h) == 6 and h.count(TrialStatus.FAILED) == 2
    assert h.count(TrialStatus.COMPLETED) == 4


@pytest.mark.slow
def test_demo_prints_its_best_configuration_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--trials", "3", "--max-step", "1", "--workers", "1", "--name", "d",
                 "--storage", str(tmp_path / "d.db"), "--no-live"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [ln for ln in out if "hidden=" in ln] == [
        next(ln for ln in out if ln.startswith("  hidden="))]  # one line holds the params
    assert not any(ln.startswith("rung: best params") for ln in out)
    i = next(i for i, ln in enumerate(out) if ln.startswith("rung demo: best configuration"))
    assert re.fullmatch(r"rung demo: best configuration \(trial #\d, 1 epochs; 3 of 3 trials "
                        r"ran to the end\):", out[i])
    assert re.fullmatch(r"  validation accuracy 0\.\d{4}, test accuracy 0\.\d{4}", out[i + 2])
    assert out[i + 3:] == [f"rung: inspect it with: rung show d --storage {tmp_path / 'd.db'}"]


def test_a_multi_objective_run_ends_naming_its_pareto_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its result is the front, not one trial: the last lines named only the best on the
    first objective."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "obj.py").write_text(
        "def f(ctx):\n    x = ctx.params['x']\n    ctx.report(1, a=x, b=1 - x)\n")
    write_spec(tmp_path, "name: mo\nobjective: obj:f\npath: .\nspace:\n"
                         "  x: {type: categorical, choices: [0.25, 0.75]}\nmetric: [a, b]\n"
                         "mode: [min, min]\nmax_step: 1\nsearcher: grid\nscheduler: fifo\n"
                         "budget: {n_trials: 2}\nn_workers: 1\n")
    assert main(["run", "spec.yaml", "--no-live"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == ("rung: pareto front  2 trials at step 1: #0 (a=0.25, b=0.75), "
                       "#1 (a=0.75, b=0.25)")
    assert out[-3].startswith("rung: best params: x=0.25")
