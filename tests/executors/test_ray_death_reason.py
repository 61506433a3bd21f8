"""Why a Ray actor is gone, as a trial's ``interrupted`` reason says it, without a cluster: Ray's
own exception types stand in for what ``ray.get`` raises.

A lost node's actors are marked dead by Ray only after about 10 s; the driver sees the closed
connection (socket transport) or an unreachable actor (``transport="ray"``) at once. Until Ray
has a verdict, the reason says what is known, never Ray's ``GetTimeoutError`` text ("Get timed
out: some object(s) not ready.").
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

ray_exceptions = pytest.importorskip("ray.exceptions")

from rung.core.events import Event  # noqa: E402
from rung.core.records import Outcome  # noqa: E402
from rung.executors.pool import Pool  # noqa: E402
from rung.executors.ray.actors import ActorPool  # noqa: E402
from rung.executors.ray.transport import (  # noqa: E402
    NO_VERDICT,
    RayWorker,
    death_known,
    describe_death,
    error_of,
)

TIMEOUT = "Get timed out: some object(s) not ready."


def fake_ray(get: Callable[..., Any]) -> Any:
    """What ``error_of`` and ``ActorPool._bury`` use of the ``ray`` module."""

    def wait(refs: list[Any], num_returns: int = 1, timeout: float | None = None) -> Any:
        return [], refs

    def kill(actor: Any, no_restart: bool = True) -> None:
        pass

    return SimpleNamespace(get=get, wait=wait, kill=kill, exceptions=ray_exceptions)


def raising(err: BaseException) -> Callable[..., Any]:
    def get(ref: Any, timeout: float | None = None) -> Any:
        raise err

    return get


def node_died() -> BaseException:
    from ray.core.generated.common_pb2 import ActorDiedErrorContext

    return ray_exceptions.ActorDiedError(ActorDiedErrorContext(
        error_message="The actor died because its node has died. Node Id: 0e589390",
        actor_id=bytes(16), class_name="RayWorkerActor", pid=4242,
        node_ip_address="10.0.0.7"))


def unavailable() -> BaseException:
    return ray_exceptions.ActorUnavailableError(
        "The actor is temporarily unavailable: RpcError: RPC Error message: Socket closed; "
        "RPC Error code: 14", bytes(16))


def test_a_call_ray_has_no_verdict_on_yet_has_no_error() -> None:
    # the audit's case: the 1 s wait ended before Ray marked the lost node's actor dead
    ray = fake_ray(raising(ray_exceptions.GetTimeoutError(TIMEOUT)))
    assert error_of(ray, object()) is None


def test_a_finished_call_gives_its_error_or_none() -> None:
    err = node_died()
    assert error_of(fake_ray(raising(err)), object()) is err
    assert error_of(fake_ray(lambda ref, timeout=None: 42), object()) is None
    # an error that merely is a TimeoutError of the user's (or of the actor's own code) is an
    # error, not Ray's "not yet"
    mine = TimeoutError("the objective's own timeout")
    assert error_of(fake_ray(raising(mine)), object()) is mine


def test_without_a_verdict_the_reason_says_what_is_known() -> None:
    closed = describe_death(None)
    assert closed.startswith("its connection closed; ")
    assert NO_VERDICT in closed and "lost node" in closed and "10 s" in closed
    assert not death_known(None)

    gone = describe_death(unavailable())
    assert gone.startswith("the actor is unreachable (The actor ")
    assert "temporarily unavailable" in gone and gone.endswith(NO_VERDICT)
    assert not death_known(unavailable())
    assert "\n" not in gone


def test_ray_s_verdict_is_the_reason() -> None:
    assert describe_death(node_died()) == (
        "The actor died because its node has died. Node Id: 0e589390")
    assert death_known(node_died())
    killed = ray_exceptions.ActorDiedError()
    assert death_known(killed)
    assert describe_death(killed) == str(killed).splitlines()[0]


class _Pool(ActorPool):
    """``ActorPool`` with only what ``_bury`` needs; ``_end_run`` records the reason."""

    def __init__(self, ray: Any) -> None:
        Pool.__init__(self)
        self._ray = ray
        self._tp = None
        self._workers = {}
        self.ended: list[tuple[int, Outcome, str]] = []

    def _end_run(self, w: RayWorker, out: list[Event], outcome: Outcome, reason: str) -> None:
        assert w.trial is not None
        self.ended.append((w.trial, outcome, reason))


def _running_worker(trial: int) -> RayWorker:
    w = RayWorker(2, actor=object())
    w.pid, w.node, w.ready, w.trial = 32114, "192.0.2.2 (1753a643)", True, trial
    w.life = object()  # the serve() call (socket transport)
    return w


@pytest.mark.parametrize(("err", "expected"), [
    # socket transport: the connection closed, Ray still says "Get timed out" after 1 s
    (None, "Ray actor 2 (pid 32114) on node 192.0.2.2 (1753a643) was lost while running "
           f"trial 0: its connection closed; {NO_VERDICT}"),
    # transport="ray": the fetch() call failed with ActorUnavailableError
    (unavailable(), "Ray actor 2 (pid 32114) on node 192.0.2.2 (1753a643) was lost while "
                    "running trial 0: the actor is unreachable (The actor "),
    # Ray's verdict came in time
    (node_died(), "Ray actor 2 (pid 32114) on node 192.0.2.2 (1753a643) died while running "
                  "trial 0: The actor died because its node has died."),
])
def test_the_interrupted_trial_s_reason(err: BaseException | None, expected: str) -> None:
    pool = _Pool(fake_ray(raising(ray_exceptions.GetTimeoutError(TIMEOUT))))
    w = _running_worker(0)
    pool._workers[w.wid] = w
    pool._bury([(w, err)], [])
    [(trial, outcome, reason)] = pool.ended
    assert (trial, outcome) == (0, Outcome.INTERRUPTED)
    assert reason.startswith(expected)
    assert "Get timed out" not in reason
