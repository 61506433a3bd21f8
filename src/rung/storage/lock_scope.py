"""A session, or a write outside one, gives back the writer lock it took.

A journal that takes a study's writer role at its first ``append`` or ``claim``
(``SQLiteJournal``: a lock that only one driver at a time holds) keeps it until ``release``.
``outside_session`` gives it back at the end of a block unless the study held it when the block
began: ``Study.run`` / ``Study.simulate`` around their session, ``Study.set_budget`` and
``Study.enqueue`` around their one record, so the next session of this Study, of another
``Study`` object, or of another process may take it. Ask/tell holds it while it is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def outside_session(journal: Any, name: str) -> Iterator[None]:
    """Write in the block; the writer lock of study ``name`` is released afterwards, failed or
    not, unless ``journal`` held it when the block began (the optional ``holds`` /
    ``release`` of the ``Journal`` protocol; a journal without them is left as it is)."""
    holds = getattr(journal, "holds", None)
    release = getattr(journal, "release", None)
    if holds is None or release is None or holds(name):
        yield
        return
    try:
        yield
    finally:
        if holds(name):
            release(name)


__all__ = ["outside_session"]
