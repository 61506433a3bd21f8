"""derive_rng: streams depend only on the seed and the keys."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rung.core.rng import StreamFactory, _state, derive_rng


def _reference_state(seed: int, keys: tuple[object, ...]) -> tuple[int, int]:
    d = hashlib.blake2b(repr((int(seed), keys)).encode(), digest_size=32).digest()
    return int.from_bytes(d[:16], "little"), int.from_bytes(d[16:], "little") | 1


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**63), st.text(max_size=12), st.integers(-(2**40), 2**40))
def test_fast_path_for_name_and_id_keys_is_the_general_hash(seed: int, name: str, i: int) -> None:
    s = _state(seed, (name, i))["state"]
    assert (s["state"], s["inc"]) == _reference_state(seed, (name, i))


def test_streams_are_reproducible_and_keyed() -> None:
    a = derive_rng(3, "searcher", 7).random(4)
    assert np.array_equal(a, derive_rng(3, "searcher", 7).random(4))
    assert not np.array_equal(a, derive_rng(3, "searcher", 8).random(4))
    assert not np.array_equal(a, derive_rng(4, "searcher", 7).random(4))
    assert not np.array_equal(a, derive_rng(3, "searcher", "7").random(4))  # types kept apart
    f = StreamFactory()
    assert np.array_equal(a, f(3, "searcher", 7).random(4))
    with pytest.raises(TypeError, match="keys"):
        derive_rng(0, object())
