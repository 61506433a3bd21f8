"""``resources_per_trial`` on the local executor (``rung.executors.local_devices``): the GPUs
this process sees, the slots trials hold, the default worker and thread counts, and workers
pinned to their slot's ``CUDA_VISIBLE_DEVICES`` (driven by a fake ``CUDA_VISIBLE_DEVICES``:
pinning is an environment variable, so it is checked without a GPU)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import objectives
import pytest

import rung
from rung import Budget, Float, Objective, Study
from rung.errors import ConfigError
from rung.executors.local import LocalExecutor
from rung.executors.local_devices import default_workers, layout, visible_gpus
from rung.executors.processes import LOCAL_WORKERS_PER_CPU

NO_PROC = Path("/nonexistent/nvidia/gpus")


@pytest.mark.parametrize(("value", "want"), [
    ("0,1", ["0", "1"]), ("", []), ("-1", []), ("2, 3", ["2", "3"]), ("0,-1,2", ["0"]),
    ("GPU-8a1e,MIG-77", ["GPU-8a1e", "MIG-77"]),
])
def test_visible_gpus_reads_cuda_visible_devices_as_cuda_does(value: str,
                                                               want: list[str]) -> None:
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": value}, NO_PROC) == want


def test_visible_gpus_counts_the_driver_s_gpus_when_the_variable_is_unset(
        tmp_path: Path) -> None:
    for bus in ("0000:3b:00.0", "0000:af:00.0", "0000:d8:00.0"):
        (tmp_path / bus).mkdir()
    assert visible_gpus({}, tmp_path) == ["0", "1", "2"]
    assert visible_gpus({}, NO_PROC) == []


def lay(resources: dict[str, float] | None, n: int | None = None, threads: object = "auto",
        cpus: int = 8, env: str | None = "0,1,2,3") -> rung.executors.local_devices.Layout:
    environ = {} if env is None else {"CUDA_VISIBLE_DEVICES": env}
    return layout(resources, n, threads, cpus, environ, NO_PROC)  # type: ignore[arg-type]


def test_no_gpus_asked_keeps_the_cpu_layout_and_pins_nothing() -> None:
    assert lay(None) == lay({"cpu": 1}) == rung.executors.local_devices.Layout(8, (), 1)
    assert lay({"cpu": 2}) .n_workers == 4 and lay({"cpu": 2}).threads == 2
    assert lay({"cpu": 3}, cpus=2).n_workers == 1  # at least one
    assert lay({"cpu": 2}, n=6).n_workers == 6  # a given count is kept
    assert lay({"cpu": 2}, threads=3).threads == 3 and lay({"cpu": 2}, threads=None).threads is None
    assert lay({"cpu": 2.5}).threads == 2 and lay({"cpu": 0.5}).threads == 1
    assert lay({"cpu": 0.5}).n_workers == 16
    assert lay({"cpu": 1e-6}, cpus=2).n_workers == LOCAL_WORKERS_PER_CPU * 2
    assert lay({"cpu": 2}).slots == ()


def test_whole_gpus_give_each_worker_its_own() -> None:
    one = lay({"cpu": 1, "gpu": 1})
    assert (one.n_workers, one.slots) == (4, ("0", "1", "2", "3"))
    two = lay({"gpu:A100": 2})
    assert (two.n_workers, two.slots) == (2, ("0,1", "2,3"))
    assert lay({"gpu": 2}, env="0,1,2").slots == ("0,1",)  # a GPU left over is not shared
    assert lay({"cpu": 4, "gpu": 1}).n_workers == 2  # the CPUs bound it too
    assert lay({"gpu": 1}, n=3).n_workers == 3


def test_a_share_of_a_gpu_puts_several_workers_on_it_spread_out() -> None:
    half = lay({"gpu": 0.5}, env="0,1")
    assert half.slots == ("0", "1", "0", "1") and half.n_workers == 4
    assert lay({"gpu": 0.5}, env="0,1", cpus=2).n_workers == 2  # one per GPU first
    assert lay({"gpu": 0.25}, env="7").slots == ("7",) * 4


def test_a_layout_that_cannot_be_made_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError) as e:
        lay({"gpu": 1.5})
    assert e.value.key == "resources_per_trial.gpu"
    with pytest.raises(ConfigError) as e:
        lay({"gpu": 1}, n=5)
    assert e.value.key == "n_workers"
    assert "5 trials at once holding 1 GPU each need 5 GPUs" in str(e.value)
    assert "at most 4 workers" in str(e.value)


@pytest.mark.parametrize("env", ["", None])
def test_gpus_asked_but_none_seen_run_on_the_cpu_with_a_warning(env: str | None) -> None:
    got = lay({"gpu": 1}, env=env)
    assert (got.n_workers, got.slots) == (8, ())
    assert got.warning is not None
    assert got.warning.startswith("resources_per_trial asks for 1 GPU per trial, but this "
                                  "process sees none (CUDA_VISIBLE_DEVICES")
    assert "trials run on the CPU, and the ledger charges them" in got.warning
    assert lay({"gpu": 2}, env="0").warning is not None  # one seen, two asked


def test_default_workers_takes_the_study_s_resources_as_given() -> None:
    assert default_workers(None, 8) == 8
    assert default_workers({"CPU": 2}, 8) == 4  # checked and canonical
    assert default_workers({"cpu": "x"}, 8) == 8  # malformed: its error comes elsewhere


def _runs(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for f in sorted(log.glob("*.runs"))
            for line in f.read_text().splitlines()]


def _study(tmp_path: Path, resources: dict[str, float] | None, n: int, die: bool = False
           ) -> Study:
    return Study.create(
        "gpus", {"x": Float(0.0, 1.0), "log": rung.Fixed(str(tmp_path)),
                 "die": rung.Fixed(die)},
        Objective("loss", "min"), searcher="random", scheduler="fifo", max_step=1,
        budget=Budget(n_trials=n), seed=1, storage=tmp_path / "study.db",
        resources_per_trial=resources)


def test_trials_holding_a_gpu_each_see_their_own_and_a_replacement_takes_its_slot(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    study = _study(tmp_path, {"cpu": 1, "gpu": 1}, 8, die=True)
    ex = LocalExecutor(start_method="fork")
    study.run(objectives.gpu_env, executor=ex, progress=False)
    runs = _runs(tmp_path)
    assert ex.n_workers == 2
    assert {r["device"] for r in runs} == {"3", "5"}
    for a in runs:  # runs at the same time hold different GPUs
        for b in runs:
            if a is not b and a["start"] < b["end"] and b["start"] < a["end"]:
                assert a["device"] != b["device"]
    # the worker that died held one GPU; the one started in its place holds the same
    assert (tmp_path / "died").exists() and len(ex.worker_pids) == 3
    by_pid = {r["pid"]: r["device"] for r in runs}
    assert ex.worker_pids[2] in by_pid
    assert sorted(by_pid[p] for p in ex.worker_pids if p in by_pid) == ["3", "5"]
    assert study.engine.meter.resources == {"cpu": 1.0, "gpu": 1.0}
    assert __import__("os").environ["CUDA_VISIBLE_DEVICES"] == "3,5"  # the driver's own


def test_gpus_asked_on_a_machine_without_them_warn_once_and_run_unpinned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    study = _study(tmp_path, {"gpu": 1}, 2)
    with caplog.at_level(logging.WARNING, logger="rung.local"):
        study.run(objectives.gpu_env, executor="local", n_workers=1, start_method="fork",
                  progress=False)
    said = [r.getMessage() for r in caplog.records if "resources_per_trial asks" in
            r.getMessage()]
    assert len(said) == 1
    assert {r["device"] for r in _runs(tmp_path)} == {""}
    assert len(study.trials("completed")) == 2


def test_the_local_executor_holds_the_study_s_resources_and_refuses_others(
        tmp_path: Path) -> None:
    study = _study(tmp_path, {"cpu": 2}, 1)
    with pytest.raises(ConfigError) as e:
        study.run(objectives.gpu_env, executor="local", resources_per_trial={"cpu": 1})
    assert e.value.key == "resources_per_trial"
    assert "Study.create" in str(e.value)
    with pytest.raises(ConfigError, match="differs from the study's"):
        study.run(objectives.gpu_env, executor=LocalExecutor(resources_per_trial={"cpu": 1}))
    assert study.trials() == []
    ex = LocalExecutor(start_method="fork")
    study.run(objectives.gpu_env, executor=ex, progress=False)
    assert ex.resources == {"cpu": 2.0} and ex.n_workers == max(1, rung.executors.processes
                                                                   .usable_cpus() // 2)


def test_an_executor_s_own_resources_are_what_the_ledger_charges(tmp_path: Path) -> None:
    study = _study(tmp_path, None, 1)
    ex = LocalExecutor(n_workers=1, start_method="fork", resources_per_trial={"cpu": 3})
    study.run(objectives.gpu_env, executor=ex, progress=False)
    assert study.engine.meter.resources == {"cpu": 3.0}
    assert ex._layout.threads == 3


def test_the_session_record_says_which_gpus_the_workers_hold(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rung.cli.report import executor_cell
    from rung.core.events import CapacityChanged

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    study = _study(tmp_path, {"gpu": 2}, 1)
    study.run(objectives.gpu_env, executor="local", start_method="fork", progress=False)
    (first,) = [r for r in study.journal.read("gpus") if isinstance(r, CapacityChanged)
                and r.new_session]
    assert executor_cell(first.executor) == "local (start_method=fork gpus=0,1/2,3)"
    assert {r["device"] for r in _runs(tmp_path)} <= {"0,1", "2,3"}


def test_a_layout_refused_is_refused_before_the_session_writes_anything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    study = _study(tmp_path, {"gpu": 1}, 2)
    before = len(study.journal.read("gpus"))
    with pytest.raises(ConfigError) as e:
        study.run(objectives.gpu_env, executor="local", n_workers=3, progress=False)
    assert e.value.key == "n_workers"
    with pytest.raises(ConfigError) as e:
        study.run(objectives.gpu_env, executor=LocalExecutor(n_workers=3), progress=False)
    assert e.value.key == "n_workers"
    assert len(study.journal.read("gpus")) == before


@pytest.mark.parametrize(("extra", "env", "line"), [
    ("resources_per_trial: {gpu: 1.5}\n", "0,1",
     "rung: error: spec.resources_per_trial.gpu: 1.5 GPUs per trial: the local executor "
     "gives a trial whole GPUs, or a share of one (a fraction below 1)\n"),
    ("resources_per_trial: {gpu: 1}\nn_workers: 3\n", "0,1",
     "rung: error: spec.n_workers: 3 trials at once holding 1 GPU each need 3 GPUs, and this "
     "process sees 2 (CUDA_VISIBLE_DEVICES='0,1'): at most 2 workers; lower n_workers or "
     "resources_per_trial.gpu\n"),
])
def test_rung_run_refuses_a_layout_in_one_line_naming_the_key(
        tmp_path: Path, extra: str, env: str, line: str) -> None:
    import os
    import subprocess
    import sys

    here = Path(__file__).resolve().parents[1] / "cli"
    (tmp_path / "spec.yaml").write_text(
        f"name: lay\nobjective: cli_objectives:train\npath: {here}\n"
        "space: {x: {type: float, low: 0, high: 1}}\nmetric: loss\nbudget: {n_trials: 2}\n"
        + extra)
    src = str(Path(rung.__file__).resolve().parents[1])
    r = subprocess.run([sys.executable, "-m", "rung", "run", "spec.yaml", "--no-live"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
                       env={**os.environ, "PYTHONPATH": src, "CUDA_VISIBLE_DEVICES": env})
    assert (r.returncode, r.stderr) == (2, line)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]


def test_resources_given_to_run_are_named_before_an_unspendable_budget(tmp_path: Path) -> None:
    study = Study.create("gpuh", {"x": Float(0.0, 1.0)}, Objective("loss", "min"),
                         searcher="random", scheduler="fifo",
                         budget=Budget(n_trials=2, max_gpu_hours=1.0),
                         storage=tmp_path / "s.db")  # (no GPU: the budget reads unspendable)
    with pytest.raises(ConfigError) as e:
        study.run(objectives.gpu_env, resources_per_trial={"gpu:A100": 1})
    assert e.value.key == "resources_per_trial"
    assert "holds the study's resources_per_trial" in str(e.value)
