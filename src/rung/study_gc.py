"""``gc_paused``: Python's cyclic garbage collector held off while a study is read.

Reading a study builds its whole state at once: the journal's records (about seven per trial),
then the replayed ``History`` (a state, results and score tables per trial), all of it kept.
Every few hundred new objects the collector runs, and every so often it walks every object
that survived so far, to find reference cycles that a load makes almost none of: on a study of
10^5 trials those walks are about a quarter of ``Study.load``'s time, for nothing. Reference
counting still frees everything else at once.

What the block built is then moved to the collector's oldest generation in one step (a
``gc.freeze()`` and ``gc.unfreeze()``: O(1)), as if it had survived the collections it
skipped: left in the youngest, the collections that follow would walk all of it two or three
times over (a second each, at 10^5 trials) before they settled there. It stays collectable:
the next full collection, which comes as it would have, finds any cycle in it. Not when the
process keeps objects frozen itself (``gc.freeze()`` before a ``fork``): those stay as they
are, and the block's objects age as usual.

The collector is one per process: a pause also holds it off in the process's other threads
for the block's duration (as a load's own work would keep them waiting on the GIL anyway).
Only the block that paused it resumes it, so nested and concurrent pauses end with the
collector as it was before the first.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold off the cyclic garbage collector for the block (nothing, if it is already off),
    then move what is alive to its oldest generation and turn it back on, also when the
    block raises."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:  # nobody keeps objects frozen: promote, don't walk
            gc.freeze()
            gc.unfreeze()
        gc.enable()


__all__ = ["gc_paused"]
