"""A study's journal folds, kept between calls of its views and continued with the records
appended since.

``Study.trials_dataframe``, ``results_dataframe``, ``ledger`` and the figures fold the study's
journal (``rung.journal_fold.JournalFold``, the ledger's ``rung.cost.ledger_fold._Fold``).
Folding it again from its first record at every call costs a full read of the journal and a full
fold (3.4 s a call at 30,000 trials); keeping every record in memory would cost memory for the
study's life. ``StudyFolds`` keeps the folds themselves, and how many records they have read
(``n``): a later call reads only the records after them (``Journal.read(name, after=...)``),
continues the folds with those, and gives what a fold of the whole journal from scratch gives.
A view that no call has asked for yet is folded from the first record when it is first asked for,
and from then on kept with the others, at the same record.

**Where the records come from.** While the study is the snapshot a read-only ``Study.load``
replayed (``StudyViews._kept_replay``: its engine unchanged), its kept records, folded once;
else its journal. A new source (the snapshot's engine changed, another ``journal`` object,
another study name) starts the folds afresh.

**What the cache assumes, and what it checks.** A journal is append-only under a study's name:
records are added after the last one, never changed, removed or put between (``Journal``;
another process running the study only appends, under its writer lock). The folds are kept only
while the journal still starts with the records they read; what can break that is a study
deleted and created again under the same name in the same journal (``docs/spec.md``, "Deleting
a study"), or a journal restored from a copy, cut, or repaired (a ``.recover`` may leave gaps in
SQLite's numbering, where ``read(after=k)`` is "``seq > k``", not "after the first ``k``"). The
protocol has no cheap way to tell for certain (nothing like a study's creation stamp or a
checksum of its records), so every call that reads the journal checks two things, and folds
everything again, from the first record, when either differs:

- the study's stored spec (``Journal.load_study``), which a study created again with other
  settings changes;
- the last ``TAIL`` records the folds read: the call reads from ``n - TAIL`` on (the new records
  after those), and they must be the same records (equal, or encoded alike: a NaN metric),
  as many: a journal cut below ``n`` has fewer, a re-created study other times and trials.

A re-created or rewritten journal whose spec and records at those positions are the very same
while some earlier record differs goes unnoticed (a deterministic simulation re-run with the same
settings writes the same records, whose fold is the same anyway); so does one re-created between
this check and the read that follows it (no transaction spans both). ``forget`` drops the folds:
the next call folds the journal from its start.

**Sharing.** The folds are the cache's own. ``fold`` lends the ``JournalFold`` to a block that
only reads it (the dataframes are built from it, rows and frames of their own), under the lock;
``journal_fold`` gives a ``JournalFold.copy``; ``ledger`` gives a ``Ledger`` that shares nothing
mutable with the cache. A caller that changes what it was given cannot change the next call's
result. One lock per study serializes the calls (a view called from another thread while a run
goes on).

Cost of a call: one read of the records after ``n - TAIL`` (``load_study`` besides), O(new
records) to fold them; the rows and frames are O(trials + results) as before.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rung.core.events import Record
from rung.journal_fold import JournalFold

if TYPE_CHECKING:
    from rung.core.history import History
    from rung.cost.ledger import Ledger
    from rung.cost.ledger_fold import _Fold
    from rung.study_views import StudyViews

#: how many of the last records folded a call reads again, to check the journal still holds them
TAIL = 4


def same_record(a: Record, b: Record) -> bool:
    """``a`` and ``b`` are the same journaled record: the same object, equal, or, when equality
    says no (a NaN metric is not equal to itself) or cannot say (a metric that compares
    elementwise), the same kind and JSON body (``rung.storage.codec.dumps``); ``False`` when
    a record cannot be encoded (not known to be the same: the caller folds afresh)."""
    if a is b:
        return True
    try:
        if a == b:
            return True
    except Exception:  # (an array among the metrics of a MemoryJournal that did not check)
        pass
    from rung.storage.codec import dumps

    try:
        return dumps(a) == dumps(b)
    except Exception:  # not JSON (a MemoryJournal that did not check)
        return False


class StudyFolds:
    """The folds of one study's records, as of its first ``n`` (see the module docstring).

    ``fold(views)``, ``journal_fold(views)`` and ``ledger(views)`` first bring the folds up to
    the records there are now, then give them. ``views`` is the ``StudyViews`` (a ``Study``)
    whose cache this is: its ``spec``, ``engine``, ``journal`` and kept records are read at
    each call, so a study whose engine or journal changed is followed."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # (a view called inside a lent block: no deadlock)
        self._source: tuple[object, str] | None = None
        self._stored: dict[str, Any] | None = None
        self._n = 0
        self._tail: list[Record] = []
        self._jf: JournalFold | None = None
        self._ledger: _Fold | None = None
        #: the history whose tags ``self._jf.replacements`` was read from (``replaced_by``)
        self._history: History | None = None

    @property
    def n_records(self) -> int:
        """Records folded so far (0: none, or nothing folded yet)."""
        return self._n

    def forget(self) -> None:
        """Drop the folds: the next call folds every record again."""
        with self._lock:
            self._forget()

    @contextlib.contextmanager
    def fold(self, views: StudyViews) -> Iterator[JournalFold]:
        """The study's ``JournalFold`` of every record there is now, lent to the block, which
        must only read it (``trial_rows``, ``result_rows``, ``trials_dataframe``...: what they
        build is their own); the lock is held for the block."""
        with self._lock:
            self._sync(views, fold=True, ledger=False)
            jf = self._jf
            assert jf is not None
            history = views.engine.history
            if history is not self._history:
                # ``replaced_by`` keeps what it read of a history's tags on the fold: read it
                # again from this one
                jf.replacements = {}
                jf._tags_seen = 0
                self._history = history
            yield jf

    def journal_fold(self, views: StudyViews) -> JournalFold:
        """A copy of the study's ``JournalFold`` of every record there is now
        (``JournalFold.copy``): the caller's own, to read, change or update."""
        with self.fold(views) as jf:
            return jf.copy()

    def ledger(self, views: StudyViews) -> Ledger:
        """The study's ``Ledger`` of every record there is now (``rung.cost.ledger.ledger``),
        sharing nothing mutable with the cache. The ledger's fold depends on the spec (prices,
        resources, ``max_step``, objective, constraints, budget): a study whose ``spec`` is no
        longer the one it was folded under (neither the same object nor equal) has it folded
        again from the first record."""
        with self._lock:
            kept = self._ledger
            if kept is not None and not (kept.spec is views.spec or kept.spec == views.spec):
                self._ledger = None
            self._sync(views, fold=False, ledger=True)
            assert self._ledger is not None
            led = self._ledger.result()
        # ``_Fold.result`` builds the rest afresh; the stop rule's evidence it copies shallowly
        return replace(led, stopped=copy.deepcopy(led.stopped))

    # --- bringing the folds up to date --------------------------------------------------------
    def _forget(self) -> None:
        self._source = None
        self._stored = None
        self._n = 0
        self._tail = []
        self._jf = None
        self._ledger = None
        self._history = None

    def _sync(self, views: StudyViews, fold: bool, ledger: bool) -> None:
        """Fold the records after the first ``n`` into the folds there are, making those asked
        for (``fold``, ``ledger``) that are not there yet from every record; everything again
        from the first record when the source changed or no longer starts with what was
        folded. Any error leaves no fold behind (the next call starts afresh)."""
        try:
            self._sync_unguarded(views, fold, ledger)
        except BaseException:
            self._forget()
            raise

    def _sync_unguarded(self, views: StudyViews, fold: bool, ledger: bool) -> None:
        read, source, stored = self._reader(views)
        known = self._source
        if (known is None or source[0] is not known[0] or source[1] != known[1]
                or stored != self._stored):
            self._forget()
            self._source, self._stored = source, stored
        missing = (fold and self._jf is None) or (ledger and self._ledger is None)
        n = self._n
        base = 0 if missing or not n else max(0, n - TAIL)
        records = read(base)
        if n and not self._holds_tail(records, base):
            self._forget()  # rewritten under the same name: fold it all again
            self._source, self._stored = source, stored
            n = 0
            if base:
                base, records = 0, read(0)
        new = records[n - base:] if n else records
        if self._jf is not None:
            self._jf.update(new)
        if self._ledger is not None:
            feed = self._ledger.feed
            for r in new:
                feed(r)
        if fold and self._jf is None:
            self._jf = JournalFold().update(records)
            self._history = None
        if ledger and self._ledger is None:
            from rung.cost.ledger_fold import _Fold

            self._ledger = fresh = _Fold(views.spec)
            for r in records:
                fresh.feed(r)
        self._n = base + len(records)
        # (read from ``n - TAIL`` on, the records hold the old tail: at least TAIL of them)
        self._tail = list(records[-TAIL:])

    def _holds_tail(self, records: Sequence[Record], base: int) -> bool:
        """The journal, read from record ``base`` on (``records``), still holds the last
        records folded (``self._tail``, the records ``n - len(tail)`` to ``n``) where they were
        read."""
        tail = self._tail
        start = self._n - len(tail) - base
        if start < 0 or len(records) < start + len(tail):
            return False
        return all(same_record(a, b) for a, b in zip(tail, records[start:start + len(tail)],
                                                     strict=True))

    @staticmethod
    def _reader(views: StudyViews) -> tuple[Callable[[int], list[Record]], tuple[object, str],
                                            dict[str, Any] | None]:
        """Where the records come from: ``read(after)`` (the records after the first
        ``after``), what identifies that source, and the study's stored spec (``None`` for
        kept records, which no one rewrites)."""
        name = views.name
        kept = views._kept_replay()
        if kept is not None:
            records = kept.records
            return (lambda after: records[after:]), (kept, name), None
        journal = views.journal
        stored = journal.load_study(name)
        return (lambda after: journal.read(name, after)), (journal, name), stored


__all__ = ["TAIL", "StudyFolds", "same_record"]
