"""One CPU count (``rung.executors.local.usable_cpus``: the CPUs this process may run on, its
affinity mask) for the local executor's default ``n_workers``, the bound on local worker
processes (32 per CPU) and the worker count ``auto`` chooses for. The bound and ``auto`` read
``os.cpu_count()`` (every CPU of the machine) while the executor started one process per CPU
of the affinity mask: in a container limited to 2 of 64 CPUs, a spec could ask for 2,048
processes and ``auto`` chose random search for 64 workers that never ran."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import rung
from rung.cli.main import main
from rung.cli.spec import SpecError, parse_spec
from rung.executors.local import LocalExecutor, usable_cpus


def _cpus(monkeypatch: pytest.MonkeyPatch, allowed: int, machine: int) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(allowed)), raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: machine)


def _spec(path: Path, n_workers: int | None = None) -> dict[str, object]:
    return {"name": "cpus", "objective": "obj:f", "path": str(path),
            "space": {"x": {"type": "float", "low": 0, "high": 1},
                      "y": {"type": "float", "low": 0, "high": 1}},
            "metric": "loss", "budget": {"n_trials": 100},
            **({} if n_workers is None else {"n_workers": n_workers})}


def test_it_is_the_affinity_mask_else_the_cpu_count(monkeypatch: pytest.MonkeyPatch) -> None:
    _cpus(monkeypatch, 2, 64)
    assert usable_cpus() == 2
    monkeypatch.delattr(os, "sched_getaffinity")  # a platform without it (macOS)
    assert usable_cpus() == 64
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert usable_cpus() == 1


def test_the_executor_the_bound_and_auto_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cpus(monkeypatch, 2, 64)
    assert LocalExecutor().n_workers == 2
    with pytest.raises(SpecError) as e:
        parse_spec(_spec(tmp_path, 65))
    assert str(e.value) == ("spec.n_workers: 65 worker processes on 2 CPUs: the local executor "
                            "starts at most 64 (32 per CPU); use executor: ray for more")
    assert parse_spec(_spec(tmp_path, 64)).n_workers == 64
    auto = parse_spec(_spec(tmp_path)).auto or ""
    assert auto.startswith("auto: searcher gp (")  # chosen for 2 workers
    study = rung.Study.create("c", {"x": rung.Float(0, 1), "y": rung.Float(0, 1)}, "loss",
                              budget=rung.Budget(n_trials=100))
    assert study.spec.searcher.name == "gp"


def test_auto_for_an_affinity_of_64_chooses_for_64_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cpus(monkeypatch, 64, 2)
    assert LocalExecutor().n_workers == 64
    assert (parse_spec(_spec(tmp_path)).auto or "").startswith(
        "auto: searcher random (64 workers (>= 64): random)")
    study = rung.Study.create("c", {"x": rung.Float(0, 1), "y": rung.Float(0, 1)}, "loss",
                              budget=rung.Budget(n_trials=100))
    assert study.spec.searcher.name == "random"
    assert parse_spec(_spec(tmp_path, 2048)).n_workers == 2048


def test_workers_option_is_held_to_the_same_bound(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _cpus(monkeypatch, 2, 64)

    def start(self: LocalExecutor, ctx: object) -> None:
        raise AssertionError(f"{self.n_workers} worker processes were started")

    monkeypatch.setattr(LocalExecutor, "start", start)
    (isolated / "obj.py").write_text("def f(ctx):\n    ctx.report(1, loss=ctx.params['x'])\n")
    (isolated / "spec.yaml").write_text(
        "name: cpus\nobjective: obj:f\nspace:\n  x: {type: float, low: 0, high: 1}\n"
        "metric: loss\nsearcher: random\nscheduler: fifo\nbudget: {n_trials: 1}\n")
    assert main(["run", "spec.yaml", "--workers", "65", "--no-live"]) == 2
    assert capsys.readouterr() == ("", "rung: error: --workers: 65 worker processes on 2 CPUs: "
                                   "the local executor starts at most 64 (32 per CPU)\n")
    assert sorted(p.name for p in isolated.iterdir()) == ["obj.py", "spec.yaml"]
