"""``rung.study_gc.gc_paused``: the cyclic collector is off in the block and as it was after,
whatever the block does; ``Study.load`` and the CLI's ``open_study`` leave it as they found it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

import rung
from rung.cli.stored import open_study
from rung.study_gc import gc_paused


@pytest.fixture
def collector() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        (gc.enable if was else gc.disable)()


def test_the_block_runs_without_the_collector_and_it_comes_back(collector: None) -> None:
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested: the outer block resumes it
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_it_comes_back_when_the_block_raises(collector: None) -> None:
    with pytest.raises(KeyError), gc_paused():
        raise KeyError("x")
    assert gc.isenabled()


def test_what_the_block_built_stays_collectable(collector: None) -> None:
    """It is moved to the oldest generation, not left frozen: a cycle made in the block is
    found by the next full collection."""
    import weakref

    class Node:
        other: Node

    with gc_paused():
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
    assert gc.get_freeze_count() == 0
    assert gone() is not None  # a cycle: reference counting alone keeps it
    gc.collect()
    assert gone() is None


def test_objects_the_process_froze_itself_stay_frozen(collector: None) -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with gc_paused():
            assert not gc.isenabled()
        assert gc.isenabled() and gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_a_collector_turned_off_before_stays_off(collector: None) -> None:
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_loading_a_study_leaves_the_collector_on(collector: None, tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    s = rung.Study.create("s", {"x": rung.Float(0.0, 1.0)}, objective="loss",
                          searcher="random", scheduler="fifo", max_step=2,
                          budget=rung.Budget(n_trials=3), seed=0, storage=db)
    for _ in range(3):
        t = s.ask()
        assert t is not None
        s.report(t.id, 1, {"loss": 0.5})
        s.tell(t.id, "completed", {"loss": 0.25})
    s.close()
    loaded = rung.Study.load("s", db)
    assert gc.isenabled() and len(loaded.trials()) == 3
    loaded.close()
    with open_study(db, "s") as study:
        assert not gc.isenabled() and len(study.trials()) == 3
    assert gc.isenabled()
