"""The Ray cluster the ``test_ray*`` cluster tests share, and what they read back.

``cluster`` is a module-scoped fixture (the function ``cluster_fixture``): every test module
that imports it starts its own ``ray.cluster_utils.Cluster`` (a head node without CPUs, where
the driver connects, and two worker nodes with one CPU each, one of which also declares one
GPU; small object stores) and shuts it down after its last test, so no raylet outlives a
module. ``ray_test`` marks a test that needs Ray (``ray`` marker; skipped when Ray is not
installed). ``make_study`` builds a study whose trials (``ray_objectives``) log every run to
``tmp_path``; ``runs``, ``journal`` and ``ckpt_root`` read back what the runs and the journal
recorded.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray_objectives

import rung
from _procs import alive as alive  # re-exported: test_ray_cluster_slow imports it here
from rung import Budget, Float, Objective, Study, TrialStatus

HAVE_RAY = importlib.util.find_spec("ray") is not None
NO_RAY = "Ray is not installed: pip install 'rung[ray]'"


def ray_test(fn: Any) -> Any:
    """Mark a test that needs Ray (and the module's cluster)."""
    return pytest.mark.ray(pytest.mark.skipif(not HAVE_RAY, reason=NO_RAY)(fn))


OBJECT_STORE = 80 * 1024 * 1024


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


@pytest.fixture(scope="module", name="cluster")
def cluster_fixture() -> Iterator[ClusterHandle]:
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
