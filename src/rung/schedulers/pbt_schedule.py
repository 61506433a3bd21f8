"""A PBT member's hyperparameter schedule, read from its lineage in a study's history.

``schedule(history, trial_id)`` walks ``parent_id`` from a member up to the member its lineage
starts from; it reads only the history (params, ``parent_id``, the ``from_step`` tag and
results), so it works on a live study, a finished one and one read back from its journal.
"""

from __future__ import annotations

from typing import Any

from rung.core.history import History

__all__ = ["schedule"]


def schedule(history: History, trial_id: int) -> list[tuple[int, dict[str, Any]]]:
    """The hyperparameter schedule that trained ``trial_id``'s model, oldest first: ``(first
    step, params)`` for the member its lineage starts from and for each fork on the way (a
    fork trains with its params from the step after its donor's checkpoint, the tag
    ``from_step``; for a fork journaled without that tag, from its first reported step). Each
    entry's params hold until the next entry's step. Feed it ``Study.history`` (a live or a
    finished study)::

        >>> schedule(study.history, study.best_trial.id)
        [(1, {'lr': 0.01}), (9, {'lr': 0.012}), (17, {'lr': 0.0096})]
    """
    out: list[tuple[int, dict[str, Any]]] = []
    tid: int | None = trial_id
    while tid is not None:
        parent = history.parent_id(tid)
        if parent is None:
            first = 1
        else:
            tag = history.tags(tid).get("from_step")
            results = history.results(tid)
            first = int(tag) + 1 if tag is not None else (results[0].step if results else 1)
        out.append((first, dict(history.params(tid))))
        tid = parent
    out.reverse()
    return out
