"""``RayExecutor`` on a real multi-node Ray cluster: the slow tests (sessions that end and
resume, GPU fractions, cancelled actors, nodes that leave and join, a cluster with no room).

They run in the ``slow`` lane only, on a cluster of their own (``_ray_cluster.cluster``, started
once for this module); ``test_ray.py`` has the default lane's cluster tests. Nothing here waits
on a clock: interference is triggered from the driver's ``on_turn`` hook when the engine shows
the state it needs.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
import ray_objectives
from _ray_cluster import (
    OBJECT_STORE,
    ClusterHandle,
    alive,
    check_results_complete,
    cluster_fixture,  # noqa: F401  (the fixture "cluster": one cluster per module)
    journal,
    make_study,
    ray_test,
    runs,
)

import rung
from rung import ASHA, Study, TrialStatus
from rung.core.engine import Engine
from rung.core.events import (
    Cancel,
    CapacityChanged,
    Event,
    Launch,
    ResultReported,
    TrialEnded,
    TrialStarted,
)
from rung.core.records import Outcome
from rung.errors import RungError
from rung.executors.base import RunContext
from rung.executors.ray import (
    RayExecutor,
)


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
