"""How a ``Study`` session begins: what the last session left, the trials to retry, and the
session's ``RunContext``.

``StudyResume`` is the part of ``Study`` that ``run`` and ``simulate`` call before they drive:
it journals what the last session generated but never sent and ends the trials it left
running (``_resume_events``), makes the trials failed for too many interruptions resumable
again (``_retry_events``, for ``run(retry_failed=True)``), and builds the session's context:
where checkpoints go and what is left of the time bounds (``_run_context``). It reads the
study's ``spec``, ``engine``, ``journal`` and ``_tmpdir``, which ``Study`` initializes.
"""

from __future__ import annotations

import logging
import tempfile
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rung.callbacks import Callback
from rung.core.engine import Engine, is_retryable
from rung.core.events import CapacityChanged, Event, Record, TrialRetried
from rung.core.records import StudySpec, TrialStatus
from rung.core.registry import set_reading_probe
from rung.driver import turn
from rung.executors.base import RunContext
from rung.storage import Journal

log = logging.getLogger("rung.study")


#: set while ``reading_journal`` runs (in this thread or task only)
_READING: ContextVar[bool] = ContextVar("rung_reading_journal", default=False)
set_reading_probe(_READING.get)


@contextmanager
def reading_journal() -> Iterator[None]:
    """Build and replay components only to read a journal: inside, components whose user code
    cannot be imported here bind all the same (``rung.core.registry.reading_journal_only``)."""
    token = _READING.set(True)
    try:
        yield
    finally:
        _READING.reset(token)


def replayed_engine(spec: StudySpec, records: Sequence[Record], read_only: bool) -> Engine:
    """The engine ``Study.load`` replays from ``records``. ``read_only`` (a read-only load, or
    a read-only journal: ``rung show``, ``rung ls``, ``rung export``): the study is only read,
    so the user's code its components name (a PBT ``explore=`` function, an
    ``OptunaSearcher``'s sampler class) need not import here (``reading_journal``): every
    launched trial's params and every reason come from the journal. A load
    that may go on to run the study imports it, or refuses with ``ConfigError`` naming it.

    A read-only load of a journal whose replay diverges (another algorithm version wrote it:
    ``docs/versions.md``) reads it as written from the divergent event on
    (``rung.core.as_written``; ``engine.read_as_written`` says so): every trial, result and
    decision is the journal's, and the engine refuses to decide anything new. A load that may
    run the study raises the ``ReplayDivergenceError``, which says what to do."""
    if not read_only:
        return Engine.replay(spec, records)
    with reading_journal():
        return Engine.replay(spec, records, as_written=True)


class StudyResume:
    """The start of a ``Study`` session (a mixin: every attribute below is the study's)."""

    spec: StudySpec
    engine: Engine
    journal: Journal
    _tmpdir: tempfile.TemporaryDirectory[str] | None

    if TYPE_CHECKING:
        @property
        def name(self) -> str:  # the study's name: ``StudyViews.name``
            ...

    # --- journaled handling -------------------------------------------------------------------
    def _checkpoint_dir(self) -> Path:
        """Where a run's checkpoints go: the journal's directory for them, or a temporary
        directory that lives as long as this ``Study``: ``close`` removes it at once, and
        otherwise it is removed, silently, when the study is garbage-collected or at the
        latest when the interpreter exits (never a ``ResourceWarning``: ``rung.run`` hands
        back an open in-memory study, and dropping it is not a leak)."""
        kept = self.journal.checkpoint_dir(self.name)
        if kept is not None:
            return kept
        if self._tmpdir is None:
            tmp = tempfile.TemporaryDirectory(prefix=f"rung-{self.name}-")
            self._tmpdir = tmp
            # Created after ``tmp``'s own finalizer, so it runs first at exit too; ``cleanup``
            # detaches that one (which would warn), and does nothing after ``close``.
            weakref.finalize(self, tmp.cleanup)
        return Path(self._tmpdir.name)

    def _resume_events(self, now: float) -> list[Event]:
        """Before a new session: journal what the last one generated but never sent, and end
        the trials it left running (``Engine.abandoned_ends``: as decided, completed when it
        had reported max_step, else interrupted; with capacity 0, so nothing is launched
        into the old session's slots)."""
        if self.engine.tail:
            self.journal.append(self.name, self.engine.tail)
            self.engine.tail = []
        if not self.engine.active:
            return []
        first: list[Event] = [CapacityChanged(0, now, new_session=True)]
        first += self.engine.abandoned_ends(now)
        return first

    def _run_context(self, objective: Callable[..., Any] | None) -> RunContext:
        """The session's context: checkpoints, and the time bounds (what is left of
        ``Budget.max_time``, and ``trial_timeout``)."""
        max_time = self.spec.budget.max_time
        left = None if max_time is None else max(max_time - self.engine.elapsed, 0.0)
        ckpt = self._checkpoint_dir() if objective is not None else None
        return RunContext(self.name, ckpt, self.spec.max_step, objective,
                          trial_timeout=self.spec.trial_timeout, max_time=left)

    def _retryable(self) -> list[int]:
        """The trials failed for too many interruptions (``retry_failed`` resumes them)."""
        h = self.engine.history
        return [t for t in h.ids(TrialStatus.FAILED) if is_retryable(h.error(t))]

    def _retry_events(
        self, first: list[Event], now: float, callbacks: Sequence[Callback] = ()
    ) -> list[Event]:
        """Journal the resume events now (they may fail trials for too many interruptions),
        then ``TrialRetried`` for every trial failed that way, with no capacity yet: the
        session's first ``CapacityChanged`` launches them."""
        if first:
            commands = turn(self.engine, self.journal, self.name, first)
            for cb in callbacks:
                cb.on_turn(first, commands, self.engine.history)
        retry: list[Event] = [TrialRetried(t, now) for t in self._retryable()]
        if retry:
            log.info("study %s: retrying %d trial(s) failed for too many interruptions",
                     self.name, len(retry))
            if not first:  # no slot may be filled before the new session starts
                retry.insert(0, CapacityChanged(0, now, new_session=True))
        return retry

    def _resume_hint(self) -> str:
        """The line an interrupted ``run`` ends with: what to do next."""
        path = getattr(self.journal, "path", None)
        load = (f"rung.Study.load({self.name!r}, storage={str(path)!r}).run(objective), or "
                f"this Study object's run(objective)" if path is not None
                else "this Study object's run(objective)")
        return (f"study {self.name}: interrupted; the journal is intact: resume it with "
                f"{load}; its runs in flight go on from their last checkpoint")


__all__ = ["StudyResume", "reading_journal", "replayed_engine"]
