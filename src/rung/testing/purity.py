"""A guard that makes clock reads and global random draws raise (DESIGN §8).

Searchers and schedulers must read time only from events and randomness only from
``derive_rng``; inside ``forbid_impurity()`` any call to ``time.time``/``monotonic``/
``perf_counter``, ``datetime.now``, the ``random`` module or numpy's global RNG raises
``AssertionError`` naming the call.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

_TIME = ("time", "monotonic", "perf_counter", "time_ns", "monotonic_ns", "perf_counter_ns")
_RANDOM = (
    "random",
    "randint",
    "uniform",
    "choice",
    "shuffle",
    "sample",
    "gauss",
    "seed",
    "getrandbits",
)
_NUMPY = (
    "random",
    "rand",
    "randn",
    "randint",
    "uniform",
    "normal",
    "choice",
    "shuffle",
    "permutation",
    "seed",
)


def _raiser(name: str) -> Any:
    def f(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"impure call inside the engine: {name}()")

    return f


@contextlib.contextmanager
def forbid_impurity() -> Iterator[None]:
    saved: list[tuple[Any, str, Any]] = []

    def patch(obj: Any, attr: str, label: str) -> None:
        saved.append((obj, attr, getattr(obj, attr)))
        setattr(obj, attr, _raiser(label))

    try:
        for a in _TIME:
            patch(time, a, f"time.{a}")
        for a in _RANDOM:
            patch(random, a, f"random.{a}")
        for a in _NUMPY:
            patch(np.random, a, f"numpy.random.{a}")
        yield
    finally:
        for obj, attr, value in reversed(saved):
            setattr(obj, attr, value)
