"""``--workers N`` of ``rung run`` / ``rung resume`` / ``rung demo`` is held to the bound of a
spec's ``n_workers``: the local executor starts at most 32 processes per CPU. The option
bypassed it (``rung demo --workers 1000000`` set out to start a million processes)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from clihelp import files_under, write_spec

from rung.cli.main import main
from rung.executors.local import LocalExecutor

SPEC = ("name: local\nobjective: obj:f\npath: .\nspace:\n  x: {type: float, low: 0, high: 1}\n"
        "metric: loss\nsearcher: random\nscheduler: fifo\nbudget: {n_trials: 1}\n")
LINE = ("rung: error: --workers: 65 worker processes on 2 CPUs: the local executor starts at "
        "most 64 (32 per CPU)\n")


@pytest.fixture
def two_cpus(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    (isolated / "obj.py").write_text("def f(ctx):\n    ctx.report(1, loss=ctx.params['x'])\n")
    write_spec(isolated, SPEC)
    return isolated


@pytest.fixture
def no_start(monkeypatch: pytest.MonkeyPatch) -> None:
    def start(self: LocalExecutor, ctx: object) -> None:
        raise AssertionError(f"{self.n_workers} worker processes were started")

    monkeypatch.setattr(LocalExecutor, "start", start)


def test_run_refuses_more_workers_than_the_spec_may_hold(
    two_cpus: Path, no_start: None, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files_under(two_cpus)
    assert main(["run", "spec.yaml", "--workers", "65", "--no-live"]) == 2
    assert capsys.readouterr() == ("", LINE)
    assert files_under(two_cpus) == before
    # the spec's own key says the same
    write_spec(two_cpus, SPEC + "n_workers: 65\n")
    assert main(["run", "spec.yaml", "--no-live"]) == 2
    assert "spec.n_workers: 65 worker processes on 2 CPUs" in capsys.readouterr().err


def test_demo_refuses_them_before_anything_is_imported_or_written(
    two_cpus: Path, no_start: None, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files_under(two_cpus)
    assert main(["demo", "--workers", "65", "--trials", "1"]) == 2
    assert capsys.readouterr() == ("", LINE)
    assert files_under(two_cpus) == before


def test_resume_refuses_them_and_leaves_the_journal_alone(
    two_cpus: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["run", "spec.yaml", "--workers", "1", "--no-live"]) == 0
    db = two_cpus / "runs" / "local.db"
    size = db.stat().st_size
    capsys.readouterr()

    def start(self: LocalExecutor, ctx: object) -> None:
        raise AssertionError(f"{self.n_workers} worker processes were started")

    monkeypatch.setattr(LocalExecutor, "start", start)
    assert main(["resume", "local", "--workers", "65", "--no-live"]) == 2
    assert capsys.readouterr() == ("", LINE)
    assert db.stat().st_size == size
