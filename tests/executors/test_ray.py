"""``RayExecutor`` on a real multi-node Ray cluster on this machine.

The cluster (``ray.cluster_utils.Cluster``) has a head node without CPUs (the driver connects
there) and two worker nodes with one CPU each, one of which also declares one GPU; every node's
object store is small (``_ray_cluster``). It is started once for the module and shut down at
the end (no raylet outlives the tests). Tests marked ``ray`` skip when Ray is not installed.
The slow lane's cluster tests are ``test_ray_cluster_slow.py``; the tests without a cluster
(import hygiene, resource arithmetic, archives, arguments) are ``test_ray_offline.py``.

Nothing here waits on a clock: every search ends when its budget is spent, and interference
(removing a node, adding one) is triggered from the driver's ``on_turn`` hook when the engine
shows the state it needs.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import ray_objectives
from _ray_cluster import (
    ClusterHandle,
    check_results_complete,
    ckpt_root,
    cluster_fixture,  # noqa: F401  (the fixture "cluster": one cluster per module)
    journal,
    make_study,
    ray_test,
    runs,
)

from rung import ASHA, TrialStatus
from rung.core.events import (
    CapacityChanged,
    CheckpointSaved,
    DeleteCheckpoint,
)
from rung.errors import ConfigError, RungError
from rung.executors.ray import (
    RayExecutor,
)
from rung.executors.ray.transport import SocketTransport
from rung.testing import check_executor


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
@pytest.mark.usefixtures("cluster")
def test_an_actor_option_ray_refuses_is_a_config_error(tmp_path: Path) -> None:
    study = make_study(tmp_path, "actor-typo", 2)
    with pytest.raises(ConfigError) as e:
        study.run(ray_objectives.quick, executor="ray", actor_options={"num_cpu": 1})
    assert e.value.key == "actor_options.num_cpu"
    assert e.value.message.startswith(
        "not an option of Ray actors (did you mean 'num_cpus'? not an option here: set it in "
        "resources_per_trial ('cpu')) (Ray takes ")
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
