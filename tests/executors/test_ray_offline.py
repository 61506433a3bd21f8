"""``RayExecutor`` without a cluster: import hygiene, resource arithmetic, checkpoint archives
and the arguments and budgets refused before Ray starts.

The tests that need Ray to be importable skip when it is not installed; none starts Ray (the
cluster tests are ``test_ray.py`` and ``test_ray_cluster_slow.py``).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import ray_objectives
from _ray_cluster import HAVE_RAY, NO_RAY

import rung
from rung import Budget, Float, Objective, Study
from rung.errors import ConfigError, RungError
from rung.executors.base import Executor, RunContext
from rung.executors.options import ray_resources
from rung.executors.ray import (
    RayExecutor,
    actor_resource_options,
    cluster_capacity,
    from_devices,
    normalize_resources,
    pack_dir,
    trials_per_node,
    unpack_dir,
)

SRC = str(Path(rung.__file__).resolve().parents[1])


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def test_import_rung_never_imports_ray() -> None:
    r = _python("import rung, sys\n"
                "assert 'ray' not in sys.modules\n"
                "assert rung.RayExecutor.__name__ == 'RayExecutor'\n"
                "assert 'ray' not in sys.modules\n")
    assert r.returncode == 0, r.stderr


def test_missing_ray_says_how_to_install_it() -> None:
    r = _python(
        "import sys\n"
        "sys.modules['ray'] = None  # as if Ray were not installed\n"
        "import rung\n"
        "try:\n"
        "    rung.RayExecutor()\n"
        "except rung.RungError as e:\n"
        "    print(e)\n"
        "study = rung.Study.create('s', {'x': rung.Float(0, 1)}, rung.Objective('loss'),\n"
        "                          budget=rung.Budget(n_trials=1))\n"
        "try:\n"
        "    study.run(print, executor='ray')\n"
        "except rung.RungError as e:\n"
        "    print(e)\n"
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2 and all("pip install 'rung[ray]'" in ln for ln in lines), r.stdout


def test_a_ray_that_cannot_be_imported_is_not_called_missing() -> None:
    """Ray installed, but a part of it fails to load (a library it links): the error said
    "Ray, which is not installed", pointing at pip install instead of a reinstall."""
    r = _python(
        "import importlib.abc, sys\n"
        "class Broken(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'ray._raylet':\n"
        "            raise ImportError('libfoo.so: cannot open shared object file', name=name)\n"
        "sys.meta_path.insert(0, Broken())\n"
        "import rung\n"
        "study = rung.Study.create('s', {'x': rung.Float(0, 1)}, rung.Objective('loss'),\n"
        "                          budget=rung.Budget(n_trials=1))\n"
        "try:\n"
        "    study.run(print, executor='ray', progress=False)\n"
        "except rung.RungError as e:\n"
        "    print(e)\n"
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == (
        "executor='ray' needs Ray, which is installed but cannot be imported (libfoo.so: "
        "cannot open shared object file): reinstall it (pip install 'rung[ray]' "
        "--force-reinstall)")


def test_resources_are_normalized_to_ray_spelling() -> None:
    assert normalize_resources({"cpu": 2, "gpu": 0.5}) == {"CPU": 2.0, "GPU": 0.5}
    assert normalize_resources({"GPU": 1}) == {"GPU": 1.0, "CPU": 1.0}  # cpu defaults to 1
    assert normalize_resources({"cpu": 0, "gpu": 1}) == {"CPU": 0.0, "GPU": 1.0}
    r = normalize_resources({"cpu": 1, "memory": 2e9, "accel": 1})
    assert actor_resource_options(r) == {"num_cpus": 1.0, "num_gpus": 0.0, "memory": 2e9,
                                         "resources": {"accel": 1.0}}
    for bad, text in (
        ({"cpu": -1}, "resources_per_trial.cpu: must be >= 0, got -1"),
        ({"gpu": 1.5}, "resources_per_trial.gpu: a request above 1 must be a whole number "
                       "(Ray splits one device at most), got 1.5"),
        ({"cpu": "one"}, "resources_per_trial.cpu: expected a number, got 'one'"),
        ({"cpu": 1, "CPU": 2}, "resources_per_trial.CPU: CPU given twice (as 'cpu' too)"),
        ({"cpu": float("nan")}, "resources_per_trial.cpu: must be >= 0, got nan"),
        (2, "resources_per_trial: must be a mapping of resource to amount "
            "(e.g. {'cpu': 1, 'gpu': 0.5}), got 2"),
    ):
        with pytest.raises(ConfigError) as e:
            normalize_resources(bad)  # type: ignore[arg-type]
        assert str(e.value) == text


def test_capacity_counts_whole_trials_per_node_and_gpu_fractions_per_device() -> None:
    cpu1 = normalize_resources({"cpu": 1})
    assert trials_per_node({"CPU": 3.0}, cpu1) == 3
    assert trials_per_node({"GPU": 2.0}, cpu1) == 0
    half = normalize_resources({"cpu": 1, "gpu": 0.5})
    assert trials_per_node({"CPU": 8.0, "GPU": 1.0}, half) == 2
    assert trials_per_node({"CPU": 1.0, "GPU": 1.0}, half) == 1  # CPU-bound
    third = normalize_resources({"cpu": 0, "gpu": 0.3})
    assert trials_per_node({"GPU": 2.0}, third) == 6  # 3 per device, not floor(2 / 0.3) = 6.67
    assert trials_per_node({"CPU": 4.0}, normalize_resources({"cpu": 0})) is None
    nodes = [
        {"Alive": True, "Resources": {"CPU": 0.0}},
        {"Alive": True, "Resources": {"CPU": 1.0, "GPU": 1.0}},
        {"Alive": True, "Resources": {"CPU": 1.0}},
        {"Alive": False, "Resources": {"CPU": 64.0}},
    ]
    assert cluster_capacity(nodes, cpu1) == 2
    assert cluster_capacity(nodes, normalize_resources({"cpu": 0, "gpu": 0.5})) == 2
    assert cluster_capacity([], cpu1) == 0


def test_checkpoint_archives_round_trip_and_refuse_escapes(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "a" / "b").mkdir(parents=True)
    (src / "top.txt").write_text("top")
    (src / "a" / "b" / "deep.bin").write_bytes(b"\x00\x01" * 1000)
    data = pack_dir(src)
    unpack_dir(data, tmp_path / "out" / "7" / "3")
    out = tmp_path / "out" / "7" / "3"
    assert (out / "top.txt").read_text() == "top"
    assert (out / "a" / "b" / "deep.bin").read_bytes() == b"\x00\x01" * 1000
    unpack_dir(pack_dir(src / "a"), out)  # replaces what was there
    assert sorted(p.name for p in out.iterdir()) == ["b"]
    assert [p.name for p in (tmp_path / "out" / "7").iterdir()] == ["3"]  # no temporaries left

    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(Exception):  # noqa: B017 - tarfile's filter error, or ours
        unpack_dir(buf.getvalue(), tmp_path / "evil" / "1")
    assert not (tmp_path / "evil" / "escaped.txt").exists()
    assert not (tmp_path / "escaped.txt").exists()


@pytest.mark.skipif(not HAVE_RAY, reason=NO_RAY)
def test_arguments_are_checked_without_touching_ray() -> None:
    for kwargs in ({"max_concurrent": 0}, {"transport": "grpc"}, {"checkpoint_every": 0},
                   {"driver_port": -1}, {"address": 3}, {"resources_per_trial": {"cpu": -1}}):
        with pytest.raises(ConfigError):
            RayExecutor(**kwargs)
    with pytest.raises(ConfigError) as e:
        RayExecutor(resources_per_trial={"cpu": 0})  # requests nothing: no limit from Ray
    assert str(e.value) == ("resources_per_trial: requests no resource, so the cluster sets no "
                            "limit; pass max_concurrent (n_workers with executor='ray')")
    # what a trial holds is resources_per_trial's: an actor option would go uncounted
    for options, text in (
        ({"num_cpus": 2}, "actor_options.num_cpus: not an option here: set it in "
                          "resources_per_trial ('cpu')"),
        ({"max_concurrency": 3}, "actor_options.max_concurrency: not an option here: the "
                                 "executor sets it for its transport"),
        (["SPREAD"], "actor_options: expected a mapping, got ['SPREAD']"),
    ):
        with pytest.raises(ConfigError) as e:
            RayExecutor(actor_options=options)  # type: ignore[arg-type]
        assert str(e.value) == text
    ex = RayExecutor(address="auto", resources_per_trial={"cpu": 1, "gpu": 0.5})
    assert isinstance(ex, Executor) and ex.objective is None
    with pytest.raises(ConfigError, match="no objective"):
        ex.start(RunContext("s", None, 3))


@pytest.mark.skipif(not HAVE_RAY, reason=NO_RAY)
@pytest.mark.parametrize("value", [0, -1.0, math.inf, math.nan, "60", True, None])
def test_no_room_timeout_is_a_positive_finite_number_of_seconds(value: Any) -> None:
    """How long a run waits for room was a module constant (``NO_ROOM_LIMIT``, 600 s): an
    autoscaler slower than that could not be waited for without patching rung."""
    with pytest.raises(ConfigError) as e:
        RayExecutor(no_room_timeout=value)
    assert e.value.key == "no_room_timeout"
    assert str(e.value).startswith("no_room_timeout: must be a finite number > 0, got ")
    assert RayExecutor().no_room_timeout == 600.0
    assert RayExecutor(no_room_timeout=5).no_room_timeout == 5.0


@pytest.mark.skipif(not HAVE_RAY, reason=NO_RAY)
def test_a_run_stops_after_its_no_room_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """With capacity 0 for longer than ``no_room_timeout`` (the nodes that held trials
    left), the run stops, saying which limit it reached; a moment before, it waits."""
    ex = RayExecutor(no_room_timeout=30)
    monkeypatch.setattr(ex, "_no_room", lambda: "no node fits")
    ex._open, ex.capacity = True, 0
    ex._no_room_since = time.monotonic() - 29
    ex._warn_if_no_room()  # 29 s of 30: still waiting
    ex._no_room_since = time.monotonic() - 31
    with pytest.raises(RungError) as e:
        ex._warn_if_no_room()
    assert str(e.value) == "no node fits, and none joined in 30 s (no_room_timeout): the run stops"
    ex._open = False


@pytest.mark.skipif(not HAVE_RAY, reason=NO_RAY)
def test_a_spec_gives_no_room_timeout_as_an_executor_option() -> None:
    """``executor_options`` takes every ``RayExecutor`` keyword: the new one too, checked as
    the executor checks it."""
    from rung.cli.spec import SpecError, parse_spec

    top = {"name": "rooms", "objective": "ray_objectives:quick", "executor": "ray",
           "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}}, "metric": "loss",
           "scheduler": "fifo", "searcher": "random", "budget": {"n_trials": 2}}
    spec = parse_spec({**top, "executor_options": {"no_room_timeout": 1800}})
    assert spec.executor_options() == {"no_room_timeout": 1800}
    with pytest.raises(SpecError) as e:
        parse_spec({**top, "executor_options": {"no_room_timeout": 0}})
    assert str(e.value) == ("spec.executor_options.no_room_timeout: must be a finite number > "
                            "0, got 0")


def test_a_studys_devices_become_exactly_that_ray_reservation() -> None:
    from rung.core.pricing import from_ray

    for devices, ray_spelling in (
        ({"cpu": 2.0}, {"CPU": 2.0}),
        ({"gpu": 1.0}, {"CPU": 0.0, "GPU": 1.0}),  # no CPU added: the ledger charges none
        ({"cpu": 4.0, "gpu:A100": 0.5},
         {"CPU": 4.0, "GPU": 0.5, "accelerator_type:A100": 0.001}),
    ):
        assert from_devices(devices) == ray_spelling
        assert from_ray(normalize_resources(ray_spelling)) == devices  # what the ledger charges
    with pytest.raises(ConfigError) as e:
        from_devices({"gpu:A100": 1.0, "gpu:V100": 1.0})
    assert str(e.value) == ("resources_per_trial: a Ray actor holds GPUs of one type, got "
                            "gpu:A100, gpu:V100 in {'gpu:A100': 1.0, 'gpu:V100': 1.0}")


def test_the_study_or_the_executor_says_what_a_ray_trial_reserves_never_both_differently() -> None:
    assert ray_resources(None, None) is None  # the executor's default: one CPU
    assert ray_resources(None, {"cpu": 3}) == {"cpu": 3}
    assert ray_resources({"cpu": 2.0}, None) == {"CPU": 2.0}
    # the same devices (memory and custom Ray resources are not devices): the executor's
    given = {"cpu": 1, "gpu": 0.5, "pin_a": 1, "memory": 1e9}
    assert ray_resources({"cpu": 1.0, "gpu": 0.5}, given) is given
    with pytest.raises(ConfigError) as e:
        ray_resources({"gpu": 1.0}, {"gpu": 1})  # Ray's cpu defaults to 1: not the study's
    assert str(e.value) == (
        "resources_per_trial: the Ray executor's {'gpu': 1} reserves {'cpu': 1.0, 'gpu': 1.0} "
        "per trial, but the study's resources_per_trial (Study.create) is {'gpu': 1.0}: give "
        "it once (the study's reaches the executor), or the same devices in both")


def test_a_contradiction_between_study_and_executor_resources_writes_nothing(
    tmp_path: Path,
) -> None:
    study = Study.create("both", {"x": Float(0.0, 1.0)}, Objective("loss"), searcher="random",
                         scheduler="fifo", budget=Budget(n_trials=1),
                         storage=tmp_path / "s.db", resources_per_trial={"cpu": 2})
    with pytest.raises(ConfigError) as e:
        study.run(ray_objectives.quick, executor="ray", resources_per_trial={"cpu": 1},
                  progress=False)
    assert str(e.value) == (
        "resources_per_trial: the Ray executor's {'cpu': 1} reserves {'cpu': 1.0} per trial, "
        "but the study's resources_per_trial (Study.create) is {'cpu': 2.0}: give it once "
        "(the study's reaches the executor), or the same devices in both")
    assert study.journal.read("both") == []
    if HAVE_RAY:  # an executor built with its own resources: the same refusal
        # without its own: it takes the study's (what a run reserves); a cluster to join
        # (address="auto"), since a local instance of this machine may have no GPU
        ex = RayExecutor(address="auto")
        ex.use_study_resources({"cpu": 0.5, "gpu:A100": 1.0})
        assert ex.resources == {"CPU": 0.5, "GPU": 1.0, "accelerator_type:A100": 0.001}
        ex.use_study_resources(None)  # another study, saying nothing: one CPU again
        assert ex.resources == {"CPU": 1.0}
        with pytest.raises(ConfigError) as e2:
            study.run(ray_objectives.quick, progress=False,
                      executor=RayExecutor(resources_per_trial={"cpu": 1}))
        assert str(e2.value) == str(e.value)
        assert study.journal.read("both") == []


def test_a_budget_ray_trials_would_never_spend_is_refused_before_ray_starts(
    tmp_path: Path,
) -> None:
    """What each actor reserves is known before Ray starts: a max_cost whose prices charge
    none of it is refused then (before, once Ray had started and the session began)."""
    study = Study.create("unspent", {"x": Float(0.0, 1.0)}, Objective("loss"),
                         searcher="random", scheduler="fifo",
                         budget=Budget(n_trials=2, max_cost=10.0), prices={"gpu": 2.0},
                         storage=tmp_path / "s.db")
    text = ("budget.max_cost: would never be spent: a trial holds cpu=1 (as its executor "
            "reports) and prices {'gpu': 2.0} charge none of it")
    executors: list[Any] = ["ray"]
    if HAVE_RAY:
        executors.append(RayExecutor(resources_per_trial={"cpu": 1, "pin_a": 1}))
    for executor in executors:
        with pytest.raises(ConfigError) as e:
            study.run(ray_objectives.quick, executor=executor, progress=False)
        assert str(e.value) == text
    assert study.journal.read("unspent") == []
