"""``RayExecutor`` on a real multi-node Ray cluster on this machine.

The cluster (``ray.cluster_utils.Cluster``) has a head node without CPUs (the driver connects
there) and two worker nodes with one CPU each, one of which also declares one GPU; every node's
object store is small. It is started once for the module and shut down at the end (no raylet
outlives the tests). Tests marked ``ray`` skip when Ray is not installed; the others (import
hygiene, resource arithmetic, archives) run everywhere.

Nothing here waits on a clock: every search ends when its budget is spent, and interference
(removing a node, adding one) is triggered from the driver's ``on_turn`` hook when the engine
shows the state it needs.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray_objectives

import rung
from rung import ASHA, Budget, Float, Objective, Study, TrialStatus
from rung.core.engine import Engine
from rung.core.events import (
    Cancel,
    CapacityChanged,
    CheckpointSaved,
    DeleteCheckpoint,
    Event,
    Launch,
    ResultReported,
    TrialEnded,
    TrialStarted,
)
from rung.core.records import Outcome
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
from rung.executors.ray.transport import SocketTransport
from rung.testing import check_executor

HAVE_RAY = importlib.util.find_spec("ray") is not None
NO_RAY = "Ray is not installed: pip install 'rung[ray]'"


def ray_test(fn: Any) -> Any:
    """Mark a test that needs Ray (and the module's cluster)."""
    return pytest.mark.ray(pytest.mark.skipif(not HAVE_RAY, reason=NO_RAY)(fn))


OBJECT_STORE = 80 * 1024 * 1024
SRC = str(Path(rung.__file__).resolve().parents[1])


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


# --- without a cluster -----------------------------------------------------------------------
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
        ex = RayExecutor()  # without its own: it takes the study's (what a run reserves)
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


# --- on a cluster ---------------------------------------------------------------------------
class ClusterHandle:
    """Handles on the module's cluster."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.address: str = cluster.address

    def connect(self) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, log_to_driver=False)

    def node(self, node_id: str) -> Any:
        for n in self.cluster.worker_nodes:
            if n.node_id == node_id:
                return n
        raise KeyError(node_id)

    def worker_ids(self) -> set[str]:
        return {n.node_id for n in self.cluster.worker_nodes}


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterHandle]:
    if not HAVE_RAY:
        pytest.skip(NO_RAY)
    import ray
    import ray.cloudpickle
    from ray.cluster_utils import Cluster

    ray.cloudpickle.register_pickle_by_value(ray_objectives)
    c = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "object_store_memory": OBJECT_STORE, "include_dashboard": False})
    try:
        c.add_node(num_cpus=1, num_gpus=1, resources={"pin_a": 1},
                   object_store_memory=OBJECT_STORE)
        c.add_node(num_cpus=1, resources={"pin_b": 1}, object_store_memory=OBJECT_STORE)
        tc = ClusterHandle(c)
        tc.connect()
        yield tc
    finally:
        ray.shutdown()
        c.shutdown()


def make_study(tmp_path: Path, name: str, n_trials: int, max_step: int = 4,
               scheduler: Any = "fifo", sleep: float = 0.0, barrier: int = 0,
               resources: dict[str, float] | None = None) -> Study:
    space: dict[str, Any] = {"x": Float(0.0, 1.0), "log": rung.Fixed(str(tmp_path)),
                             "sleep": rung.Fixed(sleep), "barrier": rung.Fixed(barrier)}
    return Study.create(
        name, space, Objective("loss", "min"), searcher="random", scheduler=scheduler,
        max_step=max_step,
        budget=Budget(n_trials=n_trials), seed=3, storage=tmp_path / "study.db",
        resources_per_trial=resources,
    )


def ckpt_root(tmp_path: Path, name: str) -> Path:
    return tmp_path / "study-checkpoints" / name


def runs(tmp_path: Path, trial_id: int) -> list[dict[str, Any]]:
    lines = (tmp_path / f"{trial_id}.runs").read_text().splitlines()
    return [json.loads(line) for line in lines]


def journal(study: Study) -> list[Any]:
    return study.journal.read(study.name)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def check_results_complete(study: Study, restarts: bool = False) -> None:
    """Every trial has a result at every step it ran through, nothing lost. A pause saves at
    the step it stops at, so a resumed trial repeats nothing; after an interruption
    (``restarts``) the steps since the last checkpoint run again and are reported again."""
    for t in study.trials():
        steps = [r.step for r in t.results]
        if not restarts:
            assert steps == sorted(set(steps)), f"trial {t.id}: results {steps}"
        assert sorted(set(steps)) == list(range(1, max(steps, default=0) + 1)), steps
        if t.status is TrialStatus.COMPLETED:
            assert max(steps) == study.spec.max_step, f"trial {t.id}: {steps}"


@ray_test
@pytest.mark.parametrize("transport", ["socket", pytest.param("ray", marks=pytest.mark.slow)])
def test_search_uses_every_node_and_reuses_actors(tmp_path: Path, transport: str,
                                                  cluster: ClusterHandle) -> None:
    study = make_study(tmp_path, f"basic-{transport}", 10, barrier=2)
    study.run(ray_objectives.quick, executor="ray", transport=transport)
    trials = study.trials()
    assert len(trials) == 10 and all(t.status is TrialStatus.COMPLETED for t in trials)
    check_results_complete(study)
    logs = [r for t in trials for r in runs(tmp_path, t.id)]
    assert {r["node"] for r in logs} == cluster.worker_ids()  # both CPU nodes, never the head
    assert len({r["pid"] for r in logs}) == 2  # one actor per slot, reused trial after trial
    caps = [r.capacity for r in journal(study) if isinstance(r, CapacityChanged)]
    assert caps == [2]


@ray_test
def test_executor_started_ray_itself_and_stops_it(tmp_path: Path, cluster: ClusterHandle) -> None:
    import ray

    ray.shutdown()
    try:
        study = make_study(tmp_path, "own-ray", 3, max_step=2)
        ex = RayExecutor(address=cluster.address, max_concurrent=1,
                         ray_init={"log_to_driver": False})
        study.run(ray_objectives.quick, executor=ex)
        assert [t.status for t in study.trials()] == [TrialStatus.COMPLETED] * 3
        assert not ray.is_initialized()  # it started Ray, so it stopped it
        caps = [r.capacity for r in journal(study) if isinstance(r, CapacityChanged)]
        assert caps == [1]  # max_concurrent caps the cluster's 2
    finally:
        cluster.connect()


@ray_test
@pytest.mark.parametrize("transport", ["socket", pytest.param("ray", marks=pytest.mark.slow)])
def test_asha_promotion_resumes_paused_trials_on_other_nodes(
    tmp_path: Path, transport: str, cluster: ClusterHandle
) -> None:
    name = f"promo-{transport}"
    study = make_study(tmp_path, name, 12, max_step=8, sleep=0.02,
                       scheduler=ASHA(reduction_factor=2, variant="promotion"))
    study.run(ray_objectives.checkpointed, executor="ray", transport=transport)
    trials = study.trials()
    # paused trials that can never be promoted once the trial budget is spent are retired
    # (ended stopped, checkpoint deleted); the others stay paused with their checkpoints
    assert all(
        t.status in (TrialStatus.COMPLETED, TrialStatus.PAUSED, TrialStatus.STOPPED)
        for t in trials
    )
    assert any(t.status is TrialStatus.COMPLETED for t in trials)
    check_results_complete(study)
    root = ckpt_root(tmp_path, name)
    recs = journal(study)
    saved = [r for r in recs if isinstance(r, CheckpointSaved)]
    assert saved
    resumed = 0
    crossed = 0
    for t in trials:
        rs = runs(tmp_path, t.id)
        for before, after in itertools.pairwise(rs):
            resumed += 1
            crossed += before["node"] != after["node"]
            # the checkpoint came back intact, from the worker's scratch space: never from the
            # driver's directory (no shared filesystem needed)
            assert after["restored"] == {"trial": t.id, "step": after["start_step"] - 1}
            assert not Path(after["checkpoint"]).resolve().is_relative_to(root.resolve())
    assert resumed >= 1, "no paused trial was resumed"
    print(f"{resumed} resumes, {crossed} on another node")  # which node is up to timing
    # the driver holds the checkpoints of the paused trials, at the journaled relative paths
    deleted = {r.path for r in recs if isinstance(r, DeleteCheckpoint)}
    kept = []
    for t in trials:
        if t.status is TrialStatus.PAUSED:
            assert t.checkpoint is not None
            assert (root / t.checkpoint.path / "state.json").is_file()
        elif t.checkpoint is not None:  # ended for good: deleted, unless among the best kept
            if t.checkpoint.path in deleted:
                assert not (root / t.checkpoint.path).exists()
            else:
                kept.append(t.id)
    assert len(kept) <= study.spec.keep_checkpoints
    # workers' scratch copies are gone
    assert not any(Path(r["checkpoint"]).exists() for t in trials for r in runs(tmp_path, t.id)
                   if r["checkpoint"])


class _EndSession(Exception):
    pass


@pytest.mark.slow  # the default lane keeps the socket transport's cluster tests
@ray_test
def test_paused_trials_resume_on_another_node_in_a_later_session(
    tmp_path: Path, cluster: ClusterHandle
) -> None:
    """Session 1 runs only on node A (a custom resource pins it there) and is stopped once
    four trials are paused; session 2 (``Study.load`` + ``run``) runs only on node B, where
    the paused trials ASHA promotes are resumed from the checkpoints the driver kept. One
    trial at a time, so the whole run is deterministic."""
    name = "pinned"
    study = make_study(tmp_path, name, 10, max_step=4,
                       scheduler=ASHA(reduction_factor=2, variant="promotion"))

    def stop_after_pauses(engine: Engine) -> None:
        if engine.history.count(TrialStatus.PAUSED) >= 4:
            raise _EndSession

    with pytest.raises(_EndSession):
        study.run(ray_objectives.checkpointed, executor="ray", on_turn=stop_after_pauses,
                  resources_per_trial={"cpu": 1, "pin_a": 1})
    paused_on_a = {t.id for t in study.trials() if t.status is TrialStatus.PAUSED}
    node_a = {r["node"] for tid in paused_on_a for r in runs(tmp_path, tid)}
    assert len(node_a) == 1
    study.close()

    again = Study.load(name, storage=tmp_path / "study.db")
    again.run(ray_objectives.checkpointed, executor="ray",
              resources_per_trial={"cpu": 1, "pin_b": 1})
    check_results_complete(again, restarts=True)  # session 1 ended with a trial running
    moved = 0
    for tid in paused_on_a:
        rs = runs(tmp_path, tid)
        if len(rs) > 1:
            moved += 1
            assert rs[0]["node"] in node_a and rs[1]["node"] not in node_a
            assert rs[1]["restored"] == {"trial": tid, "step": rs[1]["start_step"] - 1}
    assert moved >= 1, "no trial paused on node A was resumed on node B"


@pytest.mark.slow  # the default lane keeps the socket transport's cluster tests
@ray_test
def test_gpu_fractions_place_two_trials_per_gpu(tmp_path: Path, cluster: ClusterHandle) -> None:
    study = make_study(tmp_path, "gpu", 4, max_step=3, barrier=2)
    ex = RayExecutor(resources_per_trial={"cpu": 0, "gpu": 0.5})
    study.run(ray_objectives.gpu_probe, executor=ex)
    assert all(t.status is TrialStatus.COMPLETED for t in study.trials())
    logs = [r for t in study.trials() for r in runs(tmp_path, t.id)]
    gpu_nodes = {r["node"] for r in logs}
    assert len(gpu_nodes) == 1  # only the GPU node can hold them
    assert all(r["gpus"] == ["0"] and r["cuda"] == "0" for r in logs)
    assert len({r["pid"] for r in logs}) == 2  # two actors share the one GPU
    caps = [r.capacity for r in journal(study) if isinstance(r, CapacityChanged)]
    assert caps == [2]


@ray_test
@pytest.mark.slow
@pytest.mark.parametrize("how", ["name", "instance"])
def test_the_studys_resources_per_trial_are_what_each_actor_reserves(
    tmp_path: Path, cluster: ClusterHandle, how: str
) -> None:
    """Study.create(resources_per_trial=...) reaches the actors: each reserves half a CPU,
    so the two 1-CPU nodes hold 4 trials, and the ledger charges half a CPU-hour per hour a
    trial ran."""
    study = make_study(tmp_path, f"half-{how}", 6, max_step=2, resources={"cpu": 0.5})
    study.run(ray_objectives.reserving, progress=False,
              executor="ray" if how == "name" else RayExecutor())
    assert [t.status for t in study.trials()] == [TrialStatus.COMPLETED] * 6
    logs = [r for t in study.trials() for r in runs(tmp_path, t.id)]
    assert [r["reserved"] for r in logs] == [{"CPU": 0.5}] * 6
    caps = [(r.capacity, r.resources) for r in journal(study) if isinstance(r, CapacityChanged)]
    assert caps == [(4, {"cpu": 0.5})]
    ledger = study.ledger()
    busy = sum(w.busy_hours for w in ledger.workers)
    assert busy > 0 and set(ledger.devices) == {"cpu"}
    assert ledger.devices["cpu"] == pytest.approx(0.5 * busy)


@ray_test
@pytest.mark.usefixtures("cluster")
def test_an_objective_that_cannot_load_on_workers_fails_the_run(tmp_path: Path) -> None:
    study = make_study(tmp_path, "unloadable", 2)
    with pytest.raises(RungError, match="cannot load the objective"):
        study.run(ray_objectives.Unloadable(), executor="ray", n_workers=1)


@ray_test
@pytest.mark.usefixtures("cluster")
def test_an_objective_module_the_nodes_cannot_import_fails_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module importable on the driver only (as `rung run` imports a spec's objective from
    its `path`): the actors say so, and the error says how to ship the module."""
    (tmp_path / "only_here.py").write_text(
        "def train(ctx):\n    ctx.report(1, loss=0.0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import only_here  # type: ignore[import-not-found]

    study = make_study(tmp_path, "only-here", 1, max_step=1)
    with pytest.raises(RungError) as e:
        study.run(only_here.train, executor="ray", n_workers=1, progress=False)
    text = str(e.value)
    assert text.startswith("Ray workers cannot load the objective only_here.train:\n")
    assert "ModuleNotFoundError: No module named 'only_here'" in text
    assert text.endswith(
        "The objective's module, and every module it imports, must be importable on each "
        "node: install them there, or ship them with ray_init={'runtime_env': {'working_dir': "
        "DIR}} (or 'py_modules'); a Ray instance started after `rung run` read the spec "
        "inherits its path")


@ray_test
@pytest.mark.usefixtures("cluster")
def test_workers_that_cannot_reach_the_driver_fail_the_run_with_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    def unreachable(self: SocketTransport) -> None:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self._address = s.getsockname()  # nobody listens there
        s.close()

    monkeypatch.setattr(SocketTransport, "_listen", unreachable)
    study = make_study(tmp_path, "unreachable", 2)
    with pytest.raises(RungError, match="cannot connect to the rung driver.*transport='ray'"):
        study.run(ray_objectives.quick, executor="ray", n_workers=1)


@ray_test
@pytest.mark.slow
@pytest.mark.usefixtures("cluster")
def test_actors_killed_holding_a_restored_checkpoint_leave_no_scratch_behind(
    tmp_path: Path,
) -> None:
    """Trial 1 dies (``os._exit``) at step 3 on every run, after its checkpoint at step 2: each
    resume restores that checkpoint into its actor's scratch directory, and the actor dies
    without removing it. The next actor on the node removes it, so once a later run's
    actors have started, nothing of the first run is left in the node's temporary
    directory."""
    import tempfile

    def dies_at_3(ctx: rung.TrialContext) -> None:
        for step in range(ctx.start_step, ctx.max_step + 1):
            if ctx.trial_id == 1 and step == 3:
                os._exit(3)
            ctx.report(step, loss=float(ctx.params["x"]) / step,
                       save=lambda d: Path(d, "w.bin").write_bytes(b"w" * 100))

    tmp = Path(tempfile.gettempdir())
    study = make_study(tmp_path, "orphans", 2)
    study.run(dies_at_3, executor="ray", checkpoint_every=1)
    assert [t.status for t in study.trials()] == [TrialStatus.COMPLETED, TrialStatus.FAILED]
    restores = [r for r in journal(study) if isinstance(r, Launch) and r.checkpoint is not None]
    assert len(restores) == 3  # three resumes from the step-2 checkpoint, each killed
    make_study(tmp_path, "orphans-after", 2, barrier=2).run(ray_objectives.quick,
                                                            executor="ray")
    assert sorted(tmp.glob("rung-ray-orphans-*")) == []


@ray_test
@pytest.mark.usefixtures("cluster")
def test_an_actor_option_ray_refuses_is_a_config_error(tmp_path: Path) -> None:
    study = make_study(tmp_path, "actor-typo", 2)
    with pytest.raises(ConfigError) as e:
        study.run(ray_objectives.quick, executor="ray", actor_options={"num_cpu": 1})
    assert e.value.key == "actor_options"
    assert e.value.message.startswith("Invalid option keyword num_cpu for actors.")
    assert journal(study) == []  # nothing of the session


@ray_test
@pytest.mark.usefixtures("cluster")
def test_a_driver_port_in_use_is_a_config_error_naming_it(tmp_path: Path) -> None:
    import socket

    import ray

    host = ray.util.get_node_ip_address()
    with socket.create_server((host, 0)) as taken:
        port = taken.getsockname()[1]
        study = make_study(tmp_path, "port-taken", 2)
        with pytest.raises(ConfigError) as e:
            study.run(ray_objectives.quick, executor="ray", driver_port=port)
    assert e.value.key == "driver_port"
    assert e.value.message.startswith(f"cannot listen on {host}:{port}: [Errno 98] ")
    assert journal(study) == []  # nothing of the session


@ray_test
@pytest.mark.usefixtures("cluster")
@pytest.mark.parametrize("transport", ["socket", pytest.param("ray", marks=pytest.mark.slow)])
def test_ray_executor_conforms(tmp_path: Path, transport: str) -> None:
    check_executor(lambda: RayExecutor(max_concurrent=1, transport=transport), tmp_path,
                   timeout=120.0)


def _poll_until(ex: RayExecutor, pred: Any, limit: float = 60.0) -> list[Event]:
    seen: list[Event] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        seen += ex.poll(1.0)
        if pred(seen):
            return seen
    raise AssertionError(f"timed out; events: {seen}")


@pytest.mark.slow  # the default lane keeps the socket transport's cluster tests
@ray_test
def test_cancel_kills_the_actor_and_a_fresh_one_takes_its_slot(
    tmp_path: Path, cluster: ClusterHandle
) -> None:
    ex = RayExecutor(objective=ray_objectives.checkpointed, max_concurrent=1)
    params = {"x": 0.5, "log": str(tmp_path), "sleep": 0.2}
    try:
        evs = ex.start(RunContext("cancel", tmp_path / "ck", 50))
        assert evs == [CapacityChanged(
            1, evs[0].time, new_session=True, resources={"cpu": 1.0},
            executor={"name": "ray", "address": None, "cluster": cluster.address,
                      "transport": "socket"})]
        ex.submit([Launch(0, params, 1, 50, 50, None)])
        seen = _poll_until(ex, lambda s: any(isinstance(e, ResultReported) for e in s))
        assert isinstance(seen[0], TrialStarted)
        ex.submit([Cancel(0, "cancelled by the test")])
        seen = _poll_until(ex, lambda s: any(isinstance(e, TrialEnded) for e in s))
        ended = [e for e in seen if isinstance(e, TrialEnded)]
        assert ended == [TrialEnded(0, Outcome.STOPPED, ended[0].time, "cancelled by the test")]
        pid = runs(tmp_path, 0)[0]["pid"]
        deadline = time.monotonic() + 30
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(pid)
        ex.submit([Launch(1, {**params, "sleep": 0.0}, 1, 3, 3, None)])
        seen = _poll_until(ex, lambda s: any(isinstance(e, TrialEnded) for e in s))
        ended = [e for e in seen if isinstance(e, TrialEnded)]
        assert [(e.trial_id, e.outcome) for e in ended] == [(1, Outcome.COMPLETED)]
        assert runs(tmp_path, 1)[0]["pid"] != pid
        assert ex.idle
    finally:
        ex.shutdown()
        ex.shutdown()  # idempotent


@pytest.mark.slow  # the default lane keeps the socket transport's cluster tests
@ray_test
def test_node_loss_interrupts_trials_which_resume_from_checkpoints_elsewhere(
    tmp_path: Path, cluster: ClusterHandle
) -> None:
    """A worker node is removed while trials run on it; later a node joins again."""
    name = "loss"
    study = make_study(tmp_path, name, 4, max_step=10, sleep=0.1)
    state: dict[str, Any] = {"removed": None, "added": False}

    def interfere(engine: Engine) -> None:
        h = engine.history
        if state["removed"] is None:
            # once a running trial has checkpointed step 3, take its node away
            for tid in engine.active:
                c = h.checkpoint(tid)
                if c is not None and c.step >= 3 and (tmp_path / f"{tid}.runs").exists():
                    node_id = runs(tmp_path, tid)[-1]["node"]
                    state["removed"] = (tid, c.step, node_id)
                    cluster.cluster.remove_node(cluster.node(node_id))
                    return
        elif not state["added"] and engine.capacity == 1:
            state["added"] = True
            cluster.cluster.add_node(num_cpus=1, object_store_memory=OBJECT_STORE)

    study.run(ray_objectives.checkpointed, executor="ray", on_turn=interfere,
              checkpoint_every=1)
    assert state["removed"] is not None and state["added"]
    victim, ckpt_step, dead_node = state["removed"]
    trials = study.trials()
    assert len(trials) == 4 and all(t.status is TrialStatus.COMPLETED for t in trials)
    check_results_complete(study, restarts=True)  # nothing recorded was lost
    recs = journal(study)
    interrupted = [r for r in recs if isinstance(r, TrialEnded)
                   and r.outcome is Outcome.INTERRUPTED]
    assert victim in {r.trial_id for r in interrupted}
    assert all("died" in (r.error or "") for r in interrupted)
    # the victim resumed from its last checkpoint (at least the one seen), on another node
    vr = runs(tmp_path, victim)
    assert len(vr) >= 2 and vr[0]["node"] == dead_node and vr[-1]["node"] != dead_node
    assert vr[-1]["start_step"] >= ckpt_step + 1
    assert vr[-1]["restored"] == {"trial": victim, "step": vr[-1]["start_step"] - 1}
    # capacity followed the cluster: 2, down to 1 when the node went, up to 2 when one joined
    caps = [r.capacity for r in recs if isinstance(r, CapacityChanged)]
    assert caps[0] == 2 and 1 in caps and caps[-1] == 2
    # replaying the journal gives the same state
    again = Study.load(name, storage=tmp_path / "study.db", readonly=True)
    assert [(t.id, t.status, len(t.results)) for t in again.trials()] == [
        (t.id, t.status, len(t.results)) for t in trials]


@ray_test
def test_the_clusters_gcs_is_not_taken_for_ray_clients_server(
    cluster: ClusterHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bare address at Ray Client's port is refused when what answers there does not serve
    the GCS method the probe calls: this Ray's GCS must serve it (else a head at port 10001
    would be refused), token authentication or not."""
    import rung.executors.ray.connect as rc

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    host, _, port = cluster.address.rpartition(":")
    assert rc._answers_as_gcs(host, int(port)) is not False
    monkeypatch.setattr(rc, "RAY_CLIENT_PORT", int(port))
    rc.check_reachable(None, cluster.address)


@ray_test
@pytest.mark.usefixtures("cluster")
def test_a_request_no_node_of_a_cluster_meets_is_refused_after_a_bounded_wait(
    tmp_path: Path,
) -> None:
    """A cluster this process did not start may gain nodes, so the run waits for one that
    can hold a trial, but not forever (it waited, warning every minute): after
    ``no_room_timeout`` seconds it is refused, before the session journals anything."""
    study = make_study(tmp_path, "noroom", 2)
    with pytest.raises(ConfigError) as e:
        study.run(ray_objectives.quick, executor="ray", resources_per_trial={"cpu": 2},
                  no_room_timeout=0.5, progress=False)
    # the head (no CPU) and the two one-CPU workers
    assert str(e.value) == (
        "resources_per_trial: no node of the Ray cluster can hold a trial needing "
        "{'CPU': 2.0} (its alive nodes have [{'CPU': 0.0}, {'CPU': 1.0}, {'CPU': 1.0}]), and "
        "none joined in 0.5 s (no_room_timeout): ask for less, or add a node that has it (ray "
        "start --address=...)")
    assert journal(study) == []


@ray_test
@pytest.mark.slow  # adds a node and removes it (~15 s)
def test_a_run_whose_only_fitting_node_left_stops_after_a_bounded_wait(
    tmp_path: Path, cluster: ClusterHandle,
) -> None:
    """The one node with the resource a trial needs leaves mid-run: its trial is interrupted
    and capacity falls to 0; with no node joining, the run stops after ``no_room_timeout``
    seconds (``RungError``: it waited forever) with everything recorded journaled."""
    node = cluster.cluster.add_node(num_cpus=1, resources={"pin_c": 1},
                                    object_store_memory=OBJECT_STORE)
    cluster.cluster.wait_for_nodes()
    study = make_study(tmp_path, "gone", 3, max_step=50, sleep=0.1)
    removed: list[int] = []
    # a generous wait while the new node places the first trial's actor (1 s, then 5 s, were
    # too short on a loaded machine: the run stopped before the node was removed), a short one
    # once the node is gone (the executor reads its no_room_timeout at every check)
    ex = RayExecutor(resources_per_trial={"cpu": 1, "pin_c": 1}, no_room_timeout=120)

    def interfere(engine: Engine) -> None:
        if not removed and any(engine.history.last_step(t) >= 2 for t in engine.active):
            removed.append(1)
            ex.no_room_timeout = 5
            cluster.cluster.remove_node(node)

    with pytest.raises(RungError) as e:
        study.run(ray_objectives.checkpointed, executor=ex, on_turn=interfere, progress=False)
    assert removed
    assert str(e.value).startswith(
        "no node of the Ray cluster can hold a trial needing {'CPU': 1.0, 'pin_c': 1.0} (its "
        "alive nodes have [")
    assert str(e.value).endswith("]), and none joined in 5 s (no_room_timeout): the run stops")
    recs = journal(study)
    assert [r.capacity for r in recs if isinstance(r, CapacityChanged)] == [1, 0]
    ended = [r for r in recs if isinstance(r, TrialEnded)]
    assert [(r.trial_id, r.outcome) for r in ended] == [(0, Outcome.INTERRUPTED)]
    assert [r.step for r in study.trials()[0].results][:2] == [1, 2]


@ray_test
@pytest.mark.slow  # holds the cluster's CPUs with actors of its own (~8 s)
def test_a_run_whose_actors_ray_never_places_stops_after_a_bounded_wait(
    tmp_path: Path, cluster: ClusterHandle,
) -> None:
    """The nodes have room by their totals, but another job holds every CPU: Ray places none
    of the run's actors. The run said nothing and waited forever ("running 2" in its
    progress); now it warns, and stops after ``no_room_timeout`` seconds."""
    import ray

    @ray.remote(num_cpus=1)
    class Hog:
        def ping(self) -> int:
            return 1

    n = int(ray.cluster_resources()["CPU"])
    hogs = [Hog.remote() for _ in range(n)]  # type: ignore[attr-defined]
    try:
        ray.get([h.ping.remote() for h in hogs], timeout=60)
        study = make_study(tmp_path, "unplaced", 2)
        with pytest.raises(RungError) as e:
            study.run(ray_objectives.quick, executor="ray", no_room_timeout=2, progress=False)
    finally:
        for h in hogs:
            ray.kill(h)
    assert str(e.value) == (
        f"none of the run's {n} Ray worker actors is ready after 2 s (each needs "
        "{'CPU': 1.0}; free in the cluster: {'CPU': 0.0}): other jobs hold the resources, a "
        "runtime_env is still being set up, or importing the objective's module does not end; "
        "the run stops (no_room_timeout: 2 s)")
    assert [t.status for t in study.trials()] == [TrialStatus.LAUNCHED] * 2  # none started
