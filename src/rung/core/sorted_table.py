"""``SortedTable``: a sorted multiset with O(sqrt n) inserts and O(log n) rank queries.

A plain list kept sorted with ``bisect.insort`` moves up to n items per insert, so per-step score
tables (every trial reports step 1) would cost O(n) per report and overall O(n^2). Here items
live in sorted blocks of at most ``LOAD`` entries, with the blocks' maxima in a separate index:
an insert moves at most ``LOAD`` items, a rank sums block lengths (cached prefix sums, rebuilt
lazily). Stdlib only, like the rest of the core.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

LOAD = 512


class SortedTable:
    __slots__ = ("_blocks", "_len", "_maxes", "_offsets")

    def __init__(self) -> None:
        self._blocks: list[list[Any]] = []
        self._maxes: list[Any] = []
        self._offsets: list[int] | None = []
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def __iter__(self) -> Iterator[Any]:
        for b in self._blocks:
            yield from b

    def __repr__(self) -> str:
        return f"SortedTable({list(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SortedTable):
            return list(self) == list(other)
        if isinstance(other, list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def add(self, item: Any) -> None:
        self._len += 1
        self._offsets = None
        if not self._blocks:
            self._blocks.append([item])
            self._maxes.append(item)
            return
        i = bisect.bisect_left(self._maxes, item)
        if i == len(self._blocks):
            i -= 1
            self._blocks[i].append(item)
            self._maxes[i] = item
        else:
            bisect.insort(self._blocks[i], item)
        block = self._blocks[i]
        if len(block) > 2 * LOAD:
            self._blocks[i : i + 1] = [block[:LOAD], block[LOAD:]]
            self._maxes[i : i + 1] = [block[LOAD - 1], block[-1]]

    def remove(self, item: Any) -> None:
        """Remove one occurrence of ``item``; ``ValueError`` if absent."""
        i = bisect.bisect_left(self._maxes, item)
        if i == len(self._blocks):
            raise ValueError(f"{item!r} not in table")
        block = self._blocks[i]
        j = bisect.bisect_left(block, item)
        if j == len(block) or block[j] != item:
            raise ValueError(f"{item!r} not in table")
        del block[j]
        self._len -= 1
        self._offsets = None
        if not block:
            del self._blocks[i]
            del self._maxes[i]
        else:
            self._maxes[i] = block[-1]

    def discard(self, item: Any) -> None:
        with contextlib.suppress(ValueError):
            self.remove(item)

    def _prefix(self) -> list[int]:
        if self._offsets is None:
            self._offsets = [0, *accumulate(len(b) for b in self._blocks)]
        return self._offsets

    def bisect_left(self, item: Any) -> int:
        """Number of items strictly less than ``item``."""
        i = bisect.bisect_left(self._maxes, item)
        if i == len(self._blocks):
            return self._len
        return self._prefix()[i] + bisect.bisect_left(self._blocks[i], item)

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        if index < len(self._blocks[0]):
            return self._blocks[0][index]
        prefix = self._prefix()
        i = bisect.bisect_right(prefix, index) - 1
        return self._blocks[i][index - prefix[i]]
