from __future__ import annotations

import bisect

from hypothesis import given, settings
from hypothesis import strategies as st

from rung.core import sorted_table
from rung.core.sorted_table import SortedTable


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(-50, 50)), max_size=400))
def test_matches_a_sorted_list(ops: list[tuple[bool, int]]) -> None:
    old = sorted_table.LOAD
    sorted_table.LOAD = 4  # small blocks: exercise splits and block removal
    try:
        t, ref = SortedTable(), []
        for add, x in ops:
            if add or x not in ref:
                t.add(x)
                bisect.insort(ref, x)
            else:
                t.remove(x)
                ref.remove(x)
            assert len(t) == len(ref)
            # queries between updates: the rank index is updated in place, not only rebuilt
            assert t.bisect_left(x) == bisect.bisect_left(ref, x)
            if ref:
                i = abs(x) % len(ref)
                assert t[i] == ref[i]
        assert list(t) == ref
        for q in range(-52, 53, 7):
            assert t.bisect_left(q) == bisect.bisect_left(ref, q)
        for i in range(len(ref)):
            assert t[i] == ref[i]
            assert t[-1 - i] == ref[-1 - i]
    finally:
        sorted_table.LOAD = old


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-50, 50), max_size=60), st.lists(st.integers(-50, 50), max_size=60))
def test_update_adds_everything(first: list[int], batch: list[int]) -> None:
    old = sorted_table.LOAD
    sorted_table.LOAD = 4
    try:
        t = SortedTable()
        t.update(first)
        t.update(batch)  # small or large next to the table: both paths
        ref = sorted(first + batch)
        assert list(t) == ref and len(t) == len(ref)
        for i in range(len(ref)):
            assert t[i] == ref[i]
        for q in range(-51, 52, 5):
            assert t.bisect_left(q) == bisect.bisect_left(ref, q)
    finally:
        sorted_table.LOAD = old


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-30, 30), max_size=200))
def test_add_rank_is_add_then_bisect_left(items: list[int]) -> None:
    old = sorted_table.LOAD
    sorted_table.LOAD = 4
    try:
        t, ref = SortedTable(), []
        for x in items:
            assert t.add_rank(x) == bisect.bisect_left(ref, x)
            bisect.insort(ref, x)
            assert list(t) == ref
        for i in range(len(ref)):
            assert t[i] == ref[i]
    finally:
        sorted_table.LOAD = old
