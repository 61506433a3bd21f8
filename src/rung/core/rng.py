"""Deterministic random streams: every random draw in rung comes from ``derive_rng``."""

from __future__ import annotations

import hashlib

import numpy as np


def _key_words(key: object) -> list[int]:
    """Map a key (str, int, float, bool, None, tuple of those) to stable 32-bit words.

    Python's ``hash`` is salted per process, so keys are hashed with BLAKE2b instead: the same
    key gives the same words on every machine and in every process."""
    if isinstance(key, bool) or key is None or isinstance(key, float):
        data = repr(key).encode()
    elif isinstance(key, int):
        if 0 <= key < 2**32:
            return [key]
        data = str(key).encode()
    elif isinstance(key, str):
        data = key.encode()
    elif isinstance(key, tuple):
        return [w for k in key for w in _key_words(k)]
    else:
        raise TypeError(
            f"derive_rng keys must be str, int, float, bool, None or tuples, not {key!r}"
        )
    digest = hashlib.blake2b(data, digest_size=8).digest()
    return [int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:], "little")]


def derive_rng(seed: int, *keys: object) -> np.random.Generator:
    """A generator determined only by ``seed`` and ``keys``.

    ``derive_rng(seed, "searcher", trial_id)`` gives the same stream in a live run and in a replay,
    independent of how many other draws happened before: that is what makes decisions
    reproducible under asynchronous event orders.
    """
    words: list[int] = [int(seed) & 0xFFFFFFFF, (int(seed) >> 32) & 0xFFFFFFFF]
    for k in keys:
        words.extend(_key_words(k))
        words.append(0x9E3779B9)  # separator, so ("ab",) and ("a", "b") differ
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))
