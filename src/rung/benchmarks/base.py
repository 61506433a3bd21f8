"""The ``Benchmark`` protocol the simulated executor trains against, and shared helpers.

A benchmark stands in for a training function: instead of running an epoch, the simulated executor
asks ``evaluate(params, step)`` for the metrics a configuration would report at fidelity ``step``
and for the virtual seconds that step would have taken, and advances its clock by that much.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from rung._validate import is_int
from rung.errors import SpaceError
from rung.space import SearchSpace


@runtime_checkable
class Benchmark(Protocol):
    """A synthetic multi-fidelity problem with a cheap, deterministic ``evaluate``.

    Attributes:
        name: Registry name of the problem (``get_benchmark(name)`` builds it).
        space: The search space configurations are drawn from.
        max_step: The highest fidelity; valid steps are ``1..max_step``.
        metric: Name of the metric to optimize; always a key of ``evaluate``'s metrics.
        mode: ``"min"`` or ``"max"``: the direction in which ``metric`` improves.
        optimum: The best value of ``metric`` any configuration reaches at ``max_step``, or
            ``None`` when it is not known. Used to report regret.

    Contract of ``evaluate`` (who relies on what):

    * It is called by the simulated executor once per reported step of a trial, possibly millions
      of times per simulation, so it must be cheap (microseconds) and do no I/O.
    * It is a pure function of ``(benchmark arguments, seed, params, step)``: the same call
      gives the same answer in any order, any process and on any machine. All randomness comes
      from ``rung.core.rng.derive_rng`` keyed by the benchmark's seed and the parameters (the
      step picks a draw from that stream), never from global random state, so simulated runs
      are bit-for-bit reproducible and replayable.
    * ``step`` must satisfy ``1 <= step <= max_step``; anything else raises ``ValueError`` naming
      the step. ``params`` holds at least the tunable parameters of ``space``; extra keys are
      ignored, a missing one raises ``SpaceError``.
    * The returned seconds are the virtual cost of training from ``step - 1`` to ``step`` (so a
      trial that runs to step ``k`` costs the sum over steps ``1..k``); always ``> 0``.
    * Steps are evaluated independently: a scheduler may ask for step 5 of a configuration
      without having asked for steps 1..4 (e.g. after a pause and resume), and gets the same
      answer as if it had.
    """

    name: str
    space: SearchSpace
    max_step: int
    metric: str
    mode: str
    optimum: float | None

    def evaluate(self, params: Mapping[str, Any], step: int) -> tuple[dict[str, float], float]:
        """Metrics of ``params`` at fidelity ``step`` and the seconds the step costs.

        Args:
            params: A configuration of ``space``.
            step: The fidelity, in ``1..max_step``.

        Returns:
            ``(metrics, seconds)``: ``metrics[metric]`` is the objective at this fidelity;
            ``seconds > 0`` is the simulated cost of going from ``step - 1`` to ``step``.

        Raises:
            ValueError: ``step`` is outside ``1..max_step``.
            SpaceError: a parameter of ``space`` is missing from ``params``.
        """
        ...


def regret(benchmark: Benchmark, value: float) -> float:
    """Distance of ``value`` from the benchmark's optimum, in its direction; never negative.

    Low-fidelity values can overshoot the max-fidelity optimum (a biased approximation may
    undercut it); that clamps to 0.

    Raises:
        ValueError: the benchmark's optimum is unknown (``optimum is None``).
    """
    if benchmark.optimum is None:
        raise ValueError(f"benchmark {benchmark.name!r} has no known optimum, so no regret")
    gap = value - benchmark.optimum if benchmark.mode == "min" else benchmark.optimum - value
    return max(0.0, float(gap))


# --- helpers shared by the implementations (private to rung.benchmarks) ---------------------


def space_mismatch(benchmark: Any, space: SearchSpace, extra: bool = True) -> str | None:
    """What keeps ``space`` from being searched on ``benchmark``, or ``None``: the benchmark's
    parameters the space lacks (every evaluation would raise ``SpaceError``) and, with
    ``extra``, the space's parameters the benchmark never reads (a dimension searched for
    nothing; ``evaluate`` ignores them). The one rule of ``rung run``'s spec check (both) and
    ``Study.simulate`` (missing ones only, the protocol allowing extra keys)."""
    own = getattr(benchmark, "space", None)
    if not isinstance(own, SearchSpace):
        return None
    missing = [p for p in own if p not in space]
    unread = [p for p in space if p not in own] if extra else []
    if not missing and not unread:
        return None
    what = "; ".join(part for part in (
        f"missing {', '.join(missing)}" if missing else "",
        f"not a parameter of it: {', '.join(unread)}" if unread else "") if part)
    name = getattr(benchmark, "name", type(benchmark).__name__)
    return f"the benchmark {name} takes {', '.join(own)} ({what})"


def check_step(name: str, step: Any, max_step: int) -> int:
    """``step`` as an ``int`` if it is an integer in ``1..max_step``, else ``ValueError`` naming it.

    Implementations test ``type(step) is int and 1 <= step <= max_step`` inline and only call this
    on the rare other path (NumPy integers, errors), to keep ``evaluate`` cheap.
    """
    if not is_int(step) or not (1 <= step <= max_step):
        raise ValueError(f"{name}: step {step!r} is outside 1..{max_step}")
    return int(step)


def read_floats(name: str, params: Mapping[str, Any], keys: Sequence[str]) -> tuple[float, ...]:
    """The values of ``keys`` in ``params`` as floats, or ``SpaceError`` naming a missing key.

    ``+ 0.0`` turns ``-0.0`` into ``0.0``: the two are equal as cache keys but have different
    ``repr``s, so without it the noise of a zero could depend on which sign was seen first.
    """
    try:
        return tuple([float(params[k]) + 0.0 for k in keys])
    except KeyError as e:
        k = str(e.args[0])
        raise SpaceError(
            key=k, param=k, message=f"missing from the params given to {name}: {dict(params)!r}"
        ) from None


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ConfigCache(Generic[K, V]):
    """A bounded memo of per-configuration quantities (the noise of every step, sums, costs).

    Deriving a random stream costs tens of microseconds, far more than the functions themselves;
    a simulation evaluates the same configuration at step after step, so everything that depends
    only on the configuration is computed once, for all steps, and kept here. The cached values
    are deterministic functions of the key, so eviction (oldest first) never changes a result.
    """

    __slots__ = ("_data", "_make", "_size")

    def __init__(self, make: Callable[[K], V], size: int = 1 << 15) -> None:
        self._make = make
        self._size = size
        self._data: dict[K, V] = {}

    def get(self, key: K) -> V:
        data = self._data
        value = data.get(key)
        if value is None:
            value = self._make(key)
            if len(data) >= self._size:
                del data[next(iter(data))]
            data[key] = value
        return value
