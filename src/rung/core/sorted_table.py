"""``SortedTable``: a sorted multiset with O(LOAD + log n) inserts, removals and rank queries.

A plain list kept sorted with ``bisect.insort`` moves up to n items per insert, so per-step score
tables (every trial reports step 1) would cost O(n) per report and overall O(n^2). Here items
live in sorted blocks of at most ``2 * LOAD`` entries, with the blocks' maxima in a separate
index. An insert moves at most a block's worth of items (a ``memmove``, cheap next to Python
bytecode). Ranks need the number of items in the blocks before a given one: a Fenwick tree
(binary indexed tree; Fenwick, Software: Practice and Experience 1994) over the block lengths
answers that in O(log blocks) and is updated in O(log blocks) per insert, so no per-insert
O(blocks) prefix-sum rebuild happens; it is rebuilt only when blocks split or vanish (once per
``LOAD`` inserts at most). Stdlib only, like the rest of the core.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Iterator
from typing import Any

LOAD = 512


class SortedTable:
    __slots__ = ("_blocks", "_len", "_maxes", "_tree")

    def __init__(self) -> None:
        self._blocks: list[list[Any]] = []
        self._maxes: list[Any] = []
        # Fenwick tree over len(block): _tree[i] (1-based) sums the lengths of blocks
        # (i - lowbit(i), i]. ``None`` when it must be rebuilt (after a split or a removal).
        self._tree: list[int] | None = [0]
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

    # --- Fenwick tree over block lengths ----------------------------------------------------
    def _fenwick(self) -> list[int]:
        tree = self._tree
        if tree is None:
            n = len(self._blocks)
            tree = [0] * (n + 1)
            for i, b in enumerate(self._blocks, 1):
                tree[i] += len(b)
                j = i + (i & -i)
                if j <= n:
                    tree[j] += tree[i]
            self._tree = tree
        return tree

    def _grow(self, block: int, delta: int) -> None:
        """Add ``delta`` to the length of block ``block`` (0-based) in the tree, if it is built."""
        tree = self._tree
        if tree is None:
            return
        i = block + 1
        n = len(tree)
        while i < n:
            tree[i] += delta
            i += i & -i

    def _before(self, block: int) -> int:
        """Number of items in blocks ``0 .. block - 1``."""
        tree = self._fenwick()
        total = 0
        i = block
        while i > 0:
            total += tree[i]
            i -= i & -i
        return total

    # --- updates ----------------------------------------------------------------------------
    def add(self, item: Any) -> None:
        self._insert(item)

    def add_rank(self, item: Any) -> int:
        """Add ``item`` and return its rank: the number of items strictly less than it (one
        search instead of ``add`` then ``bisect_left``)."""
        i, j = self._insert(item)
        return self._before(i) + j if i else j

    def _insert(self, item: Any) -> tuple[int, int]:
        """Insert ``item``; returns (block, position in the block) where it went (before any
        split)."""
        self._len += 1
        blocks = self._blocks
        if not blocks:
            blocks.append([item])
            self._maxes.append(item)
            self._tree = None
            return 0, 0
        i = bisect.bisect_left(self._maxes, item)
        if i == len(blocks):
            i -= 1
            block = blocks[i]
            j = len(block)
            block.append(item)
            self._maxes[i] = item
        else:
            block = blocks[i]
            j = bisect.bisect_left(block, item)
            block.insert(j, item)
        if len(block) > 2 * LOAD:
            blocks[i : i + 1] = [block[:LOAD], block[LOAD:]]
            self._maxes[i : i + 1] = [block[LOAD - 1], block[-1]]
            self._tree = None
        else:
            self._grow(i, 1)
        return i, j

    def update(self, items: list[Any]) -> None:
        """Add many items: one by one when they are few next to the table, else by one sort
        of everything and a rebuild of the blocks (``O((n + k) log(n + k))``)."""
        if len(items) * 8 < self._len:
            for item in items:
                self.add(item)
            return
        merged = sorted([*self, *items])
        self._blocks = [merged[i : i + LOAD] for i in range(0, len(merged), LOAD)]
        self._maxes = [b[-1] for b in self._blocks]
        self._len = len(merged)
        self._tree = None

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
        if not block:
            del self._blocks[i]
            del self._maxes[i]
            self._tree = None
        else:
            self._maxes[i] = block[-1]
            self._grow(i, -1)

    def discard(self, item: Any) -> None:
        with contextlib.suppress(ValueError):
            self.remove(item)

    # --- queries ----------------------------------------------------------------------------
    def bisect_left(self, item: Any) -> int:
        """Number of items strictly less than ``item``."""
        i = bisect.bisect_left(self._maxes, item)
        if i == len(self._blocks):
            return self._len
        return self._before(i) + bisect.bisect_left(self._blocks[i], item)

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        blocks = self._blocks
        if index < len(blocks[0]):
            return blocks[0][index]
        if index >= self._len - len(blocks[-1]):
            return blocks[-1][index - (self._len - len(blocks[-1]))]
        # Fenwick descent: the last block position whose prefix length is <= index
        tree = self._fenwick()
        n = len(tree) - 1
        pos = 0
        rest = index
        step = 1 << n.bit_length()
        while step:
            nxt = pos + step
            if nxt <= n and tree[nxt] <= rest:
                pos = nxt
                rest -= tree[nxt]
            step >>= 1
        return blocks[pos][rest]
