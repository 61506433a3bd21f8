"""The rung study of one ``RungSearchCV.fit`` (``rung.sklearn``): where it is journaled, under
which name, and how its trials end when the search raises.

- ``check_storage``: ``storage`` is a path or ``None``, never a ``Journal`` object;
- ``create_study``: the study, created under the name given or the first free one of
  ``<base>``, ``<base>-2``, ``<base>-3``, ... (taken atomically: fits running in parallel on one
  file each get a name of their own), marked as driven by scikit-learn (``HOST``), so that
  ``rung show`` does not suggest resuming it;
- ``end_active``: end the trials a raising search left running, ``failed`` with the exception
  or ``interrupted`` by Ctrl-C, so that the journal says how the search ended.

Nothing here imports scikit-learn.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import TYPE_CHECKING, Any

from rung.errors import ConfigError, JournalError, RungError

if TYPE_CHECKING:
    from rung.study import Study

log = logging.getLogger("rung.sklearn")

#: what the study stores as the tool that drove it (``rung.integrations._embedded.HOST_KEY``):
#: ``rung show`` then says that rung cannot resume its trials instead of suggesting
#: ``Study.load(...).run(objective)``, which a search's study cannot do (it has no objective)
HOST = "scikit-learn (RungSearchCV)"

#: names tried after the free one listed was taken meanwhile by another fit on the same file
_RETRIES = 64


def check_storage(storage: Any) -> None:
    """``storage`` is a SQLite file path (``str`` or ``os.PathLike``) or ``None``.

    Raises:
        ConfigError: keyed ``storage``, for anything else, such as a ``Journal`` object: an
            estimator's parameters are plain values that ``clone`` copies and ``pickle``
            stores, which an open journal is not (and ``fit`` would close it).
    """
    if storage is None or isinstance(storage, str | os.PathLike):
        return
    raise ConfigError(key="storage", message=(
        f"a SQLite file path or None, got {type(storage).__name__} {storage!r}: an "
        "estimator's parameters are plain values (scikit-learn clones and pickles it, "
        "cross_val_score fits it again), which an open journal is not; give the journal's "
        "path"))


def create_study(name: str | None, base: str, storage: Any, **create: Any) -> Study:
    """A new study in ``storage`` (``Study.create``'s other arguments: ``create``), named
    ``name``, or when ``name`` is ``None`` the first free one of ``base``, ``base-2``,
    ``base-3``, ...; stored with ``HOST`` as the tool that drives it.

    The name is taken by the journal's insertion itself: a name that another fit took after
    it was listed as free (``cross_val_score(search, n_jobs=2)`` on one file) is passed over
    for the next free one, at most ``_RETRIES`` times.

    Raises:
        ConfigError: ``name`` is already a study in ``storage`` (key ``study_name``), or it
            is not a valid study name; anything ``Study.create`` refuses. Nothing is written.
        JournalError: the journal cannot be written.
    """
    from rung.integrations._embedded import HOST_KEY
    from rung.storage import MemoryJournal, open_journal
    from rung.study import Study

    try:  # every check of the spec, in memory: nothing is written if one fails
        built = Study.create(name or base, storage=MemoryJournal(), **create)
    except ConfigError as e:
        if e.key == "name":
            raise ConfigError(key="study_name", message=e.message) from None
        raise
    journal = open_journal(storage)
    try:
        taken = set(journal.list_studies())
        if name is not None and name in taken:
            raise _taken(name, storage)
        names = [name] if name is not None else _free(base, taken)
        for attempt in names:
            try:
                return Study.from_spec(dataclasses.replace(built.spec, name=attempt),
                                       storage=journal, extra={HOST_KEY: HOST},
                                       auto=built.auto_reason)
            except JournalError:
                if attempt not in journal.list_studies():
                    raise  # not a name taken meanwhile: the journal refused to write
                if name is not None:
                    raise _taken(name, storage) from None
        raise JournalError(f"no free study name for {base!r} in {storage} after "
                           f"{_RETRIES} names were taken while this fit tried them")
    except BaseException:
        journal.close()
        raise


def _free(base: str, taken: set[str]) -> list[str]:
    """The first ``_RETRIES`` names of ``base``, ``base-2``, ``base-3``, ... not in ``taken``."""
    names: list[str] = []
    k = 1
    while len(names) < _RETRIES:
        candidate = base if k == 1 else f"{base}-{k}"
        if candidate not in taken:
            names.append(candidate)
        k += 1
    return names


def _taken(name: str, storage: Any) -> ConfigError:
    return ConfigError(key="study_name", message=(
        f"{name!r} is already a study in {storage}: each fit writes a study of its own; give "
        "another study_name, or none (a free name is then chosen)"))


def end_active(study: Study, error: BaseException) -> None:
    """End every trial of ``study`` still running when the search raised ``error``:
    ``interrupted`` for Ctrl-C (a ``KeyboardInterrupt``, or another exception that is not an
    ``Exception``: the process was stopped, the candidate did not fail), else ``failed`` with
    ``"<type>: <message>"`` as its error. A trial the journal refuses to end is logged and left
    as it is: the search's own exception is the one that propagates."""
    interrupted = not isinstance(error, Exception)
    message = str(error).strip()
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    for tid in sorted(study.engine.active):
        try:
            if interrupted:
                study.tell(tid, "interrupted")
            else:
                study.tell(tid, "failed", error=text)
        except RungError as e:
            log.warning("study %s: trial %d could not be ended after %s: %s",
                        study.name, tid, type(error).__name__, e)
